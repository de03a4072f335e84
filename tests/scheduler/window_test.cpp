#include "scheduler/holidays.hpp"
#include "scheduler/plan.hpp"
#include "scheduler/window.hpp"

#include "engine/base/time_format.hpp"

#include <boost/test/unit_test.hpp>

#include <set>
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
// Whole seconds, as the tests write them.
std::string iso(TimePoint t) {
    if (t == TimePoint::max()) return "never";
    std::string s = format_rfc3339(t);
    if (const auto dot = s.find(".000Z"); dot != std::string::npos) s.replace(dot, 5, "Z");
    return s;
}

year_month_day ymd(int y, unsigned m, unsigned d) { return year{y} / month{m} / day{d}; }

std::string text(year_month_day d) {
    char b[16];
    std::snprintf(b, sizeof b, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                  static_cast<unsigned>(d.day()));
    return b;
}

// The observed days off, as ontario.ca publishes them (the substitute where there is one).
std::set<std::string> observed(int y) {
    std::set<std::string> out;
    for (const auto& h : ontario_holidays(year{y})) out.insert(text(h.observed));
    return out;
}

config::SendWindow sms_window() {
    config::SendWindow w;
    w.weekday_open = 9 * 60;
    w.weekday_close = 20 * 60;
    w.weekend_open = 10 * 60;
    w.weekend_close = 17 * 60;
    w.skip_holidays = true;
    return w;
}

const date::time_zone* toronto() { return date::locate_zone("America/Toronto"); }
const date::time_zone* winnipeg() { return date::locate_zone("America/Winnipeg"); }

const std::vector<year_month_day> kNone;

}  // namespace

BOOST_AUTO_TEST_SUITE(holidays)

BOOST_AUTO_TEST_CASE(easter_by_computus_matches_the_published_dates) {
    BOOST_CHECK(easter_sunday(year{2026}) == ymd(2026, 4, 5));
    BOOST_CHECK(easter_sunday(year{2027}) == ymd(2027, 3, 28));
    BOOST_CHECK(easter_sunday(year{2028}) == ymd(2028, 4, 16));
    BOOST_CHECK(easter_sunday(year{2029}) == ymd(2029, 4, 1));
    BOOST_CHECK(easter_sunday(year{2030}) == ymd(2030, 4, 21));
    BOOST_CHECK(easter_sunday(year{2038}) == ymd(2038, 4, 25));  // the latest possible date
    BOOST_CHECK(easter_sunday(year{2285}) == ymd(2285, 3, 22));  // the earliest
}

BOOST_AUTO_TEST_CASE(ontario_2026_to_2030_match_the_published_lists) {
    BOOST_CHECK((observed(2026) == std::set<std::string>{"2026-01-01", "2026-02-16", "2026-04-03", "2026-05-18",
                                                         "2026-07-01", "2026-08-03", "2026-09-07", "2026-10-12",
                                                         "2026-12-25", "2026-12-28"}));
    // Christmas on a Saturday, Boxing Day on a Sunday: Monday 27 and Tuesday 28.
    BOOST_CHECK((observed(2027) == std::set<std::string>{"2027-01-01", "2027-02-15", "2027-03-26", "2027-05-24",
                                                         "2027-07-01", "2027-08-02", "2027-09-06", "2027-10-11",
                                                         "2027-12-27", "2027-12-28"}));
    // New Year's Day and Canada Day on a Saturday: the Mondays after.
    BOOST_CHECK((observed(2028) == std::set<std::string>{"2028-01-03", "2028-02-21", "2028-04-14", "2028-05-22",
                                                         "2028-07-03", "2028-08-07", "2028-09-04", "2028-10-09",
                                                         "2028-12-25", "2028-12-26"}));
    // Canada Day on a Sunday: Monday 2 July.
    BOOST_CHECK((observed(2029) == std::set<std::string>{"2029-01-01", "2029-02-19", "2029-03-30", "2029-05-21",
                                                         "2029-07-02", "2029-08-06", "2029-09-03", "2029-10-08",
                                                         "2029-12-25", "2029-12-26"}));
    BOOST_CHECK((observed(2030) == std::set<std::string>{"2030-01-01", "2030-02-18", "2030-04-19", "2030-05-20",
                                                         "2030-07-01", "2030-08-05", "2030-09-02", "2030-10-14",
                                                         "2030-12-25", "2030-12-26"}));
}

