#pragma once
// rappelctl forecast: will today's wave fit through the pipe? Reads the schedule's priority
// lanes in Redis (layout 3), counts the licences due before the channel's send window closes
// (in engine.default_time_zone) and compares them with what `rate` reminders per second carry
// until then (scheduler/forecast.hpp). Counts are licences, all programs and channels: a
// licence with two reminders due counts once, so the figures are a lower bound.
#include "engine/base/channel_kind.hpp"
#include "engine/base/clock.hpp"

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace rappel::ctl {

struct ForecastOptions {
    std::filesystem::path config_file;
    std::string program;  // whose window; empty: the first program
    ChannelKind channel = ChannelKind::sms;
    double rate = 0;      // reminders per second the providers carry
    std::optional<TimePoint> at;  // default: now
};

// Returns the exit status: 0 everything due fits before the close, 3 some carries over,
// 1 error.
int forecast(const ForecastOptions& options, std::ostream& out, std::ostream& err);

}  // namespace rappel::ctl
