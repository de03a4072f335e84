#pragma once
// Asynchronous Redis client on the engine's Boost.Asio loop: hiredis's async API with a
// small Asio adapter (one socket, commands pipelined, replies in order). Reconnects with
// backoff after a lost connection; commands issued while disconnected, or in flight when
// the connection drops, complete with an error reply (never silently dropped).
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::redis {

// An owned copy of a hiredis reply.
struct Reply {
    enum class Type { string, status, error, integer, nil, array };
    Type type = Type::nil;
    std::string str;              // string, status, error text
    std::int64_t integer = 0;
    std::vector<Reply> elements;  // array

    bool is_error() const { return type == Type::error; }
    bool is_nil() const { return type == Type::nil; }
    static Reply make_error(std::string text) {
        Reply r;
        r.type = Type::error;
        r.str = std::move(text);
        return r;
    }
};

using ReplyCallback = std::function<void(Reply)>;

struct Endpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string password;  // AUTH after connect when not empty
};

// A Lua script known by body; run by EVALSHA, falling back to EVAL on NOSCRIPT (a restarted
// or flushed Redis), so callers never manage SCRIPT LOAD.
class Script {
public:
    explicit Script(std::string body);
    const std::string& body() const { return body_; }
    const std::string& sha1() const { return sha1_; }

private:
    std::string body_;
    std::string sha1_;
};

class Client {
public:
    Client(boost::asio::io_context& io, Endpoint endpoint);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Starts connecting (and keeps reconnecting with backoff). Non-blocking.
    void start();
    // Closes the connection; pending callbacks complete with an error reply.
    void stop();
    bool connected() const;

    // Sends one command (binary-safe arguments). The callback runs on the io_context thread.
    void command(std::vector<std::string> args, ReplyCallback cb);
    void eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
              ReplyCallback cb);

    // Number of commands sent whose replies have not arrived yet.
    std::size_t in_flight() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Blocking client for start-up and rebalance callbacks only (never on the hot path).
class SyncClient {
public:
    explicit SyncClient(Endpoint endpoint, std::chrono::milliseconds timeout = std::chrono::seconds{5});
    ~SyncClient();
    SyncClient(const SyncClient&) = delete;
    SyncClient& operator=(const SyncClient&) = delete;
    // Reconnects if needed; returns an error reply if Redis cannot be reached.
    Reply command(const std::vector<std::string>& args);
    Reply eval(const Script& script, const std::vector<std::string>& keys,
               const std::vector<std::string>& args);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rappel::redis
