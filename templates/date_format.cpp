#include "templates/date_format.hpp"

#include "engine/base/time_format.hpp"

#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/smpdtfmt.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <memory>

namespace rappel::templates {
namespace {

constexpr double kMillisPerDay = 86'400'000.0;

enum class Pattern : std::size_t { en, fr, fr_first, fr_first_spoken, en_weekday, fr_weekday, count };

struct PatternSpec {
    const char* locale;
    const char* pattern;
};

constexpr std::array<PatternSpec, static_cast<std::size_t>(Pattern::count)> kPatterns{{
    {"en_CA", "MMMM d, y"},
    {"fr_CA", "d MMMM y"},
    {"fr_CA", "d'er' MMMM y"},         // "1er mars 2027": ordinal on the first day of the month
    {"fr_CA", "'premier' MMMM y"},     // read aloud: "premier mars 2027"
    {"en_CA", "EEEE"},
    {"fr_CA", "EEEE"},
}};

Pattern pattern_for(std::chrono::year_month_day date, Language language, DateStyle style) {
    const bool french = language == Language::fr;
    switch (style) {
    case DateStyle::weekday: return french ? Pattern::fr_weekday : Pattern::en_weekday;
    case DateStyle::spoken:
        if (french) return date.day() == std::chrono::day{1} ? Pattern::fr_first_spoken : Pattern::fr;
        return Pattern::en;
    case DateStyle::written: break;
    }
    if (french) return date.day() == std::chrono::day{1} ? Pattern::fr_first : Pattern::fr;
    return Pattern::en;
}

// ICU formatters are not safe for concurrent use of one instance: one set per thread, with a
// small direct-mapped cache of formatted dates in front of them.
class Formatters {
public:
    icu::SimpleDateFormat* get(Pattern p) {
        const auto i = static_cast<std::size_t>(p);
        if (!tried_[i]) {
            tried_[i] = true;
            UErrorCode status = U_ZERO_ERROR;
            const icu::Locale locale(kPatterns[i].locale);
            auto formatter = std::make_unique<icu::SimpleDateFormat>(
                icu::UnicodeString::fromUTF8(kPatterns[i].pattern), locale, status);
            if (U_SUCCESS(status)) {
                // Dates are calendar days: format their UTC midnight in UTC.
                formatter->setTimeZone(*icu::TimeZone::getGMT());
                formatters_[i] = std::move(formatter);
            }
        }
        return formatters_[i].get();
    }

    // The cached text for (days, pattern), or null.
    const std::string* cached(std::int64_t days, Pattern p) const {
        const Entry& e = cache_[slot(days, p)];
        return e.valid && e.days == days && e.pattern == p ? &e.text : nullptr;
    }

    void remember(std::int64_t days, Pattern p, std::string_view text) {
        Entry& e = cache_[slot(days, p)];
        e.valid = true;
        e.days = days;
        e.pattern = p;
        e.text.assign(text);
    }

private:
    struct Entry {
        bool valid = false;
        std::int64_t days = 0;
        Pattern pattern = Pattern::en;
        std::string text;
    };
    static constexpr std::size_t kCacheSize = 64;  // power of two

    static std::size_t slot(std::int64_t days, Pattern p) {
        const auto key = static_cast<std::uint64_t>(days) * static_cast<std::uint64_t>(Pattern::count) +
                         static_cast<std::uint64_t>(p);
        return static_cast<std::size_t>(key & (kCacheSize - 1));
    }

    std::array<std::unique_ptr<icu::SimpleDateFormat>, kPatterns.size()> formatters_;
    std::array<bool, kPatterns.size()> tried_{};
    std::array<Entry, kCacheSize> cache_{};
};

Formatters& thread_formatters() {
    thread_local Formatters formatters;
    return formatters;
}

// Used only if ICU cannot build a formatter (missing data): ISO 8601 still reads correctly.
void append_iso(std::string& out, std::chrono::year_month_day date) { out += rappel::format_date(date); }

}  // namespace

void append_date(std::string& out, std::chrono::year_month_day date, Language language, DateStyle style) {
    if (!date.ok()) return;
    const Pattern pattern = pattern_for(date, language, style);
    const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
    Formatters& formatters = thread_formatters();
    if (const std::string* hit = formatters.cached(days, pattern)) {
        out.append(*hit);
        return;
    }
    icu::SimpleDateFormat* formatter = formatters.get(pattern);
    if (formatter == nullptr) {
        if (style != DateStyle::weekday) append_iso(out, date);
        return;
    }
    const UDate when = static_cast<double>(days) * kMillisPerDay;
    icu::UnicodeString text;
    formatter->format(when, text);
    const std::size_t start = out.size();
    icu::StringByteSink<std::string> sink(&out);
    text.toUTF8(sink);
    formatters.remember(days, pattern, std::string_view(out).substr(start));
}

std::string format_date(std::chrono::year_month_day date, Language language, DateStyle style) {
    std::string out;
    append_date(out, date, language, style);
    return out;
}

bool date_formatting_available() {
    auto& formatters = thread_formatters();
    for (std::size_t i = 0; i < kPatterns.size(); ++i) {
        if (formatters.get(static_cast<Pattern>(i)) == nullptr) return false;
    }
    return true;
}

}  // namespace rappel::templates
