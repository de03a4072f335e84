#pragma once
// The one backoff policy of the project: exponential with full jitter (AWS, "Exponential
// Backoff And Jitter"), capped. Every retry loop uses it: provider sends, Redis reconnects,
// apply and record retries, the stored-offset read on assignment. Randomness is injected so
// tests replay the same delays; nothing here sleeps.
#include "engine/base/clock.hpp"
#include "engine/base/random.hpp"

namespace rappel {

struct BackoffPolicy {
    Millis base{100};
    Millis cap{10'000};
    bool jitter = true;  // false: the ceiling itself (deterministic, for docs and tests)
};

// Delay before attempt `attempt + 1`, after `attempt` (>= 1) failures: uniform in
// [0, min(cap, base * 2^(attempt-1))] with jitter, else that ceiling.
Millis backoff_delay(const BackoffPolicy& policy, int attempt, Random& random);

// A retry loop's state: counts failures since the last success.
class Backoff {
public:
    Backoff(BackoffPolicy policy, Random& random) : policy_(policy), random_(&random) {}
    // Records one more failure and returns the delay before the next try.
    Millis next() { return backoff_delay(policy_, ++failures_, *random_); }
    void reset() { failures_ = 0; }
    int failures() const { return failures_; }
    const BackoffPolicy& policy() const { return policy_; }

private:
    BackoffPolicy policy_;
    Random* random_;
    int failures_ = 0;
};

}  // namespace rappel
