#define BOOST_TEST_MODULE twilio_sms
#include "channels/simulator/provider_simulator.hpp"
#include "channels/sms_twilio/twilio_sms.hpp"
#include "tests/channels/test_helpers.hpp"
#include "tests/support/process.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;
using rappel::ChannelKind;
using rappel::channels::CurlMulti;
using rappel::channels::Message;
using rappel::channels::SendResult;
using rappel::channels::SendStatus;
using rappel::channels::TwilioSms;
using rappel::sim::Fault;
using rappel::sim::ProviderSimulator;
using rappel::testkit::run_until;

namespace {

const std::string kFrench = "Rappel : votre permis expire le 20 novembre. Ça presse, Émilie ! "
                            "Œuvre, façade, élève 🚗✅ — répondez ARRÊT pour arrêter.";

rappel::config::ProviderConfig twilio_config(const std::string& base_url,
                                             std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
    rappel::config::ProviderConfig p;
    p.name = "twilio-test";
    p.type = rappel::config::ProviderType::twilio_sms;
    p.base_url = base_url;
    p.account_sid = rappel::sim::kDefaultAccountSid;
    p.auth_token = rappel::sim::kDefaultAuthToken;
    p.from = "+15145550000";
    p.timeout = timeout;
    return p;
}

Message sms(const std::string& id, const std::string& to = "+15145550123") {
    Message m;
    m.reminder_id = id;
    m.channel = ChannelKind::sms;
    m.language = rappel::Language::fr;
    m.to = to;
    m.text = kFrench;
    return m;
}

struct Harness {
    explicit Harness(std::chrono::milliseconds timeout = std::chrono::seconds{5})
        : sim(ProviderSimulator::Options{}), curl(io) {
        sim.start();
        channel.emplace(twilio_config(sim.base_url(), timeout), curl);
    }

    SendResult send_one(const Message& m) {
        std::optional<SendResult> result;
        int calls = 0;
        channel->send(m, [&](SendResult r) {
            ++calls;
            result = std::move(r);
        });
        BOOST_TEST(calls == 0);  // never inline
        BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
        io.restart();
        io.poll();
        BOOST_TEST(calls == 1);
        return *result;
    }

    ProviderSimulator sim;
    asio::io_context io;
    CurlMulti curl;
    std::optional<TwilioSms> channel;
};

}  // namespace

BOOST_AUTO_TEST_CASE(accepted_with_sid_and_body_intact) {
    Harness h;
    BOOST_TEST(h.channel->kind() == ChannelKind::sms);
    BOOST_TEST(h.channel->provider() == "twilio-test");
    const SendResult r = h.send_one(sms("r-acc-1"));
    BOOST_TEST(r.status == SendStatus::accepted, r.reason);
    BOOST_TEST(r.provider_message_id.starts_with("SM"));
    BOOST_TEST(r.provider_message_id.size() == 34U);
    const auto requests = h.sim.requests();
    BOOST_TEST_REQUIRE(requests.size() == 1U);
    const auto& req = requests[0];
    BOOST_TEST(req.kind == "message");
    BOOST_TEST(req.method == "POST");
    BOOST_TEST(req.target == std::string("/2010-04-01/Accounts/") + rappel::sim::kDefaultAccountSid +
                                 "/Messages.json");
    BOOST_TEST(req.account_sid == rappel::sim::kDefaultAccountSid);
    BOOST_TEST(req.to == "+15145550123");
    BOOST_TEST(req.from == "+15145550000");
    BOOST_TEST(req.body == kFrench);
    BOOST_TEST(req.idempotency_key == "r-acc-1");
    BOOST_TEST(req.sid == r.provider_message_id);
    BOOST_TEST(req.status == 201);
    BOOST_TEST(h.sim.accepted_count() == 1U);
}

BOOST_AUTO_TEST_CASE(same_reminder_twice_is_one_message_at_the_provider) {
    Harness h;
    const SendResult first = h.send_one(sms("r-dup"));
    const SendResult second = h.send_one(sms("r-dup"));
    BOOST_TEST(first.status == SendStatus::accepted);
    BOOST_TEST(second.status == SendStatus::accepted);
    BOOST_TEST(second.provider_message_id == first.provider_message_id);
    BOOST_TEST(h.sim.accepted_count() == 1U);
    const auto requests = h.sim.requests();
    BOOST_TEST_REQUIRE(requests.size() == 2U);
    BOOST_TEST(requests[0].idempotency_key == "r-dup");
    BOOST_TEST(requests[1].idempotency_key == "r-dup");
    BOOST_TEST(requests[1].duplicate);
}

BOOST_AUTO_TEST_CASE(server_error_503_is_retried) {
    Harness h;
    Fault f;
    f.status = 503;
    h.sim.add_fault(f);
    const SendResult r = h.send_one(sms("r-503"));
    BOOST_TEST(r.status == SendStatus::retry);
    BOOST_TEST(r.reason == "http 503");
    BOOST_TEST(!r.retry_after.has_value());
    BOOST_TEST(h.sim.accepted_count() == 0U);
    // The fault was for one request only: the retry goes through.
    const SendResult again = h.send_one(sms("r-503"));
    BOOST_TEST(again.status == SendStatus::accepted, again.reason);
}

