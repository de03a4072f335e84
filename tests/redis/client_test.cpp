#define BOOST_TEST_MODULE redis_client
#include <boost/test/unit_test.hpp>

#include "engine/redis/redis_client.hpp"
#include "tests/redis/reply_print.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace redis = rappel::redis;
namespace testkit = rappel::testkit;
using namespace std::chrono_literals;

namespace {

// Runs the io_context on this thread until `cond` holds or the deadline passes.
bool run_until(asio::io_context& io, const std::function<bool()>& cond,
               std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= deadline) return cond();
        if (io.stopped()) io.restart();
        io.run_one_for(20ms);
    }
    return true;
}

struct Outcome {
    std::optional<redis::Reply> reply;
    bool done() const { return reply.has_value(); }
};

redis::ReplyCallback capture(Outcome& o) {
    return [&o](redis::Reply r) { o.reply = std::move(r); };
}

struct Env {
    testkit::RedisServer server;
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);

    redis::Endpoint endpoint(std::string password = {}) const {
        return redis::Endpoint{server.host(), server.port(), std::move(password)};
    }

    bool until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 10s) {
        return run_until(io, cond, timeout);
    }

    // Sends one command and waits for its reply.
    redis::Reply call(redis::Client& c, std::vector<std::string> args) {
        Outcome o;
        c.command(std::move(args), capture(o));
        BOOST_REQUIRE(until([&] { return o.done(); }));
        return *o.reply;
    }

    redis::Reply eval(redis::Client& c, const redis::Script& s, std::vector<std::string> keys,
                      std::vector<std::string> args) {
        Outcome o;
        c.eval(s, std::move(keys), std::move(args), capture(o));
        BOOST_REQUIRE(until([&] { return o.done(); }));
        return *o.reply;
    }

    void connect(redis::Client& c) {
        c.start();
        BOOST_REQUIRE(until([&] { return c.connected(); }));
    }
};

// calls=N from the "cmdstat_<name>:calls=N,..." line of INFO commandstats.
long long command_calls(const std::string& info, const std::string& name) {
    const std::string tag = "cmdstat_" + name + ":calls=";
    auto pos = info.find(tag);
    if (pos == std::string::npos) return 0;
    return std::stoll(info.substr(pos + tag.size()));
}

}  // namespace

BOOST_AUTO_TEST_CASE(set_get_round_trip_and_binary_values) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);

    auto set = env.call(c, {"SET", "greeting", "hello"});
    BOOST_TEST(set.type == redis::Reply::Type::status);
    BOOST_TEST(set.str == "OK");
    auto get = env.call(c, {"GET", "greeting"});
    BOOST_TEST(get.type == redis::Reply::Type::string);
    BOOST_TEST(get.str == "hello");
    BOOST_TEST(env.call(c, {"GET", "missing"}).is_nil());

    std::string key("bin\0key\r\n", 9);
    std::string value;
    for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
    value += std::string("\0\0\r\n$3\r\n", 8);
    BOOST_TEST(env.call(c, {"SET", key, value}).str == "OK");
    auto back = env.call(c, {"GET", key});
    BOOST_TEST(back.type == redis::Reply::Type::string);
    BOOST_TEST(back.str.size() == value.size());
    BOOST_TEST((back.str == value));
    BOOST_TEST(env.call(c, {"STRLEN", key}).integer == static_cast<long long>(value.size()));

    auto arr = env.call(c, {"MGET", "greeting", "missing", key});
    BOOST_REQUIRE(arr.type == redis::Reply::Type::array);
    BOOST_REQUIRE(arr.elements.size() == 3u);
    BOOST_TEST(arr.elements[0].str == "hello");
    BOOST_TEST(arr.elements[1].is_nil());
    BOOST_TEST((arr.elements[2].str == value));
    BOOST_TEST(c.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(ten_thousand_pipelined_incrs_answered_in_order) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);

    constexpr int kCount = 10000;
    std::vector<redis::Reply> replies;
    replies.reserve(kCount);
    for (int i = 0; i < kCount; ++i)
        c.command({"INCR", "counter"}, [&](redis::Reply r) { replies.push_back(std::move(r)); });
    BOOST_TEST(replies.empty());  // never inline
    BOOST_TEST(c.in_flight() == static_cast<std::size_t>(kCount));

    BOOST_REQUIRE(env.until([&] { return replies.size() == kCount; }, 30s));
    bool in_order = true;
    for (int i = 0; i < kCount; ++i) {
        if (replies[i].type != redis::Reply::Type::integer || replies[i].integer != i + 1) {
            in_order = false;
            BOOST_ERROR("reply " << i << " is " << replies[i].integer << " / " << replies[i].str);
            break;
        }
    }
    BOOST_TEST(in_order);
    BOOST_TEST(c.in_flight() == 0u);
    BOOST_TEST(env.call(c, {"GET", "counter"}).str == std::to_string(kCount));
}

