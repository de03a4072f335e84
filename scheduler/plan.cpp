#include "scheduler/plan.hpp"

#include "scheduler/keys.hpp"

#include <exception>
#include <string_view>

namespace rappel::scheduler {
namespace {

constexpr int kLastListedYear = 2037;
constexpr int kDaysIn28Years = 28 * 365 + 7;

const date::time_zone* resolve_zone(const std::string& holder_zone, const std::string& fallback) {
    // The validator only accepts known zones and the config loader checks the default, so
    // the catch is a safety net rather than a code path.
    if (!holder_zone.empty()) {
        try {
            return date::locate_zone(holder_zone);
        } catch (const std::exception&) {
        }
    }
    return date::locate_zone(fallback);
}

std::string_view contact_of(const Holder& h, ChannelKind c) {
    switch (c) {
    case ChannelKind::sms: return h.sms;
    case ChannelKind::email: return h.email;
    case ChannelKind::voice: return h.voice;
    }
    return {};
}

bool consented(const Holder& h, ChannelKind c) {
    for (ChannelKind x : h.channels)
        if (x == c) return true;
    return false;
}

void apply_catch_up(std::vector<PlannedReminder>& plan, const config::ProgramConfig& program,
                    const config::EngineConfig& engine, TimePoint now) {
    const PlannedReminder* chosen = nullptr;
    if (program.catch_up == config::CatchUp::latest) {
        const TimePoint oldest = now - program.catch_up_grace;
        for (const auto& r : plan) {
            if (r.disposition != Disposition::schedule || r.fire_at >= now || r.fire_at < oldest)
                continue;
            if (chosen == nullptr || r.fire_at >= chosen->fire_at) chosen = &r;
        }
    }
    const std::string chosen_stage = chosen != nullptr ? chosen->stage : std::string();
    for (auto& r : plan) {
        if (r.disposition != Disposition::schedule || r.fire_at >= now) continue;
        if (chosen != nullptr && r.stage == chosen_stage) {
            r.fire_at = now;
            r.expires_at = now + engine.expire_after;
            r.reason = "catch-up";
        } else {
            r.disposition = Disposition::expired;
            r.reason = "past-at-arrival";
        }
    }
}

}  // namespace

TimePoint stage_instant(std::chrono::year_month_day due, int offset_days, int hour, int minute,
                        const date::time_zone* zone) {
    using namespace std::chrono;
    const sys_days day = sys_days{due} + days{offset_days};
    const seconds since_epoch = day.time_since_epoch() + hours{hour} + minutes{minute};
    if (zone == nullptr) return TimePoint{duration_cast<Millis>(since_epoch)};
    // date 3.0.1 reads the system TZif files but not their POSIX-TZ footer, so it knows no
    // transition after the last one listed (2037 in Debian's files) and would keep that
    // offset for ever. From 1901 to 2099 the calendar repeats every 28 years (weekdays and
    // leap years), so a later local time is resolved in the equivalent earlier year, where
    // the same rules ("second Sunday of March") give the same local offset, then shifted back.
    // (2100 is not a leap year: local times from March 2100 on would be a day off.)
    days shift{0};
    const int y = static_cast<int>(year_month_day{day}.year());
    if (y > kLastListedYear) {
        const int cycles = (y - kLastListedYear + 27) / 28;
        shift = days{cycles * kDaysIn28Years};
    }
    const date::local_seconds local{since_epoch - shift};
    // choose::earliest: for a nonexistent local time date returns the transition instant,
    // i.e. the first instant after the gap; for an ambiguous one, the first occurrence.
    const sys_seconds at = zone->to_sys(local, date::choose::earliest);
    return time_point_cast<Millis>(at + shift);
}

std::vector<PlannedReminder> plan_reminders(const RenewalEvent& ev,
                                            const config::ProgramConfig& program,
                                            const config::EngineConfig& engine,
                                            const std::set<ChannelKind>& available_channels,
                                            TimePoint now) {
    std::vector<PlannedReminder> plan;
    if (ev.type != EventType::due) return plan;
    const Holder& h = ev.holder;
    const date::time_zone* zone = resolve_zone(h.time_zone, engine.default_time_zone);

    for (const auto& stage : program.stages) {
        const TimePoint fire =
            stage_instant(ev.due_date, stage.offset_days, stage.send_hour, stage.send_minute, zone);
        auto add = [&](ChannelKind c, Disposition d, std::string_view reason) {
            plan.push_back(PlannedReminder{
                reminder_id(ev.program, ev.licence_id, ev.due_date, stage.id, c), stage.id, c,
                fire, fire + engine.expire_after, d, std::string(reason)});
        };
        if (stage.preference) {
            bool picked = false;
            for (ChannelKind c : h.channels) {
                if (available_channels.contains(c) && !contact_of(h, c).empty()) {
                    add(c, Disposition::schedule, {});
                    picked = true;
                    break;
                }
            }
            if (!picked && !h.channels.empty())
                add(h.channels.front(), Disposition::suppressed, "no-usable-channel");
            continue;
        }
        unsigned used = 0;  // a channel listed twice in a stage would duplicate a reminder id
        for (ChannelKind c : stage.channels) {
            const unsigned bit = 1u << static_cast<unsigned>(c);
            if (used & bit) continue;
            used |= bit;
            if (!consented(h, c)) add(c, Disposition::suppressed, "no-consent");
            else if (contact_of(h, c).empty()) add(c, Disposition::suppressed, "no-contact");
            else if (!available_channels.contains(c)) add(c, Disposition::suppressed, "no-provider");
            else add(c, Disposition::schedule, {});
        }
    }
    apply_catch_up(plan, program, engine, now);
    return plan;
}

}  // namespace rappel::scheduler
