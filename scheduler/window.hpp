#pragma once
// Send windows in the holder's local time (pure: no I/O). A window (config::SendWindow) says
// which local hours of weekdays and weekends a channel may reach a holder; a day is skipped
// when it is a weekend and the window skips weekends, an Ontario holiday (its date or its
// substitute, scheduler/holidays.hpp) and the window skips holidays, or a closure date.
// Every function takes the zone; local times that do not exist (spring-forward gap) open at
// the first instant after the gap, local times that occur twice (fall-back) use the first.
#include "engine/base/clock.hpp"
#include "engine/config/config.hpp"

#include <date/tz.h>

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rappel::scheduler {

using Days = std::span<const std::chrono::year_month_day>;

// Local <-> UTC through date/tz, valid after 2037 too (see the note in window.cpp).
date::local_seconds to_local(const date::time_zone* zone, std::chrono::sys_seconds t);
std::chrono::sys_seconds to_sys(const date::time_zone* zone, date::local_seconds t);

bool is_weekend(std::chrono::year_month_day d);
bool is_skipped_day(const config::SendWindow& w, Days closures, std::chrono::year_month_day d);
// The local day's opening hours [open, close) in minutes; empty (open >= close) when the
// day is skipped or has no hours.
std::pair<int, int> hours_of(const config::SendWindow& w, Days closures, std::chrono::year_month_day d);

// Whether the window is open at `t`.
bool is_open(const config::SendWindow& w, Days closures, const date::time_zone* zone, TimePoint t);
// The first instant at or after `t` when the window is open (t itself when it is open);
// TimePoint::max() when the window never opens within 400 days (a window with no hours).
TimePoint next_opening(const config::SendWindow& w, Days closures, const date::time_zone* zone, TimePoint t);

// The day a stage that lands on `d` moves to: `d` itself when it is not skipped, else the
// previous or next day that is not skipped (at most 60 days away; `d` if there is none). With
// `not_after` (the due date of a stage before it), `next` never goes past it: it falls back
// to `previous` instead.
std::chrono::year_month_day shift_day(const config::SendWindow& w, Days closures, std::chrono::year_month_day d,
                                      config::Shift rule,
                                      std::optional<std::chrono::year_month_day> not_after = std::nullopt);

// Why a day is skipped, for reports: "weekend", "holiday: Canada Day", "closure"; "" if not.
std::string skip_reason(const config::SendWindow& w, Days closures, std::chrono::year_month_day d);

// What the store's claim and retry decisions need of the configuration: each program's
// windows, closures and priorities, and the zone of holders that gave none. Read-only after
// construction, shared by every store call.
class WindowBook {
public:
    WindowBook(const std::map<std::string, config::ProgramConfig>& programs, const std::string& default_zone);

    const config::ProgramConfig* program(std::string_view id) const;
    // The holder's zone, else the default one (an unknown name is the default too: the
    // event validator accepts only known zones).
    const date::time_zone* zone(std::string_view holder_zone) const;
    config::Priority priority(std::string_view program, std::string_view stage) const;

private:
    std::map<std::string, config::ProgramConfig, std::less<>> programs_;
    const date::time_zone* default_zone_;
};

}  // namespace rappel::scheduler
