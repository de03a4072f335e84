#pragma once
// Per partition state shared by the parts of the core (ownership, ingest, dispatch, relay,
// shutdown). Plain data: the parts own the rules.
#include "engine/base/clock.hpp"
#include "engine/event/event.hpp"
#include "engine/kafka/kafka.hpp"
#include "scheduler/schedule.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

namespace rappel::core {

struct RefLess {
    bool operator()(const scheduler::ReminderRef& a, const scheduler::ReminderRef& b) const {
        return std::tie(a.licence, a.stage, a.channel) < std::tie(b.licence, b.stage, b.channel);
    }
};

// A claimed reminder of this engine, from its claim until its result is recorded (or it is
// released). The send slots in use are exactly the entries of these maps.
struct InFlight {
    enum class State { claimed, sending, recording };
    scheduler::ClaimToken token = 0;
    int attempt = 0;
    std::string reminder_id;
    State state = State::claimed;
};

// Consumed events on their way to the Store: validated and planned once, then dead-lettered
// (the invalid ones), then applied, retried as is until the Store answers.
struct ApplyBatch {
    std::uint64_t generation = 0;
    std::vector<scheduler::IngestItem> items;
    std::vector<kafka::Message> invalid;  // the invalid messages, for the dead-letter topic
    std::vector<EventError> errors;       // parallel to `invalid`
    std::size_t dead_letters_pending = 0;
};

struct Partition {
    // Ownership. Every assign and revoke starts a new generation: work started under an
    // older one finishes but its effects on buffered events are dropped.
    bool owned = false;
    std::uint64_t generation = 0;
    bool awaiting_offset = false;  // assigned, paused, stored offset not read yet
    bool restoring = false;        // no stored offset: done markers being restored (Restore)
    int offset_failures = 0;

    // Ingest.
    std::deque<kafka::Message> buffered;
    std::shared_ptr<ApplyBatch> batch;  // the batch being dead-lettered/applied
    bool applying = false;              // a batch (of any generation) is in progress
    bool paused = false;                // paused for backpressure
    int apply_failures = 0;
    std::set<std::int64_t> dead_lettered;  // offsets already handed to the dead-letter topic

    // Dispatch.
    bool claiming = false;
    bool claim_failing = false;
    std::optional<TimePoint> next_due;
    std::map<scheduler::ReminderRef, InFlight, RefLess> in_flight;
    std::vector<scheduler::AttemptRecord> to_record;  // results waiting to be recorded
    bool recording = false;
    int record_failures = 0;

    // Relay.
    bool relaying = false;
    bool relay_again = false;
    bool relay_waiting = false;  // a retry after a failure is scheduled
    int relay_failures = 0;
    // The next round first reads back what is already on the outcomes topic: set when the
    // partition is taken over (its last owner may have died between publishing and deleting
    // the outbox entries) and after a failed round (some of its outcomes may be out).
    bool relay_check = true;
};

class PartitionTable {
public:
    Partition& at(std::int32_t p) { return parts_[p]; }
    Partition* find(std::int32_t p) {
        auto it = parts_.find(p);
        return it == parts_.end() ? nullptr : &it->second;
    }
    std::map<std::int32_t, Partition>& all() { return parts_; }
    const std::map<std::int32_t, Partition>& all() const { return parts_; }

    std::uint64_t owned_count() const {
        std::uint64_t n = 0;
        for (const auto& [p, part] : parts_) n += part.owned ? 1 : 0;
        return n;
    }
    // Send slots in use: every reminder claimed and not yet recorded or released.
    std::size_t in_flight() const {
        std::size_t n = 0;
        for (const auto& [p, part] : parts_) n += part.in_flight.size();
        return n;
    }

private:
    std::map<std::int32_t, Partition> parts_;
};

}  // namespace rappel::core
