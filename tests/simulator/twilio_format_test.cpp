#define BOOST_TEST_MODULE simulator_format
#include "channels/simulator/twilio_format.hpp"
#include "engine/base/time_format.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <regex>

using namespace rappel::sim;

BOOST_AUTO_TEST_CASE(percent_decoding_handles_plus_escapes_and_malformed_input) {
    BOOST_TEST(percent_decode("a+b%20c") == "a b c");
    BOOST_TEST(percent_decode("%2B%26%3D") == "+&=");
    BOOST_TEST(percent_decode("%C3%A0%E2%9C%93") == "\xC3\xA0\xE2\x9C\x93");  // à ✓
    BOOST_TEST(percent_decode("100%") == "100%");
    BOOST_TEST(percent_decode("%zz%4") == "%zz%4");
    BOOST_TEST(percent_decode("%4a") == "J");
}

BOOST_AUTO_TEST_CASE(form_parsing_splits_pairs_and_keeps_the_last_value) {
    const auto f = parse_form("To=%2B15145551234&Body=Bonjour+%C3%A0+tous&&Flag&To=%2B1999");
    BOOST_TEST(f.size() == 4U);
    BOOST_TEST(form_value(f, "To") == "+1999");
    BOOST_TEST(form_value(f, "Body") == "Bonjour \xC3\xA0 tous");
    BOOST_TEST(form_has(f, "Flag"));
    BOOST_TEST(form_value(f, "Flag").empty());
    BOOST_TEST(!form_has(f, "From"));
    BOOST_TEST(parse_form("").empty());
    // An encoded '=' or '&' inside a value stays in the value.
    BOOST_TEST(form_value(parse_form("Twiml=%3CSay%3Ea%3Db%26c%3C%2FSay%3E"), "Twiml") == "<Say>a=b&c</Say>");
}

BOOST_AUTO_TEST_CASE(basic_auth_decoding) {
    BOOST_TEST(base64_decode("QUMxOnRvaw==").value() == "AC1:tok");
    BOOST_TEST(base64_decode("YQ").value() == "a");
    BOOST_TEST(!base64_decode("QU*x"));
    BOOST_TEST(!base64_decode("QQ==QQ"));
    auto creds = parse_basic_auth("Basic QUMxOnRvazp3aXRoOmNvbG9ucw==");  // AC1:tok:with:colons
    BOOST_TEST_REQUIRE(creds.has_value());
    BOOST_TEST(creds->first == "AC1");
    BOOST_TEST(creds->second == "tok:with:colons");
    BOOST_TEST(parse_basic_auth("basic QUMxOnRvaw==").has_value());
    BOOST_TEST(!parse_basic_auth("Bearer QUMxOnRvaw=="));
    BOOST_TEST(!parse_basic_auth("Basic bm9jb2xvbg=="));  // "nocolon"
    BOOST_TEST(!parse_basic_auth(""));
}

BOOST_AUTO_TEST_CASE(rfc2822_dates_as_twilio_writes_them) {
    using std::chrono::seconds;
    using std::chrono::sys_seconds;
    BOOST_TEST(rappel::format_rfc5322(sys_seconds{seconds{1692853305}}) == "Thu, 24 Aug 2023 05:01:45 +0000");
    BOOST_TEST(rappel::format_rfc5322(sys_seconds{seconds{1802595903}}) == "Sun, 14 Feb 2027 09:05:03 +0000");
}

BOOST_AUTO_TEST_CASE(error_body_has_twilio_shape) {
    const auto j = nlohmann::json::parse(twilio_error_json(21602, "Message body is required.", 400));
    BOOST_TEST(j.at("code").get<int>() == 21602);
    BOOST_TEST(j.at("message").get<std::string>() == "Message body is required.");
    BOOST_TEST(j.at("more_info").get<std::string>() == "https://www.twilio.com/docs/errors/21602");
    BOOST_TEST(j.at("status").get<int>() == 400);
    BOOST_TEST(twilio_code_for_status(503) == 20503);
    BOOST_TEST(twilio_code_for_status(429) == 20429);
    BOOST_TEST(twilio_code_for_status(401) == 20003);
}


BOOST_AUTO_TEST_CASE(sids_have_prefix_and_32_hex_digits) {
    const std::string sid = make_sid("SM", 0x0123456789abcdefULL, 42);
    BOOST_TEST(sid == "SM0123456789abcdef000000000000002a");
    BOOST_TEST(std::regex_match(sid, std::regex("^SM[0-9a-f]{32}$")));
}

BOOST_AUTO_TEST_CASE(json_writer_escapes_and_repairs_utf8) {
    std::string out;
    JsonWriter w(out);
    w.str("plain", "Rappel: \"RDV\" \\ 9h\n\t\x01")
        .str("utf8", "r\xC3\xA9union \xE2\x9C\x93 \xF0\x9F\x91\x8D")
        .str("bad",
             "a\xC3\x28"
             "b\xED\xA0\x80"
             "c\xFF")  // truncated, surrogate, stray byte
        .str_or_null("none", "")
        .num("n", -42)
        .raw("obj", R"({"k":1})")
        .close();
    const auto j = nlohmann::json::parse(out);
    BOOST_TEST(j.at("plain").get<std::string>() == "Rappel: \"RDV\" \\ 9h\n\t\x01");
    BOOST_TEST(j.at("utf8").get<std::string>() == "r\xC3\xA9union \xE2\x9C\x93 \xF0\x9F\x91\x8D");
    BOOST_TEST(j.at("bad").get<std::string>() ==
               "a\xEF\xBF\xBD(b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
               "c\xEF\xBF\xBD");
    BOOST_TEST(j.at("none").is_null());
    BOOST_TEST(j.at("n").get<int>() == -42);
    BOOST_TEST(j.at("obj").at("k").get<int>() == 1);
    BOOST_TEST(out.find("\\u0001") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(body_length_counts_code_points) {
    BOOST_TEST(rappel::utf8::count_code_points("") == 0U);
    BOOST_TEST(rappel::utf8::count_code_points("a\xC3\xA7\xF0\x9F\x91\x8D") == 3U);
}
