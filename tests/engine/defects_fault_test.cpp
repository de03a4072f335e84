// Fault tests for six defects of the engine as it stood before the core rebuild, each
// black-box against real servers (Kafka mock cluster over TCP, redis-server, the provider
// simulator, the rappeld binary). Each case runs alone: --run_test=<name>.
#define BOOST_TEST_MODULE engine_defects
#include <boost/test/unit_test.hpp>

#include "tests/engine/engine_fixture.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cctype>
#include <thread>

using namespace rappel;
using namespace rappel::testkit;
using namespace rappel::enginetest;

namespace {

const Holder kSms{"N", "en", "+16135550001", "", {"sms"}};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// A log line (lower-cased) containing every word of `all` and at least one of `any`.
bool has_line(const std::string& text, std::initializer_list<std::string_view> all,
              std::initializer_list<std::string_view> any) {
    for (const auto& raw : lines_of(text)) {
        const auto l = lower(raw);
        bool ok = std::all_of(all.begin(), all.end(), [&](auto w) { return l.find(w) != std::string::npos; });
        if (ok && any.size() > 0)
            ok = std::any_of(any.begin(), any.end(), [&](auto w) { return l.find(w) != std::string::npos; });
        if (ok) return true;
    }
    return false;
}

int count_event(const std::vector<Json>& outs, const std::string& status, const std::string& event_id) {
    int n = 0;
    for (const auto& o : outs) n += o.value("status", "") == status && o.value("event_id", "") == event_id;
    return n;
}

std::optional<std::string> header(const kafka::Message& m, const std::string& name) {
    for (const auto& [k, v] : m.headers)
        if (k == name) return v;
    return std::nullopt;
}

std::string far_due(Fixture& f, int days) { return ymd_text(f.stack.sim_now() + std::chrono::days{days}); }

// Partition 0 gets: a valid event, an invalid one, the ~1.01 MB invalid one, another
// invalid one, then valid events. Returns the licences of the valid events after the big one.
std::vector<std::string> publish_partition_with_big_event(Fixture& f, const std::string& prefix) {
    auto& s = f.stack;
    const std::string key_base = "drivers-licence/";
    s.publish_to(0, key_base + prefix + "-0",
                 due_event("evt-" + prefix + "-0", prefix + "-0", 1, far_due(f, 200), kSms));
    Json bad1 = Json::parse(due_event("evt-" + prefix + "-bad-1", prefix + "-BAD-1", 1, far_due(f, 200), kSms));
    bad1["type"] = "bogus";
    s.publish_to(0, key_base + prefix + "-BAD-1", bad1.dump());
    s.flush();
    // Valid JSON whose type is wrong, padded past librdkafka's producer default
    // message.max.bytes (1,000,000) and under a broker's default (1,048,588).
    Json big = bad1;
    big["event_id"] = "evt-" + prefix + "-big";
    big["licence_id"] = prefix + "-BIG";
    big["padding"] = std::string(1'010'000, 'x');
    TestProducer large(s.kafka().bootstrap(), {{"message.max.bytes", "2000000"}});
    large.send(s.events_topic(), key_base + prefix + "-BIG", big.dump(), {}, 0);
    large.flush();
    Json bad2 = bad1;
    bad2["event_id"] = "evt-" + prefix + "-bad-2";
    bad2["licence_id"] = prefix + "-BAD-2";
    bad2["version"] = -1;
    bad2["type"] = "due";
    s.publish_to(0, key_base + prefix + "-BAD-2", bad2.dump());
    std::vector<std::string> after;
    for (int i = 1; i <= 5; ++i) {
        const auto lic = fmt::format("{}-{}", prefix, i);
        s.publish_to(0, key_base + lic, due_event("evt-" + lic, lic, 1, far_due(f, 200), kSms));
        after.push_back(lic);
    }
    s.flush();
    return after;
}

bool all_scheduled(const std::vector<Json>& outs, const std::vector<std::string>& licences) {
    std::set<std::string> got;
    for (const auto& o : outs)
        if (o.value("status", "") == "scheduled") got.insert(o.value("licence_id", ""));
    return std::all_of(licences.begin(), licences.end(), [&](const auto& l) { return got.count(l) > 0; });
}

// The same, incrementally, for waits over thousands of outcomes.
struct ScheduledTracker {
    const std::vector<std::string>& licences;
    std::size_t read = 0;
    std::set<std::string> got;
    bool operator()(const std::vector<Json>& outs) {
        for (; read < outs.size(); ++read)
            if (outs[read].value("status", "") == "scheduled") got.insert(outs[read].value("licence_id", ""));
        return std::all_of(licences.begin(), licences.end(), [&](const auto& l) { return got.count(l) > 0; });
    }
};

}  // namespace

