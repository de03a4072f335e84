#define BOOST_TEST_MODULE redis_fault
#include <boost/test/unit_test.hpp>

#include "engine/base/log.hpp"
#include "engine/redis/redis_client.hpp"
#include "tests/redis/reply_print.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace redis = rappel::redis;
namespace testkit = rappel::testkit;
namespace rlog = rappel::log;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

bool run_until(asio::io_context& io, const std::function<bool()>& cond,
               std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!cond()) {
        if (Clock::now() >= deadline) return cond();
        if (io.stopped()) io.restart();
        io.run_one_for(10ms);
    }
    return true;
}

// Runs the io_context for `d` regardless (for "nothing more happens" checks), calling
// `poll` as it goes.
void run_for(asio::io_context& io, std::chrono::milliseconds d,
             const std::function<void()>& poll = [] {}) {
    run_until(io, [&] { poll(); return false; }, d);
}

// Collects the redis component's log lines (every level) instead of printing them.
class LogCapture {
public:
    LogCapture() : saved_level_(rlog::level()) {
        rlog::set_level(rlog::Level::debug);
        rlog::set_sink([this](rlog::Level, std::string_view component, std::string_view msg) {
            if (component == "redis") lines_.emplace_back(msg);
            else std::fprintf(stderr, "[%.*s] %.*s\n", static_cast<int>(component.size()), component.data(),
                              static_cast<int>(msg.size()), msg.data());
        });
    }
    ~LogCapture() {
        rlog::set_sink({});
        rlog::set_level(saved_level_);
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // The sink runs under the log's lock, on this thread (the io thread is the test thread).
    std::size_t size() const { return lines_.size(); }
    std::size_t count(std::string_view needle) const {
        std::size_t n = 0;
        for (const auto& l : lines_) n += l.find(needle) != std::string::npos;
        return n;
    }
    std::string dump() const {
        std::string out;
        for (const auto& l : lines_) out += "  " + l + "\n";
        return out;
    }

private:
    rlog::Level saved_level_;
    std::vector<std::string> lines_;
};

// Always the top of the range: backoff delays are their ceilings, so attempt counts are
// predictable.
class TopRandom final : public rappel::Random {
public:
    std::uint64_t next_u64() override { return std::numeric_limits<std::uint64_t>::max(); }
};

// process_id from INFO server: the test signals redis-server directly.
pid_t server_pid(const testkit::RedisServer& server) {
    const auto info = server.cli("INFO server");
    const std::string tag = "process_id:";
    const auto pos = info.find(tag);
    BOOST_REQUIRE(pos != std::string::npos);
    return static_cast<pid_t>(std::stol(info.substr(pos + tag.size())));
}

// SIGSTOPs redis-server; SIGCONT on resume() or at scope exit, so a failing test still
// lets the server shut down.
class Paused {
public:
    explicit Paused(pid_t pid) : pid_(pid) { BOOST_REQUIRE(::kill(pid_, SIGSTOP) == 0); }
    ~Paused() { resume(); }
    Paused(const Paused&) = delete;
    Paused& operator=(const Paused&) = delete;
    void resume() {
        if (pid_ > 0) ::kill(pid_, SIGCONT);
        pid_ = -1;
    }

private:
    pid_t pid_;
};

// A loopback listener that accepts every connection and closes it at once: connects
// succeed, the server never answers. Counts connection attempts.
class SlamListener {
public:
    SlamListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        BOOST_REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        BOOST_REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        BOOST_REQUIRE(::listen(fd_, 64) == 0);
        ::fcntl(fd_, F_SETFL, O_NONBLOCK);
        port_ = ntohs(addr.sin_port);
    }
    ~SlamListener() { ::close(fd_); }
    SlamListener(const SlamListener&) = delete;
    SlamListener& operator=(const SlamListener&) = delete;
    int port() const { return port_; }
    int poll() {
        for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0;) {
            ::close(c);
            ++accepted_;
        }
        return accepted_;
    }

private:
    int fd_ = -1;
    int port_ = 0;
    int accepted_ = 0;
};

