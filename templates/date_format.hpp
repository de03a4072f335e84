#pragma once
// Dates spelled out in the message language, with ICU:
//   en (en_CA, "MMMM d, y"):  February 14, 2027
//   fr (fr_CA, "d MMMM y"):   14 février 2027, and 1er mars 2027 on the first of the month.
// Formatters are created once per thread and language and reused; safe from any thread.
#include "engine/base/channel_kind.hpp"

#include <chrono>
#include <string>

namespace rappel::templates {

// Empty string for an invalid date.
std::string format_date(std::chrono::year_month_day date, Language language);

// Appends the formatted date to `out`; appends nothing for an invalid date.
void append_date(std::string& out, std::chrono::year_month_day date, Language language);

// True when ICU's date formatting works for both languages (ICU data present).
bool date_formatting_available();

}  // namespace rappel::templates