// 1. A ~1.01 MB invalid event cannot be dead-lettered as is (the producer refuses it): it
// must not stop its partition.
BOOST_AUTO_TEST_CASE(oversized_invalid_event_does_not_stop_its_partition) {
    Fixture f;
    f.start();
    const auto after = publish_partition_with_big_event(f, "OVR");
    const auto outs = f.stack.outcomes([&](const auto& o) { return all_scheduled(o, after); }, 30s);
    BOOST_CHECK_MESSAGE(Fixture::count(outs, "scheduled", "OVR-0") > 0, "the event before the big one was not applied");
    for (const auto& l : after)
        BOOST_CHECK_MESSAGE(Fixture::count(outs, "scheduled", l) > 0,
                            l << " (after the big event, same partition) never scheduled within 30 s");
    BOOST_CHECK_EQUAL(count_event(outs, "invalid", "evt-OVR-bad-1"), 1);
    BOOST_CHECK_EQUAL(count_event(outs, "invalid", "evt-OVR-bad-2"), 1);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "invalid"), 3);  // the two above and the big one

    // The dead-letter topic holds each invalid event once; the big one as a smaller copy or
    // a fallback record, with a reason header.
    auto dlq = f.stack.dead_letters([](const auto& m) { return m.size() >= 3; }, 20s);
    std::map<std::string, int> per_key;
    for (const auto& m : dlq) {
        per_key[m.key.value_or("")]++;
        BOOST_CHECK_MESSAGE(header(m, "rappel-reason").has_value(), "dead letter without rappel-reason");
        // Unchanged when the topic takes it (the engine's producer allows what brokers
        // accept), else a truncated copy that says so.
        if (m.key.value_or("") == "drivers-licence/OVR-BIG" && m.value.value_or("").size() < 1'000'000u)
            BOOST_CHECK_MESSAGE(header(m, "rappel-truncated").has_value(), "a cut copy without rappel-truncated");
    }
    BOOST_CHECK_EQUAL(per_key["drivers-licence/OVR-BAD-1"], 1);
    BOOST_CHECK_EQUAL(per_key["drivers-licence/OVR-BAD-2"], 1);
    BOOST_CHECK_EQUAL(per_key["drivers-licence/OVR-BIG"], 1);
    BOOST_CHECK_EQUAL(dlq.size(), 3u);
    const auto log = log_text(f.stack.engine_log());
    BOOST_CHECK_MESSAGE(has_line(log, {}, {"too large", "larger than", "truncat", "message size", "max.bytes", "oversize"}),
                        "no log line says why the big event was dead-lettered");
    BOOST_CHECK(f.engine->running());
    f.stop_engine();
}

// 1b. The dead-letter topic refuses every record (authorization fails): invalid events still
// end `invalid`, loudly, and the partition goes on.
BOOST_AUTO_TEST_CASE(refusing_dead_letter_topic_does_not_stop_the_partition) {
    Fixture f;
    f.stack.kafka().set_topic_error(f.stack.dlq_topic(), RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    f.start();
    const auto after = publish_partition_with_big_event(f, "REF");
    const auto outs = f.stack.outcomes([&](const auto& o) { return all_scheduled(o, after); }, 30s);
    for (const auto& l : after)
        BOOST_CHECK_MESSAGE(Fixture::count(outs, "scheduled", l) > 0,
                            l << " (after invalid events, same partition) never scheduled within 30 s");
    BOOST_CHECK_EQUAL(count_event(outs, "invalid", "evt-REF-bad-1"), 1);
    BOOST_CHECK_EQUAL(count_event(outs, "invalid", "evt-REF-bad-2"), 1);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "invalid"), 3);
    const auto log = log_text(f.stack.engine_log());
    BOOST_CHECK_MESSAGE(has_line(log, {"error"}, {"dead-letter", "dead letter", "dlq"}),
                        "no error line about the dead-letter topic refusing; log:\n" << log.substr(0, 4000));
    BOOST_CHECK(f.engine->running());
    f.stop_engine();
}

