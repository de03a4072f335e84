#pragma once
// Levelled logging to stderr, as text or as JSON lines. Never pass contact data (phone
// numbers, email addresses, names) to a log call: log event ids, reminder ids and partitions
// instead.
//
// Text:  2027-01-01T00:00:00.000Z info [engine] message
// JSON:  {"ts":"2027-01-01T00:00:00.000Z","level":"info","module":"engine","msg":"message"}
//        plus "repeated":N on a line that stands for N-1 suppressed ones (below). Field names
//        are stable; new fields may be added.
//
// Repeats: a warn or error line identical (module and text) to one logged within the repeat
// window (default 10 s) is suppressed; the next identical line after the window carries the
// count, itself included ("... (repeated N times)"). Debug and info lines are never
// suppressed.
#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace rappel::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { text, json };

void set_level(Level level);               // default for modules without their own level
Level level();                             // the lowest level any module logs at
void set_module_level(std::string_view module, Level level);
void clear_module_levels();
bool enabled(Level level, std::string_view module);
bool parse_level(std::string_view text, Level& out);
std::string_view level_name(Level level);
// "module=level,module=level" (as given to --log-module); false on a malformed entry.
bool parse_module_levels(std::string_view text, std::function<void(std::string_view, Level)> each);

void set_format(Format format);
bool parse_format(std::string_view text, Format& out);

// 0 disables suppression of repeats.
void set_repeat_window(std::chrono::milliseconds window);
// Test hook: the steady time used for the repeat window (empty: the real steady clock).
void set_now_for_test(std::function<std::chrono::steady_clock::time_point()> now);

void write(Level level, std::string_view component, std::string_view message);

// One formatted line exactly as it goes to stderr (without the newline), for tests.
std::string format_line(Format format, std::chrono::system_clock::time_point ts, Level level,
                        std::string_view component, std::string_view message, std::uint64_t repeated);

// Test hook: while a sink is set, lines go to it instead of stderr (called under the log's
// lock, from whichever thread logs). An empty function restores stderr. The sink receives
// the message before formatting (repeat counts appended as text).
using Sink = std::function<void(Level level, std::string_view component, std::string_view message)>;
void set_sink(Sink sink);

template <typename... Args>
void emit(Level lvl, std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
    if (lvl < level() || !enabled(lvl, component)) return;
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
