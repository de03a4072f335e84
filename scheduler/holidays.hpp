#pragma once
// Ontario's public holidays as ServiceOntario observes them, for any year (no I/O, no table).
//
// The days: New Year's Day (1 Jan), Family Day (3rd Monday of February), Good Friday (two days
// before Easter Sunday, Gregorian computus), Victoria Day (the Monday before 25 May), Canada
// Day (1 Jul), Civic Holiday (1st Monday of August: not a statutory holiday under the ESA,
// but ServiceOntario centres close), Labour Day (1st Monday of September), Thanksgiving (2nd
// Monday of October), Christmas Day (25 Dec) and Boxing Day (26 Dec).
//
// Substitute rule (Ontario Public Service and ServiceOntario practice, as in ontario.ca's
// published holiday lists, and the Employment Standards Act's "substitute day" for a holiday
// that falls on a non-working day): a holiday on a Saturday or Sunday is observed on the
// next weekday that is not itself a holiday or an earlier holiday's substitute. So Christmas
// on a Saturday and Boxing Day on a Sunday (2027) are observed Monday 27 and Tuesday 28
// December; Christmas on a Sunday (2022) is observed Tuesday 27, Boxing Day keeping Monday 26.
#include <chrono>
#include <string_view>
#include <vector>

namespace rappel::scheduler {

struct Holiday {
    std::string_view name;                // e.g. "Canada Day"
    std::chrono::year_month_day date;     // the holiday itself
    std::chrono::year_month_day observed; // the same day, or its weekday substitute
};

// The ten holidays of `y` in calendar order of their date. Substitutes of late-December
// holidays stay in December, so each year is self-contained.
std::vector<Holiday> ontario_holidays(std::chrono::year y);

// True on a holiday's own date and on its substitute day.
bool is_ontario_holiday(std::chrono::year_month_day d);

// Easter Sunday of the Gregorian calendar (anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
std::chrono::year_month_day easter_sunday(std::chrono::year y);

}  // namespace rappel::scheduler
