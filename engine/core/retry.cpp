#include "engine/core/retry.hpp"

#include "engine/base/backoff.hpp"

#include <algorithm>

namespace rappel::core {

Millis backoff_delay(const config::RetryConfig& policy, int attempt, Random& random,
                     std::optional<std::chrono::seconds> retry_after) {
    const BackoffPolicy p{Millis{policy.backoff_base}, Millis{policy.backoff_cap},
                          policy.jitter == config::Jitter::full};
    Millis result = rappel::backoff_delay(p, attempt, random);
    if (retry_after) result = std::max<Millis>(result, *retry_after);
    return result;
}

}  // namespace rappel::core
