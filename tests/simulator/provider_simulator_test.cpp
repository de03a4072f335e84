#define BOOST_TEST_MODULE simulator
#include "channels/simulator/provider_simulator.hpp"
#include "engine/base/text.hpp"

#include "tests/support/process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using rappel::sim::Fault;
using rappel::sim::ProviderSimulator;
using rappel::sim::RecordedRequest;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using json = nlohmann::json;

namespace {

using rappel::base64_encode;

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty()) out += '&';
        out += k;
        out += '=';
        out += rappel::percent_encode(v);
    }
    return out;
}

struct Reply {
    beast::error_code ec;
    Response res;
    std::chrono::milliseconds elapsed{0};
};

// One request on a fresh connection, with an overall deadline.
Reply send(std::uint16_t port, Request req, std::chrono::milliseconds timeout = 5s) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    Reply out;
    const auto t0 = std::chrono::steady_clock::now();
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    stream.expires_after(timeout);
    stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) {
            out.ec = ec;
            return;
        }
        http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
            if (wec) {
                out.ec = wec;
                return;
            }
            http::async_read(stream, buffer, out.res,
                             [&](beast::error_code rec, std::size_t) { out.ec = rec; });
        });
    });
    ioc.run();
    out.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    return out;
}

std::string api_path(const std::string& account, const char* resource) {
    return "/2010-04-01/Accounts/" + account + "/" + resource;
}

Request api_request(const ProviderSimulator& sim, const char* resource,
                    const std::vector<std::pair<std::string, std::string>>& fields,
                    const std::string& idempotency_key = {}) {
    Request req{http::verb::post, api_path(sim.options().account_sid, resource), 11};
    req.set(http::field::authorization,
            "Basic " + base64_encode(sim.options().account_sid + ":" + sim.options().auth_token));
    req.set(http::field::content_type, "application/x-www-form-urlencoded");
    if (!idempotency_key.empty()) req.set("I-Twilio-Idempotency-Token", idempotency_key);
    req.body() = form_encode(fields);
    return req;
}

Request sms(const ProviderSimulator& sim, const std::string& to = "+15145551234",
            const std::string& body = "Rappel", const std::string& key = {}) {
    return api_request(sim, "Messages.json", {{"To", to}, {"From", "+15145550000"}, {"Body", body}}, key);
}

Request control(http::verb method, const std::string& target, std::string body = {}) {
    Request req{method, target, 11};
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    return req;
}

json body_json(const Reply& r) {
    return json::parse(r.res.body());
}

// The response schemas of the provider's OpenAPI description (a copy of Twilio's published
// file is kept in channels/simulator/spec/).
json spec_schema(const std::string& name) {
    const auto path = std::filesystem::path(rappel::testkit::source_dir()) / "channels" / "simulator" /
                      "spec" / "twilio_api_v2010.json";
    std::ifstream in(path);
    BOOST_TEST_REQUIRE(in.good(), "provider spec not found at " << path);
    const json spec = json::parse(in);
    return spec.at("components").at("schemas").at(name);
}

void check_twilio_error(const Reply& r, int status, int code) {
    BOOST_TEST(!r.ec);
    BOOST_TEST(r.res.result_int() == status);
    const json j = body_json(r);
    BOOST_TEST(j.at("code").get<int>() == code);
    BOOST_TEST(j.at("status").get<int>() == status);
    BOOST_TEST(j.at("message").is_string());
    BOOST_TEST(j.at("more_info").get<std::string>() ==
               "https://www.twilio.com/docs/errors/" + std::to_string(code));
}