namespace {

// One stage, 30 days before the due date, SMS only; a slower clock so that nothing expires
// while Redis is away (expire_after 720 h is 52 real seconds at 50000x).
StackOptions one_stage_options(int max_in_flight) {
    return test_options(
        [max_in_flight](YAML::Node& root) {
            root["engine"]["max_in_flight"] = max_in_flight;
            YAML::Node stages(YAML::NodeType::Sequence);
            YAML::Node s30;
            s30["id"] = "30d";
            s30["offset_days"] = -30;
            s30["send_at"] = "10:00";
            s30["channels"].push_back("sms");
            stages.push_back(s30);
            root["programs"]["drivers-licence"]["stages"] = stages;
        },
        50000);
}

// `count` licences with due dates 31..34 days out: one SMS each, 1 to 4 simulated days on.
struct Wave : SmsLicences {
    Wave(Fixture& f, const std::string& prefix, int block, int count) : SmsLicences(f, prefix, block, count, 31, 4) {}

    std::size_t requests(Fixture& f) const {
        std::size_t n = 0;
        for (const auto& r : f.stack.sim().requests()) n += numbers.count(r.to) && r.status == 201;
        return n;
    }

    // Every idempotency key accepted once: a repeated key counts as a second send even when
    // the simulator answered it from its idempotency store (Twilio does not honour it).
    void check_each_sent_once(Fixture& f, const std::vector<Json>& outs, std::size_t expected) const {
        std::map<std::string, int> per_key;
        for (const auto& r : f.stack.sim().requests())
            if (numbers.count(r.to) && r.status == 201) per_key[r.idempotency_key]++;
        BOOST_CHECK_EQUAL(per_key.size(), expected);
        int twice = 0;
        for (const auto& [key, n] : per_key) twice += n > 1;
        BOOST_CHECK_MESSAGE(twice == 0, twice << " reminders reached the provider more than once");
        std::map<std::string, int> terminal;
        for (const auto& o : outs)
            if (licences.count(o.value("licence_id", "")) && is_terminal(o.value("status", "")))
                terminal[o.value("reminder_id", "")]++;
        BOOST_CHECK_EQUAL(terminal.size(), expected);
        int ended_twice = 0;
        for (const auto& [rid, n] : terminal) ended_twice += n != 1;
        BOOST_CHECK_MESSAGE(ended_twice == 0, ended_twice << " reminders have more than one terminal outcome");
    }
};

}  // namespace

// 2. Redis away for three leases while sends are in flight and their results wait to be
// recorded: nothing goes twice, nothing is left open, no send slot leaks.
namespace {
// freeze: SIGSTOP (every call hangs) instead of stopping the server (connections refused).
void redis_away_for_three_leases(bool freeze) {
    Fixture f(one_stage_options(4));
    f.start();
    sim::Fault slow;
    slow.status = 0;  // answer normally, after a delay: sends stay in flight
    slow.delay = 800ms;
    slow.times = -1;
    f.stack.sim().add_fault(slow);
    const Wave first(f, "AWAY", 561, 40);
    BOOST_REQUIRE(wait_until([&] { return first.requests(f) >= 6; }, 60s));
    if (freeze) f.stack.redis().pause();
    else f.stack.redis().stop();
    // Away for 15 s = three leases (lease_seconds 5, real time).
    const auto back_at = std::chrono::steady_clock::now() + 15s;
    wait_until([&] { return !f.engine->running() || std::chrono::steady_clock::now() >= back_at; }, 20s, 100ms);
    if (freeze) f.stack.redis().resume();
    else f.stack.redis().start();
    BOOST_REQUIRE(f.engine->running());
    auto outs = f.wait_all_terminal(first.licences, 120s);
    first.check_each_sent_once(f, outs, 40);
    // A second wave after Redis returned still all goes out: no slot stayed taken.
    const Wave second(f, "AFTER", 562, 20);
    outs = f.wait_all_terminal(second.licences, 90s);
    second.check_each_sent_once(f, outs, 20);
    f.engine->signal(SIGTERM);
    const auto code = f.engine->wait(20s);
    BOOST_CHECK_MESSAGE(code.has_value(), "engine did not stop within 20 s of SIGTERM");
    BOOST_CHECK_EQUAL(code.value_or(-1), 0);
}
}  // namespace

