#pragma once
// Shared by the engine's integration and fault tests: a Stack with a test campaign (stages
// 30 and 7 days before the due date), helpers to build events and wait on outcomes.
#include "engine/base/time_format.hpp"
#include "tests/support/stack/stack.hpp"

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

namespace rappel::enginetest {

using namespace rappel::testkit;
using Json = nlohmann::json;
using namespace std::chrono_literals;

inline constexpr double kSpeed = 400000;  // one real second is about 4.6 simulated days

inline StackOptions test_options(std::function<void(YAML::Node&)> extra = {}, double speed = kSpeed) {
    StackOptions o;
    o.clock_start = "2027-01-01T00:00:00Z";
    o.clock_speed = speed;
    o.partitions = 4;
    o.tweak = [extra](YAML::Node& root) {
        root["engine"]["lease_seconds"] = 5;
        root["engine"]["expire_after_hours"] = 720;
        root["engine"]["poll_interval_ms"] = 50;
        root["retry"]["max_attempts"] = 5;
        root["retry"]["backoff_base_seconds"] = 60;
        root["retry"]["backoff_cap_seconds"] = 3600;
        YAML::Node prog = root["programs"]["drivers-licence"];
        YAML::Node stages(YAML::NodeType::Sequence);
        YAML::Node s30;
        s30["id"] = "30d";
        s30["offset_days"] = -30;
        s30["send_at"] = "10:00";
        s30["channels"].push_back("sms");
        s30["channels"].push_back("email");
        YAML::Node s7;
        s7["id"] = "7d";
        s7["offset_days"] = -7;
        s7["send_at"] = "10:00";
        s7["channels"].push_back("sms");
        stages.push_back(s30);
        stages.push_back(s7);
        prog["stages"] = stages;
        prog["catch_up"]["policy"] = "skip";
        if (extra) extra(root);
    };
    return o;
}

inline std::string ymd_text(TimePoint t) { return format_rfc3339(t).substr(0, 10); }

struct Holder {
    std::string name;
    std::string language = "en";
    std::string sms;
    std::string email;
    std::vector<std::string> channels;
};

inline std::string due_event(const std::string& event_id, const std::string& licence, int version,
                      const std::string& due_date, const Holder& h) {
    Json contacts = Json::object();
    if (!h.sms.empty()) contacts["sms"] = h.sms;
    if (!h.email.empty()) contacts["email"] = h.email;
    Json j = {{"schema", "renewal-event/1"},
              {"event_id", event_id},
              {"type", "due"},
              {"program", "drivers-licence"},
              {"licence_id", licence},
              {"version", version},
              {"occurred_at", "2026-12-31T12:00:00Z"},
              {"due_date", due_date},
              {"holder",
               {{"name", h.name},
                {"language", h.language},
                {"time_zone", "America/Toronto"},
                {"contacts", contacts},
                {"channels", h.channels}}},
              {"data", {{"renewal_url", "https://www.ontario.ca/renew"}}}};
    return j.dump();
}

// Same as due_event, with `version` written as this exact JSON number token (for versions a
// double or an int cannot hold, e.g. "1152921504606846977" or "9223372036854775808").
inline std::string due_event_version(const std::string& event_id, const std::string& licence,
                                     const std::string& version, const std::string& due_date,
                                     const Holder& h) {
    std::string text = due_event(event_id, licence, 0, due_date, h);
    const std::string zero = "\"version\":0";
    const auto at = text.find(zero);
    if (at != std::string::npos) text.replace(at, zero.size(), "\"version\":" + version);
    return text;
}

// A log file's text from byte `from` on (empty when it does not exist yet).
inline std::string log_text(const std::string& path, std::size_t from = 0) {
    std::ifstream in(path, std::ios::binary);
    std::string all(std::istreambuf_iterator<char>(in), {});
    return from < all.size() ? all.substr(from) : std::string{};
}

inline std::size_t log_size(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    return in ? static_cast<std::size_t>(in.tellg()) : 0;
}

inline std::string renewed_event(const std::string& event_id, const std::string& licence, int version) {
    return Json{{"schema", "renewal-event/1"}, {"event_id", event_id},  {"type", "renewed"},
                {"program", "drivers-licence"}, {"licence_id", licence}, {"version", version},
                {"occurred_at", "2027-01-02T12:00:00Z"}}
        .dump();
}

struct Fixture {
    explicit Fixture(StackOptions o = test_options()) : stack(std::move(o)) {}