BOOST_AUTO_TEST_CASE(error_replies_are_passed_through) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);

    BOOST_TEST(env.call(c, {"SET", "text", "abc"}).str == "OK");
    auto incr = env.call(c, {"INCR", "text"});
    BOOST_TEST(incr.is_error());
    BOOST_TEST(incr.str.rfind("ERR", 0) == 0u);
    auto wrongtype = env.call(c, {"LPUSH", "text", "x"});
    BOOST_TEST(wrongtype.is_error());
    BOOST_TEST(wrongtype.str.rfind("WRONGTYPE", 0) == 0u);
    auto unknown = env.call(c, {"NO-SUCH-COMMAND"});
    BOOST_TEST(unknown.is_error());

    // The connection is still usable after errors.
    BOOST_TEST(c.connected());
    auto pong = env.call(c, {"PING"});
    BOOST_TEST(pong.type == redis::Reply::Type::status);
    BOOST_TEST(pong.str == "PONG");

    // Client-side refusals are error replies too, and posted.
    Outcome empty;
    c.command({}, capture(empty));
    BOOST_TEST(!empty.done());
    BOOST_REQUIRE(env.until([&] { return empty.done(); }));
    BOOST_TEST(empty.reply->is_error());
    auto sub = env.call(c, {"SUBSCRIBE", "chan"});
    BOOST_TEST(sub.is_error());
    BOOST_TEST(env.call(c, {"PING"}).str == "PONG");
}

BOOST_AUTO_TEST_CASE(eval_falls_back_to_eval_on_noscript_and_uses_evalsha) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);
    redis::Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");

    BOOST_TEST(env.call(c, {"SCRIPT", "LOAD", script.body()}).str == script.sha1());
    BOOST_TEST(env.call(c, {"SCRIPT", "FLUSH"}).str == "OK");
    BOOST_TEST(env.call(c, {"CONFIG", "RESETSTAT"}).str == "OK");

    // Not cached: EVALSHA fails with NOSCRIPT, the client resends as EVAL.
    auto first = env.eval(c, script, {"total"}, {"5"});
    BOOST_TEST(first.type == redis::Reply::Type::integer);
    BOOST_TEST(first.integer == 5);
    auto stats = env.call(c, {"INFO", "commandstats"}).str;
    BOOST_TEST(command_calls(stats, "evalsha") == 1);
    BOOST_TEST(command_calls(stats, "eval") == 1);

    // Cached by that EVAL: EVALSHA alone.
    auto second = env.eval(c, script, {"total"}, {"7"});
    BOOST_TEST(second.integer == 12);
    stats = env.call(c, {"INFO", "commandstats"}).str;
    BOOST_TEST(command_calls(stats, "evalsha") == 2);
    BOOST_TEST(command_calls(stats, "eval") == 1);

    // Flushed again (as after a Redis restart): fallback again.
    BOOST_TEST(env.call(c, {"SCRIPT", "FLUSH"}).str == "OK");
    auto third = env.eval(c, script, {"total"}, {"1"});
    BOOST_TEST(third.integer == 13);
    stats = env.call(c, {"INFO", "commandstats"}).str;
    BOOST_TEST(command_calls(stats, "eval") == 2);

    // Script errors other than NOSCRIPT are delivered as they are.
    redis::Script failing("return redis.error_reply('boom')");
    auto err = env.eval(c, failing, {}, {});
    BOOST_TEST(err.is_error());
    BOOST_TEST(err.str.find("boom") != std::string::npos);

    // Pipelined evals keep their order, across the fallback too.
    BOOST_TEST(env.call(c, {"SCRIPT", "FLUSH"}).str == "OK");
    std::vector<long long> results;
    for (int i = 0; i < 50; ++i)
        c.eval(script, {"seq"}, {"1"}, [&](redis::Reply r) { results.push_back(r.integer); });
    BOOST_REQUIRE(env.until([&] { return results.size() == 50u; }));
    // All were pipelined before the script was cached, so each falls back on its own:
    // every callback still runs exactly once.
    std::vector<long long> sorted = results;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 50; ++i) BOOST_TEST(sorted[i] == i + 1);
    BOOST_TEST(c.in_flight() == 0u);
}