BOOST_AUTO_TEST_CASE(redis_away_longer_than_the_lease_sends_nothing_twice_and_leaks_no_slot) {
    redis_away_for_three_leases(false);
}

BOOST_AUTO_TEST_CASE(redis_frozen_longer_than_the_lease_sends_nothing_twice_and_leaks_no_slot) {
    redis_away_for_three_leases(true);
}

// 3a. A second engine joins mid-ingest and leaves mid-ingest: events buffered when an apply
// finishes after revoke and re-assign are still applied, without publishing more.
BOOST_AUTO_TEST_CASE(rebalance_mid_ingest_applies_every_buffered_event) {
    Fixture f(test_options([](YAML::Node& root) { root["engine"]["ingest_batch"] = 10; }));
    f.start();
    std::vector<std::string> licences;
    int next = 0;
    auto publish_chunk = [&] {
        for (int i = 0; i < 20; ++i, ++next) {
            const auto lic = fmt::format("REB-{}", next);
            f.stack.publish(due_event("evt-" + lic, lic, 1, far_due(f, 300 + next % 50), kSms));
            licences.push_back(lic);
        }
        f.stack.flush();
        f.stack.outcomes([](const auto&) { return false; }, 100ms);  // paces the producer
    };
    auto second = f.stack.start_engine("engine-2");
    const auto log2 = f.stack.engine_log("engine-2");
    const auto joined = std::chrono::steady_clock::now() + 30s;
    while (log_text(log2).find("assigned partition") == std::string::npos &&
           std::chrono::steady_clock::now() < joined)
        publish_chunk();
    BOOST_REQUIRE_MESSAGE(log_text(log2).find("assigned partition") != std::string::npos, "engine-2 never joined");
    for (int i = 0; i < 10; ++i) publish_chunk();
    second->signal(SIGTERM);
    const auto left = std::chrono::steady_clock::now() + 30s;
    while (second->running() && std::chrono::steady_clock::now() < left) publish_chunk();
    for (int i = 0; i < 10; ++i) publish_chunk();
    BOOST_TEST_MESSAGE("published " << licences.size() << " events across the join and the leave");
    ScheduledTracker tracker{licences, 0, {}};
    const auto outs = f.stack.outcomes([&](const auto& o) { return tracker(o); }, 60s);
    int missing = 0;
    tracker(outs);
    for (const auto& l : licences) missing += tracker.got.count(l) == 0;
    BOOST_CHECK_MESSAGE(missing == 0, missing << " of " << licences.size()
                                              << " published licences never reached `scheduled` within 60 s");
    f.stop_engine();
}