BOOST_AUTO_TEST_CASE(christmas_on_a_sunday_moves_past_boxing_day) {
    const auto y2022 = observed(2022);
    BOOST_CHECK(y2022.count("2022-12-26") == 1 && y2022.count("2022-12-27") == 1);
    BOOST_CHECK(is_ontario_holiday(ymd(2022, 12, 25)));  // the day itself stays closed
}

BOOST_AUTO_TEST_CASE(victoria_day_is_the_monday_before_may_25) {
    BOOST_CHECK(ontario_holidays(year{2027})[3].date == ymd(2027, 5, 24));  // 24 May is a Monday
    BOOST_CHECK(ontario_holidays(year{2031})[3].date == ymd(2031, 5, 19));  // 25 May is a Sunday
}

BOOST_AUTO_TEST_CASE(a_holiday_and_its_substitute_are_both_holidays_other_days_not) {
    BOOST_CHECK(is_ontario_holiday(ymd(2027, 12, 25)));
    BOOST_CHECK(is_ontario_holiday(ymd(2027, 12, 27)));
    BOOST_CHECK(is_ontario_holiday(ymd(2027, 12, 28)));
    BOOST_CHECK(!is_ontario_holiday(ymd(2027, 12, 24)));
    BOOST_CHECK(!is_ontario_holiday(ymd(2027, 12, 29)));
    BOOST_CHECK(!is_ontario_holiday(ymd(2027, 11, 11)));  // Remembrance Day: not in Ontario
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(windows)

BOOST_AUTO_TEST_CASE(weekday_and_weekend_hours_in_local_time) {
    const auto w = sms_window();
    // Wednesday 2027-01-13, Toronto is UTC-5.
    BOOST_CHECK(!is_open(w, kNone, toronto(), at("2027-01-13T13:59:59Z")));
    BOOST_CHECK(is_open(w, kNone, toronto(), at("2027-01-13T14:00:00Z")));
    BOOST_CHECK(is_open(w, kNone, toronto(), at("2027-01-14T00:59:59Z")));
    BOOST_CHECK(!is_open(w, kNone, toronto(), at("2027-01-14T01:00:00Z")));  // 20:00
    // Saturday: 10:00 to 17:00.
    BOOST_CHECK(!is_open(w, kNone, toronto(), at("2027-01-16T14:30:00Z")));
    BOOST_CHECK(is_open(w, kNone, toronto(), at("2027-01-16T15:00:00Z")));
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-01-16T22:00:00Z"))), "2027-01-17T15:00:00Z");
}

BOOST_AUTO_TEST_CASE(an_evening_retry_waits_for_the_next_morning) {
    const auto w = sms_window();
    // Thursday 19:55 + 10 min = 20:05: Friday 09:00.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-01-15T01:05:00Z"))), "2027-01-15T14:00:00Z");
    // Open: the instant itself.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-01-14T15:00:00Z"))), "2027-01-14T15:00:00Z");
    // Friday 23:00: Saturday 10:00.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-01-16T04:00:00Z"))), "2027-01-16T15:00:00Z");
}

BOOST_AUTO_TEST_CASE(skipped_weekends_holidays_and_closures) {
    auto w = sms_window();
    w.skip_weekends = true;
    const std::vector<year_month_day> closures{ymd(2027, 12, 24)};
    // Thursday 23 Dec 2027 at 21:00: 24th closed, weekend, 27th and 28th holidays -> 29th 09:00.
    BOOST_CHECK_EQUAL(iso(next_opening(w, closures, toronto(), at("2027-12-24T02:00:00Z"))), "2027-12-29T14:00:00Z");
    BOOST_CHECK_EQUAL(skip_reason(w, closures, ymd(2027, 12, 24)), "closure");
    BOOST_CHECK_EQUAL(skip_reason(w, closures, ymd(2027, 12, 25)), "holiday: Christmas Day");
    BOOST_CHECK_EQUAL(skip_reason(w, closures, ymd(2027, 12, 28)), "holiday: Boxing Day (substitute)");
    BOOST_CHECK_EQUAL(skip_reason(w, closures, ymd(2027, 12, 18)), "weekend");
    BOOST_CHECK_EQUAL(skip_reason(w, closures, ymd(2027, 12, 22)), "");
    config::SendWindow closed;
    closed.weekday_close = closed.weekday_open;
    closed.weekend_close = closed.weekend_open;
    BOOST_CHECK(next_opening(closed, kNone, toronto(), at("2027-01-01T00:00:00Z")) == TimePoint::max());
}

BOOST_AUTO_TEST_CASE(spring_forward_in_toronto_and_winnipeg) {
    const auto w = sms_window();
    // Sunday 14 March 2027: clocks go 02:00 -> 03:00. Weekend hours 10:00-17:00.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-03-13T22:30:00Z"))), "2027-03-14T14:00:00Z");
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, winnipeg(), at("2027-03-13T23:30:00Z"))), "2027-03-14T15:00:00Z");
    // The day before, still standard time.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-03-13T06:00:00Z"))), "2027-03-13T15:00:00Z");
    BOOST_CHECK(!is_open(w, kNone, toronto(), at("2027-03-14T13:59:00Z")));  // 09:59 EDT
    BOOST_CHECK(is_open(w, kNone, toronto(), at("2027-03-14T20:59:00Z")));   // 16:59 EDT
    BOOST_CHECK(!is_open(w, kNone, toronto(), at("2027-03-14T21:00:00Z")));  // 17:00 EDT
    // An opening inside the gap opens at the first instant after it (03:00 EDT).
    config::SendWindow night;
    night.weekend_open = 2 * 60 + 30;
    night.weekend_close = 5 * 60;
    BOOST_CHECK_EQUAL(iso(next_opening(night, kNone, toronto(), at("2027-03-14T05:00:00Z"))), "2027-03-14T07:00:00Z");
    BOOST_CHECK_EQUAL(iso(next_opening(night, kNone, winnipeg(), at("2027-03-14T06:00:00Z"))), "2027-03-14T08:00:00Z");
}

