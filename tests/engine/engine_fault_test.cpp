// End to end through the real components: Kafka mock cluster over TCP, redis-server, the
// provider simulator, an SMTP sink, and the rappeld binary on a simulated clock.
#define BOOST_TEST_MODULE engine_fault
#include <boost/test/unit_test.hpp>

#include "tests/engine/engine_fixture.hpp"

#include <fstream>

using namespace rappel;
using namespace rappel::testkit;
using namespace rappel::enginetest;

namespace {

// 40 licences with due dates spread over 12 days: 80 SMS (stages 30 and 7 days before) over
// about 20 real seconds at 200000x.
struct Workload : SmsLicences {
    Workload(Fixture& f, const std::string& prefix, int block) : SmsLicences(f, prefix, block, 40, 33, 12) {}

    std::size_t accepted(Fixture& f) const {
        std::size_t n = 0;
        for (const auto& r : f.stack.sim().requests()) n += numbers.count(r.to) && r.status == 201 && !r.duplicate;
        return n;
    }

    // Every reminder reached the provider exactly once and ended `sent`, exactly once.
    void check_each_sent_once(Fixture& f, const std::vector<Json>& outs) const {
        std::map<std::string, int> accepted_per_key;
        for (const auto& r : f.stack.sim().requests())
            if (numbers.count(r.to) && r.status == 201 && !r.duplicate) accepted_per_key[r.idempotency_key]++;
        BOOST_CHECK_EQUAL(accepted_per_key.size(), 80u);
        for (const auto& [key, n] : accepted_per_key) BOOST_CHECK_MESSAGE(n == 1, key << " accepted " << n << " times");
        std::map<std::string, std::multiset<std::string>> terminal;
        for (const auto& o : outs)
            if (licences.count(o.value("licence_id", "")) && o.value("channel", "") == "sms" &&
                is_terminal(o.value("status", "")))
                terminal[o.value("reminder_id", "")].insert(o.value("status", ""));
        BOOST_CHECK_EQUAL(terminal.size(), 80u);
        for (const auto& [rid, statuses] : terminal)
            BOOST_CHECK_MESSAGE(statuses == std::multiset<std::string>{"sent"}, rid << " ended " << statuses.size() << " times");
    }
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_engine_killed_mid_run_loses_nothing_and_sends_nothing_twice) {
    // Slower clock: the restart (group rebalance after the dead member's session times out)
    // takes several real seconds, which must stay well inside expire_after.
    Fixture f(test_options({}, 200000));
    f.start();
    const Workload w(f, "KILL", 556);
    BOOST_REQUIRE(wait_until([&] { return w.accepted(f) >= 10; }, 60s));
    f.engine->kill_hard();
    const auto at_kill = w.accepted(f);
    BOOST_TEST_MESSAGE("killed after " << at_kill << " messages");
    BOOST_CHECK_LT(at_kill, 80u);
    f.engine = f.stack.start_engine("engine-2");
    w.check_each_sent_once(f, f.wait_all_terminal(w.licences, 120s));
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(a_second_engine_joining_mid_run_shares_the_work_and_nothing_goes_twice) {
    Fixture f(test_options({}, 200000));
    f.start();
    const Workload w(f, "JOIN", 557);
    BOOST_REQUIRE(wait_until([&] { return w.accepted(f) >= 10; }, 60s));
    auto second = f.stack.start_engine("engine-2");
    const auto outs = f.wait_all_terminal(w.licences, 120s);
    w.check_each_sent_once(f, outs);
    // The group rebalanced: the newcomer took partitions over from the first engine.
    BOOST_CHECK(read_file(f.stack.engine_log("engine-2")).find("assigned partition") != std::string::npos);
    BOOST_CHECK(read_file(f.stack.engine_log("engine-1")).find("revoked partition") != std::string::npos);
    second->signal(SIGTERM);
    BOOST_CHECK_EQUAL(second->wait(30s).value_or(-1), 0);
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(redis_restarting_mid_run_loses_nothing_and_sends_nothing_twice) {
    Fixture f(test_options({}, 200000));
    f.start();
    const Workload w(f, "REDIS", 558);
    BOOST_REQUIRE(wait_until([&] { return w.accepted(f) >= 10; }, 60s));
    f.stack.redis().restart();  // drops every connection; AOF keeps the data
    w.check_each_sent_once(f, f.wait_all_terminal(w.licences, 120s));
    BOOST_CHECK(f.engine->running());
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(a_provider_failing_twice_then_accepting_gets_the_message_through_in_3_attempts) {
    Fixture f;
    f.start();
    sim::Fault fault;
    fault.status = 503;
    fault.times = 2;
    fault.match_to = "+16135554001";
    f.stack.sim().add_fault(fault);
    const auto due = ymd_text(f.stack.sim_now() + std::chrono::days{32});
    f.stack.publish(due_event("evt-f1", "RETRY-1", 1, due, Holder{"F", "en", "+16135554001", "", {"sms"}}));
    f.stack.flush();
    auto outs = f.stack.outcomes([](const auto& o) { return Fixture::count(o, "sent", "RETRY-1") >= 1; }, 60s);
    const Json* sent = nullptr;
    for (const auto& o : outs)
        if (o.value("licence_id", "") == "RETRY-1" && o.value("status", "") == "sent") sent = &o;
    BOOST_REQUIRE(sent);
    BOOST_CHECK_EQUAL(sent->value("attempt", 0), 3);
    BOOST_CHECK_EQUAL(sent->value("stage", ""), "30d");
    BOOST_CHECK(!sent->value("provider_message_id", "").empty());
    auto reqs = f.sms_to("+16135554001");
    BOOST_REQUIRE_GE(reqs.size(), 3u);
    BOOST_CHECK_EQUAL(reqs[0].status, 503);
    BOOST_CHECK_EQUAL(reqs[1].status, 503);
    BOOST_CHECK_EQUAL(reqs[2].status, 201);
    BOOST_CHECK_EQUAL(reqs[0].idempotency_key, reqs[2].idempotency_key);
    f.stop_engine();
}
