#include "engine/core/retry.hpp"

#include <algorithm>
#include <cmath>

namespace rappel::core {

Millis backoff_delay(const config::RetryConfig& policy, int attempt, Random& random,
                     std::optional<std::chrono::seconds> retry_after) {
    const double base = static_cast<double>(Millis{policy.backoff_base}.count());
    const double cap = static_cast<double>(Millis{policy.backoff_cap}.count());
    const int exponent = std::clamp(attempt - 1, 0, 40);
    const double ceiling = std::min(cap, base * std::ldexp(1.0, exponent));
    double delay = ceiling;
    if (policy.jitter == config::Jitter::full) delay = random.uniform01() * ceiling;
    Millis result{static_cast<Millis::rep>(delay)};
    if (retry_after) result = std::max<Millis>(result, *retry_after);
    return result;
}

}  // namespace rappel::core
