#pragma once
// The core's one hook for metrics (engine/observe implements it): called on the io thread at
// the few points the core's own counters (stats.hpp) cannot describe, because they carry a
// label. Implementations must be cheap and must not call back into the core.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace rappel::core {

class CoreObserver {
public:
    virtual ~CoreObserver() = default;
    // An event failed validation and goes to the dead-letter topic; `reason` is its stable
    // EventError code ("invalid-json", "unknown-program", ...).
    virtual void on_invalid_event(std::string_view reason) = 0;
    // One notification-outcome/1 event was acknowledged by the outcomes topic.
    virtual void on_outcome_published(std::string_view outcome_json) = 0;
};

// A snapshot of what readiness and the gauges need, computed on demand (io thread).
struct CoreHealth {
    bool stopping = false;
    std::vector<std::int32_t> owned;      // partitions served
    std::size_t store_failing = 0;        // partitions whose Store calls currently fail
    std::size_t relay_failing = 0;        // partitions whose outbox relay currently fails
    std::size_t in_flight = 0;            // reminders claimed and not yet recorded
    std::size_t buffered_events = 0;      // consumed, not yet applied
    std::size_t paused = 0;               // partitions paused for backpressure
};

}  // namespace rappel::core