struct SimFixture {
    SimFixture() : sim(ProviderSimulator::Options{}) { sim.start(); }
    ProviderSimulator sim;
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(message_accepted_with_the_spec_fields, SimFixture) {
    const std::string text = "Rappel: rendez-vous le 14 février à 9 h 30 + 100% ✓ & merci";
    Request req = api_request(sim, "Messages.json",
                              {{"To", "+15145551234"},
                               {"From", "+15145550000"},
                               {"Body", text},
                               {"StatusCallback", "http://127.0.0.1:1/cb?x=1&y=2"}});
    const Reply r = send(sim.port(), req);
    BOOST_TEST_REQUIRE(!r.ec);
    BOOST_TEST(r.res.result_int() == 201);
    BOOST_TEST(std::string(r.res[http::field::content_type]).starts_with("application/json"));
    const json j = body_json(r);
    const std::string sid = j.at("sid").get<std::string>();
    BOOST_TEST(std::regex_match(sid, std::regex("^SM[0-9a-f]{32}$")));
    BOOST_TEST(j.at("account_sid").get<std::string>() == sim.options().account_sid);
    BOOST_TEST(j.at("to").get<std::string>() == "+15145551234");
    BOOST_TEST(j.at("from").get<std::string>() == "+15145550000");
    BOOST_TEST(j.at("body").get<std::string>() == text);
    BOOST_TEST(j.at("status").get<std::string>() == "queued");
    BOOST_TEST(j.at("direction").get<std::string>() == "outbound-api");
    BOOST_TEST(j.at("num_segments").get<std::string>() == "1");
    BOOST_TEST(j.at("api_version").get<std::string>() == "2010-04-01");
    BOOST_TEST(std::regex_match(j.at("date_created").get<std::string>(),
                                std::regex(R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d )"
                                           R"((Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) )"
                                           R"(\d{4} \d\d:\d\d:\d\d \+0000$)")));
    BOOST_TEST(j.at("uri").get<std::string>() ==
               "/2010-04-01/Accounts/" + sim.options().account_sid + "/Messages/" + sid + ".json");
    BOOST_TEST(j.at("error_code").is_null());

    const json schema = spec_schema("api.v2010.account.message");
    for (const auto& [name, prop] : schema.at("properties").items()) {
        BOOST_TEST(j.contains(name), "spec field missing: " << name);
        if (!j.contains(name) || j.at(name).is_null()) continue;
        if (prop.contains("type")) {
            const std::string type = prop.at("type").get<std::string>();
            if (type == "string") BOOST_TEST(j.at(name).is_string(), name << " not a string");
            if (type == "integer") BOOST_TEST(j.at(name).is_number_integer(), name);
            if (type == "object") BOOST_TEST(j.at(name).is_object(), name);
        }
    }

    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 1U);
    const RecordedRequest& rec = recs[0];
    BOOST_TEST(rec.kind == "message");
    BOOST_TEST(rec.method == "POST");
    BOOST_TEST(rec.account_sid == sim.options().account_sid);
    BOOST_TEST(rec.to == "+15145551234");
    BOOST_TEST(rec.from == "+15145550000");
    BOOST_TEST(rec.body == text);
    BOOST_TEST(rec.status_callback == "http://127.0.0.1:1/cb?x=1&y=2");
    BOOST_TEST(rec.status == 201);
    BOOST_TEST(rec.sid == sid);
    BOOST_TEST(!rec.duplicate);
    BOOST_TEST(sim.accepted_count() == 1U);
}

BOOST_FIXTURE_TEST_CASE(long_french_body_counts_ucs2_segments, SimFixture) {
    std::string text;
    for (int i = 0; i < 10; ++i) text += "Votre reçu est prêt. ";  // ç, ê: UCS-2, 210 units
    const Reply r = send(sim.port(), sms(sim, "+15145551234", text));
    BOOST_TEST_REQUIRE(r.res.result_int() == 201);
    BOOST_TEST(body_json(r).at("num_segments").get<std::string>() == "4");
}

BOOST_FIXTURE_TEST_CASE(call_accepted_with_the_spec_fields, SimFixture) {
    const std::string twiml = R"(<Response><Say language="fr-CA">Rendez-vous à 9 h</Say></Response>)";
    const Reply r = send(
        sim.port(),
        api_request(sim, "Calls.json", {{"To", "+15145551234"}, {"From", "+15145550000"}, {"Twiml", twiml}}));
    BOOST_TEST_REQUIRE(!r.ec);
    BOOST_TEST(r.res.result_int() == 201);
    const json j = body_json(r);
    const std::string sid = j.at("sid").get<std::string>();
    BOOST_TEST(std::regex_match(sid, std::regex("^CA[0-9a-f]{32}$")));
    BOOST_TEST(j.at("status").get<std::string>() == "queued");
    BOOST_TEST(j.at("to").get<std::string>() == "+15145551234");
    BOOST_TEST(j.at("direction").get<std::string>() == "outbound-api");
    const json schema = spec_schema("api.v2010.account.call");
    for (const auto& [name, prop] : schema.at("properties").items()) {
        BOOST_TEST(j.contains(name), "spec field missing: " << name);
    }
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 1U);
    BOOST_TEST(recs[0].kind == "call");
    BOOST_TEST(recs[0].twiml == twiml);
    BOOST_TEST(recs[0].sid == sid);

    // Url instead of Twiml is fine; neither is a 400.
    const Reply with_url = send(
        sim.port(),
        api_request(sim, "Calls.json",
                    {{"To", "+15145551234"}, {"From", "+15145550000"}, {"Url", "http://127.0.0.1:1/twiml"}}));
    BOOST_TEST(with_url.res.result_int() == 201);
    const Reply neither =
        send(sim.port(), api_request(sim, "Calls.json", {{"To", "+15145551234"}, {"From", "+15145550000"}}));
    BOOST_TEST(neither.res.result_int() == 400);
    BOOST_TEST(sim.accepted_count() == 2U);
}

