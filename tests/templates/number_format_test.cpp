#include "templates/number_format.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using rappel::Language;
using namespace rappel::templates;

namespace {

std::string money(std::int64_t cents, Language language, bool spoken = false) {
    std::string out;
    append_money(out, cents, language, spoken);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(number_format)

BOOST_AUTO_TEST_CASE(amounts_parse_to_cents) {
    BOOST_TEST(parse_amount_cents("90").value() == 9000);
    BOOST_TEST(parse_amount_cents(" 90.5 ").value() == 9050);
    BOOST_TEST(parse_amount_cents("120.00").value() == 12000);
    BOOST_TEST(parse_amount_cents("0.07").value() == 7);
    for (const char* bad : {"", "-1", "+1", "1e3", "1,000", "1.", ".5", "1.005", "abc", "12 34", "1234567890123456"}) {
        BOOST_TEST(!parse_amount_cents(bad).has_value(), "'" << bad << "'");
    }
}

BOOST_AUTO_TEST_CASE(integers_parse) {
    BOOST_TEST(parse_integer("7").value() == 7);
    BOOST_TEST(parse_integer(" -3 ").value() == -3);
    BOOST_TEST(!parse_integer("1.5").has_value());
    BOOST_TEST(!parse_integer("-").has_value());
}

BOOST_AUTO_TEST_CASE(money_written) {
    BOOST_TEST(money(9000, Language::en) == "$90.00");
    BOOST_TEST(money(123456789, Language::en) == "$1,234,567.89");
    BOOST_TEST(money(9000, Language::fr) == "90,00\xC2\xA0$");
    BOOST_TEST(money(123456789, Language::fr) == "1\xC2\xA0" "234\xC2\xA0" "567,89\xC2\xA0$");
    BOOST_TEST(money(0, Language::en) == "$0.00");
}

BOOST_AUTO_TEST_CASE(money_spoken) {
    BOOST_TEST(money(9000, Language::en, true) == "90 dollars");
    BOOST_TEST(money(100, Language::en, true) == "1 dollar");
    BOOST_TEST(money(0, Language::en, true) == "0 dollars");
    BOOST_TEST(money(0, Language::fr, true) == "0 dollar");
    BOOST_TEST(money(12050, Language::fr, true) == "120 dollars et 50 cents");
    BOOST_TEST(money(1, Language::en, true) == "1 cent");
}

BOOST_AUTO_TEST_CASE(plural_categories) {
    BOOST_TEST(plural_is_one(1, Language::en));
    BOOST_TEST(!plural_is_one(0, Language::en));
    BOOST_TEST(!plural_is_one(2, Language::en));
    BOOST_TEST(plural_is_one(0, Language::fr));
    BOOST_TEST(plural_is_one(1, Language::fr));
    BOOST_TEST(plural_is_one(-1, Language::fr));
    BOOST_TEST(!plural_is_one(2, Language::fr));
    BOOST_TEST(!plural_is_one(5000, Language::en));  // beyond the precomputed table
    BOOST_TEST(number_formatting_available());
}

BOOST_AUTO_TEST_SUITE_END()
