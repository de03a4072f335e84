#include "engine/base/clock.hpp"

namespace rappel {

TimePoint SystemClock::now() const {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
}

RealDuration SystemClock::real_delay_until(TimePoint t) const {
    auto d = t - now();
    return d.count() > 0 ? std::chrono::duration_cast<RealDuration>(d) : RealDuration::zero();
}

SimulatedClock::SimulatedClock(TimePoint start, double speed,
                               std::chrono::system_clock::time_point anchor)
    : start_(start), speed_(speed > 0 ? speed : 1.0), anchor_(anchor) {}

TimePoint SimulatedClock::now() const {
    using namespace std::chrono;
    const auto real = duration<double, std::milli>(system_clock::now() - anchor_).count();
    return start_ + Millis{static_cast<std::int64_t>(real * speed_)};
}

RealDuration SimulatedClock::real_delay_until(TimePoint t) const {
    using namespace std::chrono;
    const auto sim_ms = static_cast<double>((t - now()).count());
    if (sim_ms <= 0) return RealDuration::zero();
    return duration_cast<RealDuration>(duration<double, std::milli>(sim_ms / speed_));
}

Millis SimulatedClock::elapsed_during(RealDuration d) const {
    using namespace std::chrono;
    return Millis{static_cast<Millis::rep>(duration<double, std::milli>(d).count() * speed_)};
}

TimePoint ManualClock::now() const {
    std::lock_guard lock(mu_);
    return now_;
}

RealDuration ManualClock::real_delay_until(TimePoint t) const {
    return t <= now() ? RealDuration::zero()
                      : std::chrono::duration_cast<RealDuration>(std::chrono::milliseconds{5});
}

void ManualClock::set(TimePoint t) {
    std::lock_guard lock(mu_);
    now_ = t;
}

void ManualClock::advance(Millis d) {
    std::lock_guard lock(mu_);
    now_ += d;
}

} // namespace rappel
