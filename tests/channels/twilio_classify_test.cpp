#define BOOST_TEST_MODULE twilio_classify
#include "channels/sms_twilio/twilio_sms.hpp"

#include <boost/test/unit_test.hpp>

using namespace rappel::channels;
using std::chrono::seconds;

BOOST_AUTO_TEST_CASE(form_encoding) {
    BOOST_TEST(form_encode("+15145550123") == "%2B15145550123");
    BOOST_TEST(form_encode("a b&c=d") == "a%20b%26c%3Dd");
    BOOST_TEST(form_encode("é") == "%C3%A9");
    BOOST_TEST(form_encode("AZaz09-._~") == "AZaz09-._~");
}

BOOST_AUTO_TEST_CASE(retry_after) {
    BOOST_TEST(parse_retry_after("120").value() == seconds{120});
    BOOST_TEST(parse_retry_after(" 7 ").value() == seconds{7});
    BOOST_TEST(!parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
    BOOST_TEST(!parse_retry_after(""));
    BOOST_TEST(!parse_retry_after("-1"));
    BOOST_TEST(parse_retry_after("999999999").value() == seconds{24 * 3600});
}

BOOST_AUTO_TEST_CASE(classification) {
    const std::string created = R"({"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"})";
    auto r = classify_twilio(CURLE_OK, 201, created, std::nullopt);
    BOOST_TEST((r.status == SendStatus::accepted));
    BOOST_TEST(r.provider_message_id == "SM0123456789abcdef0123456789abcdef");

    for (const std::string body : {"", "<html>oops</html>", "{\"sid\":null}", "[1,2]", "{\"sid\":\"\"}"}) {
        r = classify_twilio(CURLE_OK, 201, body, std::nullopt);
        BOOST_TEST((r.status == SendStatus::retry), body);
        BOOST_TEST(r.reason == "garbage");
    }
    for (const long status : {408L, 429L, 500L, 502L, 503L}) {
        r = classify_twilio(CURLE_OK, status, "{}", seconds{30});
        BOOST_TEST((r.status == SendStatus::retry));
        BOOST_TEST(r.reason == "http " + std::to_string(status));
        BOOST_TEST(r.retry_after.value() == seconds{30});
    }
    r = classify_twilio(CURLE_OK, 400,
                        R"({"code":21211,"message":"Invalid 'To' Phone Number","status":400})",
                        std::nullopt);
    BOOST_TEST((r.status == SendStatus::rejected));
    BOOST_TEST(r.reason == "http 400 code 21211");
    r = classify_twilio(CURLE_OK, 401, "not json", std::nullopt);
    BOOST_TEST((r.status == SendStatus::rejected));
    BOOST_TEST(r.reason == "http 401");
    r = classify_twilio(CURLE_OPERATION_TIMEDOUT, 0, "", std::nullopt);
    BOOST_TEST((r.status == SendStatus::retry));
    BOOST_TEST(r.reason == "timeout");
    r = classify_twilio(CURLE_COULDNT_CONNECT, 0, "", std::nullopt);
    BOOST_TEST(r.reason == "connect");
    r = classify_twilio(CURLE_RECV_ERROR, 0, "", std::nullopt);
    BOOST_TEST((r.status == SendStatus::retry));
    BOOST_TEST(r.reason == "recv");
}

BOOST_AUTO_TEST_CASE(only_top_level_fields_count_and_the_last_duplicate_wins) {
    for (const std::string body : {R"({"sid":"SMa","sid":null})", R"({"x":{"sid":"SMnested"}})",
                                   R"({"sid":["SMa"]})", R"({"sid":{"sid":"SMa"}})",
                                   R"({"sid":"SMa"} trailing)", R"({"sid":"SMa")"}) {
        const auto r = classify_twilio(CURLE_OK, 201, body, std::nullopt);
        BOOST_TEST((r.status == SendStatus::retry), body);
        BOOST_TEST(r.reason == "garbage", body);
    }
    auto r = classify_twilio(CURLE_OK, 201, R"({"sid":null,"x":{"sid":1},"sid":"SMlast"})", std::nullopt);
    BOOST_TEST((r.status == SendStatus::accepted));
    BOOST_TEST(r.provider_message_id == "SMlast");

    for (const std::string body : {R"({"code":21211.5})", R"({"code":"21211"})", R"({"e":{"code":21211}})",
                                   R"({"code":21211,"code":null})", R"([{"code":21211}])"}) {
        r = classify_twilio(CURLE_OK, 400, body, std::nullopt);
        BOOST_TEST((r.status == SendStatus::rejected), body);
        BOOST_TEST(r.reason == "http 400", body);
    }
    r = classify_twilio(CURLE_OK, 400, R"({"code":null,"more":[1,{"code":2}],"code":21614})", std::nullopt);
    BOOST_TEST(r.reason == "http 400 code 21614");
}
