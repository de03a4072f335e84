#include "engine/base/log.hpp"

#include "engine/base/time_format.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace rappel::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mu;
Sink g_sink;  // guarded by g_mu
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
} // namespace

void set_level(Level l) { g_level.store(l); }
Level level() { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out) {
    for (int i = 0; i < 4; ++i) {
        if (text == kNames[i]) {
            out = static_cast<Level>(i);
            return true;
        }
    }
    return false;
}

void set_sink(Sink sink) {
    std::lock_guard lock(g_mu);
    g_sink = std::move(sink);
}

void write(Level l, std::string_view component, std::string_view message) {
    {
        std::lock_guard lock(g_mu);
        if (g_sink) {
            g_sink(l, component, message);
            return;
        }
    }
    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
    auto line = fmt::format("{} {} [{}] {}\n", format_rfc3339(now),
                            kNames[static_cast<int>(l)], component, message);
    std::lock_guard lock(g_mu);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace rappel::log
