#include "scheduler/forecast.hpp"

#include "scheduler/window.hpp"

#include <algorithm>
#include <cmath>

namespace rappel::scheduler {

WaveForecast forecast_wave(const std::array<std::int64_t, config::kPriorities>& due_by_lane, double per_second,
                           TimePoint from, TimePoint close) {
    WaveForecast f;
    f.from = from;
    f.close = close;
    const double seconds = std::max(0.0, std::chrono::duration<double>(close - from).count());
    f.capacity = static_cast<std::int64_t>(std::floor(std::max(0.0, per_second) * seconds));
    std::int64_t left = f.capacity, total = 0;
    for (std::size_t i = 0; i < f.lanes.size(); ++i) {
        auto& lane = f.lanes[i];
        lane.due = std::max<std::int64_t>(0, due_by_lane[i]);
        lane.before_close = std::min(lane.due, left);
        lane.carried_over = lane.due - lane.before_close;
        left -= lane.before_close;
        total += lane.due;
    }
    if (total <= f.capacity && per_second > 0)
        f.drained_at = from + std::chrono::duration_cast<Millis>(std::chrono::duration<double>(total / per_second));
    return f;
}

std::pair<TimePoint, TimePoint> window_period(const config::SendWindow& w,
                                              const std::vector<std::chrono::year_month_day>& closures,
                                              const date::time_zone* zone, TimePoint t) {
    using namespace std::chrono;
    const TimePoint open = next_opening(w, closures, zone, t);
    if (open == TimePoint::max()) return {open, open};
    // The close of that day's hours: the first instant after `open` at which it is closed.
    const auto local = to_local(zone, floor<seconds>(open));
    const auto day = floor<days>(local);
    const int close_minute = hours_of(w, closures, year_month_day{sys_days{day.time_since_epoch()}}).second;
    const TimePoint close = time_point_cast<Millis>(to_sys(zone, day + minutes{close_minute}));
    return {open, close};
}

}  // namespace rappel::scheduler
