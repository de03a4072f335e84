#include "engine/base/log.hpp"

#include "engine/base/time_format.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>

namespace rappel::log {
namespace {
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
constexpr std::size_t kMaxSites = 1024;  // repeat tracking is forgotten beyond this

std::atomic<Level> g_min{Level::info};  // lowest level of the default and every module
std::atomic<bool> g_has_modules{false};
std::atomic<Format> g_format{Format::text};
std::mutex g_mu;
// Guarded by g_mu:
Level g_default = Level::info;
std::map<std::string, Level, std::less<>> g_modules;
Sink g_sink;
std::chrono::milliseconds g_window{10'000};
std::function<std::chrono::steady_clock::time_point()> g_now;
struct Repeat {
    std::chrono::steady_clock::time_point since;
    std::uint64_t suppressed = 0;
};
std::unordered_map<std::string, Repeat> g_repeats;

void update_min() {
    Level m = g_default;
    for (const auto& [name, l] : g_modules) m = std::min(m, l);
    g_min.store(m);
    g_has_modules.store(!g_modules.empty());
}

void append_json(std::string& out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) out += fmt::format("\\u{:04x}", c);
            else out += static_cast<char>(c);
        }
    }
    out += '"';
}
}  // namespace

void set_level(Level l) {
    std::lock_guard lock(g_mu);
    g_default = l;
    update_min();
}

Level level() { return g_min.load(std::memory_order_relaxed); }

void set_module_level(std::string_view module, Level l) {
    std::lock_guard lock(g_mu);
    g_modules[std::string(module)] = l;
    update_min();
}

void clear_module_levels() {
    std::lock_guard lock(g_mu);
    g_modules.clear();
    update_min();
}

bool enabled(Level l, std::string_view module) {
    if (!g_has_modules.load(std::memory_order_relaxed)) return l >= g_min.load(std::memory_order_relaxed);
    std::lock_guard lock(g_mu);
    auto it = g_modules.find(module);
    return l >= (it != g_modules.end() ? it->second : g_default);
}

bool parse_level(std::string_view text, Level& out) {
    for (int i = 0; i < 4; ++i) {
        if (text == kNames[i]) {
            out = static_cast<Level>(i);
            return true;
        }
    }
    return false;
}

std::string_view level_name(Level l) { return kNames[static_cast<int>(l)]; }

bool parse_module_levels(std::string_view text, std::function<void(std::string_view, Level)> each) {
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) return false;
        Level l;
        if (!parse_level(item.substr(eq + 1), l)) return false;
        each(item.substr(0, eq), l);
    }
    return true;
}

void set_format(Format f) { g_format.store(f); }

bool parse_format(std::string_view text, Format& out) {
    if (text == "text") out = Format::text;
    else if (text == "json") out = Format::json;
    else return false;
    return true;
}

void set_repeat_window(std::chrono::milliseconds window) {
    std::lock_guard lock(g_mu);
    g_window = window;
    g_repeats.clear();
}

void set_now_for_test(std::function<std::chrono::steady_clock::time_point()> now) {
    std::lock_guard lock(g_mu);
    g_now = std::move(now);
    g_repeats.clear();
}

void set_sink(Sink sink) {
    std::lock_guard lock(g_mu);
    g_sink = std::move(sink);
}

std::string format_line(Format format, std::chrono::system_clock::time_point ts, Level l,
                        std::string_view component, std::string_view message, std::uint64_t repeated) {
    const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(ts);
    if (format == Format::text) {
        auto line = fmt::format("{} {} [{}] {}", format_rfc3339(ms), kNames[static_cast<int>(l)], component, message);
        if (repeated > 1) line += fmt::format(" (repeated {} times)", repeated);
        return line;
    }
    std::string out;
    out.reserve(96 + message.size());
    out += R"({"ts":")";
    out += format_rfc3339(ms);
    out += R"(","level":")";
    out += kNames[static_cast<int>(l)];
    out += R"(","module":)";
    append_json(out, component);
    out += R"(,"msg":)";
    append_json(out, message);
    if (repeated > 1) out += fmt::format(R"(,"repeated":{})", repeated);
    out += '}';
    return out;
}

void write(Level l, std::string_view component, std::string_view message) {
    std::uint64_t repeated = 1;
    std::unique_lock lock(g_mu);
    if (l >= Level::warn && g_window.count() > 0) {
        const auto now = g_now ? g_now() : std::chrono::steady_clock::now();
        std::string key;
        key.reserve(component.size() + 1 + message.size());
        key.append(component).append(1, '\x1f').append(message);
        auto it = g_repeats.find(key);
        if (it != g_repeats.end() && now - it->second.since < g_window) {
            ++it->second.suppressed;
            return;
        }
        if (it == g_repeats.end()) {
            if (g_repeats.size() >= kMaxSites) g_repeats.clear();
            g_repeats.emplace(std::move(key), Repeat{now, 0});
        } else {
            repeated = it->second.suppressed + 1;
            it->second = Repeat{now, 0};
        }
    }
    if (g_sink) {
        if (repeated > 1) g_sink(l, component, fmt::format("{} (repeated {} times)", message, repeated));
        else g_sink(l, component, message);
        return;
    }
    lock.unlock();
    auto line = format_line(g_format.load(), std::chrono::system_clock::now(), l, component, message, repeated);
    line += '\n';
    lock.lock();
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace rappel::log
