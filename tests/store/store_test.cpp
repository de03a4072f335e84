// The schedule's Lua scripts against a real redis-server: versioning, de-duplication,
// leases and fencing, retries, cancellation, and that every change writes its outcome.
#define BOOST_TEST_MODULE schedule_store
#include <boost/test/unit_test.hpp>

#include "engine/base/time_format.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/keys.hpp"
#include "scheduler/store.hpp"
#include "tests/support/redis_server.hpp"

#include <nlohmann/json.hpp>

#include <optional>

using namespace rappel;
using namespace rappel::scheduler;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

const TimePoint kT0 = *parse_rfc3339("2027-01-01T00:00:00Z");
constexpr const char* kTopic = "renewals";
constexpr std::int32_t kPart = 3;

struct Env {
    testkit::RedisServer server;
    boost::asio::io_context io;
    redis::Client client{io, redis::Endpoint{server.host(), server.port(), ""}};
    ScheduleStore store{client, "rp", kTopic, Millis{std::chrono::days{400}}};
    Keys keys{"rp", kPart};
    std::int64_t offset = 0;

    Env() {
        client.start();
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!client.connected() && std::chrono::steady_clock::now() < deadline) io.run_one_for(20ms);
        BOOST_REQUIRE(client.connected());
    }

    template <typename T>
    T wait(std::optional<T>& slot) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!slot && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
        BOOST_REQUIRE_MESSAGE(slot.has_value(), "no reply from redis in time");
        return std::move(*slot);
    }

    ApplyResult apply(std::vector<std::string> entries, TimePoint now = kT0) {
        std::optional<Result<ApplyResult>> r;
        store.apply(kPart, std::move(entries), now, [&](Result<ApplyResult> x) { r = std::move(x); });
        auto res = wait(r);
        BOOST_REQUIRE_MESSAGE(res.ok(), (res.ok() ? std::string() : res.error().message));
        return res.value();
    }

    ClaimBatch claim(TimePoint now, const std::string& token, Millis lease = Millis{60000}, int max = 100) {
        std::optional<Result<ClaimBatch>> r;
        store.claim(kPart, now, lease, max, token, [&](Result<ClaimBatch> x) { r = std::move(x); });
        auto res = wait(r);
        BOOST_REQUIRE_MESSAGE(res.ok(), (res.ok() ? std::string() : res.error().message));
        return std::move(res).value();
    }

    std::string complete(TimePoint now, CompleteArgs a) {
        std::optional<Result<std::string>> r;
        store.complete(kPart, now, a, [&](Result<std::string> x) { r = std::move(x); });
        auto res = wait(r);
        BOOST_REQUIRE_MESSAGE(res.ok(), (res.ok() ? std::string() : res.error().message));
        return res.value();
    }

    std::vector<Json> outbox() {
        std::optional<Result<std::vector<OutboxEntry>>> r;
        store.read_outbox(kPart, "", 10000, [&](auto x) { r = std::move(x); });
        auto res = wait(r);
        BOOST_REQUIRE(res.ok());
        std::vector<Json> out;
        for (auto& e : res.value()) out.push_back(Json::parse(e.value));
        return out;
    }

    std::vector<Json> with_status(const std::string& status) {
        std::vector<Json> out;
        for (auto& o : outbox())
            if (o["status"] == status) out.push_back(o);
        return out;
    }

    std::string cli(const std::string& cmd) {
        auto s = server.cli(cmd);
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        return s;
    }
};

RenewalEvent due_event(const std::string& licence, std::int64_t version, std::chrono::year_month_day due) {
    RenewalEvent ev;
    ev.event_id = "evt-" + licence + "-" + std::to_string(version);
    ev.type = EventType::due;
    ev.program = "drivers-licence";
    ev.licence_id = licence;
    ev.version = version;
    ev.due_date = due;
    ev.holder.name = "Geneviève Côté";
    ev.holder.language = Language::fr;
    ev.holder.sms = "+16135550142";
    ev.holder.channels = {ChannelKind::sms};
    ev.data = {{"renewal_url", "https://example.ca"}};
    return ev;
}

RenewalEvent renewed_event(const std::string& licence, std::int64_t version) {
    RenewalEvent ev;
    ev.event_id = "evt-" + licence + "-renewed";
    ev.type = EventType::renewed;
    ev.program = "drivers-licence";
    ev.licence_id = licence;
    ev.version = version;
    return ev;
}

