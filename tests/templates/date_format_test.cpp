#include "templates/date_format.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono;
using rappel::Language;
using rappel::templates::append_date;
using rappel::templates::format_date;

BOOST_AUTO_TEST_SUITE(date_format)

BOOST_AUTO_TEST_CASE(english_long_date) {
    BOOST_TEST(format_date(year{2027} / February / 14, Language::en) == "February 14, 2027");
    BOOST_TEST(format_date(year{2027} / March / 1, Language::en) == "March 1, 2027");
    BOOST_TEST(format_date(year{2026} / December / 31, Language::en) == "December 31, 2026");
}

BOOST_AUTO_TEST_CASE(french_long_date) {
    BOOST_TEST(format_date(year{2027} / February / 14, Language::fr) == "14 février 2027");
    BOOST_TEST(format_date(year{2026} / December / 31, Language::fr) == "31 décembre 2026");
    BOOST_TEST(format_date(year{2027} / August / 2, Language::fr) == "2 août 2027");
}

BOOST_AUTO_TEST_CASE(french_first_of_month_is_ordinal) {
    BOOST_TEST(format_date(year{2027} / March / 1, Language::fr) == "1er mars 2027");
    BOOST_TEST(format_date(year{2028} / January / 1, Language::fr) == "1er janvier 2028");
    // Only the first: 11 and 21 stay cardinal.
    BOOST_TEST(format_date(year{2027} / March / 11, Language::fr) == "11 mars 2027");
    BOOST_TEST(format_date(year{2027} / March / 21, Language::fr) == "21 mars 2027");
}

BOOST_AUTO_TEST_CASE(leap_day_and_epoch_edges) {
    BOOST_TEST(format_date(year{2028} / February / 29, Language::en) == "February 29, 2028");
    BOOST_TEST(format_date(year{1969} / December / 31, Language::fr) == "31 décembre 1969");
}

BOOST_AUTO_TEST_CASE(invalid_date_is_empty) {
    BOOST_TEST(format_date(year{2027} / February / 30, Language::en).empty());
    BOOST_TEST(format_date(year_month_day{}, Language::fr).empty());
}

BOOST_AUTO_TEST_CASE(append_keeps_existing_text) {
    std::string out = "le ";
    append_date(out, year{2027} / March / 1, Language::fr);
    BOOST_TEST(out == "le 1er mars 2027");
}

BOOST_AUTO_TEST_CASE(each_thread_gets_its_own_formatters) {
    std::string from_thread;
    std::thread t([&] { from_thread = format_date(year{2027} / March / 1, Language::fr); });
    t.join();
    BOOST_TEST(from_thread == "1er mars 2027");
    BOOST_TEST(format_date(year{2027} / March / 1, Language::fr) == "1er mars 2027");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(date_styles)

BOOST_AUTO_TEST_CASE(weekdays) {
    using rappel::templates::DateStyle;
    BOOST_TEST(format_date(year{2027} / February / 14, Language::en, DateStyle::weekday) == "Sunday");
    BOOST_TEST(format_date(year{2027} / February / 14, Language::fr, DateStyle::weekday) == "dimanche");
    BOOST_TEST(format_date(year{2027} / September / 29, Language::fr, DateStyle::weekday) == "mercredi");
    BOOST_TEST(format_date(year_month_day{}, Language::fr, DateStyle::weekday).empty());
}

BOOST_AUTO_TEST_CASE(spoken_first_of_the_month) {
    using rappel::templates::DateStyle;
    BOOST_TEST(format_date(year{2027} / March / 1, Language::fr, DateStyle::spoken) == "premier mars 2027");
    BOOST_TEST(format_date(year{2027} / March / 2, Language::fr, DateStyle::spoken) == "2 mars 2027");
    BOOST_TEST(format_date(year{2027} / March / 1, Language::en, DateStyle::spoken) == "March 1, 2027");
}

BOOST_AUTO_TEST_CASE(cached_dates_are_the_same_as_fresh_ones) {
    // More dates than the cache holds, twice: every answer must match the first.
    std::vector<std::string> first;
    for (int d = 0; d < 200; ++d) {
        first.push_back(format_date(year_month_day{sys_days{year{2027} / January / 1} + days{d}}, Language::fr));
    }
    for (int round = 0; round < 2; ++round) {
        for (int d = 199; d >= 0; --d) {
            BOOST_TEST(format_date(year_month_day{sys_days{year{2027} / January / 1} + days{d}}, Language::fr) ==
                       first[static_cast<std::size_t>(d)]);
        }
    }
    BOOST_TEST(first[59] == "1er mars 2027");
}

BOOST_AUTO_TEST_SUITE_END()
