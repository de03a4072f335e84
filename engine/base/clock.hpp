#pragma once
// One clock abstraction for the whole engine. Reminder times, leases, backoff and outcome
// timestamps all come from Clock::now(); timers convert a target instant to a real delay with
// Clock::real_delay_until(), so the same code runs on system time, on a sped-up simulated
// timeline (demo, end-to-end tests) and on a manual clock (unit tests).
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

namespace rappel {

using Millis = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<Millis>;
using RealDuration = std::chrono::steady_clock::duration;

inline std::int64_t to_unix_ms(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_unix_ms(std::int64_t ms) { return TimePoint{Millis{ms}}; }

class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
    // How long, in real time, until the clock reads `t`. Zero if already past.
    virtual RealDuration real_delay_until(TimePoint t) const = 0;
    // How much clock time passes during `d` of real time. Leases use it: they guard against
    // a crashed process, which is a matter of real time even on a simulated timeline.
    virtual Millis elapsed_during(RealDuration d) const {
        return std::chrono::duration_cast<Millis>(d);
    }
};
using ClockPtr = std::shared_ptr<Clock>;

class SystemClock final : public Clock {
public:
    TimePoint now() const override;
    RealDuration real_delay_until(TimePoint t) const override;
};

// Simulated time: reads `start` at the real instant `anchor` and runs `speed` times faster.
// Two processes given the same start, speed and anchor share one timeline, so an engine
// restarted in the middle of a simulated run continues where the first one was.
class SimulatedClock final : public Clock {
public:
    SimulatedClock(TimePoint start, double speed, std::chrono::system_clock::time_point anchor);
    TimePoint now() const override;
    RealDuration real_delay_until(TimePoint t) const override;
    Millis elapsed_during(RealDuration d) const override;
    double speed() const { return speed_; }

private:
    TimePoint start_;
    double speed_;
    std::chrono::system_clock::time_point anchor_;
};

// Moves only when told to. Thread-safe. real_delay_until() returns a short poll interval for
// future instants so loops re-check after the test advances time.
class ManualClock final : public Clock {
public:
    explicit ManualClock(TimePoint start) : now_(start) {}
    TimePoint now() const override;
    RealDuration real_delay_until(TimePoint t) const override;
    void set(TimePoint t);
    void advance(Millis d);

private:
    mutable std::mutex mu_;
    TimePoint now_;
};

} // namespace rappel
