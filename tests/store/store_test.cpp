// The schedule store (layout 3) against a real redis-server: versioning, de-duplication,
// leases and fencing, retries, cancellation, compare-and-set, and that every change writes
// its outcome.
#define BOOST_TEST_MODULE schedule_store
#include <boost/test/unit_test.hpp>

#include "engine/base/time_format.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/keys.hpp"
#include "scheduler/record.hpp"
#include "scheduler/redis_store.hpp"
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

IngestItem item(std::int64_t offset, RenewalEvent ev, std::vector<PlannedReminder> plan) {
    IngestItem it;
    it.offset = offset;
    it.key = outcome_key(ev);
    it.event = std::move(ev);
    it.plan = std::move(plan);
    return it;
}

IngestItem invalid_item(std::int64_t offset, std::string key, EventError err) {
    IngestItem it;
    it.offset = offset;
    it.key = std::move(key);
    it.invalid = std::move(err);
    return it;
}

}  // namespace

namespace rappel::scheduler {
inline std::ostream& operator<<(std::ostream& os, RecordStatus s) { return os << to_string(s); }
}  // namespace rappel::scheduler

namespace {

ClaimToken tok(const std::string& name) { return std::hash<std::string>{}(name) | 1; }

struct Env {
    testkit::RedisServer server;
    boost::asio::io_context io;
    redis::Client client{io, redis::Endpoint{server.host(), server.port(), ""}};
    RedisStore store;
    Keys keys{"rp", kPart};