BOOST_AUTO_TEST_CASE(commands_before_connect_fail_with_posted_errors) {
    Env env;
    redis::Client c(env.io, env.endpoint());

    Outcome before_start;
    c.command({"PING"}, capture(before_start));
    BOOST_TEST(!before_start.done());  // posted, not inline
    BOOST_TEST(c.in_flight() == 0u);
    BOOST_REQUIRE(env.until([&] { return before_start.done(); }));
    BOOST_TEST(before_start.reply->is_error());
    BOOST_TEST(before_start.reply->str == "redis: not connected");

    redis::Script script("return 1");
    Outcome eval_before;
    c.eval(script, {}, {}, capture(eval_before));
    BOOST_TEST(!eval_before.done());
    BOOST_REQUIRE(env.until([&] { return eval_before.done(); }));
    BOOST_TEST(eval_before.reply->is_error());

    c.start();
    BOOST_TEST(!c.connected());
    Outcome while_connecting;
    c.command({"PING"}, capture(while_connecting));
    BOOST_TEST(!while_connecting.done());
    BOOST_REQUIRE(env.until([&] { return while_connecting.done(); }));
    BOOST_TEST(while_connecting.reply->is_error());

    BOOST_REQUIRE(env.until([&] { return c.connected(); }));
    BOOST_TEST(env.call(c, {"PING"}).str == "PONG");
}

BOOST_AUTO_TEST_CASE(unreachable_server_keeps_failing_commands) {
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    redis::Client c(io, redis::Endpoint{"127.0.0.1", testkit::free_port(), ""});
    c.start();
    Outcome o;
    c.command({"PING"}, capture(o));
    BOOST_REQUIRE(run_until(io, [&] { return o.done(); }));
    BOOST_TEST(o.reply->is_error());
    // Several refused attempts (0, 100, 300 ms...) go by without ever connecting.
    BOOST_TEST(!run_until(io, [&] { return c.connected(); }, 500ms));
    c.stop();
}

BOOST_AUTO_TEST_CASE(stalled_handshake_times_out_and_retries) {
    // A listener that never accepts: TCP connects (kernel backlog) but AUTH gets no answer.
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    BOOST_REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    BOOST_REQUIRE(::listen(listener, 16) == 0);
    ::fcntl(listener, F_SETFL, O_NONBLOCK);
    std::vector<int> accepted;
    auto accept_all = [&] {
        for (int fd; (fd = ::accept(listener, nullptr, nullptr)) >= 0;) accepted.push_back(fd);
        return accepted.size();
    };

    asio::io_context io;
    auto work = asio::make_work_guard(io);
    redis::Client c(io, redis::Endpoint{"127.0.0.1", ntohs(addr.sin_port), "pw"});
    c.start();
    // The first attempt is abandoned after the connect timeout (5 s) and a second one made.
    BOOST_TEST(run_until(io, [&] { return accept_all() >= 2; }, 15s));
    BOOST_TEST(!c.connected());
    c.stop();
    for (int fd : accepted) ::close(fd);
    ::close(listener);
}

