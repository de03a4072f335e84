// Redis loses everything (FLUSHALL while rappeld is down), a new rappeld re-consumes the
// events topic from the beginning: what was sent before must not be sent again, and every
// reminder keeps exactly one terminal outcome. Real servers: Kafka mock cluster over TCP,
// redis-server, the provider simulator, the rappeld binary on a simulated clock.
#define BOOST_TEST_MODULE engine_rebuild
#include <boost/test/unit_test.hpp>

#include "tests/engine/engine_fixture.hpp"

using namespace rappel;
using namespace rappel::testkit;
using namespace rappel::enginetest;

namespace {

// Stages past at re-consumption are sent again within 30 days (catch-up `latest`): without
// the done markers, every reminder sent before the wipe would be re-sent or re-ended.
StackOptions rebuild_options() {
    return test_options([](YAML::Node& root) {
        root["programs"]["drivers-licence"]["catch_up"]["policy"] = "latest";
        root["programs"]["drivers-licence"]["catch_up"]["grace_days"] = 30;
    });
}

int accepted_requests(Fixture& f, const std::set<std::string>& numbers) {
    int n = 0;
    for (const auto& r : f.stack.sim().requests()) n += numbers.count(r.to) > 0;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(redis_losing_everything_sends_nothing_twice_on_rebuild) {
    Fixture f(rebuild_options());
    f.start();
    // Sent before the wipe: due in 33-36 days, stages 30d and 7d fire within ~7 real seconds.
    const SmsLicences before(f, "SENT", 561, 12, 33, 4);
    // Still pending at the wipe (stage 30d at +50 days or later): sent once, after it.
    const SmsLicences after(f, "LATER", 562, 8, 80, 4);
    auto outs = f.wait_all_terminal(before.licences, 60s);
    BOOST_REQUIRE_EQUAL(accepted_requests(f, before.numbers), 24);
    f.stop_engine();
    f.stack.redis().flushall();

    const auto log_from = log_size(f.stack.engine_log("engine-2"));
    f.engine = f.stack.start_engine("engine-2");
    // A sentinel at the end of each partition: once it is scheduled, everything before it in
    // its partition was re-applied.
    std::set<std::string> sentinels;
    for (int p = 0; p < 4; ++p) {
        const auto lic = fmt::format("SENTINEL-{}", p);
        f.stack.publish_to(p, "drivers-licence/" + lic,
                           due_event("evt-" + lic, lic, 1, ymd_text(f.stack.sim_now() + std::chrono::days{600}),
                                     Holder{"S", "en", "+16135630000", "", {"sms"}}));
        sentinels.insert(lic);
    }
    f.stack.flush();
    std::set<std::string> all = before.licences;
    all.insert(after.licences.begin(), after.licences.end());
    outs = f.stack.outcomes(
        [&](const std::vector<Json>& o) {
            for (const auto& s : sentinels)
                if (Fixture::count(o, "scheduled", s) == 0) return false;
            return true;
        },
        60s);
    outs = f.wait_all_terminal(all, 60s);
    // Quiet for a second: a re-sent reminder would be due at once (catch-up) and claimed
    // within a poll interval.
    std::size_t seen = f.stack.sim().requests().size();
    auto quiet_since = std::chrono::steady_clock::now();
    BOOST_REQUIRE(wait_until(
        [&] {
            const auto n = f.stack.sim().requests().size();
            if (n != seen) {
                seen = n;
                quiet_since = std::chrono::steady_clock::now();
            }
            return std::chrono::steady_clock::now() - quiet_since > 1s;
        },
        30s));
    outs = f.stack.outcomes([](const auto&) { return false; }, 200ms);

    std::set<std::string> numbers = before.numbers;
    numbers.insert(after.numbers.begin(), after.numbers.end());
    std::map<std::string, int> requests_per_key;
    for (const auto& r : f.stack.sim().requests())
        if (numbers.count(r.to)) requests_per_key[r.idempotency_key]++;
    BOOST_CHECK_EQUAL(requests_per_key.size(), 40u);
    int twice = 0;
    for (const auto& [key, n] : requests_per_key) twice += n > 1;
    BOOST_CHECK_MESSAGE(twice == 0, twice << " reminders reached the provider more than once");

    // The SMS reminders (the 30d email ones are `suppressed`: no address; a replay publishes
    // that same outcome again, as a relay retry may, and consumers deduplicate it).
    std::map<std::string, std::multiset<std::string>> terminal;
    for (const auto& o : outs)
        if (all.count(o.value("licence_id", "")) && o.value("channel", "") == "sms" &&
            is_terminal(o.value("status", "")))
            terminal[o.value("reminder_id", "")].insert(o.value("status", ""));
    BOOST_CHECK_EQUAL(terminal.size(), 40u);
    int not_once = 0;
    for (const auto& [rid, statuses] : terminal) not_once += statuses != std::multiset<std::string>{"sent"};
    BOOST_CHECK_MESSAGE(not_once == 0, not_once << " reminders have other than exactly one `sent`");

    // Observable, without licence ids: the restore is logged per partition.
    const auto log = log_text(f.stack.engine_log("engine-2"), log_from);
    for (const auto& line : {"restored", "restore: read"})
        for (std::size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1))
            BOOST_TEST_MESSAGE(log.substr(log.rfind('\n', at) + 1, log.find('\n', at) - log.rfind('\n', at) - 1));
    BOOST_CHECK(log.find("restored") != std::string::npos);
    BOOST_CHECK(log.find("SENT-") == std::string::npos);

    // Every outcome names the events partition of its licence (the sentinels: their own).
    TestConsumer reader(f.stack.kafka().bootstrap(), f.stack.outcomes_topic());
    const auto messages = reader.poll_until([&](const auto& ms) { return ms.size() >= outs.size(); }, 30s);
    std::map<std::string, std::string> partition_of;  // licence -> header
    int without = 0;
    for (const auto& m : messages) {
        if (!m.value) continue;
        std::optional<std::string> h;
        for (const auto& [k, v] : m.headers)
            if (k == "rappel-partition") h = v;
        without += !h;
        if (h) partition_of[Json::parse(*m.value).value("licence_id", "")] = *h;
    }
    BOOST_CHECK_EQUAL(without, 0);
    for (int p = 0; p < 4; ++p) BOOST_CHECK_EQUAL(partition_of[fmt::format("SENTINEL-{}", p)], std::to_string(p));
    f.stop_engine();
}