BOOST_AUTO_TEST_CASE(too_many_requests_carries_retry_after) {
    Harness h;
    Fault f;
    f.status = 429;
    f.retry_after_seconds = 42;
    h.sim.add_fault(f);
    const SendResult r = h.send_one(sms("r-429"));
    BOOST_TEST(r.status == SendStatus::retry);
    BOOST_TEST(r.reason == "http 429");
    BOOST_TEST_REQUIRE(r.retry_after.has_value());
    BOOST_TEST(r.retry_after->count() == 42);
}

BOOST_AUTO_TEST_CASE(bad_request_is_rejected_with_twilio_code) {
    Harness h;
    Fault f;
    f.status = 400;
    h.sim.add_fault(f);
    const SendResult r = h.send_one(sms("r-400"));
    BOOST_TEST(r.status == SendStatus::rejected);
    BOOST_TEST(r.reason.starts_with("http 400"));
    BOOST_TEST(r.provider_message_id.empty());

    Fault invalid;
    invalid.status = 400;
    invalid.body = R"({"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400})";
    h.sim.add_fault(invalid);
    const SendResult r2 = h.send_one(sms("r-400b"));
    BOOST_TEST(r2.status == SendStatus::rejected);
    BOOST_TEST(r2.reason == "http 400 code 21211");
}

BOOST_AUTO_TEST_CASE(wrong_credentials_are_rejected) {
    ProviderSimulator sim(ProviderSimulator::Options{});
    sim.start();
    asio::io_context io;
    CurlMulti curl(io);
    auto cfg = twilio_config(sim.base_url());
    cfg.auth_token = "wrong";
    TwilioSms channel(cfg, curl);
    std::optional<SendResult> result;
    channel.send(sms("r-401"), [&](SendResult r) { result = std::move(r); });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
    BOOST_TEST(result->status == SendStatus::rejected);
    BOOST_TEST(result->reason.starts_with("http 401"));
    BOOST_TEST(sim.accepted_count() == 0U);
}

BOOST_AUTO_TEST_CASE(connection_refused_is_retried) {
    asio::io_context io;
    CurlMulti curl(io);
    TwilioSms channel(
        twilio_config("http://127.0.0.1:" + std::to_string(rappel::testkit::free_port())), curl);
    std::optional<SendResult> result;
    channel.send(sms("r-refused"), [&](SendResult r) { result = std::move(r); });
    BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
    BOOST_TEST(result->status == SendStatus::retry);
    BOOST_TEST(result->reason == "connect");
}

BOOST_AUTO_TEST_CASE(hanging_provider_times_out_and_is_retried) {
    Harness h(std::chrono::milliseconds{400});
    Fault f;
    f.hang = true;
    h.sim.add_fault(f);
    const auto started = std::chrono::steady_clock::now();
    const SendResult r = h.send_one(sms("r-hang"));
    BOOST_TEST(r.status == SendStatus::retry);
    BOOST_TEST(r.reason == "timeout");
    BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds{5}));
}

BOOST_AUTO_TEST_CASE(garbage_reply_is_retried) {
    Harness h;
    Fault f;
    f.garbage = true;
    h.sim.add_fault(f);
    const SendResult r = h.send_one(sms("r-garbage"));
    BOOST_TEST(r.status == SendStatus::retry, r.reason);

    Fault closed;
    closed.close = true;
    h.sim.add_fault(closed);
    const SendResult r2 = h.send_one(sms("r-closed"));
    BOOST_TEST(r2.status == SendStatus::retry, r2.reason);

    Fault not_json;
    not_json.status = 201;
    not_json.body = "<html>created</html>";
    h.sim.add_fault(not_json);
    const SendResult r3 = h.send_one(sms("r-notjson"));
    BOOST_TEST(r3.status == SendStatus::retry);
    BOOST_TEST(r3.reason == "garbage");
}

BOOST_AUTO_TEST_CASE(many_concurrent_messages) {
    Harness h;
    constexpr int kCount = 300;
    std::vector<std::optional<SendResult>> results(kCount);
    for (int i = 0; i < kCount; ++i) {
        h.channel->send(sms("r-many-" + std::to_string(i), "+1514555" + std::to_string(1000 + i)),
                        [&results, i](SendResult r) { results[static_cast<std::size_t>(i)] = std::move(r); });
    }
    BOOST_TEST_REQUIRE(run_until(h.io, [&] {
        return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    }, std::chrono::seconds{60}));
    std::size_t accepted = 0;
    for (const auto& r : results) accepted += r->status == SendStatus::accepted ? 1 : 0;
    BOOST_TEST(accepted == static_cast<std::size_t>(kCount));
    BOOST_TEST(h.sim.accepted_count() == static_cast<std::size_t>(kCount));
}