BOOST_AUTO_TEST_CASE(in_flight_commands_fail_when_connection_is_killed_then_reconnects) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);

    Outcome blocked;
    c.command({"BLPOP", "never-pushed", "0"}, capture(blocked));
    BOOST_TEST(c.in_flight() == 1u);
    BOOST_REQUIRE(env.until([&] {
        return env.server.cli("INFO clients").find("blocked_clients:1") != std::string::npos;
    }));
    BOOST_TEST(!blocked.done());

    env.server.cli("CLIENT KILL TYPE normal");
    BOOST_REQUIRE(env.until([&] { return blocked.done(); }));
    BOOST_TEST(blocked.reply->is_error());
    BOOST_TEST(blocked.reply->str.rfind("redis: connection lost", 0) == 0u);
    BOOST_TEST(c.in_flight() == 0u);

    BOOST_REQUIRE(env.until([&] { return c.connected(); }));
    BOOST_TEST(env.call(c, {"PING"}).str == "PONG");
}

BOOST_AUTO_TEST_CASE(server_shutdown_fails_commands_and_client_reconnects_after_restart) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);
    BOOST_TEST(env.call(c, {"SET", "kept", "yes"}).str == "OK");

    Outcome blocked;
    c.command({"BLPOP", "never-pushed", "0"}, capture(blocked));
    BOOST_REQUIRE(env.until([&] {
        return env.server.cli("INFO clients").find("blocked_clients:1") != std::string::npos;
    }));

    env.server.cli("SHUTDOWN NOSAVE");
    BOOST_REQUIRE(env.until([&] { return blocked.done(); }));
    BOOST_TEST(blocked.reply->is_error());
    BOOST_REQUIRE(env.until([&] { return !c.connected(); }));

    // While the server is down nothing is lost silently.
    std::vector<redis::Reply> down;
    for (int i = 0; i < 5; ++i)
        c.command({"INCR", "n"}, [&](redis::Reply r) { down.push_back(std::move(r)); });
    BOOST_TEST(down.empty());
    BOOST_REQUIRE(env.until([&] { return down.size() == 5u; }));
    for (const auto& r : down) {
        BOOST_TEST(r.is_error());
        BOOST_TEST(r.str == "redis: not connected");
    }
    BOOST_TEST(c.in_flight() == 0u);

    env.server.restart();
    BOOST_REQUIRE(env.until([&] { return c.connected(); }, 20s));
    BOOST_TEST(env.call(c, {"GET", "kept"}).str == "yes");
    BOOST_TEST(env.call(c, {"INCR", "n"}).integer == 1);
}

BOOST_AUTO_TEST_CASE(reconnects_after_server_restart) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);
    BOOST_TEST(env.call(c, {"INCR", "restarts"}).integer == 1);

    env.server.restart();
    BOOST_REQUIRE(env.until([&] { return !c.connected(); }));
    BOOST_REQUIRE(env.until([&] { return c.connected(); }, 20s));
    BOOST_TEST(env.call(c, {"INCR", "restarts"}).integer == 2);
    // Twice in a row: the backoff was reset by the successful reconnect.
    env.server.restart();
    BOOST_REQUIRE(env.until([&] { return !c.connected(); }));
    BOOST_REQUIRE(env.until([&] { return c.connected(); }, 20s));
    BOOST_TEST(env.call(c, {"INCR", "restarts"}).integer == 3);
}

BOOST_AUTO_TEST_CASE(stop_fails_pending_commands_and_client_can_restart) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);

    Outcome blocked;
    c.command({"BLPOP", "never-pushed", "0"}, capture(blocked));
    BOOST_REQUIRE(env.until([&] {
        return env.server.cli("INFO clients").find("blocked_clients:1") != std::string::npos;
    }));
    c.stop();
    BOOST_TEST(!c.connected());
    BOOST_TEST(!blocked.done());  // posted, not inline
    BOOST_TEST(c.in_flight() == 0u);
    BOOST_REQUIRE(env.until([&] { return blocked.done(); }));
    BOOST_TEST(blocked.reply->is_error());
    BOOST_TEST(blocked.reply->str == "redis: client stopped");

    Outcome after;
    c.command({"PING"}, capture(after));
    BOOST_REQUIRE(env.until([&] { return after.done(); }));
    BOOST_TEST(after.reply->is_error());

    env.connect(c);
    BOOST_TEST(env.call(c, {"PING"}).str == "PONG");
}

