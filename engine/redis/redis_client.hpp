#pragma once
// Asynchronous Redis client on the engine's Boost.Asio loop: hiredis's async API with a
// small Asio adapter (one socket, commands pipelined, replies in order). Reconnects with
// backoff after a lost connection; commands issued while disconnected, or in flight when
// the connection drops, complete with an error reply (never silently dropped).
//
// Liveness: a connection counts as up only once the server has answered (AUTH and) PING;
// while up, commands are pending and no reply has come for `command_timeout`, it is
// declared dead (a hung or SIGSTOPped server), every pending callback completes with an
// error and the client reconnects. TCP keepalive is on. Logging is per state change (lost,
// connected again) plus a periodic summary while down, never one line per attempt.
#include "engine/base/backoff.hpp"
#include "engine/base/random.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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
    const std::string& body() const { return *body_; }
    const std::string& sha1() const { return sha1_; }
    // Shared, so a pending EVALSHA keeps the body for its NOSCRIPT retry without a copy.
    const std::shared_ptr<const std::string>& shared_body() const { return body_; }

private:
    std::shared_ptr<const std::string> body_;
    std::string sha1_;
};

struct ClientOptions {
    // No reply for this long while commands are pending: the connection is dead. Blocking
    // commands (BLPOP ...) must use a shorter server-side timeout than this.
    std::chrono::milliseconds command_timeout{5000};
    // TCP connect plus AUTH and PING; a blackholed or hung server is abandoned after this.
    std::chrono::milliseconds connect_timeout{5000};
    BackoffPolicy reconnect{Millis{100}, Millis{5000}, true};
    // While down, one "still unreachable" summary line at most this often.
    std::chrono::milliseconds down_log_interval{30'000};
    RandomPtr random;  // backoff jitter; null: make_system_random()
};

class Client {
public:
    Client(boost::asio::io_context& io, Endpoint endpoint, ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Starts connecting (and keeps reconnecting with backoff). Non-blocking.
    void start();
    // Closes the connection; pending callbacks complete with an error reply.
    void stop();
    bool connected() const;
    // Called on the io_context thread (posted, never from inside hiredis) at each transition
    // between connected and not connected. One observer; a new call replaces it.
    void on_state(std::function<void(bool connected)> observer);

    // Sends one command (binary-safe arguments). The callback runs on the io_context thread.
    void command(std::vector<std::string> args, ReplyCallback cb);
    void eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
              ReplyCallback cb);
    // The same without owning copies: the bytes are only read during the call (hiredis
    // formats them into its output buffer), so views of the caller's buffers suffice. For
    // big pipelined batches (MGET/MSET of thousands of keys).
    // (Templates only so that `{}` arguments keep choosing the vector overloads, which win
    // ties against templates.)
    template <typename = void>
    void command(std::span<const std::string_view> args, ReplyCallback cb) {
        command_views(args, std::move(cb));
    }
    template <typename = void>
    void eval(const Script& script, std::span<const std::string_view> keys,
              std::span<const std::string_view> args, ReplyCallback cb) {
        eval_views(script, keys, args, std::move(cb));
    }

    // Number of commands sent whose replies have not arrived yet.
    std::size_t in_flight() const;

private:
    void command_views(std::span<const std::string_view> args, ReplyCallback cb);
    void eval_views(const Script& script, std::span<const std::string_view> keys,
                    std::span<const std::string_view> args, ReplyCallback cb);

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