BOOST_FIXTURE_TEST_CASE(bad_or_missing_auth_is_401, SimFixture) {
    Request req = sms(sim);
    req.set(http::field::authorization, "Basic " + base64_encode(sim.options().account_sid + ":wrong"));
    check_twilio_error(send(sim.port(), req), 401, 20003);
    BOOST_TEST(body_json(send(sim.port(), req)).at("message").get<std::string>() == "Authenticate");

    req.erase(http::field::authorization);
    check_twilio_error(send(sim.port(), req), 401, 20003);

    // Good credentials but another account in the path.
    Request other = sms(sim);
    other.target("/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json");
    check_twilio_error(send(sim.port(), other), 404, 20404);

    BOOST_TEST(sim.accepted_count() == 0U);
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 4U);
    BOOST_TEST(recs[0].status == 401);
    BOOST_TEST(recs[0].sid.empty());
}

BOOST_FIXTURE_TEST_CASE(missing_fields_are_400_with_twilio_codes, SimFixture) {
    check_twilio_error(
        send(sim.port(), api_request(sim, "Messages.json", {{"To", "+15145551234"}, {"From", "+1514"}})), 400,
        21602);
    check_twilio_error(
        send(sim.port(), api_request(sim, "Messages.json", {{"From", "+1514"}, {"Body", "x"}})), 400, 21604);
    check_twilio_error(send(sim.port(), api_request(sim, "Messages.json", {{"To", "+1514"}, {"Body", "x"}})),
                       400, 21603);
    // A messaging service replaces From.
    const Reply svc = send(
        sim.port(),
        api_request(
            sim, "Messages.json",
            {{"To", "+1514"}, {"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"}, {"Body", "x"}}));
    BOOST_TEST(svc.res.result_int() == 201);
    BOOST_TEST(body_json(svc).at("from").is_null());
    BOOST_TEST(sim.accepted_count() == 1U);
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 4U);
    BOOST_TEST(recs[0].status == 400);
    BOOST_TEST(recs[3].status == 201);
}

BOOST_FIXTURE_TEST_CASE(idempotent_retry_returns_the_same_resource, SimFixture) {
    const Reply first = send(sim.port(), sms(sim, "+15145551234", "premier", "rem-1"));
    BOOST_TEST_REQUIRE(first.res.result_int() == 201);
    const std::string sid = body_json(first).at("sid").get<std::string>();

    const Reply again = send(sim.port(), sms(sim, "+15145551234", "premier", "rem-1"));
    BOOST_TEST_REQUIRE(again.res.result_int() == 201);
    BOOST_TEST(body_json(again).at("sid").get<std::string>() == sid);

    // The other header name works too.
    Request alt = sms(sim, "+15145551234", "premier");
    alt.set("Idempotency-Key", "rem-1");
    BOOST_TEST(body_json(send(sim.port(), alt)).at("sid").get<std::string>() == sid);

    const Reply other = send(sim.port(), sms(sim, "+15145551234", "second", "rem-2"));
    BOOST_TEST(body_json(other).at("sid").get<std::string>() != sid);

    // Keys are per resource kind: a call with the same key is a new call.
    const Reply call = send(
        sim.port(),
        api_request(sim, "Calls.json", {{"To", "+1"}, {"From", "+2"}, {"Twiml", "<Response/>"}}, "rem-1"));
    BOOST_TEST(body_json(call).at("sid").get<std::string>().starts_with("CA"));

    BOOST_TEST(sim.accepted_count() == 3U);
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 5U);
    BOOST_TEST(!recs[0].duplicate);
    BOOST_TEST(recs[1].duplicate);
    BOOST_TEST(recs[1].sid == sid);
    BOOST_TEST(recs[1].idempotency_key == "rem-1");
    BOOST_TEST(recs[2].duplicate);
    BOOST_TEST(!recs[3].duplicate);
    BOOST_TEST(!recs[4].duplicate);
}