BOOST_AUTO_TEST_CASE(stop_and_destroy_from_inside_a_callback) {
    Env env;
    auto c = std::make_unique<redis::Client>(env.io, env.endpoint());
    env.connect(*c);

    // stop() inside a reply callback: the rest of the pipeline fails, nothing crashes.
    std::vector<redis::Reply> replies;
    c->command({"PING"}, [&](redis::Reply r) {
        replies.push_back(std::move(r));
        c->stop();
    });
    for (int i = 0; i < 3; ++i)
        c->command({"PING"}, [&](redis::Reply r) { replies.push_back(std::move(r)); });
    BOOST_REQUIRE(env.until([&] { return replies.size() == 4u; }));
    BOOST_TEST(replies[0].str == "PONG");
    for (int i = 1; i < 4; ++i) BOOST_TEST(replies[i].is_error());
    BOOST_TEST(!c->connected());

    // Destroying the client inside a callback, with commands still in flight.
    env.connect(*c);
    replies.clear();
    c->command({"PING"}, [&](redis::Reply r) {
        replies.push_back(std::move(r));
        c.reset();
    });
    c->command({"PING"}, [&](redis::Reply r) { replies.push_back(std::move(r)); });
    BOOST_REQUIRE(env.until([&] { return replies.size() == 2u; }));
    BOOST_TEST(replies[0].str == "PONG");
    BOOST_TEST(replies[1].is_error());
    BOOST_TEST(!c);
}

BOOST_AUTO_TEST_CASE(destroying_client_fails_pending_commands) {
    Env env;
    auto c = std::make_unique<redis::Client>(env.io, env.endpoint());
    env.connect(*c);
    Outcome blocked;
    c->command({"BLPOP", "never-pushed", "0"}, capture(blocked));
    BOOST_REQUIRE(env.until([&] {
        return env.server.cli("INFO clients").find("blocked_clients:1") != std::string::npos;
    }));
    c.reset();
    BOOST_REQUIRE(env.until([&] { return blocked.done(); }));
    BOOST_TEST(blocked.reply->is_error());
}

BOOST_AUTO_TEST_CASE(auth_with_password) {
    Env env;
    BOOST_REQUIRE(env.server.cli("CONFIG SET requirepass s3cret").find("OK") != std::string::npos);
    auto stats = [&] { return env.server.cli("-a s3cret --no-auth-warning INFO stats"); };
    auto connections = [&] {
        auto info = stats();
        const std::string tag = "total_connections_received:";
        auto pos = info.find(tag);
        return pos == std::string::npos ? 0LL : std::stoll(info.substr(pos + tag.size()));
    };

    redis::Client good(env.io, env.endpoint("s3cret"));
    env.connect(good);
    BOOST_TEST(env.call(good, {"PING"}).str == "PONG");

    // No password: connected, but the server's NOAUTH error is passed through.
    redis::Client anonymous(env.io, env.endpoint());
    env.connect(anonymous);
    auto noauth = env.call(anonymous, {"PING"});
    BOOST_TEST(noauth.is_error());
    BOOST_TEST(noauth.str.rfind("NOAUTH", 0) == 0u);

    // Wrong password: never reported connected, keeps retrying.
    const auto before = connections();
    redis::Client wrong(env.io, env.endpoint("nope"));
    wrong.start();
    bool ever_connected = false;
    BOOST_REQUIRE(env.until([&] {
        ever_connected = ever_connected || wrong.connected();
        return connections() >= before + 3;
    }, 20s));
    BOOST_TEST(!ever_connected);
    BOOST_TEST(!wrong.connected());
    Outcome o;
    wrong.command({"PING"}, capture(o));
    BOOST_REQUIRE(env.until([&] { return o.done(); }));
    BOOST_TEST(o.reply->is_error());
}

