#include "templates/number_format.hpp"

#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/numberformatter.h>
#include <unicode/plurrule.h>
#include <unicode/unistr.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <memory>

namespace rappel::templates {
namespace {

constexpr std::array<const char*, 2> kLocales{"en_CA", "fr_CA"};
constexpr std::int64_t kPluralTableSize = 1024;
constexpr std::int64_t kMaxCents = std::numeric_limits<std::int64_t>::max() / 100;
constexpr std::string_view kNarrowNbsp = "\xE2\x80\xAF";  // U+202F
constexpr std::string_view kNbsp = "\xC2\xA0";            // U+00A0

std::size_t index_of(Language l) { return l == Language::fr ? 1 : 0; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (const char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// Immutable and thread-safe once built (ICU's LocalizedNumberFormatter is).
struct MoneyFormatters {
    MoneyFormatters() {
        for (std::size_t i = 0; i < kLocales.size(); ++i) {
            UErrorCode status = U_ZERO_ERROR;
            const icu::CurrencyUnit cad(u"CAD", status);
            if (U_FAILURE(status)) return;
            formatters[i] = std::make_unique<icu::number::LocalizedNumberFormatter>(
                icu::number::NumberFormatter::withLocale(icu::Locale(kLocales[i]))
                    .unit(cad)
                    .precision(icu::number::Precision::fixedFraction(2)));
        }
        ok = true;
    }
    std::array<std::unique_ptr<icu::number::LocalizedNumberFormatter>, 2> formatters;
    bool ok = false;
};

const MoneyFormatters& money_formatters() {
    static const MoneyFormatters formatters;
    return formatters;
}

// ICU's plural rules, asked once for the small numbers messages use.
struct PluralTable {
    PluralTable() {
        ok = true;
        for (std::size_t l = 0; l < kLocales.size(); ++l) {
            UErrorCode status = U_ZERO_ERROR;
            std::unique_ptr<icu::PluralRules> rules(icu::PluralRules::forLocale(icu::Locale(kLocales[l]), status));
            if (U_FAILURE(status) || !rules) {
                ok = false;
                continue;
            }
            for (std::int64_t n = 0; n < kPluralTableSize; ++n) {
                one[l][static_cast<std::size_t>(n)] = rules->select(static_cast<std::int32_t>(n)) == u"one";
            }
        }
    }
    std::array<std::array<bool, kPluralTableSize>, 2> one{};
    bool ok = false;
};

const PluralTable& plural_table() {
    static const PluralTable table;
    return table;
}

void append_int(std::string& out, std::int64_t n) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), n);
    if (ec == std::errc{}) out.append(buf.data(), end);
}

void append_written(std::string& out, std::int64_t cents, Language language) {
    const auto* formatter = money_formatters().formatters[index_of(language)].get();
    if (formatter == nullptr) {  // no ICU data: still unambiguous
        append_int(out, cents / 100);
        out.push_back('.');
        const std::int64_t c = cents % 100;
        if (c < 10) out.push_back('0');
        append_int(out, c);
        out.append(" CAD");
        return;
    }
    // Exact decimal text, so no binary floating point is involved.
    std::string decimal;
    append_int(decimal, cents / 100);
    decimal.push_back('.');
    if (cents % 100 < 10) decimal.push_back('0');
    append_int(decimal, cents % 100);
    UErrorCode status = U_ZERO_ERROR;
    const icu::number::FormattedNumber formatted =
        formatter->formatDecimal(icu::StringPiece(decimal.data(), static_cast<std::int32_t>(decimal.size())), status);
    const icu::UnicodeString text = formatted.toTempString(status);
    if (U_FAILURE(status)) {
        out.append(decimal);
        out.append(" $");
        return;
    }
    const std::size_t start = out.size();
    icu::StringByteSink<std::string> sink(&out);
    text.toUTF8(sink);
    for (std::size_t at = out.find(kNarrowNbsp, start); at != std::string::npos;
         at = out.find(kNarrowNbsp, at + kNbsp.size())) {
        out.replace(at, kNarrowNbsp.size(), kNbsp);
    }
}

void append_counted(std::string& out, std::int64_t n, Language language, std::string_view one,
                    std::string_view other) {
    append_int(out, n);
    out.push_back(' ');
    out.append(plural_is_one(n, language) ? one : other);
}

}  // namespace

std::optional<std::int64_t> parse_amount_cents(std::string_view text) {
    text = trim(text);
    const std::size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (!all_digits(whole) || whole.size() > 15) return std::nullopt;
    if (dot != std::string_view::npos && (fraction.size() > 2 || !all_digits(fraction))) return std::nullopt;
    std::int64_t dollars = 0;
    std::from_chars(whole.data(), whole.data() + whole.size(), dollars);
    std::int64_t cents = 0;
    if (!fraction.empty()) {
        std::from_chars(fraction.data(), fraction.data() + fraction.size(), cents);
        if (fraction.size() == 1) cents *= 10;
    }
    if (dollars > kMaxCents - 1) return std::nullopt;
    return dollars * 100 + cents;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    text = trim(text);
    const bool negative = text.starts_with('-');
    const std::string_view digits = negative ? text.substr(1) : text;
    if (!all_digits(digits) || digits.size() > 15) return std::nullopt;
    std::int64_t n = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), n);
    return negative ? -n : n;
}

void append_money(std::string& out, std::int64_t cents, Language language, bool spoken) {
    if (cents < 0) cents = 0;
    if (!spoken) {
        append_written(out, cents, language);
        return;
    }
    const std::int64_t dollars = cents / 100;
    const std::int64_t rest = cents % 100;
    if (dollars > 0 || rest == 0) append_counted(out, dollars, language, "dollar", "dollars");
    if (rest > 0) {
        if (dollars > 0) out.append(language == Language::fr ? " et " : " and ");
        append_counted(out, rest, language, "cent", "cents");
    }
}

bool plural_is_one(std::int64_t n, Language language) {
    const std::int64_t magnitude = n < 0 ? -n : n;  // CLDR rules apply to the absolute value
    const PluralTable& table = plural_table();
    if (magnitude < kPluralTableSize) {
        return table.one[index_of(language)][static_cast<std::size_t>(magnitude)];
    }
    thread_local std::array<std::unique_ptr<icu::PluralRules>, 2> rules;
    auto& r = rules[index_of(language)];
    if (!r) {
        UErrorCode status = U_ZERO_ERROR;
        r.reset(icu::PluralRules::forLocale(icu::Locale(kLocales[index_of(language)]), status));
        if (U_FAILURE(status)) r.reset();
    }
    return r && r->select(static_cast<double>(magnitude)) == u"one";
}

bool number_formatting_available() {
    const MoneyFormatters& money = money_formatters();
    return money.ok && money.formatters[0] && money.formatters[1] && plural_table().ok;
}

}  // namespace rappel::templates
