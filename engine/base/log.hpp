#pragma once
// Structured, levelled logging to stderr. Never pass contact data (phone numbers, email
// addresses, names) to a log call: log event ids, reminder ids and partitions instead.
#include <fmt/format.h>

#include <functional>
#include <string_view>

namespace rappel::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view text, Level& out);
void write(Level level, std::string_view component, std::string_view message);

// Test hook: while a sink is set, lines go to it instead of stderr (called under the log's
// lock, from whichever thread logs). An empty function restores stderr.
using Sink = std::function<void(Level level, std::string_view component, std::string_view message)>;
void set_sink(Sink sink);

template <typename... Args>
void emit(Level lvl, std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
    if (lvl < level()) return;
    write(lvl, component, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
void debug(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(Level::debug, c, f, std::forward<Args>(a)...); }
template <typename... Args>
void info(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(Level::info, c, f, std::forward<Args>(a)...); }
template <typename... Args>
void warn(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(Level::warn, c, f, std::forward<Args>(a)...); }
template <typename... Args>
void error(std::string_view c, fmt::format_string<Args...> f, Args&&... a) { emit(Level::error, c, f, std::forward<Args>(a)...); }

} // namespace rappel::log