BOOST_AUTO_TEST_CASE(view_overloads_send_binary_safe_arguments) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);

    const std::string key("v\0key\r\n", 7);
    std::string value;
    for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
    value += std::string("\0\r\n*1\r\n", 7);

    auto view_call = [&](std::vector<std::string_view> args) {
        Outcome o;
        c.command(std::span<const std::string_view>(args), capture(o));
        BOOST_REQUIRE(env.until([&] { return o.done(); }));
        return *o.reply;
    };
    BOOST_TEST(view_call({"SET", key, value}).str == "OK");
    auto back = env.call(c, {"GET", key});  // read through the owning overload
    BOOST_TEST((back.str == value));
    BOOST_TEST(view_call({"STRLEN", key}).integer == static_cast<long long>(value.size()));
    BOOST_TEST(view_call({}).is_error());

    // EVAL through views: first run goes EVALSHA -> NOSCRIPT -> EVAL, rebuilt correctly.
    BOOST_TEST(env.call(c, {"SCRIPT", "FLUSH"}).str == "OK");
    BOOST_TEST(env.call(c, {"CONFIG", "RESETSTAT"}).str == "OK");
    redis::Script echo("return {KEYS[1], ARGV[1], ARGV[2], #KEYS, #ARGV}");
    const std::string arg2("\0\0", 2);
    auto view_eval = [&] {
        const std::string_view keys[] = {key};
        const std::string_view args[] = {value, arg2};
        Outcome o;
        c.eval(echo, std::span<const std::string_view>(keys),
               std::span<const std::string_view>(args), capture(o));
        BOOST_REQUIRE(env.until([&] { return o.done(); }));
        return *o.reply;
    };
    for (int round = 0; round < 2; ++round) {
        auto r = view_eval();
        BOOST_REQUIRE_MESSAGE(r.type == redis::Reply::Type::array, r.str);
        BOOST_REQUIRE(r.elements.size() == 5u);
        BOOST_TEST((r.elements[0].str == key));
        BOOST_TEST((r.elements[1].str == value));
        BOOST_TEST((r.elements[2].str == arg2));
        BOOST_TEST(r.elements[3].integer == 1);
        BOOST_TEST(r.elements[4].integer == 2);
    }
    const auto stats = env.server.cli("INFO commandstats");
    BOOST_TEST(command_calls(stats, "eval") == 1);
    BOOST_TEST(command_calls(stats, "evalsha") == 2);
}

BOOST_AUTO_TEST_CASE(mset_and_mget_of_a_thousand_keys_through_views) {
    Env env;
    redis::Client c(env.io, env.endpoint());
    env.connect(c);

    constexpr int kKeys = 1000;
    // All keys and values in one buffer; the argument list only points into it.
    std::string buffer;
    for (int i = 0; i < kKeys; ++i) buffer += "key:" + std::to_string(i) + "val:" + std::to_string(i * 7);
    std::vector<std::string_view> mset{"MSET"};
    std::vector<std::string_view> mget{"MGET"};
    std::size_t pos = 0;
    for (int i = 0; i < kKeys; ++i) {
        const auto klen = 4 + std::to_string(i).size();
        const auto vlen = 4 + std::to_string(i * 7).size();
        std::string_view k(buffer.data() + pos, klen);
        std::string_view v(buffer.data() + pos + klen, vlen);
        pos += klen + vlen;
        mset.push_back(k);
        mset.push_back(v);
        mget.push_back(k);
    }
    // Pipelined: many batches in flight at once.
    constexpr int kBatches = 50;
    std::vector<redis::Reply> replies;
    for (int b = 0; b < kBatches; ++b) {
        c.command(std::span<const std::string_view>(mset),
                  [&](redis::Reply r) { replies.push_back(std::move(r)); });
        c.command(std::span<const std::string_view>(mget),
                  [&](redis::Reply r) { replies.push_back(std::move(r)); });
    }
    BOOST_REQUIRE(env.until([&] { return replies.size() == 2u * kBatches; }, 30s));
    for (int b = 0; b < kBatches; ++b) {
        BOOST_TEST(replies[2 * b].str == "OK");
        const auto& got = replies[2 * b + 1];
        BOOST_REQUIRE(got.type == redis::Reply::Type::array);
        BOOST_REQUIRE(got.elements.size() == static_cast<std::size_t>(kKeys));
        BOOST_TEST(got.elements[0].str == "val:0");
        BOOST_TEST(got.elements[kKeys - 1].str == "val:" + std::to_string((kKeys - 1) * 7));
    }
    BOOST_TEST(c.in_flight() == 0u);
}
