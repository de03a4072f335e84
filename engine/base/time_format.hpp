#pragma once
#include "engine/base/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rappel {

// RFC 3339 UTC with milliseconds: 2026-11-20T15:04:05.000Z
std::string format_rfc3339(TimePoint t);
// Accepts RFC 3339 with 'Z' or a numeric offset, optional fractional seconds.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

} // namespace rappel
