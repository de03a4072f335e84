// End to end through the real components: Kafka mock cluster over TCP, redis-server, the
// provider simulator, an SMTP sink, and the rappeld binary on a simulated clock.
#define BOOST_TEST_MODULE engine_integration
#include <boost/test/unit_test.hpp>

#include "tests/engine/engine_fixture.hpp"
#include "templates/date_format.hpp"

using namespace rappel;
using namespace rappel::testkit;
using namespace rappel::enginetest;

BOOST_AUTO_TEST_CASE(events_in_exactly_the_expected_messages_out_in_the_right_language) {
    Fixture f;
    f.start();
    const auto due = ymd_text(f.stack.sim_now() + std::chrono::days{40});
    const Holder fr{"Geneviève Côté", "fr", "+16135550142", "g.cote@example.ca", {"sms", "email"}};
    const Holder en{"Pat O'Brien-Tremblay", "en", "+18075550199", "", {"sms"}};
    const Holder none{"Sam Nobody", "en", "", "", {"email"}};
    f.stack.publish(due_event("evt-a1", "FR-1", 1, due, fr));
    f.stack.publish(due_event("evt-a2", "EN-1", 1, due, en));
    f.stack.publish(due_event("evt-a3", "NONE-1", 1, due, none));
    f.stack.flush();

    auto outs = f.wait_all_terminal({"FR-1", "EN-1", "NONE-1"}, 90s);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "sent", "FR-1"), 3);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "sent", "EN-1"), 2);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "sent", "NONE-1"), 0);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "suppressed", "NONE-1"), 3);

    const auto fr_date = templates::format_date(ymd_of(due), Language::fr);
    const auto en_date = templates::format_date(ymd_of(due), Language::en);
    auto fr_sms = f.sms_to(fr.sms);
    auto en_sms = f.sms_to(en.sms);
    BOOST_REQUIRE_EQUAL(fr_sms.size(), 2u);
    BOOST_REQUIRE_EQUAL(en_sms.size(), 2u);
    for (const auto& r : fr_sms) {
        BOOST_CHECK_MESSAGE(r.body.find(fr_date) != std::string::npos, "French date in: " << r.body);
        BOOST_CHECK(r.body.find("Geneviève Côté") != std::string::npos);
        BOOST_CHECK_EQUAL(r.status, 201);
    }
    for (const auto& r : en_sms) BOOST_CHECK_MESSAGE(r.body.find(en_date) != std::string::npos, r.body);
    BOOST_CHECK_NE(fr_sms[0].idempotency_key, fr_sms[1].idempotency_key);

    auto mails = f.stack.smtp().messages();
    BOOST_REQUIRE_EQUAL(mails.size(), 1u);
    BOOST_CHECK(mails[0].find("g.cote@example.ca") != std::string::npos);
    BOOST_CHECK(mails[0].find("Content-Language: fr") != std::string::npos);

    // No contact data or name in any outcome.
    for (const auto& o : outs) {
        const auto text = o.dump();
        for (const auto& secret : {fr.sms, fr.email, en.sms, std::string("Côté"), std::string("O'Brien")})
            BOOST_CHECK_MESSAGE(text.find(secret) == std::string::npos, "outcome leaks contact data: " << text);
    }
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(the_same_events_published_twice_send_nothing_twice) {
    Fixture f;
    f.start();
    const auto due = ymd_text(f.stack.sim_now() + std::chrono::days{38});
    std::vector<std::string> events;
    for (int i = 0; i < 6; ++i)
        events.push_back(due_event(fmt::format("evt-b{}", i), fmt::format("DUP-{}", i), 1, due,
                                   Holder{"Alex", i % 2 ? "fr" : "en", fmt::format("+1613555{:04}", 1000 + i), "",
                                          {"sms"}}));
    for (const auto& e : events) f.stack.publish(e);
    for (const auto& e : events) f.stack.publish(e);  // a producer retrying everything
    f.stack.flush();
    std::set<std::string> licences;
    for (int i = 0; i < 6; ++i) licences.insert(fmt::format("DUP-{}", i));
    auto outs = f.wait_all_terminal(licences, 90s);
    int stale = 0, sent = 0;
    for (const auto& o : outs) {
        if (!licences.count(o.value("licence_id", ""))) continue;
        stale += o.value("status", "") == "stale";
        sent += o.value("status", "") == "sent";
    }
    BOOST_CHECK_EQUAL(stale, 6);
    BOOST_CHECK_EQUAL(sent, 12);
    std::map<std::string, int> per_key;
    for (const auto& r : f.stack.sim().requests())
        if (r.to.rfind("+1613555", 0) == 0 && r.to != "+16135550000") per_key[r.idempotency_key]++;
    BOOST_CHECK_EQUAL(per_key.size(), 12u);
    for (const auto& [key, n] : per_key) BOOST_CHECK_MESSAGE(n == 1, key << " sent " << n << " times");
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(renewed_before_the_first_stage_cancels_everything) {
    Fixture f;
    f.start();
    const auto start = f.stack.sim_now();
    const auto due = ymd_text(start + std::chrono::days{45});
    f.stack.publish(due_event("evt-c1", "RENEW-1", 1, due, Holder{"R", "en", "+16135552001", "r@example.ca", {"sms", "email"}}));
    f.stack.publish(due_event("evt-c2", "KEEP-1", 1, due, Holder{"K", "en", "+16135552002", "", {"sms"}}));
    f.stack.publish(renewed_event("evt-c3", "RENEW-1", 2));
    f.stack.flush();
    auto outs = f.wait_all_terminal({"RENEW-1", "KEEP-1"}, 90s);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "scheduled", "RENEW-1"), 3);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "cancelled", "RENEW-1"), 3);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "sent", "KEEP-1"), 2);  // the engine did run the stages
    BOOST_CHECK(f.stack.sim_now() > start + std::chrono::days{38});
    BOOST_CHECK(f.sms_to("+16135552001").empty());
    BOOST_CHECK(f.stack.smtp().messages().empty());
    f.stop_engine();
}

