// Send windows end to end: rappeld on the simulated clock with the real Kafka mock,
// redis-server and provider simulator. Holders are in Toronto; SMS has its default window
// (weekdays 09:00-20:00, weekends 10:00-17:00, Ontario holidays skipped).
#define BOOST_TEST_MODULE engine_windows
#include <boost/test/unit_test.hpp>

#include "scheduler/holidays.hpp"
#include "scheduler/plan.hpp"
#include "tests/engine/engine_fixture.hpp"

using namespace rappel;
using namespace rappel::testkit;
using namespace rappel::enginetest;

namespace {

// One SMS stage 7 days before the due date at `send_at`.
std::function<void(YAML::Node&)> one_stage(const std::string& send_at, const std::string& catch_up = "skip") {
    return [send_at, catch_up](YAML::Node& root) {
        YAML::Node stages(YAML::NodeType::Sequence);
        YAML::Node s;
        s["id"] = "7d";
        s["offset_days"] = -7;
        s["send_at"] = send_at;
        s["channels"].push_back("sms");
        stages.push_back(s);
        root["programs"]["drivers-licence"]["stages"] = stages;
        root["programs"]["drivers-licence"]["catch_up"]["policy"] = catch_up;
        root["programs"]["drivers-licence"]["catch_up"]["grace_days"] = 3;
    };
}

std::vector<Json> of(const std::vector<Json>& outs, const std::string& status, const std::string& prefix) {
    std::vector<Json> r;
    for (const auto& o : outs)
        if (o.value("status", "") == status && o.value("licence_id", "").rfind(prefix, 0) == 0) r.push_back(o);
    return r;
}

TimePoint time_of(const Json& o, const std::string& field) { return *parse_rfc3339(o.value(field, "")); }

}  // namespace

BOOST_AUTO_TEST_CASE(a_stage_on_canada_day_moves_to_the_day_before_and_the_outcome_says_why) {
    Fixture f(test_options(one_stage("10:00")));
    f.start();
    f.stack.publish(due_event("evt-cd", "CANADA-1", 1, "2027-07-08", enginetest::Holder{"C", "en", "+16135556001", "", {"sms"}}));
    f.stack.flush();
    auto outs = f.stack.outcomes([](const auto& o) { return Fixture::count(o, "scheduled", "CANADA-1") >= 1; }, 60s);
    const auto scheduled = of(outs, "scheduled", "CANADA-1");
    BOOST_REQUIRE_EQUAL(scheduled.size(), 1u);
    BOOST_CHECK_EQUAL(scheduled[0].value("scheduled_for", ""), "2027-06-30T14:00:00.000Z");
    BOOST_CHECK_EQUAL(scheduled[0].value("reason", ""), "moved from 2027-07-01 (holiday: Canada Day) to 2027-06-30");
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(a_retry_storm_at_19h55_resumes_the_next_morning) {
    auto o = test_options([](YAML::Node& root) {
        one_stage("19:55")(root);
        root["retry"]["backoff_base_seconds"] = 600;  // the retry would come at 20:05
        root["retry"]["backoff_cap_seconds"] = 600;
        root["retry"]["jitter"] = "none";
    });
    Fixture f(std::move(o));
    f.start();
    constexpr int kHolders = 12;
    sim::Fault fault;
    fault.status = 503;
    fault.times = kHolders;  // the first attempt of each fails
    f.stack.sim().add_fault(fault);
    // A due date whose stage (7 days before) is a Tuesday or Wednesday, that day and the next
    // no holiday; the engine's start took some simulated days already.
    using namespace std::chrono;
    sys_days due = floor<days>(f.stack.sim_now()) + days{12};
    auto stage_day = [&] { return year_month_day{due - days{7}}; };
    while ((weekday{due - days{7}} != Tuesday && weekday{due - days{7}} != Wednesday) ||
           scheduler::is_ontario_holiday(stage_day()) ||
           scheduler::is_ontario_holiday(year_month_day{due - days{6}}))
        due += days{1};
    const std::string due_text = ymd_text(TimePoint{due});
    std::set<std::string> licences;
    for (int i = 0; i < kHolders; ++i) {
        const auto licence = fmt::format("STORM-{}", i);
        f.stack.publish(due_event("evt-" + licence, licence, 1, due_text,
                                  enginetest::Holder{"S", "en", fmt::format("+1613557{:04}", i), "", {"sms"}}));
        licences.insert(licence);
    }
    f.stack.flush();
    auto outs = f.wait_all_terminal(licences, 90s);
    const auto sent = of(outs, "sent", "STORM-");
    BOOST_REQUIRE_EQUAL(sent.size(), static_cast<std::size_t>(kHolders));
    const TimePoint morning =
        scheduler::stage_instant(year_month_day{due}, -6, 9, 0, date::locate_zone("America/Toronto"));
    for (const auto& s : sent) {
        BOOST_CHECK_EQUAL(s.value("attempt", 0), 2);
        const TimePoint at = time_of(s, "at");
        BOOST_CHECK_MESSAGE(at >= morning && at < morning + std::chrono::hours{6},
                            "sent at " << s.value("at", "") << ", expected Thursday morning");
    }
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(a_catch_up_event_arriving_at_night_is_sent_the_next_morning) {
    // 3,000x: one real second is 50 simulated minutes. 19:00 in Toronto on Monday 4 January.
    auto o = test_options(one_stage("10:00", "latest"), 3000);
    o.clock_start = "2027-01-05T00:00:00Z";
    Fixture f(std::move(o));
    f.start();
    // Due Monday 11 January: the 7d stage was Monday 10:00, past; caught up.
    f.stack.publish(due_event("evt-late", "LATE-1", 1, "2027-01-11", enginetest::Holder{"L", "en", "+16135558001", "", {"sms"}}));
    f.stack.flush();
    auto outs = f.stack.outcomes([](const auto& x) { return Fixture::count(x, "sent", "LATE-1") >= 1; }, 60s);
    const auto scheduled = of(outs, "scheduled", "LATE-1");
    BOOST_REQUIRE_EQUAL(scheduled.size(), 1u);
    const TimePoint arrived = time_of(scheduled[0], "at");
    const TimePoint close = *parse_rfc3339("2027-01-05T01:00:00Z");  // 20:00
    const TimePoint open = *parse_rfc3339("2027-01-05T14:00:00Z");   // Tuesday 09:00
    BOOST_REQUIRE_MESSAGE(arrived >= close && arrived < open,
                          "the event should arrive at night, came at " << scheduled[0].value("at", ""));
    BOOST_CHECK_EQUAL(scheduled[0].value("reason", ""), "catch-up");
    BOOST_CHECK_EQUAL(scheduled[0].value("scheduled_for", ""), "2027-01-05T14:00:00.000Z");
    const auto sent = of(outs, "sent", "LATE-1");
    BOOST_REQUIRE_EQUAL(sent.size(), 1u);
    BOOST_CHECK(time_of(sent[0], "at") >= open);
    f.stop_engine();
}