    explicit Env(std::shared_ptr<const WindowBook> windows = nullptr)
        : store{client, "rp", kTopic, Millis{std::chrono::days{400}}, std::move(windows)} {
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

    template <typename T>
    T ok(Result<T> res) {
        BOOST_REQUIRE_MESSAGE(res.ok(), (res.ok() ? std::string() : res.error().message));
        return std::move(res).value();
    }

    ApplyResult apply(std::vector<IngestItem> items, TimePoint now = kT0) {
        std::optional<Result<ApplyResult>> r;
        store.apply(kPart, std::move(items), now, [&](Result<ApplyResult> x) { r = std::move(x); });
        return ok(wait(r));
    }

    ClaimBatch claim(TimePoint now, const std::string& token, Millis lease = Millis{60000}, int max = 100,
                     std::function<bool(const ReminderRef&)> skip = {}) {
        std::optional<Result<ClaimBatch>> r;
        store.claim(kPart, now, lease, max, tok(token), std::move(skip), [&](Result<ClaimBatch> x) { r = std::move(x); });
        return ok(wait(r));
    }

    // Records one attempt of the claimed reminder `c` and returns its status.
    RecordStatus complete(TimePoint now, const ClaimedReminder& c, const std::string& token, AttemptResult res,
                          TimePoint next = {}, int max_attempts = 3) {
        AttemptRecord a;
        a.ref = c.ref;
        a.token = tok(token);
        a.result = res;
        a.provider = "twilio-sim";
        a.provider_message_id = res == AttemptResult::sent ? "SM123" : "";
        a.reason = res == AttemptResult::sent ? "" : "http 503";
        a.next_attempt = next;
        a.max_attempts = max_attempts;
        std::optional<Result<std::vector<RecordStatus>>> r;
        store.record(kPart, now, {a}, [&](auto x) { r = std::move(x); });
        auto statuses = ok(wait(r));
        BOOST_REQUIRE_EQUAL(statuses.size(), 1u);
        return statuses[0];
    }

    std::vector<Json> outbox() {
        std::optional<Result<std::vector<OutboxEntry>>> r;
        store.read_outbox(kPart, 10000, [&](auto x) { r = std::move(x); });
        std::vector<Json> out;
        for (auto& e : ok(wait(r)))
            for (auto& o : e.outcomes) out.push_back(Json::parse(o.value));
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

    std::string record_key(const std::string& licence) const {
        return keys.licence(licence_key_hash("drivers-licence", licence));
    }

    LicenceRecord record_of(const std::string& licence) {
        std::optional<Result<std::optional<std::string>>> r;
        client.command({"GET", record_key(licence)}, [&](redis::Reply x) {
            if (x.is_nil()) r = std::optional<std::string>{};
            else r = std::optional<std::string>{x.str};
        });
        auto v = ok(wait(r));
        BOOST_REQUIRE_MESSAGE(v.has_value(), "no record for " << licence);
        return ok(decode_record(*v));
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

}  // namespace

BOOST_AUTO_TEST_CASE(apply_schedules_writes_outcomes_and_stores_the_offset_atomically) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p1 = planned(ev, "30d", kT0 + 24h);
    auto p2 = planned(ev, "7d", kT0 + 48h);
    auto r = env.apply({item(10, ev, {p1, p2})});
    BOOST_CHECK_EQUAL(r.applied, 1);
    BOOST_CHECK_EQUAL(r.scheduled, 2);
    BOOST_CHECK_EQUAL(r.next_offset, 11);
    BOOST_CHECK_EQUAL(env.cli(std::string("HGET ") + env.keys.offsets() + " " + kTopic), "11");
    // One record and one schedule member per licence, scored at its earliest reminder.
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "1");
    BOOST_CHECK_EQUAL(env.cli("ZSCORE " + env.keys.schedule() + " " + licence_key_hash("drivers-licence", "L1")),
                      std::to_string(to_unix_ms(p1.fire_at)));
    auto scheduled = env.with_status("scheduled");
    BOOST_REQUIRE_EQUAL(scheduled.size(), 2u);
    BOOST_CHECK_EQUAL(scheduled[0]["reminder_id"], p1.reminder_id);
    BOOST_CHECK_EQUAL(scheduled[0]["schema"], "notification-outcome/1");
    BOOST_CHECK_EQUAL(scheduled[0]["event_id"], ev.event_id);
    BOOST_CHECK_EQUAL(scheduled[0]["licence_id"], "L1");
    BOOST_CHECK_EQUAL(scheduled[0]["stage"], "30d");
    BOOST_CHECK_EQUAL(scheduled[0]["channel"], "sms");
    BOOST_CHECK_EQUAL(scheduled[0]["scheduled_for"], format_rfc3339(p1.fire_at));
    for (auto& o : env.outbox()) BOOST_CHECK(o.dump().find("+1613") == std::string::npos);
    BOOST_CHECK(env.cli("KEYS *").find("L1") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(reapplying_a_batch_already_stored_changes_nothing) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    env.apply({item(10, ev, {planned(ev, "30d", kT0 + 24h)})});
    auto r = env.apply({item(10, ev, {planned(ev, "30d", kT0 + 24h)})});
    BOOST_CHECK_EQUAL(r.applied, 0);
    BOOST_CHECK_EQUAL(env.outbox().size(), 1u);  // no stale outcome either: it was skipped by offset
}

BOOST_AUTO_TEST_CASE(an_older_or_equal_version_is_stale) {
    Env env;
    auto ev = due_event("L1", 2, kDue);
    env.apply({item(1, ev, {planned(ev, "30d", kT0 + 24h)})});
    auto old = due_event("L1", 2, kDue);
    auto r = env.apply({item(2, old, {planned(old, "30d", kT0 + 30h)})});
    BOOST_CHECK_EQUAL(r.stale, 1);
    auto stale = env.with_status("stale");
    BOOST_REQUIRE_EQUAL(stale.size(), 1u);
    BOOST_CHECK_EQUAL(stale[0]["reminder_id"], "");
    BOOST_CHECK_EQUAL(env.cli("ZSCORE " + env.keys.schedule() + " " + licence_key_hash("drivers-licence", "L1")),
                      std::to_string(to_unix_ms(kT0 + 24h)));
}

BOOST_AUTO_TEST_CASE(versions_are_compared_exactly_up_to_2_pow_63_minus_1) {
    Env env;
    const std::int64_t big = (std::int64_t{1} << 60);  // doubles cannot tell big from big + 1
    auto v1 = due_event("L1", big, kDue);
    env.apply({item(0, v1, {planned(v1, "30d", kT0 + 24h)})});
    auto v2 = due_event("L1", big + 1, std::chrono::year_month_day{std::chrono::year{2027}, std::chrono::month{4},
                                                                   std::chrono::day{1}});
    auto r = env.apply({item(1, v2, {planned(v2, "30d", kT0 + 800h)})});
    BOOST_CHECK_EQUAL(r.stale, 0);
    BOOST_CHECK_EQUAL(r.scheduled, 1);
    BOOST_CHECK_EQUAL(env.with_status("cancelled").size(), 1u);
    auto max = due_event("L1", INT64_MAX, kDue);
    BOOST_CHECK_EQUAL(env.apply({item(2, max, {planned(max, "30d", kT0 + 24h)})}).stale, 0);
    BOOST_CHECK_EQUAL(env.apply({item(3, max, {planned(max, "30d", kT0 + 24h)})}).stale, 1);
    BOOST_CHECK_EQUAL(env.record_of("L1").version, static_cast<std::uint64_t>(INT64_MAX));
}

BOOST_AUTO_TEST_CASE(claim_takes_only_due_reminders_with_a_lease_and_returns_the_payload) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({item(0, ev, {p})});
    auto early = env.claim(kT0 + 23h, "tok-1");
    BOOST_CHECK(early.items.empty());
    BOOST_REQUIRE(early.next_due);
    BOOST_CHECK(*early.next_due == p.fire_at);

    auto batch = env.claim(kT0 + 24h, "tok-1");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    const auto& c = batch.items[0];
    BOOST_CHECK_EQUAL(c.reminder_id, p.reminder_id);
    BOOST_CHECK_EQUAL(c.attempt, 1);
    BOOST_CHECK(c.due_date == kDue);
    BOOST_CHECK_EQUAL(c.licence_id, "L1");
    BOOST_CHECK_EQUAL(c.payload.name, "Geneviève Côté");
    BOOST_CHECK_EQUAL(c.payload.sms, "+16135550142");
    BOOST_CHECK(c.payload.language == Language::fr);
    BOOST_REQUIRE_EQUAL(c.payload.data.size(), 1u);
    BOOST_CHECK_EQUAL(c.payload.data[0].second, "https://example.ca");
    // Leased: a second claim gets nothing until the lease runs out.
    BOOST_CHECK(env.claim(kT0 + 24h + 30s, "tok-2").items.empty());
}

BOOST_AUTO_TEST_CASE(claim_never_takes_what_the_caller_still_has_in_flight) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({item(0, ev, {p})});
    auto first = env.claim(kT0 + 24h, "tok-1", Millis{10000});
    BOOST_REQUIRE_EQUAL(first.items.size(), 1u);
    const ReminderRef ref = first.items[0].ref;
    auto in_flight = [ref](const ReminderRef& r) {
        return r.licence == ref.licence && r.stage == ref.stage && r.channel == ref.channel;
    };
    // The lease ran out (say Redis was away), but the result is still waiting to be recorded.
    auto again = env.claim(kT0 + 24h + 20s, "tok-2", Millis{10000}, 100, in_flight);
    BOOST_CHECK(again.items.empty());
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h + 21s, first.items[0], "tok-1", AttemptResult::sent), RecordStatus::sent);
    BOOST_CHECK_EQUAL(env.with_status("sent").size(), 1u);
}