BOOST_AUTO_TEST_CASE(bad_config_throws_at_construction) {
    asio::io_context io;
    CurlMulti curl(io);
    auto p = twilio_config("ftp://example.org");
    BOOST_CHECK_THROW(TwilioSms(p, curl), std::invalid_argument);
    p = twilio_config("http://127.0.0.1:1");
    p.account_sid.clear();
    BOOST_CHECK_THROW(TwilioSms(p, curl), std::invalid_argument);
    p = twilio_config("http://127.0.0.1:1/");
    BOOST_TEST(TwilioSms(p, curl).endpoint() ==
               std::string("http://127.0.0.1:1/2010-04-01/Accounts/") + rappel::sim::kDefaultAccountSid +
                   "/Messages.json");
}

BOOST_AUTO_TEST_CASE(five_hundred_sends_in_a_window_reuse_a_handful_of_connections) {
    Harness h;
    constexpr int kCount = 500;
    constexpr int kWindow = 8;
    int next = 0, done = 0, accepted = 0;
    std::function<void()> launch = [&] {
        while (next < kCount && next - done < kWindow) {
            const int i = next++;
            h.channel->send(sms("r-reuse-" + std::to_string(i), "+1514556" + std::to_string(1000 + i)),
                            [&](SendResult r) {
                                ++done;
                                accepted += r.status == SendStatus::accepted ? 1 : 0;
                                launch();
                            });
        }
    };
    launch();
    BOOST_TEST_REQUIRE(run_until(h.io, [&] { return done == kCount; }, std::chrono::seconds{60}));
    BOOST_TEST(accepted == kCount);
    BOOST_TEST(h.curl.sockets_opened() <= static_cast<std::size_t>(kWindow));
    // Each handle came back to the pool; no more were made than were ever in flight.
    BOOST_TEST(h.channel->idle_handles_for_test() <= static_cast<std::size_t>(kWindow));
    BOOST_TEST(h.channel->idle_handles_for_test() >= 1U);
}

BOOST_AUTO_TEST_CASE(a_burst_beyond_the_host_limit_queues_on_cached_connections) {
    Harness h;  // CurlMulti with its default options, as rappeld builds it
    constexpr int kCount = 500;
    std::vector<std::optional<SendResult>> results(kCount);
    const auto all_done = [&] {
        return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    };
    for (int round = 0; round < 2; ++round) {
        for (auto& r : results) r.reset();
        for (int i = 0; i < kCount; ++i) {
            h.channel->send(sms("r-burst-" + std::to_string(round) + "-" + std::to_string(i)),
                            [&results, i](SendResult r) { results[static_cast<std::size_t>(i)] = std::move(r); });
        }
        BOOST_TEST_REQUIRE(run_until(h.io, all_done, std::chrono::seconds{60}));
        for (const auto& r : results) BOOST_TEST(r->status == SendStatus::accepted, r->reason);
    }
    const auto limit = static_cast<std::size_t>(rappel::channels::CurlMultiOptions{}.max_host_connections);
    // The second burst found the first one's connections in the cache.
    BOOST_TEST(h.curl.sockets_opened() <= limit);
    BOOST_TEST(h.curl.open_sockets_for_test() <= limit);
    // Sends beyond the lane's cap waited without an easy handle: no more handles than that.
    BOOST_TEST(h.channel->idle_handles_for_test() <= limit);
}

BOOST_AUTO_TEST_CASE(a_pooled_handle_carries_nothing_from_its_previous_send) {
    Harness h;
    Fault f;
    f.status = 429;
    f.retry_after_seconds = 42;
    h.sim.add_fault(f);
    Message first = sms("r-first-with-a-much-longer-reminder-id", "+15145550111");
    first.text = std::string(300, 'x') + " long first body";
    const SendResult r1 = h.send_one(first);
    BOOST_TEST(r1.status == SendStatus::retry);
    BOOST_TEST_REQUIRE(r1.retry_after.has_value());
    BOOST_TEST(h.channel->idle_handles_for_test() == 1U);

    Message second = sms("r-2", "+15145550222");
    second.text = "short";
    const SendResult r2 = h.send_one(second);
    BOOST_TEST(r2.status == SendStatus::accepted, r2.reason);
    BOOST_TEST(!r2.retry_after.has_value());
    BOOST_TEST(h.channel->idle_handles_for_test() == 1U);  // the same handle, reused

    const auto requests = h.sim.requests();
    BOOST_TEST_REQUIRE(requests.size() == 2U);
    BOOST_TEST(requests[1].to == "+15145550222");
    BOOST_TEST(requests[1].body == "short");
    BOOST_TEST(requests[1].idempotency_key == "r-2");
    BOOST_TEST(requests[1].from == "+15145550000");
    BOOST_TEST(requests[1].account_sid == rappel::sim::kDefaultAccountSid);
    BOOST_TEST(requests[1].status == 201);
    BOOST_TEST(h.curl.sockets_opened() == 1U);
}