BOOST_AUTO_TEST_CASE(fall_back_in_toronto_and_winnipeg) {
    auto w = sms_window();
    // Sunday 7 November 2027: clocks go 02:00 -> 01:00.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-11-07T05:00:00Z"))), "2027-11-07T15:00:00Z");
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, winnipeg(), at("2027-11-07T06:00:00Z"))), "2027-11-07T16:00:00Z");
    // Saturday before, daylight time: 10:00 EDT = 14:00Z.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2027-11-06T05:00:00Z"))), "2027-11-06T14:00:00Z");
    // The repeated hour: 01:30 occurs twice; both are outside a 02:00-04:00 window, and
    // 02:00 is the first instant after the second 01:59 (07:00Z).
    config::SendWindow night;
    night.weekend_open = 2 * 60;
    night.weekend_close = 4 * 60;
    BOOST_CHECK(!is_open(night, kNone, toronto(), at("2027-11-07T05:30:00Z")));  // 01:30 EDT
    BOOST_CHECK(!is_open(night, kNone, toronto(), at("2027-11-07T06:30:00Z")));  // 01:30 EST
    BOOST_CHECK_EQUAL(iso(next_opening(night, kNone, toronto(), at("2027-11-07T05:30:00Z"))), "2027-11-07T07:00:00Z");
    // After 2037 (date knows no listed transition): still daylight time in July 2050.
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2050-07-06T10:00:00Z"))), "2050-07-06T13:00:00Z");
    BOOST_CHECK_EQUAL(iso(next_opening(w, kNone, toronto(), at("2050-01-05T10:00:00Z"))), "2050-01-05T14:00:00Z");
}

