#pragma once
// Waves larger than the pipe (pure: no I/O). Given how many reminders of each priority lane
// are due before a send window closes and how many the providers carry per second, how many
// go out before the close and how many carry over to the next opening. Lanes are served in
// order (high, normal, bulk), as the store claims them.
#include "engine/base/clock.hpp"
#include "engine/config/config.hpp"

#include <date/tz.h>

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace rappel::scheduler {

struct LaneForecast {
    std::int64_t due = 0;           // due before the close (backlog included)
    std::int64_t before_close = 0;  // sent before the close at the given rate
    std::int64_t carried_over = 0;  // left for the next opening
};

struct WaveForecast {
    TimePoint from{}, close{};
    std::int64_t capacity = 0;  // what the rate carries from `from` to `close`
    std::array<LaneForecast, config::kPriorities> lanes{};
    // When everything due is sent at the rate, if before the close.
    std::optional<TimePoint> drained_at;
};

WaveForecast forecast_wave(const std::array<std::int64_t, config::kPriorities>& due_by_lane, double per_second,
                           TimePoint from, TimePoint close);

// The send period the forecast is about: the window open at `t`, or the next one, as
// [opening, close) in the zone.
std::pair<TimePoint, TimePoint> window_period(const config::SendWindow& w,
                                              const std::vector<std::chrono::year_month_day>& closures,
                                              const date::time_zone* zone, TimePoint t);

}  // namespace rappel::scheduler
