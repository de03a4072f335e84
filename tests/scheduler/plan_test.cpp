#include "scheduler/plan.hpp"

#include "engine/base/time_format.hpp"
#include "scheduler/keys.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace rappel;
using namespace rappel::scheduler;
using namespace std::chrono;

namespace {

TimePoint at(std::string_view rfc3339) {
    const auto t = parse_rfc3339(rfc3339);
    BOOST_TEST_REQUIRE(t.has_value(), rfc3339);
    return *t;
}

std::string iso(TimePoint t) { return format_rfc3339(t); }

const date::time_zone* zone(std::string_view name) { return date::locate_zone(name); }

config::StageConfig stage(std::string id, int offset, std::vector<ChannelKind> channels,
                          bool preference = false) {
    config::StageConfig s;
    s.id = std::move(id);
    s.offset_days = offset;
    s.send_hour = 10;
    s.send_minute = 0;
    s.channels = std::move(channels);
    s.preference = preference;
    return s;
}

struct Fixture {
    config::ProgramConfig program;
    config::EngineConfig engine;
    RenewalEvent ev;
    std::set<ChannelKind> available{ChannelKind::sms, ChannelKind::email, ChannelKind::voice};

    Fixture() {
        program.id = "drivers-licence";
        program.stages = {
            stage("60d-before", -60, {ChannelKind::sms, ChannelKind::email}),
            stage("30d-before", -30, {}, true),
            stage("7d-before", -7, {ChannelKind::sms, ChannelKind::email, ChannelKind::voice}),
            stage("1d-after", 1, {ChannelKind::email}),
        };
        ev.event_id = "evt-1";
        ev.type = EventType::due;
        ev.program = "drivers-licence";
        ev.licence_id = "C6275-41289-50817";
        ev.version = 3;
        ev.due_date = year{2027} / February / day{14};
        ev.holder.language = Language::fr;
        ev.holder.time_zone = "America/Toronto";
        ev.holder.sms = "+16135550142";
        ev.holder.email = "g.cote@example.ca";
        ev.holder.channels = {ChannelKind::sms, ChannelKind::email};
    }

    std::vector<PlannedReminder> plan(TimePoint now) const {
        return plan_reminders(ev, program, engine, available, now);
    }
};

const PlannedReminder* find(const std::vector<PlannedReminder>& plan, std::string_view stage_id,
                            ChannelKind c) {
    for (const auto& r : plan)
        if (r.stage == stage_id && r.channel == c) return &r;
    return nullptr;
}

const TimePoint kEarly = at("2026-11-01T00:00:00Z");  // before every stage

}  // namespace

BOOST_AUTO_TEST_SUITE(stage_instant_tests)

BOOST_AUTO_TEST_CASE(toronto_standard_and_daylight_time) {
    const auto* tz = zone("America/Toronto");
    BOOST_TEST(iso(stage_instant(year{2027} / February / day{14}, 0, 10, 0, tz)) ==
               "2027-02-14T15:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2027} / July / day{1}, 0, 10, 30, tz)) ==
               "2027-07-01T14:30:00.000Z");
}

