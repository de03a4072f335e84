#include "scheduler/holidays.hpp"

#include <algorithm>

namespace rappel::scheduler {
namespace {

using namespace std::chrono;

bool weekend(sys_days d) {
    const weekday w{d};
    return w == Saturday || w == Sunday;
}

year_month_day nth_monday(year y, month m, unsigned n) {
    return year_month_day{sys_days{year_month_weekday{y, m, Monday[n]}}};
}

}  // namespace

year_month_day easter_sunday(year y) {
    const int Y = static_cast<int>(y);
    const int a = Y % 19, b = Y / 100, c = Y % 100, d = b / 4, e = b % 4;
    const int f = (b + 8) / 25, g = (b - f + 1) / 3;
    const int h = (19 * a + b - d - g + 15) % 30;
    const int i = c / 4, k = c % 4;
    const int l = (32 + 2 * e + 2 * i - h - k) % 7;
    const int m = (a + 11 * h + 22 * l) / 451;
    const int mon = (h + l - 7 * m + 114) / 31;
    const int day_ = (h + l - 7 * m + 114) % 31 + 1;
    return year_month_day{y, month{static_cast<unsigned>(mon)}, day{static_cast<unsigned>(day_)}};
}

std::vector<Holiday> ontario_holidays(year y) {
    // The Monday before 25 May: 24 May itself when it is a Monday.
    const sys_days may24 = sys_days{y / May / 24};
    const sys_days victoria = may24 - (weekday{may24} - Monday);
    std::vector<Holiday> h = {
        {"New Year's Day", y / January / 1, {}},
        {"Family Day", nth_monday(y, February, 3), {}},
        {"Good Friday", year_month_day{sys_days{easter_sunday(y)} - days{2}}, {}},
        {"Victoria Day", year_month_day{victoria}, {}},
        {"Canada Day", y / July / 1, {}},
        {"Civic Holiday", nth_monday(y, August, 1), {}},
        {"Labour Day", nth_monday(y, September, 1), {}},
        {"Thanksgiving", nth_monday(y, October, 2), {}},
        {"Christmas Day", y / December / 25, {}},
        {"Boxing Day", y / December / 26, {}},
    };
    auto taken = [&](sys_days d) {
        return std::any_of(h.begin(), h.end(), [&](const Holiday& x) {
            return sys_days{x.date} == d || (x.observed.ok() && sys_days{x.observed} == d);
        });
    };
    for (auto& x : h) {
        sys_days d{x.date};
        if (weekend(d)) {
            do d += days{1};
            while (weekend(d) || taken(d));
        }
        x.observed = year_month_day{d};
    }
    return h;
}

bool is_ontario_holiday(year_month_day d) {
    // Only December substitutes can reach a later day than the holiday, and they stay in
    // December, so the year of `d` holds every holiday that can fall on it.
    // Called for every claimed reminder: the last year's list is kept per thread.
    thread_local year cached_year{0};
    thread_local std::vector<Holiday> cached;
    if (cached.empty() || cached_year != d.year()) {
        cached = ontario_holidays(d.year());
        cached_year = d.year();
    }
    for (const auto& h : cached)
        if (h.date == d || h.observed == d) return true;
    return false;
}

}  // namespace rappel::scheduler
