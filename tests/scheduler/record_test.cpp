// Layout 2's licence record: the binary format round-trips exactly, rejects damage, and stays
// small; the pure decisions on it (apply, claim, record, release).
#include <boost/test/unit_test.hpp>

#include "engine/base/time_format.hpp"
#include "scheduler/keys.hpp"
#include "scheduler/record.hpp"

#include <nlohmann/json.hpp>

using namespace rappel;
using namespace rappel::scheduler;
using namespace std::chrono_literals;

namespace {

const TimePoint kT0 = *parse_rfc3339("2027-01-01T00:00:00Z");
const std::chrono::year_month_day kDue{std::chrono::year{2027}, std::chrono::month{3}, std::chrono::day{1}};

DecisionContext ctx(TimePoint now = kT0) { return DecisionContext{now, std::chrono::days{400}}; }

IngestItem due_item(std::int64_t version, std::vector<std::string> stages) {
    IngestItem it;
    it.event.event_id = "evt-" + std::to_string(version);
    it.event.program = "health-card";
    it.event.licence_id = "1234567890";
    it.event.version = version;
    it.event.due_date = kDue;
    it.event.holder.name = "Geneviève Côté";
    it.event.holder.language = Language::fr;
    it.event.holder.sms = "+16135550142";
    it.event.holder.email = "g.cote@example.ca";
    it.event.holder.time_zone = "America/Winnipeg";
    it.event.data = {{"renewal_url", "https://www.ontario.ca/renew"}, {"fee", "90"}};
    it.key = outcome_key(it.event);
    int h = 0;
    for (const auto& s : stages) {
        PlannedReminder r;
        r.stage = s;
        r.channel = ChannelKind::sms;
        r.reminder_id = reminder_id(it.event.program, it.event.licence_id, kDue, s, r.channel);
        r.fire_at = kT0 + std::chrono::hours{24 * ++h};
        r.expires_at = r.fire_at + 72h;
        it.plan.push_back(r);
    }
    return it;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(licence_record)

BOOST_AUTO_TEST_CASE(a_record_round_trips_every_field) {
    LicenceRecord rec;
    rec.rev = 7;
    std::vector<PendingOutcome> out;
    apply_event(rec, due_item(std::int64_t{1} << 62, {"60d", "30d", "7d", "1d-after"}), ctx(), out);
    rec.entries[1].claimed = true;
    rec.entries[1].token = 0xfeedfacecafebeefULL;
    rec.entries[1].lease_until = rec.entries[1].fire_at + 300000;
    rec.entries[1].attempt = 2;
    rec.entries[2].superseded = true;
    rec.entries[2].own_due_days = 20000;
    rec.entries[2].own_event_id = "evt-old";
    rec.done.push_back(Done{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, DoneStatus::expired, 20100});
    const std::string bytes = encode_record(rec);
    auto back = decode_record(bytes);
    BOOST_REQUIRE(back.ok());
    BOOST_CHECK(encode_record(back.value()) == bytes);
    const auto& b = back.value();
    BOOST_CHECK_EQUAL(b.rev, 7u);
    BOOST_CHECK_EQUAL(b.version, std::uint64_t{1} << 62);
    BOOST_CHECK_EQUAL(b.payload->name, "Geneviève Côté");
    BOOST_CHECK_EQUAL(b.payload->email, "g.cote@example.ca");
    BOOST_CHECK(b.payload->language == Language::fr);
    BOOST_CHECK_EQUAL(b.payload->data.size(), 2u);
    BOOST_CHECK_EQUAL(b.payload->time_zone, "America/Winnipeg");
    BOOST_CHECK_EQUAL(b.entries.size(), 4u);
    BOOST_CHECK_EQUAL(b.entries[1].token, 0xfeedfacecafebeefULL);
    BOOST_CHECK_EQUAL(b.entries[1].attempt, 2);
    BOOST_CHECK_EQUAL(b.entries[2].own_event_id, "evt-old");
    BOOST_REQUIRE_EQUAL(b.done.size(), 1u);
    BOOST_CHECK(b.done[0].status == DoneStatus::expired);
    BOOST_CHECK(b.done[0].day == 20100);
    BOOST_CHECK(revision_bytes(7) == bytes.substr(0, kRevisionBytes));
}

BOOST_AUTO_TEST_CASE(a_holder_zone_round_trips_by_table_or_by_name) {
    for (const std::string zone : {"", "America/Toronto", "America/Winnipeg", "Europe/Paris"}) {
        LicenceRecord rec;
        std::vector<PendingOutcome> out;
        auto item = due_item(1, {"30d"});
        item.event.holder.time_zone = zone;
        apply_event(rec, item, ctx(), out);
        auto back = decode_record(encode_record(rec));
        BOOST_REQUIRE(back.ok());
        BOOST_CHECK_EQUAL(back.value().payload->time_zone, zone);
    }
}

BOOST_AUTO_TEST_CASE(a_pending_licence_of_four_reminders_stays_small) {
    LicenceRecord rec;
    std::vector<PendingOutcome> out;
    apply_event(rec, due_item(1733000000000000000, {"60d", "30d", "7d", "1d-after"}), ctx(), out);
    // The memory budget is 150 B of Redis per pending reminder, Redis's own overhead included.
    BOOST_TEST_MESSAGE("record of 4 pending reminders: " << encode_record(rec).size() << " bytes");
    BOOST_CHECK_LT(encode_record(rec).size(), 260u);
}

BOOST_AUTO_TEST_CASE(damaged_records_are_refused_not_misread) {
    LicenceRecord rec;
    std::vector<PendingOutcome> out;
    apply_event(rec, due_item(3, {"30d"}), ctx(), out);
    const std::string bytes = encode_record(rec);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        BOOST_CHECK_MESSAGE(!decode_record(bytes.substr(0, cut)).ok(), "truncated at " << cut << " was accepted");
    BOOST_CHECK(!decode_record(bytes + "x").ok());
    std::string other = bytes;
    other[kRevisionBytes] = 1;  // another format
    BOOST_CHECK(!decode_record(other).ok());
}

BOOST_AUTO_TEST_CASE(outcome_json_escapes_and_parses) {
    OutcomeFields f;
    f.event_id = "evt-\"quoted\"\n\x01";
    f.status = "stale";
    f.at = "2027-01-01T00:00:00.000Z";
    f.scheduled_for = kT0;
    const auto j = nlohmann::json::parse(outcome_json(f));
    BOOST_CHECK_EQUAL(j["event_id"], "evt-\"quoted\"\n\x01");
    BOOST_CHECK_EQUAL(j["schema"], "notification-outcome/1");
    BOOST_CHECK_EQUAL(j["attempt"], 0);
    BOOST_CHECK_EQUAL(j["scheduled_for"], "2027-01-01T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(claim_then_sent_leaves_a_done_marker_that_blocks_rescheduling) {
    LicenceRecord rec;
    std::vector<PendingOutcome> out;
    apply_event(rec, due_item(1, {"30d"}), ctx(), out);
    rec.rev = 1;
    std::vector<ClaimedReminder> items;
    bool cut = false;
    BOOST_CHECK_EQUAL(claim_entries(rec, "h", ctx(kT0 + 24h), 60s, 42, {}, 10, items, out, cut), 1);
    BOOST_REQUIRE_EQUAL(items.size(), 1u);
    BOOST_CHECK(rec.next_instant() == to_unix_ms(kT0 + 24h + 60s));
    AttemptRecord a;
    a.ref = items[0].ref;
    a.token = 42;
    a.result = AttemptResult::sent;
    BOOST_CHECK(record_attempt(rec, a, ctx(kT0 + 24h), out) == RecordStatus::sent);
    BOOST_CHECK(record_attempt(rec, a, ctx(kT0 + 24h), out) == RecordStatus::fenced);
    BOOST_CHECK(!rec.payload);
    BOOST_CHECK(!rec.next_instant());
    out.clear();
    const auto counts = apply_event(rec, due_item(2, {"30d"}), ctx(kT0 + 25h), out);
    BOOST_CHECK_EQUAL(counts.scheduled, 0);
    BOOST_CHECK(out.empty());
    BOOST_CHECK(rec.entries.empty());
}

BOOST_AUTO_TEST_CASE(the_budget_cuts_a_claim_and_says_so) {
    LicenceRecord rec;
    std::vector<PendingOutcome> out;
    apply_event(rec, due_item(1, {"30d", "7d"}), ctx(), out);
    std::vector<ClaimedReminder> items;
    bool cut = false;
    BOOST_CHECK_EQUAL(claim_entries(rec, "h", ctx(kT0 + 50h), 60s, 1, {}, 1, items, out, cut), 1);
    BOOST_CHECK(cut);
    BOOST_CHECK(rec.next_instant() == to_unix_ms(kT0 + 48h));  // the one left is still due
}

BOOST_AUTO_TEST_CASE(release_returns_the_claim_without_charging_the_attempt) {
    LicenceRecord rec;
    std::vector<PendingOutcome> out;
    apply_event(rec, due_item(1, {"30d"}), ctx(), out);
    std::vector<ClaimedReminder> items;
    bool cut = false;
    claim_entries(rec, "h", ctx(kT0 + 24h), 60s, 9, {}, 10, items, out, cut);
    BOOST_CHECK(!release_entry(rec, items[0].ref, 8, kT0 + 24h));  // another token
    BOOST_CHECK(release_entry(rec, items[0].ref, 9, kT0 + 24h));
    BOOST_CHECK_EQUAL(rec.entries[0].attempt, 0);
    BOOST_CHECK(!rec.entries[0].claimed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(outbox_entry)

BOOST_AUTO_TEST_CASE(compact_outcomes_render_as_notification_outcome_json) {
    LicenceRecord rec;
    std::vector<PendingOutcome> out;
    apply_event(rec, due_item(1, {"60d", "30d"}), ctx(), out);
    IngestItem bad;
    bad.key = "raw/key/with/slashes";
    bad.invalid = EventError{"invalid-json", "not JSON", "evt-x"};
    out.push_back(invalid_outcome(bad));
    auto rendered = render_outbox(encode_outbox(out, kT0 + 1500ms));
    BOOST_REQUIRE(rendered.ok());
    BOOST_REQUIRE_EQUAL(rendered.value().size(), 3u);
    const auto j = nlohmann::json::parse(rendered.value()[1].value);
    BOOST_CHECK_EQUAL(rendered.value()[1].key, "health-card/1234567890");
    BOOST_CHECK_EQUAL(j["status"], "scheduled");
    BOOST_CHECK_EQUAL(j["program"], "health-card");
    BOOST_CHECK_EQUAL(j["licence_id"], "1234567890");
    BOOST_CHECK_EQUAL(j["event_id"], "evt-1");
    BOOST_CHECK_EQUAL(j["stage"], "30d");
    BOOST_CHECK_EQUAL(j["channel"], "sms");
    BOOST_CHECK_EQUAL(j["reminder_id"], reminder_id("health-card", "1234567890", kDue, "30d", ChannelKind::sms));
    BOOST_CHECK_EQUAL(j["at"], "2027-01-01T00:00:01.500Z");
    BOOST_CHECK_EQUAL(j["scheduled_for"], format_rfc3339(kT0 + 48h));
    const auto inv = nlohmann::json::parse(rendered.value()[2].value);
    BOOST_CHECK_EQUAL(rendered.value()[2].key, "raw/key/with/slashes");
    BOOST_CHECK_EQUAL(inv["program"], "");
    BOOST_CHECK_EQUAL(inv["reminder_id"], "");
    BOOST_CHECK_EQUAL(inv["reason"], "invalid-json: not JSON");
    BOOST_CHECK(!inv.contains("scheduled_for"));
    // No contact data in what the outbox keeps.
    const auto entry = encode_outbox(out, kT0);
    BOOST_CHECK(entry.find("+1613") == std::string::npos);
    BOOST_CHECK(entry.find("Geneviève") == std::string::npos);
    BOOST_CHECK(!render_outbox(entry.substr(0, entry.size() - 3)).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(send_windows)

BOOST_AUTO_TEST_CASE(reminders_carried_over_to_an_opening_go_most_urgent_first_without_an_attempt) {
    config::ProgramConfig p;
    p.id = "health-card";
    config::SendWindow sms;
    sms.weekday_open = 9 * 60;
    sms.weekday_close = 20 * 60;
    sms.weekend_open = 9 * 60;
    sms.weekend_close = 20 * 60;
    p.windows[ChannelKind::sms] = sms;
    const WindowBook book({{p.id, p}}, "America/Toronto");
    // Holders in Winnipeg: both due at 20:00 on Friday 1 January 2027 (02:00Z on the 2nd), as
    // the window closes.
    const TimePoint now = kT0 + 26h;
    DecisionContext c{now, std::chrono::days{400}, &book};
    auto later = due_item(1, {"30d"});
    auto sooner = due_item(1, {"30d"});
    sooner.event.licence_id = "sooner";
    sooner.event.due_date = std::chrono::year{2027} / 1 / 20;
    std::vector<PendingOutcome> out;
    LicenceRecord a, b;
    for (auto* x : {&later, &sooner}) {
        x->plan[0].fire_at = now;
        x->plan[0].expires_at = now + 72h;
    }
    apply_event(a, later, ctx(), out);
    apply_event(b, sooner, ctx(), out);
    std::vector<ClaimedReminder> items;
    bool cut = false;
    int moved = 0;
    BOOST_CHECK_EQUAL(claim_entries(a, "a", c, 60s, 1, {}, 10, items, out, cut, &moved), 0);
    BOOST_CHECK_EQUAL(claim_entries(b, "b", c, 60s, 1, {}, 10, items, out, cut, &moved), 0);
    BOOST_CHECK_EQUAL(moved, 2);
    BOOST_CHECK_EQUAL(a.entries[0].attempt, 0);
    // Saturday 2 January 09:00 CST (15:00Z), the sooner first.
    const std::int64_t opening = to_unix_ms(kT0 + 24h + 15h);
    BOOST_CHECK_GE(b.entries[0].fire_at, opening);
    BOOST_CHECK_LT(b.entries[0].fire_at, a.entries[0].fire_at);
    BOOST_CHECK_LT(a.entries[0].fire_at, opening + 1000);
}

BOOST_AUTO_TEST_CASE(a_claim_whose_lease_ran_out_at_night_waits_for_the_opening_instead_of_staying_due) {
    config::ProgramConfig p;
    p.id = "health-card";
    config::SendWindow sms;
    sms.weekday_open = sms.weekend_open = 9 * 60;
    sms.weekday_close = sms.weekend_close = 20 * 60;
    p.windows[ChannelKind::sms] = sms;
    const WindowBook book({{p.id, p}}, "America/Toronto");
    auto item = due_item(1, {"30d"});
    item.plan[0].fire_at = kT0 + 15h;  // 09:00 CST in Winnipeg, Friday 1 January
    item.plan[0].expires_at = kT0 + 15h + 72h;
    LicenceRecord rec;
    std::vector<PendingOutcome> out;
    apply_event(rec, item, ctx(), out);
    std::vector<ClaimedReminder> items;
    bool cut = false;
    const DecisionContext day{kT0 + 15h, std::chrono::days{400}, &book};
    BOOST_CHECK_EQUAL(claim_entries(rec, "h", day, 12h, 7, {}, 10, items, out, cut), 1);
    // The engine holding it died; at 21:00 the lease has run out, outside the window.
    const DecisionContext night{kT0 + 27h, std::chrono::days{400}, &book};
    int moved = 0;
    BOOST_CHECK_EQUAL(claim_entries(rec, "h", night, 12h, 8, {}, 10, items, out, cut, &moved), 0);
    BOOST_CHECK_EQUAL(moved, 1);
    BOOST_CHECK(!rec.entries[0].claimed);
    BOOST_REQUIRE(rec.next_instant().has_value());
    BOOST_CHECK_GE(*rec.next_instant(), to_unix_ms(kT0 + 24h + 15h));  // Saturday 09:00 CST
    // The dead engine's late result is fenced.
    AttemptRecord a;
    a.ref = items[0].ref;
    a.token = 7;
    BOOST_CHECK(record_attempt(rec, a, night, out) == RecordStatus::fenced);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rebuild)

namespace {
// The `sent` outcome of the 30d reminder as the relay publishes it.
std::string sent_outcome_json(LicenceRecord& rec, TimePoint at) {
    std::vector<PendingOutcome> out;
    std::vector<ClaimedReminder> items;
    bool cut = false;
    claim_entries(rec, "h", ctx(at), 60s, 42, {}, 10, items, out, cut);
    AttemptRecord a;
    a.ref = items.at(0).ref;
    a.token = 42;
    a.result = AttemptResult::sent;
    a.provider = "twilio";
    out.clear();
    BOOST_REQUIRE(record_attempt(rec, a, ctx(at), out) == RecordStatus::sent);
    auto rendered = render_outbox(encode_outbox(out, at));
    BOOST_REQUIRE(rendered.ok());
    return rendered.value().at(0).value;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_sent_outcome_read_back_keeps_its_reminder_from_being_scheduled_again) {
    LicenceRecord before;
    std::vector<PendingOutcome> out;
    apply_event(before, due_item(1, {"30d", "7d"}), ctx(), out);
    const std::string json = sent_outcome_json(before, kT0 + 24h);
    const auto ended = ended_from_outcome(json);
    BOOST_REQUIRE(ended);
    BOOST_CHECK(ended->status == EndedStatus::sent);
    BOOST_CHECK_EQUAL(ended->program, "health-card");
    BOOST_CHECK_EQUAL(ended->licence_id, "1234567890");
    BOOST_CHECK(ended->at == kT0 + 24h);
    const auto rid30 = reminder_id("health-card", "1234567890", kDue, "30d", ChannelKind::sms);
    BOOST_CHECK_EQUAL(ended->reminder_id, rid30);

    // Redis lost everything: a record holding only the restored marker, not known.
    LicenceRecord rec;
    BOOST_CHECK(restore_ended(rec, *ended, ctx(kT0 + 30h)));
    BOOST_CHECK(!restore_ended(rec, *ended, ctx(kT0 + 30h)));  // already there
    rec.rev = 1;
    auto decoded = decode_record(encode_record(rec));
    BOOST_REQUIRE(decoded.ok());
    BOOST_CHECK(!decoded.value().exists());
    BOOST_CHECK_EQUAL(decoded.value().done.size(), 1u);
    BOOST_CHECK(!decoded.value().next_instant());

    // The replayed event (same version) is applied, not stale, and schedules only the 7d one.
    out.clear();
    const auto counts = apply_event(decoded.value(), due_item(1, {"30d", "7d"}), ctx(kT0 + 30h), out);
    BOOST_CHECK(!counts.stale);
    BOOST_CHECK_EQUAL(counts.scheduled, 1);
    BOOST_CHECK(decoded.value().exists());
    for (const auto& o : out) BOOST_CHECK_NE(o.reminder_id, rid30);
    BOOST_REQUIRE_EQUAL(decoded.value().entries.size(), 1u);
    BOOST_CHECK_EQUAL(decoded.value().entries[0].stage, "7d");
    auto again = decode_record(encode_record(decoded.value()));
    BOOST_REQUIRE(again.ok());
    BOOST_CHECK(again.value().exists());
}

BOOST_AUTO_TEST_CASE(markers_older_than_the_retention_are_not_restored) {
    EndedReminder e{"health-card", "1234567890", "r0123456789abcdef01234567", EndedStatus::failed, kT0};
    LicenceRecord rec;
    BOOST_CHECK(!restore_ended(rec, e, ctx(kT0 + std::chrono::days{401})));
    BOOST_CHECK(rec.done.empty());
    BOOST_CHECK(restore_ended(rec, e, ctx(kT0 + std::chrono::days{399})));
}

BOOST_AUTO_TEST_CASE(only_ended_outcomes_with_a_reminder_id_are_read_back) {
    auto with = [](std::string status, std::string rid = "r0123456789abcdef01234567") {
        return nlohmann::json{{"schema", "notification-outcome/1"}, {"reminder_id", rid},
                              {"program", "p"},  {"licence_id", "L1"}, {"status", status},
                              {"at", "2027-01-01T00:00:00.000Z"}}
            .dump();
    };
    BOOST_CHECK(ended_from_outcome(with("sent"))->status == EndedStatus::sent);
    BOOST_CHECK(ended_from_outcome(with("failed"))->status == EndedStatus::failed);
    BOOST_CHECK(ended_from_outcome(with("expired"))->status == EndedStatus::expired);
    for (const auto* s : {"scheduled", "cancelled", "suppressed", "stale", "invalid", "delivered"})
        BOOST_CHECK_MESSAGE(!ended_from_outcome(with(s)), s);
    BOOST_CHECK(!ended_from_outcome(with("sent", "")));
    BOOST_CHECK(!ended_from_outcome(with("sent", "rXYZ")));
    BOOST_CHECK(!ended_from_outcome("not json"));
    BOOST_CHECK(!ended_from_outcome("[1,2]"));
}

BOOST_AUTO_TEST_SUITE_END()