PlannedReminder planned(const RenewalEvent& ev, const std::string& stage, TimePoint at,
                        Disposition d = Disposition::schedule) {
    PlannedReminder r;
    r.reminder_id = reminder_id(ev.program, ev.licence_id, ev.due_date, stage, ChannelKind::sms);
    r.stage = stage;
    r.channel = ChannelKind::sms;
    r.fire_at = at;
    r.expires_at = at + std::chrono::hours{72};
    r.disposition = d;
    return r;
}

const std::chrono::year_month_day kDue{std::chrono::year{2027}, std::chrono::month{3}, std::chrono::day{1}};

CompleteArgs result(const std::string& rid, const std::string& token, AttemptResult res,
                    TimePoint next = {}, int max_attempts = 3) {
    CompleteArgs a;
    a.reminder_id = rid;
    a.token = token;
    a.result = res;
    a.provider = "twilio-sim";
    a.provider_message_id = res == AttemptResult::sent ? "SM123" : "";
    a.reason = res == AttemptResult::sent ? "" : "http 503";
    a.next_attempt = next;
    a.max_attempts = max_attempts;
    return a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(apply_schedules_writes_outcomes_and_stores_the_offset_atomically) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p1 = planned(ev, "30d", kT0 + 24h);
    auto p2 = planned(ev, "7d", kT0 + 48h);
    auto r = env.apply({encode_event_entry(10, ev, {p1, p2})});
    BOOST_CHECK_EQUAL(r.applied, 1);
    BOOST_CHECK_EQUAL(r.scheduled, 2);
    BOOST_CHECK_EQUAL(r.next_offset, 11);
    BOOST_CHECK_EQUAL(env.cli("HGET " + env.keys.offsets() + " " + kTopic), "11");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "2");
    auto scheduled = env.with_status("scheduled");
    BOOST_REQUIRE_EQUAL(scheduled.size(), 2u);
    BOOST_CHECK_EQUAL(scheduled[0]["reminder_id"], p1.reminder_id);
    BOOST_CHECK_EQUAL(scheduled[0]["schema"], "notification-outcome/1");
    BOOST_CHECK_EQUAL(scheduled[0]["event_id"], ev.event_id);
    BOOST_CHECK_EQUAL(scheduled[0]["licence_id"], "L1");
    BOOST_CHECK_EQUAL(scheduled[0]["scheduled_for"], format_rfc3339(p1.fire_at));
    // No contact data in outcomes nor in key names.
    for (auto& o : env.outbox()) BOOST_CHECK(o.dump().find("+1613") == std::string::npos);
    BOOST_CHECK(env.cli("KEYS *").find("L1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(reapplying_a_batch_already_stored_changes_nothing) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto entry = encode_event_entry(10, ev, {planned(ev, "30d", kT0 + 24h)});
    env.apply({entry});
    auto r = env.apply({entry});
    BOOST_CHECK_EQUAL(r.applied, 0);
    BOOST_CHECK_EQUAL(env.outbox().size(), 1u);  // no stale outcome either: it was skipped by offset
}

BOOST_AUTO_TEST_CASE(an_older_or_equal_version_is_stale) {
    Env env;
    auto ev = due_event("L1", 2, kDue);
    env.apply({encode_event_entry(1, ev, {planned(ev, "30d", kT0 + 24h)})});
    auto old = due_event("L1", 2, kDue);
    auto r = env.apply({encode_event_entry(2, old, {planned(old, "30d", kT0 + 30h)})});
    BOOST_CHECK_EQUAL(r.stale, 1);
    auto stale = env.with_status("stale");
    BOOST_REQUIRE_EQUAL(stale.size(), 1u);
    BOOST_CHECK_EQUAL(stale[0]["reminder_id"], "");
    BOOST_CHECK_EQUAL(env.cli("ZSCORE " + env.keys.schedule() + " " + planned(ev, "30d", kT0).reminder_id),
                      std::to_string(to_unix_ms(kT0 + 24h)));
}

BOOST_AUTO_TEST_CASE(claim_takes_only_due_reminders_with_a_lease_and_returns_the_payload) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, ev, {p})});
    auto early = env.claim(kT0 + 23h, "tok-1");
    BOOST_CHECK(early.items.empty());
    BOOST_REQUIRE(early.next_due);
    BOOST_CHECK(*early.next_due == p.fire_at);

    auto batch = env.claim(kT0 + 24h, "tok-1");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    const auto& c = batch.items[0];
    BOOST_CHECK_EQUAL(c.reminder_id, p.reminder_id);
    BOOST_CHECK_EQUAL(c.attempt, 1);
    BOOST_CHECK_EQUAL(c.due_date, "2027-03-01");
    BOOST_CHECK_EQUAL(c.licence_id, "L1");
    auto payload = decode_payload(c.payload);
    BOOST_REQUIRE(payload);
    BOOST_CHECK_EQUAL(payload->name, "Geneviève Côté");
    BOOST_CHECK_EQUAL(payload->sms, "+16135550142");
    BOOST_CHECK(payload->language == Language::fr);
    // Leased: a second claim gets nothing until the lease runs out.
    BOOST_CHECK(env.claim(kT0 + 24h + 30s, "tok-2").items.empty());
}

