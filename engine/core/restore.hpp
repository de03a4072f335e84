#pragma once
// Rebuild after Redis lost its state: before a partition the Store holds no offset for is
// consumed from the beginning, the done markers of its licences come back from the outcomes
// topic (OutcomeHistory), so re-applying its events schedules nothing that already ended.
// One pass reads the topic for every partition waiting at that time; a partition revoked
// meanwhile is dropped from the pass (generations), one assigned meanwhile waits for the
// next pass. Nothing runs on the io thread but the Store writes.
#include "engine/core/context.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace rappel::core {

class Restore {
public:
    explicit Restore(Context& ctx) : ctx_(ctx) {}
    ~Restore();
    // Without an OutcomeHistory, partitions without a stored offset are consumed at once.
    bool enabled() const { return ctx_.deps.outcome_history != nullptr; }
    // `p` (owned under `generation`) has no stored offset: restore, then Ownership::consume.
    void need(std::int32_t p, std::uint64_t generation);
    // A revocation: a pass left with no partition of its own is cancelled.
    void revoked();
    // Another partition's offset was read: a pass may start now.
    void maybe_start();
    void stop();

private:
    struct PartState {
        std::uint64_t generation = 0;
        std::int64_t kept = 0;      // ended reminders of this partition (routed or not) handed to the Store
        std::int64_t restored = 0;  // markers the Store added
    };
    struct PassState {
        std::map<std::int32_t, PartState> parts;
        std::unique_ptr<OutcomeHistory::Pass> pass;
        std::chrono::steady_clock::time_point started;
        std::int64_t read = 0;
        std::int64_t unrouted = 0;
        int failures = 0;
    };

    bool valid(std::int32_t p, const PartState& s) const;
    void start_pass();
    void on_batch(OutcomeHistory::Batch&& b, std::function<void()> next);
    void write(std::int32_t p, std::uint64_t generation, std::shared_ptr<std::vector<scheduler::EndedReminder>> ended,
               std::shared_ptr<std::size_t> remaining, std::function<void()> next, int failures);
    void on_end(Result<std::int64_t> r);
    void cancel_pass();

    Context& ctx_;
    std::map<std::int32_t, std::uint64_t> waiting_;  // partition -> generation, not in a pass yet
    std::unique_ptr<PassState> pass_;
    std::uint64_t pass_seq_ = 0;
    bool start_posted_ = false;
};

}  // namespace rappel::core