BOOST_AUTO_TEST_CASE(toronto_spring_forward_gap_moves_after_the_gap) {
    const auto* tz = zone("America/Toronto");
    const year_month_day day{year{2027}, March, std::chrono::day{14}};
    BOOST_TEST(iso(stage_instant(day, 0, 2, 30, tz)) == "2027-03-14T07:00:00.000Z");  // 03:00 EDT
    BOOST_TEST(iso(stage_instant(day, 0, 2, 0, tz)) == "2027-03-14T07:00:00.000Z");
    BOOST_TEST(iso(stage_instant(day, 0, 1, 59, tz)) == "2027-03-14T06:59:00.000Z");  // EST
    BOOST_TEST(iso(stage_instant(day, 0, 3, 0, tz)) == "2027-03-14T07:00:00.000Z");   // EDT
    BOOST_TEST(iso(stage_instant(day, 0, 10, 0, tz)) == "2027-03-14T14:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(toronto_fall_back_overlap_takes_the_earlier_instant) {
    const auto* tz = zone("America/Toronto");
    const year_month_day day{year{2027}, November, std::chrono::day{7}};
    BOOST_TEST(iso(stage_instant(day, 0, 1, 30, tz)) == "2027-11-07T05:30:00.000Z");  // EDT
    BOOST_TEST(iso(stage_instant(day, 0, 2, 0, tz)) == "2027-11-07T07:00:00.000Z");   // EST
    BOOST_TEST(iso(stage_instant(day, 0, 10, 0, tz)) == "2027-11-07T15:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(winnipeg) {
    // Expectations use 2026 dates: the installed tzdata (2026f) puts Manitoba on permanent
    // UTC-5 from 2026-11-01, and later rules may change again.
    const auto* tz = zone("America/Winnipeg");
    BOOST_TEST(iso(stage_instant(year{2026} / February / day{14}, 0, 10, 0, tz)) ==
               "2026-02-14T16:00:00.000Z");  // CST
    BOOST_TEST(iso(stage_instant(year{2026} / July / day{1}, 0, 10, 0, tz)) ==
               "2026-07-01T15:00:00.000Z");  // CDT
    BOOST_TEST(iso(stage_instant(year{2026} / March / day{8}, 0, 2, 30, tz)) ==
               "2026-03-08T08:00:00.000Z");  // gap -> 03:00 CDT
    // Whatever the rules of later years, the result reads back as the requested local time
    // whenever that local time exists exactly once.
    for (auto d : {year{2027} / February / day{14}, year{2027} / July / day{1}}) {
        const TimePoint t = stage_instant(d, 0, 10, 0, tz);
        const date::local_seconds local{(sys_days{d} + hours{10}).time_since_epoch()};
        const auto info = tz->get_info(local);
        BOOST_TEST_REQUIRE(info.result == date::local_info::unique);
        BOOST_TEST(to_unix_ms(t) == duration_cast<milliseconds>((local - info.first.offset)
                                                                    .time_since_epoch())
                                        .count());
    }
}

BOOST_AUTO_TEST_CASE(half_hour_zone) {
    BOOST_TEST(iso(stage_instant(year{2027} / February / day{14}, 0, 10, 0,
                                 zone("America/St_Johns"))) == "2027-02-14T13:30:00.000Z");
}

BOOST_AUTO_TEST_CASE(offsets_cross_month_and_year_boundaries) {
    const auto* tz = zone("America/Toronto");
    // 2027-01-15 minus 60 days is 2026-11-16 (EST, after the 2026-11-01 fall back)
    BOOST_TEST(iso(stage_instant(year{2027} / January / day{15}, -60, 10, 0, tz)) ==
               "2026-11-16T15:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2027} / January / day{5}, -7, 9, 15, tz)) ==
               "2026-12-29T14:15:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2026} / December / day{31}, 1, 10, 0, tz)) ==
               "2027-01-01T15:00:00.000Z");
    // 2027-05-10 minus 60 days crosses the spring-forward date: 2027-03-11 is still EST
    BOOST_TEST(iso(stage_instant(year{2027} / May / day{10}, -60, 10, 0, tz)) ==
               "2027-03-11T15:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(leap_day) {
    const auto* tz = zone("America/Toronto");
    BOOST_TEST(iso(stage_instant(year{2028} / March / day{1}, -1, 10, 0, tz)) ==
               "2028-02-29T15:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2028} / February / day{29}, 1, 10, 0, tz)) ==
               "2028-03-01T15:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2027} / March / day{1}, -1, 10, 0, tz)) ==
               "2027-02-28T15:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2028} / February / day{29}, -365, 10, 0, tz)) ==
               "2027-03-01T15:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(daylight_time_after_2037) {
    // The zone files list transitions up to 2037; later years follow the same rules.
    const auto* tz = zone("America/Toronto");
    BOOST_TEST(iso(stage_instant(year{2040} / July / day{1}, 0, 10, 0, tz)) ==
               "2040-07-01T14:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2040} / January / day{15}, 0, 10, 0, tz)) ==
               "2040-01-15T15:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2038} / March / day{14}, 0, 2, 30, tz)) ==
               "2038-03-14T07:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2038} / November / day{7}, 0, 1, 30, tz)) ==
               "2038-11-07T05:30:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2038} / January / day{10}, -30, 10, 0, tz)) ==
               "2037-12-11T15:00:00.000Z");
    BOOST_TEST(iso(stage_instant(year{2099} / July / day{1}, 0, 10, 0, tz)) ==
               "2099-07-01T14:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(null_zone_is_utc) {
    BOOST_TEST(iso(stage_instant(year{2027} / February / day{14}, -1, 10, 5, nullptr)) ==
               "2027-02-13T10:05:00.000Z");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(plan_reminders_tests)

BOOST_FIXTURE_TEST_CASE(stages_times_channels, Fixture) {
    const auto p = plan(kEarly);
    BOOST_TEST_REQUIRE(p.size() == 7u);
    const struct {
        const char* stage;
        ChannelKind channel;
        Disposition disposition;
        const char* reason;
        const char* fire_at;
    } expected[] = {
        {"60d-before", ChannelKind::sms, Disposition::schedule, "", "2026-12-16T15:00:00.000Z"},
        {"60d-before", ChannelKind::email, Disposition::schedule, "", "2026-12-16T15:00:00.000Z"},
        {"30d-before", ChannelKind::sms, Disposition::schedule, "", "2027-01-15T15:00:00.000Z"},
        {"7d-before", ChannelKind::sms, Disposition::schedule, "", "2027-02-07T15:00:00.000Z"},
        {"7d-before", ChannelKind::email, Disposition::schedule, "", "2027-02-07T15:00:00.000Z"},
        {"7d-before", ChannelKind::voice, Disposition::suppressed, "no-consent",
         "2027-02-07T15:00:00.000Z"},
        {"1d-after", ChannelKind::email, Disposition::schedule, "", "2027-02-15T15:00:00.000Z"},
    };
    for (std::size_t i = 0; i < p.size(); ++i) {
        BOOST_TEST_CONTEXT("reminder " << i) {
            BOOST_TEST(p[i].stage == expected[i].stage);
            BOOST_TEST((p[i].channel == expected[i].channel));
            BOOST_TEST(to_string(p[i].disposition) == to_string(expected[i].disposition));
            BOOST_TEST(p[i].reason == expected[i].reason);
            BOOST_TEST(iso(p[i].fire_at) == expected[i].fire_at);
            BOOST_TEST((p[i].expires_at == p[i].fire_at + hours{72}));
            BOOST_TEST(p[i].reminder_id == reminder_id(ev.program, ev.licence_id, ev.due_date,
                                                       p[i].stage, p[i].channel));
        }
    }
}

BOOST_FIXTURE_TEST_CASE(only_due_events_plan_reminders, Fixture) {
    ev.type = EventType::renewed;
    BOOST_TEST(plan(kEarly).empty());
    ev.type = EventType::withdrawn;
    BOOST_TEST(plan(kEarly).empty());
}

BOOST_FIXTURE_TEST_CASE(holder_time_zone_and_default, Fixture) {
    ev.holder.time_zone = "America/Regina";  // CST all year
    BOOST_TEST(iso(plan(kEarly).front().fire_at) == "2026-12-16T16:00:00.000Z");
    ev.holder.time_zone.clear();
    engine.default_time_zone = "America/Halifax";
    BOOST_TEST(iso(plan(kEarly).front().fire_at) == "2026-12-16T14:00:00.000Z");
}

BOOST_FIXTURE_TEST_CASE(no_contact, Fixture) {
    ev.holder.channels = {ChannelKind::sms, ChannelKind::email, ChannelKind::voice};
    ev.holder.email.clear();
    const auto p = plan(kEarly);
    const auto* email = find(p, "60d-before", ChannelKind::email);
    BOOST_TEST_REQUIRE(email != nullptr);
    BOOST_TEST(to_string(email->disposition) == "suppressed");
    BOOST_TEST(email->reason == "no-contact");
    const auto* voice = find(p, "7d-before", ChannelKind::voice);
    BOOST_TEST_REQUIRE(voice != nullptr);
    BOOST_TEST(voice->reason == "no-contact");
    BOOST_TEST(to_string(find(p, "60d-before", ChannelKind::sms)->disposition) == "schedule");
}

BOOST_FIXTURE_TEST_CASE(no_consent_checked_before_contact_and_provider, Fixture) {
    ev.holder.channels = {ChannelKind::email};
    available = {ChannelKind::email};
    const auto p = plan(kEarly);
    const auto* sms = find(p, "60d-before", ChannelKind::sms);
    BOOST_TEST_REQUIRE(sms != nullptr);
    BOOST_TEST(sms->reason == "no-consent");
}

BOOST_FIXTURE_TEST_CASE(no_provider, Fixture) {
    available = {ChannelKind::email};
    const auto p = plan(kEarly);
    const auto* sms = find(p, "60d-before", ChannelKind::sms);
    BOOST_TEST_REQUIRE(sms != nullptr);
    BOOST_TEST(to_string(sms->disposition) == "suppressed");
    BOOST_TEST(sms->reason == "no-provider");
    BOOST_TEST(to_string(find(p, "60d-before", ChannelKind::email)->disposition) == "schedule");
}

BOOST_FIXTURE_TEST_CASE(preference_falls_back_in_holder_order, Fixture) {
    // most preferred channel has no provider
    available = {ChannelKind::email, ChannelKind::voice};
    auto p = plan(kEarly);
    BOOST_TEST(find(p, "30d-before", ChannelKind::sms) == nullptr);
    const auto* email = find(p, "30d-before", ChannelKind::email);
    BOOST_TEST_REQUIRE(email != nullptr);
    BOOST_TEST(to_string(email->disposition) == "schedule");

    // most preferred channel has no contact
    available = {ChannelKind::sms, ChannelKind::email, ChannelKind::voice};
    ev.holder.channels = {ChannelKind::voice, ChannelKind::sms, ChannelKind::email};
    p = plan(kEarly);
    BOOST_TEST(find(p, "30d-before", ChannelKind::voice) == nullptr);
    BOOST_TEST_REQUIRE(find(p, "30d-before", ChannelKind::sms) != nullptr);

    // exactly one reminder for the stage
    int count = 0;
    for (const auto& r : p) count += r.stage == "30d-before" ? 1 : 0;
    BOOST_TEST(count == 1);
}

BOOST_FIXTURE_TEST_CASE(preference_without_usable_channel_is_suppressed, Fixture) {
    ev.holder.channels = {ChannelKind::email, ChannelKind::voice};
    ev.holder.email.clear();
    const auto p = plan(kEarly);
    const auto* r = find(p, "30d-before", ChannelKind::email);
    BOOST_TEST_REQUIRE(r != nullptr);
    BOOST_TEST(to_string(r->disposition) == "suppressed");
    BOOST_TEST(r->reason == "no-usable-channel");
    BOOST_TEST(iso(r->fire_at) == "2027-01-15T15:00:00.000Z");
}

BOOST_FIXTURE_TEST_CASE(catch_up_skip_expires_past_stages, Fixture) {
    program.catch_up = config::CatchUp::skip;
    program.stages[0].channels.push_back(ChannelKind::voice);  // past and suppressed
    const TimePoint now = at("2027-01-16T12:00:00Z");
    const auto p = plan(now);
    for (const char* past : {"60d-before", "30d-before"}) {
        const auto* r = find(p, past, ChannelKind::sms);
        BOOST_TEST_REQUIRE(r != nullptr);
        BOOST_TEST(to_string(r->disposition) == "expired");
        BOOST_TEST(r->reason == "past-at-arrival");
    }
    BOOST_TEST(iso(find(p, "30d-before", ChannelKind::sms)->fire_at) == "2027-01-15T15:00:00.000Z");
    BOOST_TEST(find(p, "60d-before", ChannelKind::voice)->reason == "no-consent");
    BOOST_TEST(to_string(find(p, "7d-before", ChannelKind::sms)->disposition) == "schedule");
    BOOST_TEST(find(p, "7d-before", ChannelKind::sms)->reason.empty());
}

BOOST_FIXTURE_TEST_CASE(catch_up_latest_within_grace, Fixture) {
    program.catch_up = config::CatchUp::latest;
    program.catch_up_grace = days{3};
    const TimePoint now = at("2027-01-16T12:00:00Z");
    const auto p = plan(now);
    const auto* latest = find(p, "30d-before", ChannelKind::sms);
    BOOST_TEST_REQUIRE(latest != nullptr);
    BOOST_TEST(to_string(latest->disposition) == "schedule");
    BOOST_TEST((latest->fire_at == now));
    BOOST_TEST((latest->expires_at == now + hours{72}));
    BOOST_TEST(latest->reason == "catch-up");
    for (auto c : {ChannelKind::sms, ChannelKind::email}) {
        const auto* older = find(p, "60d-before", c);
        BOOST_TEST(to_string(older->disposition) == "expired");
        BOOST_TEST(older->reason == "past-at-arrival");
    }
    BOOST_TEST(iso(find(p, "7d-before", ChannelKind::email)->fire_at) == "2027-02-07T15:00:00.000Z");
}

BOOST_FIXTURE_TEST_CASE(catch_up_latest_moves_every_channel_of_the_stage, Fixture) {
    program.catch_up = config::CatchUp::latest;
    const TimePoint now = at("2027-02-08T09:00:00Z");
    const auto p = plan(now);
    for (auto c : {ChannelKind::sms, ChannelKind::email}) {
        const auto* r = find(p, "7d-before", c);
        BOOST_TEST(to_string(r->disposition) == "schedule");
        BOOST_TEST((r->fire_at == now));
    }
    BOOST_TEST(to_string(find(p, "7d-before", ChannelKind::voice)->disposition) == "suppressed");
    BOOST_TEST(to_string(find(p, "30d-before", ChannelKind::sms)->disposition) == "expired");
    BOOST_TEST(to_string(find(p, "1d-after", ChannelKind::email)->disposition) == "schedule");
}

BOOST_FIXTURE_TEST_CASE(catch_up_latest_outside_grace_expires_all, Fixture) {
    program.catch_up = config::CatchUp::latest;
    program.catch_up_grace = days{3};
    const TimePoint now = at("2027-01-20T00:00:00Z");  // 30d stage is 4.4 days old
    const auto p = plan(now);
    for (const auto& r : p) {
        if (r.fire_at < now) {
            BOOST_TEST(to_string(r.disposition) != "schedule", r.stage);
        }
    }
    BOOST_TEST(find(p, "30d-before", ChannelKind::sms)->reason == "past-at-arrival");
    BOOST_TEST(to_string(find(p, "7d-before", ChannelKind::sms)->disposition) == "schedule");
}

BOOST_FIXTURE_TEST_CASE(catch_up_boundaries, Fixture) {
    program.catch_up = config::CatchUp::latest;
    program.catch_up_grace = days{3};
    const TimePoint stage30 = at("2027-01-15T15:00:00Z");
    // fire_at == now is not in the past: nothing moves
    auto p = plan(stage30);
    BOOST_TEST(find(p, "30d-before", ChannelKind::sms)->reason.empty());
    BOOST_TEST((find(p, "30d-before", ChannelKind::sms)->fire_at == stage30));
    // exactly grace old: still caught up
    p = plan(stage30 + days{3});
    BOOST_TEST(find(p, "30d-before", ChannelKind::sms)->reason == "catch-up");
    // one millisecond more: expired
    p = plan(stage30 + days{3} + milliseconds{1});
    BOOST_TEST(find(p, "30d-before", ChannelKind::sms)->reason == "past-at-arrival");
}

BOOST_AUTO_TEST_SUITE_END()