BOOST_AUTO_TEST_CASE(sent_is_recorded_once_and_contact_data_is_dropped) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, ev, {p})});
    env.claim(kT0 + 24h, "tok");
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h, result(p.reminder_id, "tok", AttemptResult::sent)), "sent");
    auto sent = env.with_status("sent");
    BOOST_REQUIRE_EQUAL(sent.size(), 1u);
    BOOST_CHECK_EQUAL(sent[0]["provider_message_id"], "SM123");
    BOOST_CHECK_EQUAL(sent[0]["provider"], "twilio-sim");
    BOOST_CHECK_EQUAL(sent[0]["attempt"], 1);
    BOOST_CHECK_EQUAL(env.cli("EXISTS " + env.keys.done(p.reminder_id)), "1");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "0");
    BOOST_CHECK_EQUAL(env.cli("HEXISTS " + env.keys.licence(licence_key_hash("drivers-licence", "L1")) + " p"), "0");
    // A completion repeated (e.g. after a lost reply) is fenced, not recorded twice.
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h, result(p.reminder_id, "tok", AttemptResult::sent)), "fenced");
    BOOST_CHECK_EQUAL(env.with_status("sent").size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_new_version_never_resends_a_reminder_already_sent) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    auto p30 = planned(v1, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, v1, {p30, planned(v1, "7d", kT0 + 48h)})});
    env.claim(kT0 + 24h, "tok");
    env.complete(kT0 + 24h, result(p30.reminder_id, "tok", AttemptResult::sent));
    // Version 2 (say, a new phone number) with the same due date: same reminder ids.
    auto v2 = due_event("L1", 2, kDue);
    auto r = env.apply({encode_event_entry(1, v2, {planned(v2, "30d", kT0 + 24h), planned(v2, "7d", kT0 + 48h)})},
                       kT0 + 25h);
    BOOST_CHECK_EQUAL(r.scheduled, 0);  // 7d kept as it was, 30d already sent
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "1");
    auto batch = env.claim(kT0 + 48h, "tok2");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    BOOST_CHECK_EQUAL(batch.items[0].stage, "7d");
    BOOST_CHECK_EQUAL(batch.items[0].event_id, v2.event_id);
}

BOOST_AUTO_TEST_CASE(a_changed_due_date_cancels_the_old_reminders_and_schedules_new_ones) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    env.apply({encode_event_entry(0, v1, {planned(v1, "30d", kT0 + 24h)})});
    auto v2 = due_event("L1", 2, std::chrono::year_month_day{std::chrono::year{2027}, std::chrono::month{4}, std::chrono::day{1}});
    auto r = env.apply({encode_event_entry(1, v2, {planned(v2, "30d", kT0 + 800h)})});
    BOOST_CHECK_EQUAL(r.scheduled, 1);
    auto cancelled = env.with_status("cancelled");
    BOOST_REQUIRE_EQUAL(cancelled.size(), 1u);
    BOOST_CHECK_EQUAL(cancelled[0]["reason"], "superseded");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "1");
}

BOOST_AUTO_TEST_CASE(renewed_cancels_every_pending_reminder_and_drops_the_contact_data) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    env.apply({encode_event_entry(0, v1, {planned(v1, "30d", kT0 + 24h), planned(v1, "7d", kT0 + 48h)})});
    env.apply({encode_event_entry(1, renewed_event("L1", 2), {})});
    auto cancelled = env.with_status("cancelled");
    BOOST_REQUIRE_EQUAL(cancelled.size(), 2u);
    BOOST_CHECK_EQUAL(cancelled[0]["reason"], "renewed");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "0");
    BOOST_CHECK_EQUAL(env.cli("HEXISTS " + env.keys.licence(licence_key_hash("drivers-licence", "L1")) + " p"), "0");
    BOOST_CHECK(env.claim(kT0 + 100h, "tok").items.empty());
}

