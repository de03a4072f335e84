#pragma once
// Which reminders a `due` event creates, on which channel, and when (no I/O).
#include "engine/base/channel_kind.hpp"
#include "engine/base/clock.hpp"
#include "engine/config/config.hpp"
#include "engine/event/event.hpp"

#include <date/tz.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace rappel::scheduler {

enum class Disposition { schedule, expired, suppressed };

constexpr std::string_view to_string(Disposition d) {
    switch (d) {
    case Disposition::schedule: return "schedule";
    case Disposition::expired: return "expired";
    case Disposition::suppressed: return "suppressed";
    }
    return "?";
}

struct PlannedReminder {
    std::string reminder_id;
    std::string stage;
    ChannelKind channel = ChannelKind::sms;
    TimePoint fire_at{};
    TimePoint expires_at{};
    Disposition disposition = Disposition::schedule;
    // Empty for a normal `schedule`, or "moved from <day> (<why>) to <day>" when its day is
    // skipped by the channel's window; "catch-up" for a past stage moved to the next opening;
    // "past-at-arrival" for expired; "no-consent", "no-contact", "no-provider",
    // "no-usable-channel" for suppressed.
    std::string reason;
};

// Local send instant: (due + offset_days) at hour:minute in `zone` (nullptr: UTC).
// DST gap (the time does not exist) -> the instant just after the gap (02:30 on a
// spring-forward day -> 03:00 local); DST overlap (the time occurs twice) -> the earlier one.
TimePoint stage_instant(std::chrono::year_month_day due, int offset_days, int hour, int minute,
                        const date::time_zone* zone);

// Where a stage's reminder on `channel` goes: its day moved off a skipped day by the stage's
// shift rule, at send_at, then to the channel window's next opening (TimePoint::max() if the
// window never opens). `moved` explains a moved day ("" when the day is kept).
struct Placed {
    TimePoint fire_at{};
    std::string moved;
};
Placed place(const config::ProgramConfig& program, const config::StageConfig& stage, ChannelKind channel,
             std::chrono::year_month_day due, const date::time_zone* zone);

// The reminders of `ev` (type `due`; other types give none), in stage order then channel
// order. `available_channels` are the channels with a configured provider. The zone is the
// holder's, else engine.default_time_zone.
// Preference stages use the holder's first consented channel that is available and has a
// contact; if there is none, one `suppressed` reminder ("no-usable-channel") on the
// holder's first channel. Explicit stages give one reminder per stage channel.
// Catch-up applies to schedulable reminders whose fire_at < now: `skip` expires them all;
// `latest` moves the reminders of the latest such stage with fire_at >= now - grace to
// the channel window's next opening at or after `now` (expired if that is after their
// expiry) and expires the others.
std::vector<PlannedReminder> plan_reminders(const RenewalEvent& ev,
                                            const config::ProgramConfig& program,
                                            const config::EngineConfig& engine,
                                            const std::set<ChannelKind>& available_channels,
                                            TimePoint now);

}  // namespace rappel::scheduler
