#include "scheduler/window.hpp"

#include "scheduler/holidays.hpp"

#include <algorithm>
#include <exception>
#include <string>

namespace rappel::scheduler {
namespace {

using namespace std::chrono;

// date 3.0.1 reads the system TZif files but not their POSIX-TZ footer, so it knows no
// transition after the last one listed (2037 in Debian's files) and would keep that offset
// for ever. From 1901 to 2099 the calendar repeats every 28 years (weekdays and leap years),
// so a later instant is resolved in the equivalent earlier year, where the same rules
// ("second Sunday of March") give the same offset, then shifted back.
constexpr int kLastListedYear = 2037;
constexpr int kDaysIn28Years = 28 * 365 + 7;

days cycle_shift(int y) {
    if (y <= kLastListedYear) return days{0};
    return days{(y - kLastListedYear + 27) / 28 * kDaysIn28Years};
}

constexpr int kMaxDays = 400;

}  // namespace

date::local_seconds to_local(const date::time_zone* zone, sys_seconds t) {
    if (zone == nullptr) return date::local_seconds{t.time_since_epoch()};
    const days shift = cycle_shift(static_cast<int>(year_month_day{floor<days>(t)}.year()));
    return zone->to_local(t - shift) + shift;
}

sys_seconds to_sys(const date::time_zone* zone, date::local_seconds t) {
    if (zone == nullptr) return sys_seconds{t.time_since_epoch()};
    const days shift = cycle_shift(static_cast<int>(year_month_day{sys_days{floor<days>(t).time_since_epoch()}}.year()));
    // choose::earliest: for a nonexistent local time date returns the transition instant,
    // i.e. the first instant after the gap; for an ambiguous one, the first occurrence.
    return zone->to_sys(t - shift, date::choose::earliest) + shift;
}

bool is_weekend(year_month_day d) {
    const weekday w{sys_days{d}};
    return w == Saturday || w == Sunday;
}

bool is_skipped_day(const config::SendWindow& w, Days closures, year_month_day d) {
    if (w.skip_weekends && is_weekend(d)) return true;
    if (w.skip_holidays && is_ontario_holiday(d)) return true;
    return std::find(closures.begin(), closures.end(), d) != closures.end();
}

std::string skip_reason(const config::SendWindow& w, Days closures, year_month_day d) {
    if (std::find(closures.begin(), closures.end(), d) != closures.end()) return "closure";
    if (w.skip_holidays)
        for (const auto& h : ontario_holidays(d.year()))
            if (h.date == d || h.observed == d)
                return std::string("holiday: ") + std::string(h.name) + (h.date == d ? "" : " (substitute)");
    if (w.skip_weekends && is_weekend(d)) return "weekend";
    return {};
}

std::pair<int, int> hours_of(const config::SendWindow& w, Days closures, year_month_day d) {
    if (is_skipped_day(w, closures, d)) return {0, 0};
    return is_weekend(d) ? std::pair{w.weekend_open, w.weekend_close} : std::pair{w.weekday_open, w.weekday_close};
}

bool is_open(const config::SendWindow& w, Days closures, const date::time_zone* zone, TimePoint t) {
    const date::local_seconds local = to_local(zone, floor<seconds>(t));
    const auto day = floor<days>(local);
    const auto minute = static_cast<int>(floor<minutes>(local - day).count());
    const auto [open, close] = hours_of(w, closures, year_month_day{sys_days{day.time_since_epoch()}});
    return minute >= open && minute < close;
}

TimePoint next_opening(const config::SendWindow& w, Days closures, const date::time_zone* zone, TimePoint t) {
    const auto first = floor<days>(to_local(zone, floor<seconds>(t)));
    for (int i = 0; i < kMaxDays; ++i) {
        const auto day = first + days{i};
        const auto [open, close] = hours_of(w, closures, year_month_day{sys_days{day.time_since_epoch()}});
        if (open >= close) continue;
        const auto from = time_point_cast<Millis>(to_sys(zone, day + minutes{open}));
        const auto to = time_point_cast<Millis>(to_sys(zone, day + minutes{close}));
        if (t < from) return from;
        if (t < to) return t;
    }
    return TimePoint::max();
}

year_month_day shift_day(const config::SendWindow& w, Days closures, year_month_day d, config::Shift rule,
                         std::optional<year_month_day> not_after) {
    constexpr int kMaxShift = 60;
    auto search = [&](int step) -> std::optional<year_month_day> {
        for (int i = 0; i <= kMaxShift; ++i) {
            const year_month_day c{sys_days{d} + days{i * step}};
            if (step > 0 && not_after && sys_days{c} > sys_days{*not_after}) return std::nullopt;
            if (!is_skipped_day(w, closures, c)) return c;
        }
        return std::nullopt;
    };
    if (rule == config::Shift::next) {
        if (auto n = search(1)) return *n;
    }
    if (auto p = search(-1)) return *p;
    return d;
}

WindowBook::WindowBook(const std::map<std::string, config::ProgramConfig>& programs,
                       const std::string& default_zone)
    : programs_(programs.begin(), programs.end()), default_zone_(date::locate_zone(default_zone)) {}

const config::ProgramConfig* WindowBook::program(std::string_view id) const {
    auto it = programs_.find(id);
    return it == programs_.end() ? nullptr : &it->second;
}

const date::time_zone* WindowBook::zone(std::string_view holder_zone) const {
    if (holder_zone.empty()) return default_zone_;
    try {
        return date::locate_zone(holder_zone);
    } catch (const std::exception&) {
        return default_zone_;
    }
}

config::Priority WindowBook::priority(std::string_view program, std::string_view stage) const {
    const config::ProgramConfig* p = this->program(program);
    return p == nullptr ? config::Priority::normal : p->priority_of(stage);
}

}  // namespace rappel::scheduler
