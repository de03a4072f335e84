#include "engine/ctl/forecast.hpp"

#include "engine/base/result.hpp"
#include "engine/base/time_format.hpp"
#include "engine/config/config.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/forecast.hpp"
#include "scheduler/keys.hpp"

#include <fmt/format.h>

#include <array>
#include <ostream>
#include <set>

namespace rappel::ctl {
namespace {

constexpr std::array<config::Priority, config::kPriorities> kLanes{config::Priority::high, config::Priority::normal,
                                                                   config::Priority::bulk};

// Partitions with a schedule in Redis, from the names of their lane keys.
Result<std::set<std::int32_t>> partitions(redis::SyncClient& redis, const std::string& prefix) {
    std::set<std::int32_t> out;
    std::string cursor = "0";
    do {
        auto r = redis.command({"SCAN", cursor, "MATCH", prefix + ":{p*}:S*", "COUNT", "1000"});
        if (r.type != redis::Reply::Type::array || r.elements.size() != 2)
            return Error{"redis", "scanning the schedule keys: " + (r.is_error() ? r.str : "unexpected reply")};
        cursor = r.elements[0].str;
        for (const auto& k : r.elements[1].elements) {
            const auto open = k.str.find(":{p"), close = k.str.find("}:", open);
            if (open == std::string::npos || close == std::string::npos) continue;
            out.insert(std::stoi(k.str.substr(open + 3, close - open - 3)));
        }
    } while (cursor != "0");
    return out;
}

}  // namespace

int forecast(const ForecastOptions& o, std::ostream& out, std::ostream& err) {
    config::Config cfg;
    try {
        cfg = config::load_config(o.config_file);
    } catch (const std::exception& e) {
        err << e.what() << "\n";
        return 1;
    }
    if (cfg.programs.empty()) {
        err << "the configuration has no program\n";
        return 1;
    }
    const auto it = o.program.empty() ? cfg.programs.begin() : cfg.programs.find(o.program);
    if (it == cfg.programs.end()) {
        err << "no program '" << o.program << "'\n";
        return 1;
    }
    const config::ProgramConfig& program = it->second;
    const config::SendWindow* w = program.window(o.channel);
    const auto* zone = date::locate_zone(cfg.engine.default_time_zone);
    const TimePoint now = o.at.value_or(std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()));
    config::SendWindow always;
    auto [open, close] = scheduler::window_period(w != nullptr ? *w : always, program.closures, zone, now);
    if (open == TimePoint::max()) {
        err << "the " << to_string(o.channel) << " window of " << program.id << " never opens\n";
        return 1;
    }

    redis::SyncClient redis(redis::Endpoint{cfg.redis.host, cfg.redis.port, cfg.redis.password});
    auto parts = partitions(redis, cfg.redis.key_prefix);
    if (!parts) {
        err << parts.error().message << "\n";
        return 1;
    }
    std::array<std::int64_t, config::kPriorities> due{};
    for (std::int32_t p : parts.value()) {
        const scheduler::Keys keys(cfg.redis.key_prefix, p);
        for (std::size_t i = 0; i < kLanes.size(); ++i) {
            auto r = redis.command({"ZCOUNT", keys.schedule(kLanes[i]), "-inf", "(" + std::to_string(to_unix_ms(close))});
            if (r.type != redis::Reply::Type::integer) {
                err << "counting due licences: " << (r.is_error() ? r.str : "unexpected reply") << "\n";
                return 1;
            }
            due[i] += r.integer;
        }
    }
    const auto f = scheduler::forecast_wave(due, o.rate, std::max(now, open), close);
    out << fmt::format("{} window of {} ({}): {} to {}, {} partition(s), {:g} per second: capacity {}\n",
                       to_string(o.channel), program.id, cfg.engine.default_time_zone, format_rfc3339(f.from),
                       format_rfc3339(f.close), parts.value().size(), o.rate, f.capacity);
    out << fmt::format("{:<8} {:>12} {:>14} {:>14}\n", "lane", "due", "before close", "carried over");
    std::int64_t carried = 0;
    for (std::size_t i = 0; i < kLanes.size(); ++i) {
        const auto& l = f.lanes[i];
        out << fmt::format("{:<8} {:>12} {:>14} {:>14}\n", to_string(kLanes[i]), l.due, l.before_close, l.carried_over);
        carried += l.carried_over;
    }
    if (f.drained_at) out << "everything due is sent by " << format_rfc3339(*f.drained_at) << "\n";
    else out << carried << " carry over to the next opening, most urgent first within each lane\n";
    return carried > 0 ? 3 : 0;
}

}  // namespace rappel::ctl