// 3b. Redis frozen while partitions are assigned, then resumed: nothing is consumed again from
// the beginning, and the engine says what is wrong.
BOOST_AUTO_TEST_CASE(redis_frozen_during_assignment_does_not_replay_from_the_beginning) {
    Fixture f;
    f.start();
    std::vector<std::string> old;
    for (int i = 0; i < 60; ++i) {
        const auto lic = fmt::format("FRZ-{}", i);
        f.stack.publish(due_event("evt-" + lic, lic, 1, far_due(f, 300), kSms));
        old.push_back(lic);
    }
    f.stack.flush();
    auto outs = f.stack.outcomes([&](const auto& o) { return all_scheduled(o, old); }, 30s);
    BOOST_REQUIRE(all_scheduled(outs, old));
    const auto mark1 = log_size(f.stack.engine_log("engine-1"));
    f.stack.redis().pause();
    auto second = f.stack.start_engine("engine-2");  // the rebalance assigns partitions meanwhile
    const auto log2 = f.stack.engine_log("engine-2");
    auto said = [&] {
        const auto text = log_text(f.stack.engine_log("engine-1"), mark1) + log_text(log2);
        return has_line(text, {"redis"}, {"timeout", "timed out", "unreachable", "not respond", "unavailable"});
    };
    const bool warned = wait_until(said, 20s, 100ms);
    BOOST_CHECK_MESSAGE(warned, "no log line about Redis not answering within 20 s of freezing it");
    f.stack.redis().resume();
    // Sentinels on every partition: once they are scheduled, a replay would be out too.
    std::vector<std::string> sentinels;
    for (int p = 0; p < 4; ++p) {
        const auto lic = fmt::format("FRZ-S{}", p);
        f.stack.publish_to(p, "drivers-licence/" + lic, due_event("evt-" + lic, lic, 1, far_due(f, 300), kSms));
        sentinels.push_back(lic);
    }
    f.stack.flush();
    outs = f.stack.outcomes([&](const auto& o) { return all_scheduled(o, sentinels); }, 60s);
    BOOST_CHECK_MESSAGE(all_scheduled(outs, sentinels), "sentinel events were not scheduled within 60 s of resuming Redis");
    int replayed = 0;
    for (const auto& l : old)
        replayed += Fixture::count(outs, "stale", l) > 0 || Fixture::count(outs, "scheduled", l) != 2;
    BOOST_CHECK_MESSAGE(replayed == 0, replayed << " of " << old.size()
                                               << " old licences got a second outcome (consumed again from the beginning)");
    BOOST_CHECK(f.engine->running());
    second->signal(SIGTERM);
    BOOST_CHECK_EQUAL(second->wait(30s).value_or(-1), 0);
    f.stop_engine();
}

// 4. Versions are compared exactly: 2^60+1 is newer than 2^60; above 2^63-1 is invalid.
BOOST_AUTO_TEST_CASE(versions_above_2_pow_53_are_compared_exactly) {
    Fixture f;
    f.start();
    f.stack.publish(due_event_version("evt-v1", "VER-1", "1152921504606846976", far_due(f, 100), kSms));
    f.stack.flush();
    auto outs = f.stack.outcomes([](const auto& o) { return count_event(o, "scheduled", "evt-v1") >= 2; }, 30s);
    BOOST_REQUIRE_EQUAL(count_event(outs, "scheduled", "evt-v1"), 2);
    f.stack.publish(due_event_version("evt-v2", "VER-1", "1152921504606846977", far_due(f, 130), kSms));
    f.stack.publish(due_event_version("evt-v3", "VER-1", "9223372036854775808", far_due(f, 160), kSms));
    f.stack.flush();
    outs = f.stack.outcomes(
        [](const auto& o) {
            return (count_event(o, "scheduled", "evt-v2") >= 2 || count_event(o, "stale", "evt-v2") > 0) &&
                   count_event(o, "invalid", "evt-v3") > 0;
        },
        30s);
    BOOST_CHECK_EQUAL(count_event(outs, "stale", "evt-v2"), 0);
    BOOST_CHECK_EQUAL(count_event(outs, "scheduled", "evt-v2"), 2);
    int superseded = 0;
    for (const auto& o : outs)
        superseded += o.value("licence_id", "") == "VER-1" && o.value("status", "") == "cancelled" &&
                      o.value("reason", "").find("superseded") != std::string::npos;
    BOOST_CHECK_EQUAL(superseded, 2);
    BOOST_CHECK_EQUAL(count_event(outs, "invalid", "evt-v3"), 1);
    const auto dlq = f.stack.dead_letters([](const auto& m) { return !m.empty(); }, 20s);
    BOOST_REQUIRE_EQUAL(dlq.size(), 1u);
    const auto reason = header(dlq[0], "rappel-reason").value_or("") + " " + header(dlq[0], "rappel-detail").value_or("");
    BOOST_TEST_MESSAGE("dead-letter reason: " << reason);
    BOOST_CHECK_MESSAGE(reason.find("version") != std::string::npos, "reason does not name the version: " << reason);
    f.stop_engine();
}