BOOST_AUTO_TEST_CASE(sent_is_recorded_once_and_contact_data_is_dropped) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p = planned(ev, "30d", kT0 + 24h);
    env.apply({item(0, ev, {p})});
    auto batch = env.claim(kT0 + 24h, "tok");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h, batch.items[0], "tok", AttemptResult::sent), RecordStatus::sent);
    auto sent = env.with_status("sent");
    BOOST_REQUIRE_EQUAL(sent.size(), 1u);
    BOOST_CHECK_EQUAL(sent[0]["provider_message_id"], "SM123");
    BOOST_CHECK_EQUAL(sent[0]["provider"], "twilio-sim");
    BOOST_CHECK_EQUAL(sent[0]["attempt"], 1);
    BOOST_CHECK_EQUAL(sent[0]["reminder_id"], p.reminder_id);
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "0");
    auto rec = env.record_of("L1");
    BOOST_CHECK(!rec.payload.has_value());
    BOOST_CHECK_EQUAL(rec.done.size(), 1u);
    BOOST_CHECK(std::stoll(env.cli("PTTL " + env.record_key("L1"))) > 0);  // kept for the retention only
    // A completion repeated (e.g. after a lost reply) is fenced, not recorded twice.
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h, batch.items[0], "tok", AttemptResult::sent), RecordStatus::fenced);
    BOOST_CHECK_EQUAL(env.with_status("sent").size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_new_version_never_resends_a_reminder_already_sent) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    auto p30 = planned(v1, "30d", kT0 + 24h);
    env.apply({item(0, v1, {p30, planned(v1, "7d", kT0 + 48h)})});
    auto b = env.claim(kT0 + 24h, "tok");
    BOOST_REQUIRE_EQUAL(b.items.size(), 1u);
    env.complete(kT0 + 24h, b.items[0], "tok", AttemptResult::sent);
    // Version 2 (say, a new phone number) with the same due date: same reminder ids.
    auto v2 = due_event("L1", 2, kDue);
    auto r = env.apply({item(1, v2, {planned(v2, "30d", kT0 + 24h), planned(v2, "7d", kT0 + 48h)})}, kT0 + 25h);
    BOOST_CHECK_EQUAL(r.scheduled, 0);  // 7d kept as it was, 30d already sent
    BOOST_CHECK_EQUAL(env.record_of("L1").entries.size(), 1u);
    auto batch = env.claim(kT0 + 48h, "tok2");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    BOOST_CHECK_EQUAL(batch.items[0].ref.stage, "7d");
    BOOST_CHECK_EQUAL(batch.items[0].event_id, v2.event_id);
}