BOOST_FIXTURE_TEST_CASE(fault_503_twice_then_accepted, SimFixture) {
    Fault f;
    f.status = 503;
    f.times = 2;
    sim.add_fault(f);
    // A fault is taken before anything else, so retries of the same keyed request go through.
    check_twilio_error(send(sim.port(), sms(sim, "+1", "x", "k")), 503, 20503);
    check_twilio_error(send(sim.port(), sms(sim, "+1", "x", "k")), 503, 20503);
    const Reply ok = send(sim.port(), sms(sim, "+1", "x", "k"));
    BOOST_TEST(ok.res.result_int() == 201);
    BOOST_TEST(sim.accepted_count() == 1U);
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 3U);
    BOOST_TEST(recs[0].status == 503);
    BOOST_TEST(recs[1].status == 503);
    BOOST_TEST(recs[2].status == 201);
    BOOST_TEST(!recs[2].duplicate);
}

BOOST_FIXTURE_TEST_CASE(faults_apply_in_order_and_only_to_matching_recipients, SimFixture) {
    Fault custom;
    custom.status = 400;
    custom.body = R"({"code":21211,"message":"Invalid 'To' Phone Number","status":400})";
    custom.match_to = "+15140000000";
    sim.add_fault(custom);
    Fault forever;
    forever.status = 500;
    forever.times = -1;
    forever.match_to = "+15149999999";
    sim.add_fault(forever);

    BOOST_TEST(send(sim.port(), sms(sim, "+15145551234")).res.result_int() == 201);
    const Reply bad = send(sim.port(), sms(sim, "+15140000000"));
    BOOST_TEST(bad.res.result_int() == 400);
    BOOST_TEST(body_json(bad).at("code").get<int>() == 21211);
    BOOST_TEST(send(sim.port(), sms(sim, "+15140000000")).res.result_int() == 201);
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(send(sim.port(), sms(sim, "+15149999999")).res.result_int() == 500);
    }
    sim.clear_faults();
    BOOST_TEST(send(sim.port(), sms(sim, "+15149999999")).res.result_int() == 201);
    BOOST_TEST(sim.accepted_count() == 3U);
}

BOOST_FIXTURE_TEST_CASE(delay_fault_delays_the_answer, SimFixture) {
    Fault slow;
    slow.status = 0;  // latency only, then the normal answer
    slow.delay = 300ms;
    sim.add_fault(slow);
    const Reply r = send(sim.port(), sms(sim));
    BOOST_TEST(r.res.result_int() == 201);
    BOOST_TEST(r.elapsed.count() >= 300);

    Fault slow_error;
    slow_error.status = 503;
    slow_error.delay = 200ms;
    sim.add_fault(slow_error);
    const Reply e = send(sim.port(), sms(sim));
    BOOST_TEST(e.res.result_int() == 503);
    BOOST_TEST(e.elapsed.count() >= 200);
    BOOST_TEST(sim.accepted_count() == 1U);
}

BOOST_FIXTURE_TEST_CASE(retry_after_header_on_429, SimFixture) {
    Fault f;
    f.status = 429;
    f.retry_after_seconds = 7;
    sim.add_fault(f);
    const Reply r = send(sim.port(), sms(sim));
    check_twilio_error(r, 429, 20429);
    BOOST_TEST(std::string(r.res[http::field::retry_after]) == "7");
    const Reply next = send(sim.port(), sms(sim));
    BOOST_TEST(next.res.result_int() == 201);
    BOOST_TEST((next.res.find(http::field::retry_after) == next.res.end()));
}