BOOST_AUTO_TEST_CASE(shift_rules_previous_next_and_never_past_the_due_date) {
    auto w = sms_window();
    w.skip_weekends = true;
    // Canada Day 2027 is a Thursday.
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 7, 1), config::Shift::previous) == ymd(2027, 6, 30));
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 7, 1), config::Shift::next) == ymd(2027, 7, 2));
    // Saturday 3 July 2027 -> Friday 2 or Monday 5.
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 7, 3), config::Shift::previous) == ymd(2027, 7, 2));
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 7, 3), config::Shift::next) == ymd(2027, 7, 5));
    // A `next` stage before a due date of Sunday 4 July: Monday would pass it -> Friday.
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 7, 3), config::Shift::next, ymd(2027, 7, 4)) == ymd(2027, 7, 2));
    // A day that is not skipped stays.
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 7, 7), config::Shift::previous) == ymd(2027, 7, 7));
    // Christmas 2027 with weekends skipped: the 24th (Friday) or the 29th.
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 12, 27), config::Shift::previous) == ymd(2027, 12, 24));
    BOOST_CHECK(shift_day(w, kNone, ymd(2027, 12, 27), config::Shift::next) == ymd(2027, 12, 29));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(planning_with_windows)

namespace {
struct PlanFixture {
    config::ProgramConfig program;
    config::EngineConfig engine;
    RenewalEvent ev;
    std::set<ChannelKind> available{ChannelKind::sms, ChannelKind::email};

