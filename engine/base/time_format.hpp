#pragma once
#include "engine/base/clock.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rappel {

// RFC 3339 UTC with milliseconds: 2026-11-20T15:04:05.000Z
std::string format_rfc3339(TimePoint t);
// The same written into `out` (kRfc3339Size bytes, no terminator) or appended: no allocation
// and no format-string parsing, for the outcome and key hot paths.
inline constexpr std::size_t kRfc3339Size = 24;
void write_rfc3339(char* out, TimePoint t);
void append_rfc3339(std::string& out, TimePoint t);
// Accepts RFC 3339 with 'Z' or a numeric offset, optional fractional seconds.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

// A calendar date as YYYY-MM-DD (years 0000..9999; others are clamped to them).
std::string format_date(std::chrono::year_month_day date);
inline constexpr std::size_t kDateSize = 10;
void write_date(char* out, std::chrono::year_month_day date);
// Exactly YYYY-MM-DD, an existing date (2024-02-29 yes, 2023-02-29 no).
std::optional<std::chrono::year_month_day> parse_date(std::string_view text);

// RFC 5322 / RFC 2822 date-time in UTC, as email and Twilio write it:
// "Thu, 24 Aug 2023 05:01:45 +0000".
std::string format_rfc5322(std::chrono::sys_seconds t);

} // namespace rappel