BOOST_FIXTURE_TEST_CASE(hang_fault_times_the_client_out, SimFixture) {
    Fault f;
    f.hang = true;
    sim.add_fault(f);
    const Reply r = send(sim.port(), sms(sim), 400ms);
    BOOST_TEST((r.ec == beast::error::timeout), r.ec.message());
    BOOST_TEST(r.elapsed.count() >= 400);
    BOOST_TEST(send(sim.port(), sms(sim)).res.result_int() == 201);
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 2U);
    BOOST_TEST(recs[0].status == 0);
    BOOST_TEST(sim.accepted_count() == 1U);
}

BOOST_FIXTURE_TEST_CASE(stop_returns_while_a_connection_hangs, SimFixture) {
    Fault f;
    f.hang = true;
    sim.add_fault(f);
    // Keep a hung connection open from another thread while the simulator stops.
    std::thread client([&] { (void)send(sim.port(), sms(sim), 10s); });
    BOOST_TEST(rappel::testkit::wait_until([&] { return sim.requests().size() == 1U; }, 5s));
    const auto t0 = std::chrono::steady_clock::now();
    sim.stop();
    client.join();  // the client sees the connection close, not its 10 s timeout
    BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));
}

BOOST_FIXTURE_TEST_CASE(garbage_and_close_faults_break_the_exchange, SimFixture) {
    Fault garbage;
    garbage.garbage = true;
    sim.add_fault(garbage);
    const Reply g = send(sim.port(), sms(sim));
    BOOST_TEST(static_cast<bool>(g.ec));
    BOOST_TEST((g.ec != beast::error::timeout));

    Fault close;
    close.close = true;
    sim.add_fault(close);
    const Reply c = send(sim.port(), sms(sim));
    BOOST_TEST(static_cast<bool>(c.ec));
    BOOST_TEST((c.ec != beast::error::timeout));

    BOOST_TEST(send(sim.port(), sms(sim)).res.result_int() == 201);
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 3U);
    BOOST_TEST(recs[0].status == 0);
    BOOST_TEST(recs[1].status == 0);
}

BOOST_FIXTURE_TEST_CASE(control_api_round_trip_over_http, SimFixture) {
    const Reply health = send(sim.port(), control(http::verb::get, "/_sim/health"));
    BOOST_TEST_REQUIRE(health.res.result_int() == 200);
    BOOST_TEST(body_json(health).at("status").get<std::string>() == "ok");

    const Reply added = send(sim.port(), control(http::verb::post, "/_sim/faults",
                                                 R"({"status":503,"times":2,"retry_after_seconds":4,)"
                                                 R"("match_to":"+15145551234"})"));
    BOOST_TEST(added.res.result_int() == 201);
    const Reply listed = send(sim.port(), control(http::verb::get, "/_sim/faults"));
    const json faults = body_json(listed);
    BOOST_TEST_REQUIRE(faults.size() == 1U);
    BOOST_TEST(faults[0].at("times").get<int>() == 2);
    BOOST_TEST(faults[0].at("match_to").get<std::string>() == "+15145551234");

    const Reply faulted = send(sim.port(), sms(sim, "+15145551234", "à bientôt", "key-9"));
    BOOST_TEST(faulted.res.result_int() == 503);
    BOOST_TEST(std::string(faulted.res[http::field::retry_after]) == "4");

    const Reply bad = send(sim.port(), control(http::verb::post, "/_sim/faults", R"({"status":"x"})"));
    BOOST_TEST(bad.res.result_int() == 400);
    BOOST_TEST(send(sim.port(), control(http::verb::post, "/_sim/faults", "not json")).res.result_int() ==
               400);

    BOOST_TEST(send(sim.port(), control(http::verb::delete_, "/_sim/faults")).res.result_int() == 200);
    BOOST_TEST(body_json(send(sim.port(), control(http::verb::get, "/_sim/faults"))).empty());
    const Reply ok = send(sim.port(), sms(sim, "+15145551234", "à bientôt", "key-9"));
    BOOST_TEST(ok.res.result_int() == 201);

    const json recs = body_json(send(sim.port(), control(http::verb::get, "/_sim/requests")));
    BOOST_TEST_REQUIRE(recs.size() == 2U);
    BOOST_TEST(recs[0].at("status").get<int>() == 503);
    BOOST_TEST(recs[1].at("status").get<int>() == 201);
    BOOST_TEST(recs[1].at("kind").get<std::string>() == "message");
    BOOST_TEST(recs[1].at("body").get<std::string>() == "à bientôt");
    BOOST_TEST(recs[1].at("to").get<std::string>() == "+15145551234");
    BOOST_TEST(recs[1].at("idempotency_key").get<std::string>() == "key-9");
    BOOST_TEST(recs[1].at("sid").get<std::string>() == body_json(ok).at("sid").get<std::string>());
    BOOST_TEST(recs[1].at("duplicate").get<bool>() == false);
    BOOST_TEST(recs[1].at("at").is_string());
    BOOST_TEST(
        body_json(send(sim.port(), control(http::verb::get, "/_sim/health"))).at("accepted").get<int>() == 1);

    BOOST_TEST(send(sim.port(), control(http::verb::delete_, "/_sim/requests")).res.result_int() == 200);
    BOOST_TEST(body_json(send(sim.port(), control(http::verb::get, "/_sim/requests"))).empty());
    BOOST_TEST(sim.requests().empty());
    BOOST_TEST(sim.accepted_count() == 0U);
}