BOOST_AUTO_TEST_CASE(a_malformed_event_is_dead_lettered_and_the_next_one_processed) {
    Fixture f;
    f.start();
    const auto due = ymd_text(f.stack.sim_now() + std::chrono::days{300});
    const std::string bad = R"({"schema":"renewal-event/1","event_id":"evt-bad","type":"due","program":"drivers-licence")";
    f.stack.publish_raw("drivers-licence/BAD-1", bad);
    f.stack.publish(due_event("evt-e2", "AFTER-BAD", 1, due, Holder{"A", "fr", "+16135553001", "", {"sms"}}));
    f.stack.flush();
    auto dlq = f.stack.dead_letters([](const auto& m) { return !m.empty(); }, 30s);
    BOOST_REQUIRE_EQUAL(dlq.size(), 1u);
    BOOST_CHECK_EQUAL(dlq[0].value.value_or(""), bad);
    BOOST_CHECK_EQUAL(dlq[0].key.value_or(""), "drivers-licence/BAD-1");
    std::map<std::string, std::string> headers(dlq[0].headers.begin(), dlq[0].headers.end());
    BOOST_CHECK_EQUAL(headers["rappel-reason"], "invalid-json");
    BOOST_CHECK_EQUAL(headers["rappel-source-topic"], f.stack.events_topic());
    BOOST_CHECK(!headers["rappel-source-partition"].empty());
    BOOST_CHECK(!headers["rappel-source-offset"].empty());
    auto outs = f.stack.outcomes(
        [](const auto& o) { return Fixture::count(o, "scheduled", "AFTER-BAD") == 2 && Fixture::count(o, "invalid") == 1; },
        30s);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "invalid"), 1);
    BOOST_CHECK_EQUAL(Fixture::count(outs, "scheduled", "AFTER-BAD"), 2);
    f.stop_engine();
}