BOOST_AUTO_TEST_CASE(a_retry_of_a_reminder_whose_licence_was_renewed_meanwhile_is_cancelled) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    auto p = planned(v1, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, v1, {p})});
    env.claim(kT0 + 24h, "tok");
    env.apply({encode_event_entry(1, renewed_event("L1", 2), {})});  // arrives while sending
    BOOST_CHECK(env.with_status("cancelled").empty());  // in flight: not cancelled under its feet
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h, result(p.reminder_id, "tok", AttemptResult::retry, kT0 + 25h)),
                      "cancelled");
    BOOST_CHECK_EQUAL(env.with_status("cancelled").size(), 1u);
}

BOOST_AUTO_TEST_CASE(retries_reschedule_until_attempts_run_out) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, ev, {p})});
    auto t = kT0 + 24h;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        auto batch = env.claim(t, "tok" + std::to_string(attempt));
        BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
        BOOST_CHECK_EQUAL(batch.items[0].attempt, attempt);
        auto status = env.complete(t, result(p.reminder_id, "tok" + std::to_string(attempt), AttemptResult::retry,
                                             t + 10min, 3));
        BOOST_CHECK_EQUAL(status, attempt < 3 ? "" : "failed");
        if (attempt < 3) BOOST_CHECK(env.claim(t + 5min, "early").items.empty());  // not before its backoff
        t += 10min;
    }
    auto failed = env.with_status("failed");
    BOOST_REQUIRE_EQUAL(failed.size(), 1u);
    BOOST_CHECK_EQUAL(failed[0]["attempt"], 3);
    BOOST_CHECK(failed[0]["reason"].get<std::string>().find("http 503") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_expired_lease_lets_another_engine_reclaim_and_fences_the_first) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, ev, {p})});
    env.claim(kT0 + 24h, "engine-a", Millis{60000});
    auto again = env.claim(kT0 + 24h + 61s, "engine-b");
    BOOST_REQUIRE_EQUAL(again.items.size(), 1u);
    BOOST_CHECK_EQUAL(again.items[0].attempt, 2);
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h + 62s, result(p.reminder_id, "engine-a", AttemptResult::sent)), "fenced");
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h + 62s, result(p.reminder_id, "engine-b", AttemptResult::sent)), "sent");
    BOOST_CHECK_EQUAL(env.with_status("sent").size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_reminder_claimed_after_its_expiry_ends_expired) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, ev, {p})});
    BOOST_CHECK(env.claim(kT0 + 24h + 73h, "tok").items.empty());
    auto expired = env.with_status("expired");
    BOOST_REQUIRE_EQUAL(expired.size(), 1u);
    BOOST_CHECK_EQUAL(expired[0]["reason"], "late");
}

BOOST_AUTO_TEST_CASE(planned_expired_and_suppressed_reminders_get_their_outcome_at_once) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto gone = planned(ev, "60d", kT0 - 24h, Disposition::expired);
    gone.reason = "past-at-arrival";
    auto none = planned(ev, "30d", kT0 + 24h, Disposition::suppressed);
    none.reason = "no-contact";
    env.apply({encode_event_entry(0, ev, {gone, none})});
    BOOST_CHECK_EQUAL(env.with_status("expired").size(), 1u);
    BOOST_CHECK_EQUAL(env.with_status("suppressed").size(), 1u);
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "0");
    // Replaying a newer version does not report the expired stage a second time.
    auto v2 = due_event("L1", 2, kDue);
    env.apply({encode_event_entry(1, v2, {planned(v2, "60d", kT0 - 24h, Disposition::expired)})});
    BOOST_CHECK_EQUAL(env.with_status("expired").size(), 1u);
}

BOOST_AUTO_TEST_CASE(an_invalid_event_gets_an_invalid_outcome_and_advances_the_offset) {
    Env env;
    auto r = env.apply({encode_invalid_entry(41, "drivers-licence/X", EventError{"missing-field", "field 'version' is required", "evt-9"})});
    BOOST_CHECK_EQUAL(r.next_offset, 42);
    auto invalid = env.with_status("invalid");
    BOOST_REQUIRE_EQUAL(invalid.size(), 1u);
    BOOST_CHECK_EQUAL(invalid[0]["event_id"], "evt-9");
    BOOST_CHECK(invalid[0]["reason"].get<std::string>().find("missing-field") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(release_gives_claims_back_without_charging_an_attempt) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({encode_event_entry(0, ev, {p})});
    env.claim(kT0 + 24h, "tok");
    std::optional<Result<std::int64_t>> r;
    env.store.release(kPart, kT0 + 24h, "tok", {p.reminder_id}, [&](auto x) { r = std::move(x); });
    BOOST_CHECK_EQUAL(env.wait(r).value(), 1);
    auto batch = env.claim(kT0 + 24h, "tok2");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    BOOST_CHECK_EQUAL(batch.items[0].attempt, 1);
}
