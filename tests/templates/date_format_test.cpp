#include "templates/date_format.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <thread>

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
