#define BOOST_TEST_MODULE redis_sync_client
#include <boost/test/unit_test.hpp>

#include "engine/redis/redis_client.hpp"
#include "tests/redis/reply_print.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

#include <string>

namespace redis = rappel::redis;
namespace testkit = rappel::testkit;
using namespace std::chrono_literals;

namespace {
long long command_calls(const std::string& info, const std::string& name) {
    const std::string tag = "cmdstat_" + name + ":calls=";
    auto pos = info.find(tag);
    if (pos == std::string::npos) return 0;
    return std::stoll(info.substr(pos + tag.size()));
}
}  // namespace

BOOST_AUTO_TEST_CASE(basic_commands_and_binary_values) {
    testkit::RedisServer server;
    redis::SyncClient c({server.host(), server.port(), ""});

    auto set = c.command({"SET", "k", "v"});
    BOOST_TEST(set.type == redis::Reply::Type::status);
    BOOST_TEST(set.str == "OK");
    BOOST_TEST(c.command({"GET", "k"}).str == "v");
    BOOST_TEST(c.command({"GET", "nothing"}).is_nil());

    const std::string value("a\0b\r\nc", 6);
    BOOST_TEST(c.command({"SET", "bin", value}).str == "OK");
    auto back = c.command({"GET", "bin"});
    BOOST_TEST(back.type == redis::Reply::Type::string);
    BOOST_TEST((back.str == value));

    BOOST_TEST(c.command({"RPUSH", "list", "a", "b"}).integer == 2);
    auto range = c.command({"LRANGE", "list", "0", "-1"});
    BOOST_REQUIRE(range.type == redis::Reply::Type::array);
    BOOST_REQUIRE(range.elements.size() == 2u);
    BOOST_TEST(range.elements[1].str == "b");

    auto err = c.command({"INCR", "k"});
    BOOST_TEST(err.is_error());
    BOOST_TEST(err.str.rfind("ERR", 0) == 0u);
    BOOST_TEST(c.command({}).is_error());
    BOOST_TEST(c.command({"PING"}).str == "PONG");
}

BOOST_AUTO_TEST_CASE(eval_with_noscript_fallback) {
    testkit::RedisServer server;
    redis::SyncClient c({server.host(), server.port(), ""});
    redis::Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");

    BOOST_TEST(c.command({"SCRIPT", "FLUSH"}).str == "OK");
    BOOST_TEST(c.command({"CONFIG", "RESETSTAT"}).str == "OK");
    BOOST_TEST(c.eval(script, {"x"}, {"2"}).integer == 2);
    auto stats = c.command({"INFO", "commandstats"}).str;
    BOOST_TEST(command_calls(stats, "evalsha") == 1);
    BOOST_TEST(command_calls(stats, "eval") == 1);

    BOOST_TEST(c.eval(script, {"x"}, {"3"}).integer == 5);
    stats = c.command({"INFO", "commandstats"}).str;
    BOOST_TEST(command_calls(stats, "evalsha") == 2);
    BOOST_TEST(command_calls(stats, "eval") == 1);

    redis::Script failing("return redis.error_reply('nope')");
    auto err = c.eval(failing, {}, {});
    BOOST_TEST(err.is_error());
    BOOST_TEST(err.str.find("nope") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unreachable_server_gives_error_reply) {
    redis::SyncClient c({"127.0.0.1", testkit::free_port(), ""}, 500ms);
    auto r = c.command({"PING"});
    BOOST_TEST(r.is_error());
    BOOST_TEST(r.str.rfind("redis:", 0) == 0u);
    redis::Script script("return 1");
    BOOST_TEST(c.eval(script, {}, {}).is_error());
}

BOOST_AUTO_TEST_CASE(reconnects_on_demand_after_restart) {
    testkit::RedisServer server;
    redis::SyncClient c({server.host(), server.port(), ""});
    BOOST_TEST(c.command({"INCR", "n"}).integer == 1);

    server.restart();
    // The old connection is dead; the client notices before sending and reconnects.
    BOOST_TEST(c.command({"INCR", "n"}).integer == 2);

    server.cli("SHUTDOWN NOSAVE");
    BOOST_REQUIRE(testkit::wait_until(
        [&] { return c.command({"PING"}).is_error(); }, 10s));
    server.restart();
    BOOST_TEST(c.command({"PING"}).str == "PONG");
}

BOOST_AUTO_TEST_CASE(auth) {
    testkit::RedisServer server;
    BOOST_REQUIRE(server.cli("CONFIG SET requirepass pw1").find("OK") != std::string::npos);

    redis::SyncClient good({server.host(), server.port(), "pw1"});
    BOOST_TEST(good.command({"PING"}).str == "PONG");

    redis::SyncClient anonymous({server.host(), server.port(), ""});
    auto noauth = anonymous.command({"PING"});
    BOOST_TEST(noauth.is_error());
    BOOST_TEST(noauth.str.rfind("NOAUTH", 0) == 0u);

    redis::SyncClient wrong({server.host(), server.port(), "bad"});
    auto r = wrong.command({"PING"});
    BOOST_TEST(r.is_error());
    BOOST_TEST(r.str.rfind("redis: AUTH failed", 0) == 0u);
}
