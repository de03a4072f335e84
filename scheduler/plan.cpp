#include "scheduler/plan.hpp"

#include "engine/base/time_format.hpp"
#include "scheduler/keys.hpp"
#include "scheduler/window.hpp"

#include <fmt/format.h>

#include <exception>
#include <string_view>

namespace rappel::scheduler {
namespace {

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
                    const config::EngineConfig& engine, const date::time_zone* zone, TimePoint now) {
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
            // A late event is sent at the channel's next opening, not at whatever hour it came.
            const config::SendWindow* w = program.window(r.channel);
            r.fire_at = w != nullptr ? next_opening(*w, program.closures, zone, now) : now;
            r.expires_at = now + engine.expire_after;
            r.reason = "catch-up";
            if (r.fire_at > r.expires_at) {
                r.disposition = Disposition::expired;
                r.reason = "past-at-arrival: its window does not open before expiry";
            }
        } else {
            r.disposition = Disposition::expired;
            r.reason = "past-at-arrival";
        }
    }
}

}  // namespace

Placed place(const config::ProgramConfig& program, const config::StageConfig& stage, ChannelKind channel,
             std::chrono::year_month_day due, const date::time_zone* zone) {
    using namespace std::chrono;
    const config::SendWindow* w = program.window(channel);
    const year_month_day day{sys_days{due} + days{stage.offset_days}};
    if (w == nullptr) return Placed{stage_instant(day, 0, stage.send_hour, stage.send_minute, zone), {}};
    const bool before = stage.offset_days < 0;
    const config::Shift rule = stage.shift.value_or(before ? config::Shift::previous : config::Shift::next);
    const year_month_day moved = shift_day(*w, program.closures, day, rule,
                                           before ? std::optional<year_month_day>(due) : std::nullopt);
    const TimePoint at = stage_instant(moved, 0, stage.send_hour, stage.send_minute, zone);
    Placed p{next_opening(*w, program.closures, zone, at), {}};
    if (moved != day)
        p.moved = fmt::format("moved from {} ({}) to {}", format_date(day), skip_reason(*w, program.closures, day),
                              format_date(moved));
    return p;
}

TimePoint stage_instant(std::chrono::year_month_day due, int offset_days, int hour, int minute,
                        const date::time_zone* zone) {
    using namespace std::chrono;
    const sys_days day = sys_days{due} + days{offset_days};
    const date::local_seconds local{day.time_since_epoch() + hours{hour} + minutes{minute}};
    return time_point_cast<Millis>(to_sys(zone, local));
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
        auto add = [&](ChannelKind c, Disposition d, std::string_view reason) {
            const Placed at = place(program, stage, c, ev.due_date, zone);
            PlannedReminder r{reminder_id(ev.program, ev.licence_id, ev.due_date, stage.id, c),
                              stage.id, c, at.fire_at, at.fire_at + engine.expire_after, d, std::string(reason)};
            if (d == Disposition::schedule && r.reason.empty()) r.reason = at.moved;
            if (d == Disposition::schedule && at.fire_at == TimePoint::max()) {
                r.fire_at = r.expires_at = TimePoint{};
                r.disposition = Disposition::suppressed;
                r.reason = "no-window";
            }
            plan.push_back(std::move(r));
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
    apply_catch_up(plan, program, engine, zone, now);
    return plan;
}

}  // namespace rappel::scheduler
