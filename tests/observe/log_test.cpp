#define BOOST_TEST_MODULE log
#include "engine/base/log.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <vector>

namespace rlog = rappel::log;
using namespace std::chrono_literals;

namespace {
struct Capture {
    Capture() {
        rlog::set_sink([this](rlog::Level l, std::string_view c, std::string_view m) {
            lines.push_back(std::string(rlog::level_name(l)) + " [" + std::string(c) + "] " + std::string(m));
        });
        rlog::set_now_for_test([this] { return now; });
        rlog::set_repeat_window(10s);
        rlog::set_level(rlog::Level::info);
        rlog::clear_module_levels();
    }
    ~Capture() {
        rlog::set_sink({});
        rlog::set_now_for_test({});
        rlog::clear_module_levels();
        rlog::set_level(rlog::Level::info);
    }
    std::vector<std::string> lines;
    std::chrono::steady_clock::time_point now{};
};
}  // namespace

BOOST_AUTO_TEST_CASE(json_lines_have_stable_fields_and_escape_the_message) {
    const auto ts = std::chrono::system_clock::time_point{std::chrono::milliseconds{1798761600123}};
    const auto line = rlog::format_line(rlog::Format::json, ts, rlog::Level::warn, "redis", "lost \"x\"\n\ttab\x01", 1);
    const auto j = nlohmann::json::parse(line);
    BOOST_TEST(j["ts"] == "2027-01-01T00:00:00.123Z");
    BOOST_TEST(j["level"] == "warn");
    BOOST_TEST(j["module"] == "redis");
    BOOST_TEST(j["msg"] == "lost \"x\"\n\ttab\x01");
    BOOST_TEST(!j.contains("repeated"));
    BOOST_TEST(line.find('\n') == std::string::npos);
    const auto again = nlohmann::json::parse(rlog::format_line(rlog::Format::json, ts, rlog::Level::error, "e", "m", 7));
    BOOST_TEST(again["repeated"] == 7);
    BOOST_TEST(rlog::format_line(rlog::Format::text, ts, rlog::Level::info, "engine", "hello", 3) ==
               "2027-01-01T00:00:00.123Z info [engine] hello (repeated 3 times)");
}

BOOST_AUTO_TEST_CASE(levels_can_be_set_per_module) {
    Capture cap;
    rlog::set_level(rlog::Level::warn);
    rlog::set_module_level("kafka", rlog::Level::debug);
    rlog::info("engine", "hidden");
    rlog::debug("kafka", "shown {}", 1);
    rlog::warn("engine", "shown {}", 2);
    BOOST_TEST(cap.lines == (std::vector<std::string>{"debug [kafka] shown 1", "warn [engine] shown 2"}));
    int n = 0;
    BOOST_TEST(rlog::parse_module_levels("kafka=warn,redis=debug", [&](std::string_view, rlog::Level) { ++n; }));
    BOOST_TEST(n == 2);
    BOOST_TEST(!rlog::parse_module_levels("kafka", [](std::string_view, rlog::Level) {}));
    BOOST_TEST(!rlog::parse_module_levels("kafka=loud", [](std::string_view, rlog::Level) {}));
}

BOOST_AUTO_TEST_CASE(identical_errors_are_summarised_not_repeated) {
    Capture cap;
    for (int i = 0; i < 50; ++i) rlog::error("redis", "connection refused");
    rlog::error("redis", "another error");
    for (int i = 0; i < 3; ++i) rlog::info("engine", "info is never suppressed");
    BOOST_TEST(cap.lines.size() == 5u);
    cap.now += 11s;
    rlog::error("redis", "connection refused");
    BOOST_REQUIRE(cap.lines.size() == 6u);
    BOOST_TEST(cap.lines.back() == "error [redis] connection refused (repeated 50 times)");
    rlog::set_repeat_window(0s);
    rlog::error("redis", "connection refused");
    rlog::error("redis", "connection refused");
    BOOST_TEST(cap.lines.size() == 8u);
}
