#pragma once
// Backoff for failed sends: exponential with full jitter (AWS "Exponential Backoff And
// Jitter"), honouring a provider's Retry-After when it asks for longer.
#include "engine/base/clock.hpp"
#include "engine/base/random.hpp"
#include "engine/config/config.hpp"

#include <chrono>
#include <optional>

namespace rappel::core {

// Delay before attempt `attempt + 1`, after `attempt` (>= 1) attempts have failed.
Millis backoff_delay(const config::RetryConfig& policy, int attempt, Random& random,
                     std::optional<std::chrono::seconds> retry_after = std::nullopt);

}  // namespace rappel::core
