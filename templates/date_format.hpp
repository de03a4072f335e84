#pragma once
// Dates spelled out in the message language, with ICU:
//   written, en (en_CA, "MMMM d, y"):  February 14, 2027
//   written, fr (fr_CA, "d MMMM y"):   14 février 2027, and 1er mars 2027 on the first of the month
//   spoken (voice):                    as written, but fr "premier mars 2027" on the first
//   weekday (en_CA / fr_CA, "EEEE"):   Sunday / dimanche
// Formatters are created once per thread and language and reused, and each thread keeps the
// last few dates it formatted (reminders going out together mostly share their due date), so a
// repeated date costs a copy. Safe from any thread.
#include "engine/base/channel_kind.hpp"

#include <chrono>
#include <string>

namespace rappel::templates {

enum class DateStyle { written, spoken, weekday };

// Empty string for an invalid date.
std::string format_date(std::chrono::year_month_day date, Language language,
                        DateStyle style = DateStyle::written);

// Appends the formatted date to `out`; appends nothing for an invalid date.
void append_date(std::string& out, std::chrono::year_month_day date, Language language,
                 DateStyle style = DateStyle::written);

// True when ICU's date formatting works for both languages (ICU data present).
bool date_formatting_available();

}  // namespace rappel::templates