BOOST_AUTO_TEST_CASE(a_changed_due_date_cancels_the_old_reminders_and_schedules_new_ones) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    env.apply({item(0, v1, {planned(v1, "30d", kT0 + 24h)})});
    auto v2 = due_event("L1", 2, std::chrono::year_month_day{std::chrono::year{2027}, std::chrono::month{4}, std::chrono::day{1}});
    auto r = env.apply({item(1, v2, {planned(v2, "30d", kT0 + 800h)})});
    BOOST_CHECK_EQUAL(r.scheduled, 1);
    auto cancelled = env.with_status("cancelled");
    BOOST_REQUIRE_EQUAL(cancelled.size(), 1u);
    BOOST_CHECK_EQUAL(cancelled[0]["reason"], "superseded");
    BOOST_CHECK_EQUAL(cancelled[0]["reminder_id"], planned(v1, "30d", kT0).reminder_id);
    BOOST_CHECK_EQUAL(env.cli("ZSCORE " + env.keys.schedule() + " " + licence_key_hash("drivers-licence", "L1")),
                      std::to_string(to_unix_ms(kT0 + 800h)));
}

BOOST_AUTO_TEST_CASE(renewed_cancels_every_pending_reminder_and_drops_the_contact_data) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    env.apply({item(0, v1, {planned(v1, "30d", kT0 + 24h), planned(v1, "7d", kT0 + 48h)})});
    env.apply({item(1, renewed_event("L1", 2), {})});
    auto cancelled = env.with_status("cancelled");
    BOOST_REQUIRE_EQUAL(cancelled.size(), 2u);
    BOOST_CHECK_EQUAL(cancelled[0]["reason"], "renewed");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "0");
    BOOST_CHECK(!env.record_of("L1").payload.has_value());
    BOOST_CHECK(env.claim(kT0 + 100h, "tok").items.empty());
}

BOOST_AUTO_TEST_CASE(a_retry_of_a_reminder_whose_licence_was_renewed_meanwhile_is_cancelled) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    env.apply({item(0, v1, {planned(v1, "30d", kT0 + 24h)})});
    auto b = env.claim(kT0 + 24h, "tok");
    BOOST_REQUIRE_EQUAL(b.items.size(), 1u);
    env.apply({item(1, renewed_event("L1", 2), {})});  // arrives while sending
    BOOST_CHECK(env.with_status("cancelled").empty());  // in flight: not cancelled under its feet
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h, b.items[0], "tok", AttemptResult::retry, kT0 + 25h),
                      RecordStatus::cancelled);
    auto cancelled = env.with_status("cancelled");
    BOOST_REQUIRE_EQUAL(cancelled.size(), 1u);
    BOOST_CHECK_EQUAL(cancelled[0]["event_id"], v1.event_id);
    BOOST_CHECK_EQUAL(cancelled[0]["reminder_id"], b.items[0].reminder_id);
}

BOOST_AUTO_TEST_CASE(a_send_accepted_while_the_due_date_changed_is_still_reported_sent) {
    Env env;
    auto v1 = due_event("L1", 1, kDue);
    env.apply({item(0, v1, {planned(v1, "30d", kT0 + 24h)})});
    auto b = env.claim(kT0 + 24h, "tok");
    BOOST_REQUIRE_EQUAL(b.items.size(), 1u);
    auto v2 = due_event("L1", 2, std::chrono::year_month_day{std::chrono::year{2027}, std::chrono::month{4}, std::chrono::day{1}});
    env.apply({item(1, v2, {planned(v2, "30d", kT0 + 800h)})});
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h, b.items[0], "tok", AttemptResult::sent), RecordStatus::sent);
    auto sent = env.with_status("sent");
    BOOST_REQUIRE_EQUAL(sent.size(), 1u);
    BOOST_CHECK_EQUAL(sent[0]["reminder_id"], b.items[0].reminder_id);
    BOOST_CHECK_EQUAL(sent[0]["event_id"], v1.event_id);
    // The new due date's reminder is still pending, with the new contact data.
    auto next = env.claim(kT0 + 800h, "tok2");
    BOOST_REQUIRE_EQUAL(next.items.size(), 1u);
    BOOST_CHECK_EQUAL(next.items[0].reminder_id, planned(v2, "30d", kT0).reminder_id);
}

