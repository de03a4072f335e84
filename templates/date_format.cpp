#include "templates/date_format.hpp"

#include <fmt/format.h>
#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/smpdtfmt.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <array>
#include <iterator>
#include <memory>

namespace rappel::templates {
namespace {

constexpr double kMillisPerDay = 86'400'000.0;

enum class Pattern : std::size_t { en, fr, fr_first, count };

struct PatternSpec {
    const char* locale;
    const char* pattern;
};

constexpr std::array<PatternSpec, static_cast<std::size_t>(Pattern::count)> kPatterns{{
    {"en_CA", "MMMM d, y"},
    {"fr_CA", "d MMMM y"},
    {"fr_CA", "d'er' MMMM y"},  // "1er mars 2027": ordinal on the first day of the month
}};

// ICU formatters are not safe for concurrent use of one instance: one set per thread.
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

private:
    std::array<std::unique_ptr<icu::SimpleDateFormat>, kPatterns.size()> formatters_;
    std::array<bool, kPatterns.size()> tried_{};
};

Formatters& thread_formatters() {
    thread_local Formatters formatters;
    return formatters;
}

// Used only if ICU cannot build a formatter (missing data): ISO 8601 still reads correctly.
void append_iso(std::string& out, std::chrono::year_month_day date) {
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                   static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

}  // namespace

void append_date(std::string& out, std::chrono::year_month_day date, Language language) {
    if (!date.ok()) return;
    Pattern pattern = Pattern::en;
    if (language == Language::fr) {
        pattern = date.day() == std::chrono::day{1} ? Pattern::fr_first : Pattern::fr;
    }
    icu::SimpleDateFormat* formatter = thread_formatters().get(pattern);
    if (formatter == nullptr) {
        append_iso(out, date);
        return;
    }
    const auto days = std::chrono::sys_days{date}.time_since_epoch().count();
    const UDate when = static_cast<double>(days) * kMillisPerDay;
    // Short results fit UnicodeString's inline buffer; no heap allocation in the common case.
    icu::UnicodeString text;
    formatter->format(when, text);
    icu::StringByteSink<std::string> sink(&out);
    text.toUTF8(sink);
}

std::string format_date(std::chrono::year_month_day date, Language language) {
    std::string out;
    append_date(out, date, language);
    return out;
}

bool date_formatting_available() {
    auto& formatters = thread_formatters();
    return formatters.get(Pattern::en) != nullptr && formatters.get(Pattern::fr) != nullptr &&
           formatters.get(Pattern::fr_first) != nullptr;
}

}  // namespace rappel::templates