// 5. An event whose key is not <program>/<licence_id> is dead-lettered as key-mismatch.
BOOST_AUTO_TEST_CASE(key_mismatch_is_dead_lettered) {
    Fixture f;
    f.start();
    f.stack.publish_raw("drivers-licence/SOMEONE-ELSE", due_event("evt-km-1", "KEYM-1", 1, far_due(f, 100), kSms));
    f.stack.flush();
    f.stack.publish(due_event("evt-km-2", "KEYM-1", 1, far_due(f, 100), kSms));
    f.stack.flush();
    const auto outs = f.stack.outcomes(
        [](const auto& o) {
            return (count_event(o, "scheduled", "evt-km-2") >= 2 || count_event(o, "stale", "evt-km-2") > 0) &&
                   count_event(o, "invalid", "evt-km-1") > 0;
        },
        30s);
    BOOST_CHECK_EQUAL(count_event(outs, "invalid", "evt-km-1"), 1);
    BOOST_CHECK_EQUAL(count_event(outs, "scheduled", "evt-km-1"), 0);
    BOOST_CHECK_EQUAL(count_event(outs, "scheduled", "evt-km-2"), 2);
    BOOST_CHECK_EQUAL(count_event(outs, "stale", "evt-km-2"), 0);
    const auto dlq = f.stack.dead_letters([](const auto& m) { return !m.empty(); }, 10s);
    BOOST_REQUIRE_EQUAL(dlq.size(), 1u);
    BOOST_CHECK_EQUAL(header(dlq[0], "rappel-reason").value_or("<none>"), "key-mismatch");
    BOOST_CHECK_EQUAL(dlq[0].key.value_or(""), "drivers-licence/SOMEONE-ELSE");
    f.stop_engine();
}

// 6. Redis hung is reported within seconds; Redis refusing connections does not flood the log;
// work resumes when it returns.
BOOST_AUTO_TEST_CASE(redis_hung_or_dead_is_visible_but_not_a_flood) {
    Fixture f;
    f.start();
    const auto log = f.stack.engine_log();
    auto mark = log_size(log);
    f.stack.redis().pause();
    const bool reported = wait_until(
        [&] {
            return has_line(log_text(log, mark), {"redis"},
                            {"timeout", "timed out", "unreachable", "not respond", "unavailable"});
        },
        10s, 100ms);
    BOOST_CHECK_MESSAGE(reported, "no Redis timeout/unreachable line within 10 s of SIGSTOP");
    f.stack.redis().stop();  // connections refused from now on
    mark = log_size(log);
    const auto until = std::chrono::steady_clock::now() + 10s;
    wait_until([&] { return !f.engine->running() || std::chrono::steady_clock::now() >= until; }, 12s, 100ms);
    const auto flood = lines_of(log_text(log, mark)).size();
    BOOST_TEST_MESSAGE("log lines in 10 s with Redis refusing connections: " << flood);
    BOOST_CHECK_MESSAGE(flood <= 40, flood << " log lines in 10 s with Redis refusing connections (at most 40 wanted)");
    f.stack.redis().start();
    BOOST_REQUIRE(f.engine->running());
    f.stack.publish(due_event("evt-back", "BACK-1", 1, far_due(f, 100), kSms));
    f.stack.flush();
    const auto outs = f.stack.outcomes([](const auto& o) { return Fixture::count(o, "scheduled", "BACK-1") >= 2; }, 30s);
    BOOST_CHECK_MESSAGE(Fixture::count(outs, "scheduled", "BACK-1") >= 2, "no work 30 s after Redis returned");
    f.stop_engine();
}
