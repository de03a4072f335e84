#include "engine/base/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace rappel {

Millis backoff_delay(const BackoffPolicy& policy, int attempt, Random& random) {
    const double base = static_cast<double>(policy.base.count());
    const double cap = static_cast<double>(policy.cap.count());
    const int exponent = std::clamp(attempt - 1, 0, 40);
    const double ceiling = std::min(cap, base * std::ldexp(1.0, exponent));
    const double delay = policy.jitter ? random.uniform01() * ceiling : ceiling;
    return Millis{static_cast<Millis::rep>(delay)};
}

}  // namespace rappel