BOOST_AUTO_TEST_CASE(max_records_keeps_the_newest) {
    ProviderSimulator::Options options;
    options.max_records = 3;
    ProviderSimulator sim(options);
    sim.start();
    for (int i = 0; i < 5; ++i) {
        BOOST_TEST(send(sim.port(), sms(sim, "+1", "m" + std::to_string(i))).res.result_int() == 201);
    }
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 3U);
    BOOST_TEST(recs[0].body == "m2");
    BOOST_TEST(recs[2].body == "m4");
    BOOST_TEST(sim.accepted_count() == 5U);
}

BOOST_FIXTURE_TEST_CASE(unknown_paths_and_methods_are_recorded_as_errors, SimFixture) {
    const Reply nf = send(sim.port(), control(http::verb::get, "/2010-04-01/Accounts.json"));
    check_twilio_error(nf, 404, 20404);
    Request get = sms(sim);
    get.method(http::verb::get);
    get.body().clear();
    check_twilio_error(send(sim.port(), get), 405, 20004);
    const auto recs = sim.requests();
    BOOST_TEST_REQUIRE(recs.size() == 2U);
    BOOST_TEST(recs[0].kind == "other");
    BOOST_TEST(recs[1].kind == "message");
    BOOST_TEST(recs[1].status == 405);
    BOOST_TEST(sim.accepted_count() == 0U);
}

BOOST_FIXTURE_TEST_CASE(expect_100_continue_is_answered, SimFixture) {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), sim.port()));
    const std::string body = form_encode({{"To", "+1"}, {"From", "+2"}, {"Body", std::string(1500, 'a')}});
    std::ostringstream head;
    head << "POST " << api_path(sim.options().account_sid, "Messages.json") << " HTTP/1.1\r\n"
         << "Host: 127.0.0.1\r\nAuthorization: Basic "
         << base64_encode(sim.options().account_sid + ":" + sim.options().auth_token) << "\r\n"
         << "Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n"
         << "Content-Length: " << body.size() << "\r\n\r\n";
    asio::write(socket, asio::buffer(head.str()));
    std::string interim;
    asio::read_until(socket, asio::dynamic_buffer(interim), "\r\n\r\n");
    BOOST_TEST(interim.starts_with("HTTP/1.1 100 Continue"));
    asio::write(socket, asio::buffer(body));
    beast::flat_buffer buffer;
    Response res;
    http::read(socket, buffer, res);
    BOOST_TEST(res.result_int() == 201);
    BOOST_TEST(json::parse(res.body()).at("num_segments").get<std::string>() == "10");
}