    // Starts rappeld and waits until it consumes: a warm-up event far in the future must
    // produce its `scheduled` outcomes.
    void start() {
        engine = stack.start_engine();
        const auto warm_due = ymd_text(stack.sim_now() + std::chrono::days{600});
        stack.publish(due_event("warm-up", "WARM-UP", 1, warm_due,
                                Holder{"W", "en", "+16135550000", "", {"sms"}}));
        stack.flush();
        const bool ready = !stack
                                .outcomes(
                                    [&](const auto& outs) {
                                        return count(outs, "scheduled", "WARM-UP") > 0 || !engine->running();
                                    },
                                    60s)
                                .empty();
        BOOST_REQUIRE_MESSAGE(ready && engine->running(), "engine did not start; log: " << stack.engine_log());
    }

    static int count(const std::vector<Json>& outs, const std::string& status, const std::string& licence = "") {
        int n = 0;
        for (const auto& o : outs)
            if (o.value("status", "") == status && (licence.empty() || o.value("licence_id", "") == licence)) ++n;
        return n;
    }

    // Waits until every reminder scheduled for these licences reached a terminal outcome.
    std::vector<Json> wait_all_terminal(const std::set<std::string>& licences, std::chrono::seconds timeout) {
        return stack.outcomes(
            [&](const std::vector<Json>& outs) {
                std::map<std::string, bool> open;
                std::set<std::string> seen;
                for (const auto& o : outs) {
                    if (!licences.count(o.value("licence_id", ""))) continue;
                    seen.insert(o.value("licence_id", ""));
                    const auto rid = o.value("reminder_id", "");
                    if (rid.empty()) continue;
                    if (o.value("status", "") == "scheduled") open.emplace(rid, true);
                    if (is_terminal(o.value("status", ""))) open[rid] = false;
                }
                if (seen.size() < licences.size()) return false;  // some not even applied yet
                for (auto& [rid, is_open] : open)
                    if (is_open) return false;
                return true;
            },
            timeout);
    }

    void stop_engine() {
        engine->signal(SIGTERM);
        auto code = engine->wait(30s);
        BOOST_REQUIRE(code.has_value());
        BOOST_CHECK_EQUAL(*code, 0);
    }

    std::vector<sim::RecordedRequest> sms_to(const std::string& number) {
        std::vector<sim::RecordedRequest> out;
        for (auto& r : stack.sim().requests())
            if (r.kind == "message" && r.to == number) out.push_back(r);
        return out;
    }

    Stack stack;
    std::unique_ptr<Process> engine;
};

// Publishes `count` SMS-only holders "<prefix>-<i>" (number +1613<block><i, 4 digits>), due
// first_day + (i % spread) days from now, and flushes. Fills the licences and numbers used.
struct SmsLicences {
    std::set<std::string> licences;
    std::set<std::string> numbers;

    SmsLicences(Fixture& f, const std::string& prefix, int block, int count, int first_day, int spread) {
        const auto now = f.stack.sim_now();
        for (int i = 0; i < count; ++i) {
            const auto due = ymd_text(now + std::chrono::days{first_day + (i % spread)});
            const auto number = fmt::format("+1613{}{:04}", block, i);
            const auto licence = fmt::format("{}-{}", prefix, i);
            f.stack.publish(due_event(fmt::format("evt-{}-{}", prefix, i), licence, 1, due,
                                      Holder{"N", "en", number, "", {"sms"}}));
            licences.insert(licence);
            numbers.insert(number);
        }
        f.stack.flush();
    }
};

inline std::chrono::year_month_day ymd_of(const std::string& text) {
    auto t = parse_rfc3339(text + "T00:00:00Z");
    return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(*t)};
}

}  // namespace rappel::enginetest