BOOST_AUTO_TEST_CASE(retries_reschedule_until_attempts_run_out) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    env.apply({item(0, ev, {planned(ev, "30d", kT0 + 24h)})});
    auto t = kT0 + 24h;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        const auto token = "tok" + std::to_string(attempt);
        auto batch = env.claim(t, token);
        BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
        BOOST_CHECK_EQUAL(batch.items[0].attempt, attempt);
        auto status = env.complete(t, batch.items[0], token, AttemptResult::retry, t + 10min, 3);
        BOOST_CHECK_EQUAL(status, attempt < 3 ? RecordStatus::retrying : RecordStatus::failed);
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
    env.apply({item(0, ev, {planned(ev, "30d", kT0 + 24h)})});
    auto a = env.claim(kT0 + 24h, "engine-a", Millis{60000});
    BOOST_REQUIRE_EQUAL(a.items.size(), 1u);
    auto again = env.claim(kT0 + 24h + 61s, "engine-b");
    BOOST_REQUIRE_EQUAL(again.items.size(), 1u);
    BOOST_CHECK_EQUAL(again.items[0].attempt, 2);
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h + 62s, a.items[0], "engine-a", AttemptResult::sent), RecordStatus::fenced);
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h + 62s, again.items[0], "engine-b", AttemptResult::sent), RecordStatus::sent);
    BOOST_CHECK_EQUAL(env.with_status("sent").size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_result_is_recorded_against_what_redis_holds_not_the_claim_s_own_copy) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    env.apply({item(0, ev, {planned(ev, "30d", kT0 + 24h)})});
    auto a = env.claim(kT0 + 24h, "engine-a", Millis{60000});
    BOOST_REQUIRE_EQUAL(a.items.size(), 1u);
    // Another engine, with its own store and connection, re-claims once the lease ran out.
    redis::Client other_client{env.io, redis::Endpoint{env.server.host(), env.server.port(), ""}};
    other_client.start();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!other_client.connected() && std::chrono::steady_clock::now() < deadline) env.io.run_one_for(20ms);
    RedisStore other{other_client, "rp", kTopic, Millis{std::chrono::days{400}}};
    std::optional<Result<ClaimBatch>> b;
    other.claim(kPart, kT0 + 24h + 61s, Millis{60000}, 10, tok("engine-b"), {}, [&](auto x) { b = std::move(x); });
    auto rb = env.ok(env.wait(b));
    BOOST_REQUIRE_EQUAL(rb.items.size(), 1u);
    // This store's copy of the record (from its claim) is stale: the result is fenced.
    BOOST_CHECK_EQUAL(env.complete(kT0 + 24h + 62s, a.items[0], "engine-a", AttemptResult::sent), RecordStatus::fenced);
    BOOST_CHECK_EQUAL(env.with_status("sent").size(), 0u);
    other_client.stop();
}

BOOST_AUTO_TEST_CASE(a_reminder_claimed_after_its_expiry_ends_expired) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    env.apply({item(0, ev, {planned(ev, "30d", kT0 + 24h)})});
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
    env.apply({item(0, ev, {gone, none})});
    BOOST_CHECK_EQUAL(env.with_status("expired").size(), 1u);
    BOOST_CHECK_EQUAL(env.with_status("suppressed").size(), 1u);
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "0");
    // Replaying a newer version does not report the expired stage a second time.
    auto v2 = due_event("L1", 2, kDue);
    env.apply({item(1, v2, {planned(v2, "60d", kT0 - 24h, Disposition::expired)})});
    BOOST_CHECK_EQUAL(env.with_status("expired").size(), 1u);
}

