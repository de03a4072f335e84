#pragma once
// Numbers in the message language, from ICU's locale data:
//   money, written (CAD):  en-CA "$1,234.50"   fr-CA "1 234,50 $"
//   money, spoken (voice): en "1234 dollars and 50 cents"   fr "1234 dollars et 50 cents"
//   plural categories:     ICU PluralRules (en: 1 is "one"; fr: 0 and 1 are "one")
// The French spaces are U+00A0 NO-BREAK SPACE, as ICU 72 writes them for fr-CA; a narrow
// no-break space (U+202F, which other ICU versions write) is turned into U+00A0 so that output
// does not change with the ICU version. SMS normalisation turns U+00A0 into a plain space.
// Safe from any thread.
#include "engine/base/channel_kind.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rappel::templates {

// "90", "90.5", "1234.56", " 90.00 " -> cents. No sign, exponent, grouping or more than two
// decimals: anything else is nullopt (the caller inserts such a value as written).
std::optional<std::int64_t> parse_amount_cents(std::string_view text);

// "-3", "7", " 60 " -> the integer; nullopt for anything else (decimals included).
std::optional<std::int64_t> parse_integer(std::string_view text);

// Appends an amount of Canadian dollars, written or spoken.
void append_money(std::string& out, std::int64_t cents, Language language, bool spoken);

// True when ICU's plural rules put `n` in the "one" category for the language (every other
// category -- "other", and French "many" for millions -- takes the plural form).
bool plural_is_one(std::int64_t n, Language language);

// True when ICU can format money and select plurals in both languages.
bool number_formatting_available();

}  // namespace rappel::templates