struct Outcome {
    std::optional<redis::Reply> reply;
    bool done() const { return reply.has_value(); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(hung_server_fails_pending_commands_within_the_timeout_then_recovers) {
    LogCapture logs;
    testkit::RedisServer server;
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    redis::ClientOptions opts;
    opts.command_timeout = 1000ms;
    opts.connect_timeout = 1000ms;
    opts.random = std::make_shared<rappel::SeededRandom>(7);
    redis::Client c(io, redis::Endpoint{server.host(), server.port(), ""}, opts);
    std::vector<bool> transitions;
    c.on_state([&](bool up) { transitions.push_back(up); });
    c.start();
    BOOST_REQUIRE(run_until(io, [&] { return c.connected(); }, 10s));

    Outcome set;
    c.command({"SET", "k", "v"}, [&](redis::Reply r) { set.reply = std::move(r); });
    BOOST_REQUIRE(run_until(io, [&] { return set.done(); }, 5s));
    BOOST_TEST(set.reply->str == "OK");

    Paused paused(server_pid(server));
    std::vector<redis::Reply> failed;
    const auto sent = Clock::now();
    for (int i = 0; i < 3; ++i)
        c.command({"GET", "k"}, [&](redis::Reply r) { failed.push_back(std::move(r)); });
    BOOST_REQUIRE(run_until(io, [&] { return failed.size() == 3u; }, 5s));
    const auto waited = Clock::now() - sent;
    BOOST_TEST(waited >= 900ms);
    BOOST_TEST(waited < 3s);
    for (const auto& r : failed) {
        BOOST_TEST(r.is_error());
        BOOST_TEST(r.str.rfind("redis: connection lost", 0) == 0u, r.str);
    }
    BOOST_TEST(c.in_flight() == 0u);
    BOOST_TEST(!c.connected());
    BOOST_TEST(logs.count("connection lost") == 1u, logs.dump());
    BOOST_TEST(logs.count("no reply") == 1u, logs.dump());

    // While hung, reconnects reach the kernel backlog but PING is never answered: the
    // client stays down and quiet.
    run_for(io, 2500ms);
    BOOST_TEST(!c.connected());
    BOOST_TEST(logs.size() <= 2u, logs.dump());  // "connected to", "connection lost"

    paused.resume();
    BOOST_REQUIRE(run_until(io, [&] { return c.connected(); }, 15s));
    Outcome get;
    c.command({"GET", "k"}, [&](redis::Reply r) { get.reply = std::move(r); });
    BOOST_REQUIRE(run_until(io, [&] { return get.done(); }, 5s));
    BOOST_TEST(get.reply->str == "v");
    BOOST_TEST(logs.count("connected after") == 1u, logs.dump());
    BOOST_REQUIRE(run_until(io, [&] { return transitions.size() >= 3u; }, 2s));
    BOOST_TEST((transitions == std::vector<bool>{true, false, true}));
    c.stop();
}

BOOST_AUTO_TEST_CASE(a_server_that_slams_connections_shut_gets_backed_off_attempts_and_few_lines) {
    LogCapture logs;
    SlamListener slam;
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    redis::ClientOptions opts;
    opts.connect_timeout = 1000ms;
    opts.down_log_interval = 1000ms;
    opts.random = std::make_shared<TopRandom>();  // delays 100, 200, 400, 800, 1600 ms...
    redis::Client c(io, redis::Endpoint{"127.0.0.1", slam.port(), ""}, opts);
    bool ever_connected = false;
    c.on_state([&](bool up) { ever_connected = ever_connected || up; });
    c.start();
    run_for(io, 4000ms, [&] { slam.poll(); });
    const int attempts = slam.poll();
    BOOST_TEST_MESSAGE("attempts in 4 s: " << attempts << ", log lines: " << logs.size());
    // Attempts at about 0, 0.1, 0.3, 0.7, 1.5 and 3.1 s: backing off, not every 100 ms.
    BOOST_TEST(attempts >= 4);
    BOOST_TEST(attempts <= 8);
    BOOST_TEST(!ever_connected);
    BOOST_TEST(!c.connected());
    // The first failure, then a summary at most once a second.
    BOOST_TEST(logs.count("cannot connect") == 1u, logs.dump());
    BOOST_TEST(logs.count("still unreachable") >= 1u, logs.dump());
    BOOST_TEST(logs.size() <= 5u, logs.dump());

    Outcome o;
    c.command({"PING"}, [&](redis::Reply r) { o.reply = std::move(r); });
    BOOST_REQUIRE(run_until(io, [&] { return o.done(); }, 2s));
    BOOST_TEST(o.reply->str == "redis: not connected");
    c.stop();
}

BOOST_AUTO_TEST_CASE(refused_connections_log_a_bounded_number_of_lines) {
    LogCapture logs;
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    redis::ClientOptions opts;
    opts.reconnect.cap = 200ms;  // many attempts: the log must not follow them
    redis::Client c(io, redis::Endpoint{"127.0.0.1", testkit::free_port(), ""}, opts);
    c.start();
    run_for(io, 3000ms);
    BOOST_TEST_MESSAGE("log lines in 3 s of refused connections: " << logs.size());
    BOOST_TEST(logs.count("cannot connect") == 1u, logs.dump());
    BOOST_TEST(logs.size() <= 2u, logs.dump());
    c.stop();
}

BOOST_AUTO_TEST_CASE(killed_server_reconnects_after_restart_and_reports_the_outage_once) {
    LogCapture logs;
    testkit::RedisServer server;
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    redis::ClientOptions opts;
    opts.random = std::make_shared<rappel::SeededRandom>(11);
    redis::Client c(io, redis::Endpoint{server.host(), server.port(), ""}, opts);
    std::vector<bool> transitions;
    c.on_state([&](bool up) { transitions.push_back(up); });
    c.start();
    BOOST_REQUIRE(run_until(io, [&] { return c.connected(); }, 10s));
    const auto before = logs.size();  // "connected to ..."

    BOOST_REQUIRE(::kill(server_pid(server), SIGKILL) == 0);
    BOOST_REQUIRE(run_until(io, [&] { return !c.connected(); }, 5s));
    BOOST_TEST(logs.count("connection lost") == 1u, logs.dump());
    run_for(io, 1500ms);  // refused attempts meanwhile
    BOOST_TEST(logs.size() == before + 1, logs.dump());

    server.restart();
    BOOST_REQUIRE(run_until(io, [&] { return c.connected(); }, 15s));
    BOOST_TEST(logs.count("connected after") == 1u, logs.dump());
    BOOST_TEST(logs.size() == before + 2, logs.dump());
    BOOST_REQUIRE(run_until(io, [&] { return transitions.size() >= 3u; }, 2s));
    BOOST_TEST((transitions == std::vector<bool>{true, false, true}));

    Outcome o;
    c.command({"PING"}, [&](redis::Reply r) { o.reply = std::move(r); });
    BOOST_REQUIRE(run_until(io, [&] { return o.done(); }, 5s));
    BOOST_TEST(o.reply->str == "PONG");
    c.stop();
}