BOOST_AUTO_TEST_CASE(an_invalid_event_gets_an_invalid_outcome_and_advances_the_offset) {
    Env env;
    auto r = env.apply({invalid_item(41, "drivers-licence/X", EventError{"missing-field", "field 'version' is required", "evt-9"})});
    BOOST_CHECK_EQUAL(r.next_offset, 42);
    auto invalid = env.with_status("invalid");
    BOOST_REQUIRE_EQUAL(invalid.size(), 1u);
    BOOST_CHECK_EQUAL(invalid[0]["event_id"], "evt-9");
    BOOST_CHECK(invalid[0]["reason"].get<std::string>().find("missing-field") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(release_gives_claims_back_without_charging_an_attempt) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    env.apply({item(0, ev, {planned(ev, "30d", kT0 + 24h)})});
    auto b = env.claim(kT0 + 24h, "tok");
    BOOST_REQUIRE_EQUAL(b.items.size(), 1u);
    std::optional<Result<std::int64_t>> r;
    env.store.release(kPart, kT0 + 24h, tok("tok"), {b.items[0].ref}, [&](auto x) { r = std::move(x); });
    BOOST_CHECK_EQUAL(env.wait(r).value(), 1);
    auto batch = env.claim(kT0 + 24h, "tok2");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    BOOST_CHECK_EQUAL(batch.items[0].attempt, 1);
}

BOOST_AUTO_TEST_CASE(a_record_changed_by_another_writer_meanwhile_is_re_read_not_overwritten) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    env.apply({item(0, ev, {planned(ev, "30d", kT0 + 24h)})});
    // Another engine claims between our read and our write: simulate by claiming with a
    // second store on its own connection while ours is queued behind a blocked command.
    redis::Client other_client{env.io, redis::Endpoint{env.server.host(), env.server.port(), ""}};
    other_client.start();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!other_client.connected() && std::chrono::steady_clock::now() < deadline) env.io.run_one_for(20ms);
    RedisStore other{other_client, "rp", kTopic, Millis{std::chrono::days{400}}};
    std::optional<Result<ClaimBatch>> a, b;
    env.store.claim(kPart, kT0 + 24h, Millis{60000}, 10, tok("a"), {}, [&](auto x) { a = std::move(x); });
    other.claim(kPart, kT0 + 24h, Millis{60000}, 10, tok("b"), {}, [&](auto x) { b = std::move(x); });
    auto ra = env.ok(env.wait(a));
    auto rb = env.ok(env.wait(b));
    // Exactly one of the two got the reminder: the other's compare-and-set failed and re-read.
    BOOST_CHECK_EQUAL(ra.items.size() + rb.items.size(), 1u);
    other_client.stop();
}

BOOST_AUTO_TEST_CASE(the_layout_version_is_written_once_and_a_different_one_is_refused) {
    Env env;
    redis::SyncClient sync{redis::Endpoint{env.server.host(), env.server.port(), ""}};
    BOOST_CHECK(RedisStore::check_layout(sync, "rp").ok());
    BOOST_CHECK_EQUAL(env.cli("GET rp:layout"), "3");
    BOOST_CHECK(RedisStore::check_layout(sync, "rp").ok());
    env.cli("SET rp:layout 1");
    auto r = RedisStore::check_layout(sync, "rp");
    BOOST_REQUIRE(!r.ok());
    BOOST_CHECK(r.error().message.find("layout 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(many_licences_in_one_batch_are_applied_and_claimed_in_order) {
    Env env;
    std::vector<IngestItem> items;
    for (int i = 0; i < 2500; ++i) {
        auto ev = due_event("M" + std::to_string(i), 1, kDue);
        items.push_back(item(i, ev, {planned(ev, "30d", kT0 + 24h + Millis{i}), planned(ev, "7d", kT0 + 48h)}));
    }
    auto r = env.apply(std::move(items));
    BOOST_CHECK_EQUAL(r.applied, 2500);
    BOOST_CHECK_EQUAL(r.scheduled, 5000);
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "2500");
    std::size_t claimed = 0;
    TimePoint last{};
    for (int round = 0; round < 20 && claimed < 2500; ++round) {
        auto b = env.claim(kT0 + 30h, "t" + std::to_string(round), Millis{3600000}, 700);
        for (auto& c : b.items) {
            BOOST_CHECK(c.fire_at >= last);
            last = c.fire_at;
        }
        claimed += b.items.size();
    }
    BOOST_CHECK_EQUAL(claimed, 2500u);
}

BOOST_AUTO_TEST_CASE(a_duplicate_in_the_same_batch_is_stale) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto r = env.apply({item(0, ev, {planned(ev, "30d", kT0 + 24h)}), item(1, ev, {planned(ev, "30d", kT0 + 24h)})});
    BOOST_CHECK_EQUAL(r.scheduled, 1);
    BOOST_CHECK_EQUAL(r.stale, 1);
    BOOST_CHECK_EQUAL(env.with_status("stale").size(), 1u);
}

// ---- send windows and priority lanes ------------------------------------------------------