BOOST_FIXTURE_TEST_CASE(keep_alive_pipelining_many_connections, SimFixture) {
    constexpr int kConnections = 8;
    constexpr int kBatches = 5;
    constexpr int kBatch = 250;
    std::string batch;
    for (int i = 0; i < kBatch; ++i) {
        Request req = sms(sim, "+15145551234", "Rappel " + std::to_string(i));
        req.set(http::field::host, "127.0.0.1");
        req.prepare_payload();
        std::ostringstream os;
        os << req;
        batch += os.str();
    }
    std::atomic<int> ok{0};
    std::mutex mu;
    std::set<std::string> sids;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < kConnections; ++c) {
        clients.emplace_back([&] {
            asio::io_context ioc;
            tcp::socket socket(ioc);
            beast::error_code ec;
            socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), sim.port()), ec);
            if (ec) return;
            beast::flat_buffer buffer;
            std::vector<std::string> mine;
            // Pipelined: a whole batch is written before its answers are read.
            for (int b = 0; b < kBatches; ++b) {
                asio::write(socket, asio::buffer(batch), ec);
                if (ec) return;
                for (int i = 0; i < kBatch; ++i) {
                    Response res;
                    http::read(socket, buffer, res, ec);
                    if (ec) return;
                    if (res.result_int() == 201 && res.keep_alive()) {
                        ++ok;
                        // Cheaper than a JSON parse per answer in Debug and ASan builds.
                        const auto at = res.body().find("\"sid\":\"");
                        if (at != std::string::npos) mine.push_back(res.body().substr(at + 7, 34));
                    }
                }
            }
            const std::lock_guard lock(mu);
            sids.insert(mine.begin(), mine.end());
        });
    }
    for (auto& t : clients) t.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    constexpr int kTotal = kConnections * kBatches * kBatch;
    BOOST_TEST_MESSAGE("pipelined " << kTotal << " requests in " << secs
                                    << " s: " << static_cast<int>(kTotal / secs) << " req/s");
    BOOST_TEST(ok.load() == kTotal);
    BOOST_TEST(sids.size() == static_cast<std::size_t>(kTotal));
    BOOST_TEST(sim.accepted_count() == static_cast<std::size_t>(kTotal));
    BOOST_TEST(sim.requests().size() == static_cast<std::size_t>(kTotal));
}

BOOST_AUTO_TEST_CASE(binary_starts_prints_its_port_and_stops_on_sigterm) {
    rappel::testkit::TempDir dir("sim-bin");
    const std::string log = dir.path() + "/sim.log";
    rappel::testkit::Process proc({RAPPEL_PROVIDER_SIM_BIN, "--port", "0", "--account-sid",
                                   "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--auth-token", "tok"},
                                  {}, log);
    std::string line;
    const bool listening = rappel::testkit::wait_until(
        [&] {
            std::ifstream in(log);
            std::getline(in, line);
            return line.starts_with("listening http://127.0.0.1:") && !in.eof();
        },
        10s);
    BOOST_TEST_REQUIRE(listening, "no 'listening' line; got: " << line);
    const int port = std::stoi(line.substr(line.rfind(':') + 1));
    BOOST_TEST_REQUIRE(port > 0);

    const Reply health = send(static_cast<std::uint16_t>(port), control(http::verb::get, "/_sim/health"));
    BOOST_TEST(health.res.result_int() == 200);
    BOOST_TEST(body_json(health).at("status").get<std::string>() == "ok");

    Request req{http::verb::post, "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json",
                11};
    req.set(http::field::authorization, "Basic " + base64_encode("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:tok"));
    req.body() = form_encode({{"To", "+1"}, {"From", "+2"}, {"Body", "x"}});
    BOOST_TEST(send(static_cast<std::uint16_t>(port), req).res.result_int() == 201);

    proc.signal(SIGTERM);
    const auto status = proc.wait(10s);
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST(*status == 0);
}

BOOST_AUTO_TEST_CASE(binary_help_version_and_bad_options) {
    rappel::testkit::TempDir dir("sim-bin");
    auto run = [&](std::vector<std::string> args, const std::string& name) {
        args.insert(args.begin(), RAPPEL_PROVIDER_SIM_BIN);
        const std::string log = dir.path() + "/" + name + ".log";
        rappel::testkit::Process proc(args, {}, log);
        const auto status = proc.wait(10s);
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        return std::pair{status.value_or(-1), text.str()};
    };
    const auto help = run({"--help"}, "help");
    BOOST_TEST(help.first == 0);
    BOOST_TEST(help.second.find("--account-sid") != std::string::npos);
    const auto version = run({"--version"}, "version");
    BOOST_TEST(version.first == 0);
    BOOST_TEST(version.second.starts_with("rappel-provider-sim "));
    BOOST_TEST(run({"--bogus"}, "bogus").first == 2);
    BOOST_TEST(run({"--port", "70000"}, "port").first == 2);
}