    PlanFixture() {
        program.id = "drivers-licence";
        program.windows[ChannelKind::sms] = sms_window();
        config::SendWindow email;
        email.weekday_open = email.weekend_open = 8 * 60;
        email.weekday_close = email.weekend_close = 21 * 60;
        email.skip_holidays = true;
        program.windows[ChannelKind::email] = email;
        program.catch_up = config::CatchUp::latest;
        config::StageConfig s;
        s.id = "7d";
        s.offset_days = -7;
        s.channels = {ChannelKind::sms};
        program.stages.push_back(s);
        s.id = "1d-after";
        s.offset_days = 1;
        s.channels = {ChannelKind::email};
        program.stages.push_back(s);
        ev.event_id = "e";
        ev.type = EventType::due;
        ev.program = program.id;
        ev.licence_id = "L1";
        ev.version = 1;
        ev.holder.time_zone = "America/Toronto";
        ev.holder.sms = "+16135550100";
        ev.holder.email = "a@example.ca";
        ev.holder.channels = {ChannelKind::sms, ChannelKind::email};
    }
    std::vector<PlannedReminder> plan(TimePoint now) const { return plan_reminders(ev, program, engine, available, now); }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_stage_on_canada_day_moves_to_the_day_before_and_says_why) {
    PlanFixture f;
    f.ev.due_date = ymd(2027, 7, 8);  // 7 days before: Thursday 1 July
    const auto plan = f.plan(at("2027-01-01T00:00:00Z"));
    BOOST_REQUIRE_EQUAL(plan.size(), 2u);
    BOOST_CHECK_EQUAL(iso(plan[0].fire_at), "2027-06-30T14:00:00Z");
    BOOST_CHECK_EQUAL(plan[0].reason, "moved from 2027-07-01 (holiday: Canada Day) to 2027-06-30");
    // An "after" stage on the Civic Holiday moves to the next day.
    f.ev.due_date = ymd(2027, 8, 1);
    const auto after = f.plan(at("2027-01-01T00:00:00Z"));
    BOOST_CHECK_EQUAL(iso(after[1].fire_at), "2027-08-03T14:00:00Z");
}

BOOST_AUTO_TEST_CASE(a_stage_that_can_shift_per_stage_config) {
    PlanFixture f;
    f.program.stages[0].shift = config::Shift::next;
    f.ev.due_date = ymd(2027, 7, 8);
    const auto plan = f.plan(at("2027-01-01T00:00:00Z"));
    BOOST_CHECK_EQUAL(iso(plan[0].fire_at), "2027-07-02T14:00:00Z");
}

BOOST_AUTO_TEST_CASE(a_late_event_at_23h_is_caught_up_the_next_morning) {
    PlanFixture f;
    f.ev.due_date = ymd(2027, 1, 20);  // 7d stage: Wednesday 13 Jan 10:00, past
    const auto plan = f.plan(at("2027-01-14T04:00:00Z"));  // 23:00 on the 13th
    BOOST_CHECK(plan[0].disposition == Disposition::schedule);
    BOOST_CHECK_EQUAL(plan[0].reason, "catch-up");
    BOOST_CHECK_EQUAL(iso(plan[0].fire_at), "2027-01-14T14:00:00Z");
    // During opening hours: at once.
    const auto now = f.plan(at("2027-01-13T18:00:00Z"));
    BOOST_CHECK_EQUAL(iso(now[0].fire_at), "2027-01-13T18:00:00Z");
}

BOOST_AUTO_TEST_CASE(without_windows_nothing_moves) {
    PlanFixture f;
    f.program.windows.clear();
    f.ev.due_date = ymd(2027, 7, 8);
    const auto plan = f.plan(at("2027-01-01T00:00:00Z"));
    BOOST_CHECK_EQUAL(iso(plan[0].fire_at), "2027-07-01T14:00:00Z");
    BOOST_CHECK_EQUAL(plan[0].reason, "");
}

BOOST_AUTO_TEST_SUITE_END()

#include "scheduler/forecast.hpp"

BOOST_AUTO_TEST_SUITE(forecast)

BOOST_AUTO_TEST_CASE(a_wave_larger_than_the_pipe_carries_bulk_over_first) {
    const TimePoint from = at("2027-01-14T14:00:00Z"), close = at("2027-01-15T01:00:00Z");  // 09:00-20:00
    // 11 h at 10/s = 396,000.
    const auto f = forecast_wave({1000, 300000, 500000}, 10, from, close);
    BOOST_CHECK_EQUAL(f.capacity, 396000);
    BOOST_CHECK_EQUAL(f.lanes[0].carried_over, 0);
    BOOST_CHECK_EQUAL(f.lanes[1].carried_over, 0);
    BOOST_CHECK_EQUAL(f.lanes[2].before_close, 95000);
    BOOST_CHECK_EQUAL(f.lanes[2].carried_over, 405000);
    BOOST_CHECK(!f.drained_at.has_value());
    const auto small = forecast_wave({0, 3600, 0}, 10, from, close);
    BOOST_REQUIRE(small.drained_at.has_value());
    BOOST_CHECK_EQUAL(iso(*small.drained_at), "2027-01-14T14:06:00Z");
}

BOOST_AUTO_TEST_CASE(the_period_is_the_open_window_or_the_next_one) {
    const auto w = sms_window();
    auto [open, close] = window_period(w, kNone, toronto(), at("2027-01-14T18:00:00Z"));
    BOOST_CHECK_EQUAL(iso(open), "2027-01-14T18:00:00Z");
    BOOST_CHECK_EQUAL(iso(close), "2027-01-15T01:00:00Z");
    std::tie(open, close) = window_period(w, kNone, toronto(), at("2027-01-15T03:00:00Z"));
    BOOST_CHECK_EQUAL(iso(open), "2027-01-15T14:00:00Z");
    BOOST_CHECK_EQUAL(iso(close), "2027-01-16T01:00:00Z");
}

BOOST_AUTO_TEST_SUITE_END()