namespace {

// drivers-licence: SMS weekdays 09:00-20:00, weekends 10:00-17:00, holidays skipped; the
// program is `bulk`, its stage "urgent" is `high`.
std::shared_ptr<const WindowBook> windows_book() {
    config::ProgramConfig p;
    p.id = "drivers-licence";
    config::SendWindow sms;
    sms.weekday_open = 9 * 60;
    sms.weekday_close = 20 * 60;
    sms.weekend_open = 10 * 60;
    sms.weekend_close = 17 * 60;
    sms.skip_holidays = true;
    p.windows[ChannelKind::sms] = sms;
    p.priority = config::Priority::bulk;
    config::StageConfig urgent;
    urgent.id = "urgent";
    urgent.priority = config::Priority::high;
    config::StageConfig routine;
    routine.id = "routine";
    p.stages = {urgent, routine};
    return std::make_shared<const WindowBook>(std::map<std::string, config::ProgramConfig>{{p.id, p}},
                                              "America/Toronto");
}

TimePoint utc(std::string_view text) { return *parse_rfc3339(text); }

RenewalEvent toronto_event(const std::string& licence) {
    auto ev = due_event(licence, 1, kDue);
    ev.holder.time_zone = "America/Toronto";
    return ev;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_due_reminder_outside_its_window_waits_for_the_next_opening_without_using_an_attempt) {
    Env env(windows_book());
    auto ev = toronto_event("W1");
    // Thursday 14 Jan 2027 at 20:00 in Toronto: the window has just closed.
    env.apply({item(0, ev, {planned(ev, "routine", utc("2027-01-15T01:00:00Z"))})});
    auto b = env.claim(utc("2027-01-15T01:00:00Z"), "tok");
    BOOST_CHECK(b.items.empty());
    BOOST_REQUIRE(b.next_due.has_value());
    // Friday 09:00, plus 1 ms per day left until the due date (1 March): 45 days.
    BOOST_CHECK_EQUAL(format_rfc3339(*b.next_due), "2027-01-15T14:00:00.045Z");
    BOOST_CHECK(env.claim(utc("2027-01-15T13:59:00Z"), "tok").items.empty());
    auto morning = env.claim(utc("2027-01-15T14:00:01Z"), "tok");
    BOOST_REQUIRE_EQUAL(morning.items.size(), 1u);
    BOOST_CHECK_EQUAL(morning.items[0].attempt, 1);
    BOOST_CHECK_EQUAL(morning.items[0].payload.time_zone, "America/Toronto");
}

BOOST_AUTO_TEST_CASE(a_retry_storm_at_19h55_resumes_the_next_morning) {
    Env env(windows_book());
    std::vector<IngestItem> items;
    for (int i = 0; i < 20; ++i) {
        auto ev = toronto_event("R" + std::to_string(i));
        items.push_back(item(i, ev, {planned(ev, "routine", utc("2027-01-15T00:55:00Z"))}));  // 19:55
    }
    env.apply(std::move(items));
    const TimePoint t = utc("2027-01-15T00:55:00Z");
    auto b = env.claim(t, "tok");
    BOOST_REQUIRE_EQUAL(b.items.size(), 20u);
    for (const auto& c : b.items)
        BOOST_CHECK_EQUAL(env.complete(t, c, "tok", AttemptResult::retry, t + 10min, 5), RecordStatus::retrying);
    // 20:05: nothing goes out; all wait for Friday 09:00 and keep their attempt count.
    auto evening = env.claim(t + 10min, "tok2");
    BOOST_CHECK(evening.items.empty());
    BOOST_REQUIRE(evening.next_due.has_value());
    BOOST_CHECK_EQUAL(format_rfc3339(*evening.next_due), "2027-01-15T14:00:00.045Z");
    BOOST_CHECK(env.claim(utc("2027-01-15T12:00:00Z"), "tok3").items.empty());
    auto morning = env.claim(utc("2027-01-15T14:00:01Z"), "tok4");
    BOOST_REQUIRE_EQUAL(morning.items.size(), 20u);
    for (const auto& c : morning.items) BOOST_CHECK_EQUAL(c.attempt, 2);
}

BOOST_AUTO_TEST_CASE(a_reminder_whose_expiry_comes_before_the_next_opening_ends_expired) {
    Env env(windows_book());
    auto ev = toronto_event("X1");
    auto p = planned(ev, "routine", utc("2027-01-15T02:00:00Z"));  // 21:00
    p.expires_at = p.fire_at + 6h;                                // 03:00, before 09:00
    env.apply({item(0, ev, {p})});
    auto b = env.claim(utc("2027-01-15T02:00:00Z"), "tok");
    BOOST_CHECK(b.items.empty());
    auto expired = env.with_status("expired");
    BOOST_REQUIRE_EQUAL(expired.size(), 1u);
    BOOST_CHECK_EQUAL(expired[0]["reason"], "window closed until expiry");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule(config::Priority::bulk)), "0");
}

