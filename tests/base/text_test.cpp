#define BOOST_TEST_MODULE text
#include <boost/test/unit_test.hpp>

#include "engine/base/text.hpp"
#include "engine/base/time_format.hpp"

#include <vector>

using namespace rappel;
using namespace std::chrono;

namespace {

struct Step {
    char32_t value;
    std::size_t length;
    bool valid;
    bool operator==(const Step&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Step& s) {
    return os << "{U+" << std::hex << static_cast<std::uint32_t>(s.value) << std::dec << ", " << s.length << ", "
              << s.valid << "}";
}

std::vector<Step> steps(std::string_view s) {
    std::vector<Step> out;
    utf8::for_each_code_point(s, [&](utf8::CodePoint cp, std::size_t) { out.push_back({cp.value, cp.length, cp.valid}); });
    return out;
}

constexpr Step bad(std::size_t length) { return {0xFFFD, length, false}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(utf8_decoding)

BOOST_AUTO_TEST_CASE(well_formed_sequences_of_each_length_decode) {
    const std::vector<Step> want{{'a', 1, true}, {0xE9, 2, true}, {0x20AC, 3, true}, {0x1F600, 4, true},
                                 {0x10FFFF, 4, true}};
    BOOST_TEST(steps("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF") == want, boost::test_tools::per_element());
    BOOST_TEST(utf8::is_valid("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
    BOOST_TEST(utf8::is_valid(""));
}

BOOST_AUTO_TEST_CASE(overlong_forms_are_ill_formed_byte_by_byte) {
    // C0/C1 never start a sequence; E0 80.., F0 80.. are overlong: each byte is its own error.
    BOOST_TEST(steps("\xC0\xAF") == (std::vector<Step>{bad(1), bad(1)}), boost::test_tools::per_element());
    BOOST_TEST(steps("\xE0\x80\xAF") == (std::vector<Step>{bad(1), bad(1), bad(1)}), boost::test_tools::per_element());
    BOOST_TEST(steps("\xF0\x8F\xBF\xBF").size() == 4U);
    BOOST_TEST(utf8::find_invalid("ok\xC1\xBF") == 2U);
}

BOOST_AUTO_TEST_CASE(surrogates_and_values_above_the_last_code_point_are_ill_formed) {
    BOOST_TEST(steps("\xED\xA0\x80") == (std::vector<Step>{bad(1), bad(1), bad(1)}), boost::test_tools::per_element());
    BOOST_TEST(!utf8::is_valid("\xED\xBF\xBF"));
    BOOST_TEST(utf8::is_valid("\xED\x9F\xBF"));  // U+D7FF, just below the surrogates
    BOOST_TEST(!utf8::is_valid("\xF4\x90\x80\x80"));
    BOOST_TEST(!utf8::is_valid("\xF5\x80\x80\x80"));
}

BOOST_AUTO_TEST_CASE(a_truncated_sequence_is_one_error_of_its_well_formed_prefix) {
    BOOST_TEST(steps("\xE2\x82") == (std::vector<Step>{bad(2)}), boost::test_tools::per_element());
    BOOST_TEST(steps("\xF0\x9F\x98" "a") == (std::vector<Step>{bad(3), {'a', 1, true}}), boost::test_tools::per_element());
    BOOST_TEST(utf8::find_invalid("abc\xE2\x82") == 3U);
    BOOST_TEST(utf8::count_code_points("\xE2\x82" "a") == 2U);
}

BOOST_AUTO_TEST_CASE(stray_continuation_and_invalid_bytes_are_one_byte_errors) {
    BOOST_TEST(steps("\x80\xBF\xFE\xFF") == (std::vector<Step>{bad(1), bad(1), bad(1), bad(1)}),
               boost::test_tools::per_element());
    BOOST_TEST(utf8::count_code_points("\x80x") == 2U);
}

BOOST_AUTO_TEST_CASE(offsets_passed_to_the_callback_are_sequence_starts) {
    std::vector<std::size_t> at;
    utf8::for_each_code_point("a\xC3\xA9\xE2\x82\xAC!", [&](utf8::CodePoint, std::size_t i) { at.push_back(i); });
    BOOST_TEST(at == (std::vector<std::size_t>{0, 1, 3, 6}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(append_round_trips_and_replaces_what_is_not_a_scalar_value) {
    std::string out;
    for (char32_t cp : {char32_t{'A'}, char32_t{0x7FF}, char32_t{0x800}, char32_t{0xFFFD}, char32_t{0x10000},
                        char32_t{0x10FFFF}})
        utf8::append(out, cp);
    BOOST_TEST(out == "A\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBD\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    std::string replaced;
    utf8::append(replaced, 0xD800);
    utf8::append(replaced, 0x110000);
    BOOST_TEST(replaced == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_CASE(boundary_never_cuts_inside_a_character) {
    const std::string_view s = "a\xE2\x82\xAC" "b";
    BOOST_TEST(utf8::boundary_at_or_before(s, 0) == 0U);
    BOOST_TEST(utf8::boundary_at_or_before(s, 2) == 1U);
    BOOST_TEST(utf8::boundary_at_or_before(s, 3) == 1U);
    BOOST_TEST(utf8::boundary_at_or_before(s, 4) == 4U);
    BOOST_TEST(utf8::boundary_at_or_before(s, 99) == s.size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(percent_encoding)

BOOST_AUTO_TEST_CASE(unreserved_characters_are_kept_everything_else_is_escaped) {
    BOOST_TEST(percent_encode("AZaz09-._~") == "AZaz09-._~");
    BOOST_TEST(percent_encode(":/?#[]@!$&'()*+,;=") == "%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D");
    BOOST_TEST(percent_encode("a b%") == "a%20b%25");
    BOOST_TEST(percent_encode("+15145550123") == "%2B15145550123");
}

BOOST_AUTO_TEST_CASE(multibyte_and_binary_bytes_are_escaped_one_by_one_in_upper_case) {
    BOOST_TEST(percent_encode("\xC3\xA9\xE2\x82\xAC") == "%C3%A9%E2%82%AC");
    BOOST_TEST(percent_encode(std::string_view("\0\x7F\xFF", 3)) == "%00%7F%FF");
    BOOST_TEST(percent_encode("").empty());
    std::string body = "To=";
    append_percent_encoded(body, "+1 514");
    BOOST_TEST(body == "To=%2B1%20514");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(base64)

BOOST_AUTO_TEST_CASE(encoding_pads_to_whole_groups) {
    BOOST_TEST(base64_encode("").empty());
    BOOST_TEST(base64_encode("f") == "Zg==");
    BOOST_TEST(base64_encode("fo") == "Zm8=");
    BOOST_TEST(base64_encode("foo") == "Zm9v");
    BOOST_TEST(base64_encode("foobar") == "Zm9vYmFy");
    BOOST_TEST(base64_encode(std::string_view("\0\xFF\xFE", 3)) == "AP/+");
}

BOOST_AUTO_TEST_CASE(decoding_accepts_padded_and_unpadded_input) {
    BOOST_TEST(base64_decode("").value().empty());
    BOOST_TEST(base64_decode("Zg==").value() == "f");
    BOOST_TEST(base64_decode("Zg").value() == "f");
    BOOST_TEST(base64_decode("Zm8=").value() == "fo");
    BOOST_TEST(base64_decode("Zm8").value() == "fo");
    BOOST_TEST(base64_decode("Zm9vYmFy").value() == "foobar");
    BOOST_TEST(base64_decode("AP/+").value() == std::string("\0\xFF\xFE", 3));
    BOOST_TEST(base64_decode("QUMxOnRvaw==").value() == "AC1:tok");
}

BOOST_AUTO_TEST_CASE(decoding_rejects_what_no_encoder_writes) {
    for (const char* badly : {"Z", "Zm9vY", "Zg===", "Zg==Zg", "Z=g=", "Zm 9v", "Zm9v\n", "Zm-_", "===="})
        BOOST_TEST(!base64_decode(badly), badly);
}

BOOST_AUTO_TEST_CASE(decoding_round_trips_every_length) {
    std::string data;
    for (int n = 0; n < 64; ++n) {
        BOOST_TEST(base64_decode(base64_encode(data)).value() == data);
        data.push_back(static_cast<char>(n * 37));
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dates)

BOOST_AUTO_TEST_CASE(calendar_dates_parse_only_when_they_exist) {
    BOOST_TEST((parse_date("2024-02-29") == year{2024} / February / 29));
    BOOST_TEST(!parse_date("2023-02-29"));
    BOOST_TEST((parse_date("2000-02-29") == year{2000} / February / 29));
    BOOST_TEST(!parse_date("1900-02-29"));
    for (const char* bad : {"", "2027-3-01", "2027-03-1", "2027/03/01", "2027-13-01", "2027-00-10", "2027-04-31",
                            "2027-03-01T", " 2027-03-01", "+027-03-01", "2027-0x-01"})
        BOOST_TEST(!parse_date(bad), bad);
}

BOOST_AUTO_TEST_CASE(calendar_dates_format_with_zero_padding) {
    BOOST_TEST(format_date(year{2027} / March / 1) == "2027-03-01");
    BOOST_TEST(format_date(year{987} / December / 31) == "0987-12-31");
    BOOST_TEST(format_date(*parse_date("2024-02-29")) == "2024-02-29");
}

BOOST_AUTO_TEST_CASE(rfc3339_offsets_move_the_instant_to_utc) {
    BOOST_TEST(format_rfc3339(*parse_rfc3339("2024-02-29T23:30:00-05:00")) == "2024-03-01T04:30:00.000Z");
    BOOST_TEST(format_rfc3339(*parse_rfc3339("2024-03-01T01:00:00+14:00")) == "2024-02-29T11:00:00.000Z");
    BOOST_TEST(format_rfc3339(*parse_rfc3339("2024-03-01T00:00:00-00:00")) == "2024-03-01T00:00:00.000Z");
    BOOST_TEST(format_rfc3339(*parse_rfc3339("2024-03-01t00:00:00z")) == "2024-03-01T00:00:00.000Z");
    BOOST_TEST(!parse_rfc3339("2023-02-29T00:00:00Z"));
    BOOST_TEST(!parse_rfc3339("2024-03-01T00:00:00+24:00"));
    BOOST_TEST(!parse_rfc3339("2024-03-01T00:00:00+05:60"));
    BOOST_TEST(!parse_rfc3339("2024-03-01T00:00:00+05"));
}

BOOST_AUTO_TEST_CASE(rfc5322_dates_are_utc_with_weekday_and_month_names) {
    BOOST_TEST(format_rfc5322(sys_seconds{seconds{1692853305}}) == "Thu, 24 Aug 2023 05:01:45 +0000");
    BOOST_TEST(format_rfc5322(sys_days{year{2024} / February / 29}) == "Thu, 29 Feb 2024 00:00:00 +0000");
    BOOST_TEST(format_rfc5322(sys_days{year{1970} / January / 1}) == "Thu, 01 Jan 1970 00:00:00 +0000");
}

BOOST_AUTO_TEST_SUITE_END()