BOOST_AUTO_TEST_CASE(a_high_priority_reminder_overtakes_a_bulk_backlog_due_at_the_same_time) {
    Env env(windows_book());
    const TimePoint due = utc("2027-01-14T15:00:00Z");  // Thursday 10:00
    std::vector<IngestItem> items;
    for (int i = 0; i < 600; ++i) {
        auto ev = toronto_event("B" + std::to_string(i));
        // The backlog is older than the high one: a single queue would serve it first.
        items.push_back(item(i, ev, {planned(ev, "routine", due - 1h)}));
    }
    auto vip = toronto_event("VIP");
    items.push_back(item(600, vip, {planned(vip, "urgent", due)}));
    env.apply(std::move(items));
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule(config::Priority::bulk)), "600");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule(config::Priority::high)), "1");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule(config::Priority::normal)), "0");
    auto b = env.claim(due, "tok", Millis{60000}, 50);
    BOOST_REQUIRE_EQUAL(b.items.size(), 50u);
    BOOST_CHECK_EQUAL(b.items[0].licence_id, "VIP");
    BOOST_CHECK(b.more);
    for (std::size_t i = 1; i < b.items.size(); ++i) BOOST_CHECK_NE(b.items[i].licence_id, "VIP");
    // The claimed ones sit in their lane at the lease's end; the rest of the backlog still due.
    BOOST_CHECK_EQUAL(env.cli("ZCOUNT " + env.keys.schedule(config::Priority::bulk) + " -inf " +
                              std::to_string(to_unix_ms(due))),
                      "551");
}

// Rebuild after Redis lost everything: markers restored from the outcomes topic, then the
// events topic re-applied from offset 0.
BOOST_AUTO_TEST_CASE(restored_done_markers_keep_a_replay_from_scheduling_what_ended) {
    Env env;
    auto ev = due_event("L1", 1, kDue);
    auto p30 = planned(ev, "30d", kT0 + 24h);
    auto p7 = planned(ev, "7d", kT0 + 48h);
    std::vector<EndedReminder> ended{
        {"drivers-licence", "L1", p30.reminder_id, EndedStatus::sent, kT0 + 24h},
        {"drivers-licence", "L1", p30.reminder_id, EndedStatus::sent, kT0 + 24h},  // read twice
        {"drivers-licence", "L2", planned(due_event("L2", 1, kDue), "30d", kT0).reminder_id, EndedStatus::expired,
         kT0 - std::chrono::days{500}},  // older than the retention
    };
    std::optional<Result<std::int64_t>> r;
    env.store.restore_done(kPart, ended, kT0 + 30h, [&](Result<std::int64_t> x) { r = std::move(x); });
    BOOST_CHECK_EQUAL(env.ok(env.wait(r)), 1);
    auto rec = env.record_of("L1");
    BOOST_CHECK(!rec.exists());
    BOOST_CHECK_EQUAL(rec.done.size(), 1u);
    BOOST_CHECK(std::stoll(env.cli("PTTL " + env.record_key("L1"))) > 0);  // expires unless an event comes
    BOOST_CHECK_EQUAL(env.cli("EXISTS " + env.record_key("L2")), "0");
    BOOST_CHECK_EQUAL(env.cli("ZCARD " + env.keys.schedule()), "0");
    BOOST_CHECK(env.outbox().empty());  // restoring publishes nothing

    const auto applied = env.apply({item(0, ev, {p30, p7})}, kT0 + 30h);
    BOOST_CHECK_EQUAL(applied.stale, 0);
    BOOST_CHECK_EQUAL(applied.scheduled, 1);
    for (const auto& o : env.outbox()) BOOST_CHECK_NE(o["reminder_id"], p30.reminder_id);
    auto batch = env.claim(kT0 + 48h, "tok");
    BOOST_REQUIRE_EQUAL(batch.items.size(), 1u);
    BOOST_CHECK_EQUAL(batch.items[0].ref.stage, "7d");
    BOOST_CHECK_EQUAL(env.cli("PTTL " + env.record_key("L1")), "-1");  // a known record now
}
