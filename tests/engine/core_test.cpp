// Unit tests of the engine core against fakes of its ports (no Kafka, no Redis, no sleeps).
#define BOOST_TEST_MODULE engine_core
#include "engine/core/compose.hpp"
#include "tests/engine/core_harness.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace rappel;
using namespace rappel::testing;
using scheduler::RecordStatus;

namespace {

std::string header(const kafka::Headers& hs, const std::string& name) {
    for (const auto& [k, v] : hs)
        if (k == name) return v;
    return "<none>";
}

scheduler::ClaimBatch batch_of(std::vector<scheduler::ClaimedReminder> items) {
    scheduler::ClaimBatch b;
    b.items = std::move(items);
    return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ownership)

BOOST_AUTO_TEST_CASE(offset_read_failure_is_retried_never_from_the_beginning) {
    Harness h;
    h.events.assign({0});
    h.until([&] { return h.store.offsets.size() == 1; }, "first read");
    h.events.deliver({valid(5)});  // before the offset is known: dropped
    h.store.answer_offset(fakes::redis_down());
    h.until([&] { return h.store.offsets.size() == 1; }, "second read");
    BOOST_TEST(h.events.seeks.empty());
    BOOST_TEST(h.events.resumed_calls.empty());
    BOOST_TEST(h.core->stats().events_consumed == 0U);
    h.store.answer_offset(std::optional<std::int64_t>{42});
    BOOST_REQUIRE_EQUAL(h.events.seeks.size(), 1U);
    BOOST_TEST(h.events.seeks[0].second == 42);
    BOOST_TEST(h.events.resumed_calls == std::vector<std::int32_t>{0});
}

BOOST_AUTO_TEST_CASE(no_stored_offset_means_the_beginning) {
    Harness h;
    h.own(3, std::nullopt);
    BOOST_REQUIRE_EQUAL(h.events.seeks.size(), 1U);
    BOOST_TEST(h.events.seeks[0].first == 3);
    BOOST_TEST(h.events.seeks[0].second == kafka::kOffsetBeginning);
}

BOOST_AUTO_TEST_CASE(reassignment_during_an_apply_restarts_the_loop) {
    Harness h;
    h.own(0, 10);
    h.events.deliver({valid(10)});
    BOOST_REQUIRE_EQUAL(h.store.applies.size(), 1U);
    h.events.revoke({0});
    h.events.deliver({valid(11)});  // not ours: dropped
    h.own(0, 11);
    h.events.deliver({valid(11)});
    BOOST_TEST(h.store.applies.size() == 1U);  // one apply per partition at a time
    h.store.answer(h.store.applies, applied(1, 11));
    BOOST_TEST(h.events.commits.empty());  // the old generation's result is not ours to commit
    BOOST_REQUIRE_EQUAL(h.store.applies.size(), 1U);
    BOOST_REQUIRE_EQUAL(h.store.applies[0].items.size(), 1U);
    BOOST_TEST(h.store.applies[0].items[0].offset == 11);
    h.store.answer(h.store.applies, applied(1, 12));
    BOOST_REQUIRE_EQUAL(h.events.commits.size(), 1U);
    BOOST_TEST(h.events.commits[0].second == 12);
    BOOST_TEST(h.core->stats().events_consumed == 2U);
}

BOOST_AUTO_TEST_CASE(apply_failure_is_retried_with_the_same_items) {
    Harness h;
    h.own(0, 0);
    h.events.deliver({valid(0), valid(1, "L2")});
    BOOST_REQUIRE_EQUAL(h.store.applies.size(), 1U);
    h.store.answer(h.store.applies, Result<scheduler::ApplyResult>(fakes::redis_down()));
    h.until([&] { return h.store.applies.size() == 1; }, "retried apply");
    BOOST_TEST(h.store.applies[0].items.size() == 2U);
    BOOST_TEST(h.store.applies[0].items[0].plan.size() == 2U);  // sms and email stage channels
    h.store.answer(h.store.applies, applied(2, 2));
    BOOST_TEST(h.core->stats().events_applied == 2U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ingest)

BOOST_AUTO_TEST_CASE(backpressure_pauses_above_n_and_resumes_below_half) {
    auto opts = Harness::fast_options();
    opts.pause_above = 4;
    Harness h(opts);
    h.cfg.engine.ingest_batch = 1;
    h.own(0, 0);
    std::vector<kafka::Message> msgs;
    for (int i = 0; i < 7; ++i) msgs.push_back(valid(i, "L" + std::to_string(i)));
    h.events.deliver(std::move(msgs));  // one taken by the apply, six buffered
    BOOST_TEST(h.events.paused_calls == std::vector<std::int32_t>{0});
    int next = 1;
    while (h.events.resumed_calls.size() < 2) {  // the first resume is the one after seeking
        BOOST_REQUIRE(!h.store.applies.empty());
        h.store.answer(h.store.applies, applied(1, next++));
    }
    BOOST_TEST(next == 7);  // resumed once fewer than 2 were buffered
}

BOOST_AUTO_TEST_CASE(key_mismatch_and_versions) {
    Harness h;
    h.own(0, 0);
    h.events.deliver({message(0, event_json("L1", "1"), "p/OTHER"),
                      message(1, event_json("L1", "9223372036854775808"), "p/L1"),
                      message(2, event_json("L1", "9223372036854775807"), "p/L1"),
                      message(3, event_json("L1", "9007199254740993"), "p/L1"),
                      message(4, event_json("L1", "1"), std::nullopt)});
    h.until([&] { return h.store.applies.size() == 1; }, "apply");
    const auto& items = h.store.applies[0].items;
    BOOST_REQUIRE_EQUAL(items.size(), 5U);
    BOOST_REQUIRE(items[0].invalid);
    BOOST_TEST(items[0].invalid->reason == "key-mismatch");
    BOOST_TEST(items[0].key == "p/OTHER");
    BOOST_REQUIRE(items[1].invalid);
    BOOST_TEST(items[1].invalid->reason == "invalid-value");
    BOOST_TEST(items[1].invalid->detail.find("version") != std::string::npos);
    BOOST_REQUIRE(!items[2].invalid);
    BOOST_TEST(items[2].event.version == INT64_MAX);
    BOOST_REQUIRE(!items[3].invalid);
    BOOST_TEST(items[3].event.version == 9007199254740993LL);
    BOOST_REQUIRE(items[4].invalid);
    BOOST_TEST(items[4].invalid->reason == "key-mismatch");
    BOOST_TEST(h.producer.to("events.dlq").size() == 3U);
    BOOST_TEST(h.core->stats().events_invalid == 3U);
}

BOOST_AUTO_TEST_CASE(dead_letter_refusals_never_stop_the_partition_nor_duplicate) {
    Harness h;
    h.own(0, 0);
    const std::string huge(1'010'000, 'x');
    h.producer.policy = [](const fakes::FakeProducer::Sent& s) {
        if (s.topic != "events.dlq") return core::Delivery{};
        if (s.value == "refused") return core::Delivery{core::DeliveryStatus::refused, "Unknown topic"};
        if (s.value == "flaky") return core::Delivery{core::DeliveryStatus::retriable, "timed out"};
        if (s.value && s.value->size() > 1'000'000) return core::Delivery{core::DeliveryStatus::too_large, "too large"};
        return core::Delivery{};
    };
    h.events.deliver({message(0, "refused", "k"), message(1, "flaky", "k"), message(2, huge, "k"), valid(3)});
    h.until([&] { return h.store.applies.size() == 1; }, "apply despite refusals");
    BOOST_TEST(h.store.applies[0].items.size() == 4U);
    BOOST_TEST(h.core->stats().dead_letters_failed == 2U);
    const auto dlq = h.producer.to("events.dlq");
    // refused once, flaky dead_letter_attempts times, huge twice (original, truncated copy)
    BOOST_TEST(dlq.size() == 1U + static_cast<std::size_t>(core::CoreOptions{}.dead_letter_attempts) + 2U);
    const auto copy_it = std::find_if(dlq.begin(), dlq.end(), [](const fakes::FakeProducer::Sent& s) {
        return header(s.headers, "rappel-truncated") != "<none>";
    });
    BOOST_REQUIRE(copy_it != dlq.end());
    const auto& copy = *copy_it;
    BOOST_TEST(header(copy.headers, "rappel-truncated") == std::to_string(huge.size() + 1));
    BOOST_TEST(header(copy.headers, "rappel-reason") == "too-large");
    BOOST_TEST(header(copy.headers, "rappel-source-offset") == "2");
    BOOST_TEST(copy.value->size() < 1'000'000U);
    BOOST_TEST(copy.value->size() > 900'000U);
    // A failed apply retried does not dead-letter again.
    const auto before = h.producer.sent.size();
    h.store.answer(h.store.applies, Result<scheduler::ApplyResult>(fakes::redis_down()));
    h.until([&] { return h.store.applies.size() == 1; }, "retried apply");
    BOOST_TEST(h.producer.sent.size() == before);
    // Nor does a re-delivery after a re-assignment.
    h.events.revoke({0});
    h.store.answer(h.store.applies, Result<scheduler::ApplyResult>(fakes::redis_down()));
    h.own(0, 0);
    h.events.deliver({message(0, "refused", "k"), message(1, "flaky", "k"), message(2, huge, "k"), valid(3)});
    h.until([&] { return h.store.applies.size() == 1; }, "apply after re-assignment");
    h.settle();
    BOOST_TEST(h.producer.sent.size() == before);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dispatch)

BOOST_AUTO_TEST_CASE(in_flight_is_never_reclaimed_and_slots_do_not_leak) {
    Harness h(Harness::fast_options(), 2);
    h.own(0, 0);
    h.until([&] { return !h.store.claims.empty(); }, "claim");
    BOOST_TEST(h.store.claims[0].max == 2);
    auto a = reminder("A");
    auto b = reminder("B");
    h.store.answer(h.store.claims, batch_of({a, b}));
    BOOST_REQUIRE_EQUAL(h.sms->pending.size(), 2U);
    BOOST_TEST(h.sms->pending[0].first.text.find("Ada") != std::string::npos);
    h.sms->answer({channels::SendStatus::accepted, "m1", "", {}});
    h.until([&] { return h.store.records.size() == 1; }, "record");
    // Redis down longer than the lease: the record keeps failing, nothing is claimed again.
    h.store.answer(h.store.records, Result<std::vector<RecordStatus>>(fakes::redis_down()));
    h.until([&] { return h.store.records.size() == 1; }, "record retried");
    BOOST_TEST(h.store.claims.empty());  // both slots held
    BOOST_TEST(h.store.records[0].records.size() == 1U);
    h.store.answer(h.store.records, std::vector<RecordStatus>{RecordStatus::fenced});
    h.until([&] { return !h.store.claims.empty(); }, "claim with the freed slot");
    auto& c = h.store.claims[0];
    BOOST_TEST(c.max == 1);
    BOOST_TEST(c.skip(b.ref));       // B still sending
    BOOST_TEST(!c.skip(a.ref));      // A recorded
    // A store ignoring `skip` does not count B twice.
    h.store.answer(h.store.claims, batch_of({b}));
    BOOST_TEST(h.sms->pending.size() == 1U);
    h.sms->answer({channels::SendStatus::retry, "", "http 503", {}});
    h.until([&] { return h.store.records.size() == 1; }, "record of B");
    BOOST_TEST((h.store.records[0].records[0].result == scheduler::AttemptResult::retry));
    h.store.answer(h.store.records, std::vector<RecordStatus>{RecordStatus::retrying});
    h.settle();
    BOOST_TEST(h.store.claims.empty());  // the retry is not due yet
    h.clock->advance(std::chrono::hours{2});
    h.until([&] { return !h.store.claims.empty(); }, "claim with both slots");
    BOOST_TEST(h.store.claims[0].max == 2);
    const auto s = h.core->stats();
    BOOST_TEST(s.reminders_claimed == 2U);
    BOOST_TEST(s.sends_accepted == 1U);
    BOOST_TEST(s.sends_retried == 1U);
}

BOOST_AUTO_TEST_CASE(results_are_recorded_in_batches) {
    Harness h;
    h.own(0, 0);
    h.until([&] { return !h.store.claims.empty(); }, "claim");
    h.store.answer(h.store.claims, batch_of({reminder("A"), reminder("B"), reminder("C", ChannelKind::email)}));
    BOOST_REQUIRE_EQUAL(h.sms->pending.size(), 2U);
    BOOST_REQUIRE_EQUAL(h.email->pending.size(), 1U);
    BOOST_TEST(!h.email->pending[0].first.subject.empty());
    h.sms->answer({channels::SendStatus::accepted, "m1", "", {}});
    h.sms->answer({channels::SendStatus::rejected, "", "http 400", {}});
    h.email->answer({channels::SendStatus::accepted, "m3", "", {}});
    BOOST_REQUIRE_EQUAL(h.store.records.size(), 1U);
    BOOST_TEST(h.store.records[0].records.size() == 1U);
    h.store.answer(h.store.records, std::vector<RecordStatus>{RecordStatus::sent});
    BOOST_REQUIRE_EQUAL(h.store.records.size(), 1U);
    BOOST_TEST(h.store.records[0].records.size() == 2U);  // the two that waited
    BOOST_TEST((h.store.records[0].records[0].result == scheduler::AttemptResult::failed));
}

BOOST_AUTO_TEST_CASE(outbox_entries_are_published_then_deleted) {
    Harness h;
    h.store.outbox[0] = {{"1-0", {{"p/L1", "{\"a\":1}"}, {"p/L1", "{\"a\":2}"}}}};
    h.own(0, 0);
    h.until([&] { return !h.store.deleted.empty(); }, "outbox deleted");
    BOOST_TEST(h.producer.to("outcomes").size() == 2U);
    BOOST_TEST(h.core->stats().outcomes_relayed == 2U);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stopping)

BOOST_AUTO_TEST_CASE(waits_for_sends_then_releases_what_is_claimed) {
    auto opts = Harness::fast_options();
    opts.stop_deadline = std::chrono::milliseconds{50};
    Harness h(opts);
    h.own(0, 0);
    h.until([&] { return !h.store.claims.empty(); }, "claim");
    h.store.answer(h.store.claims, batch_of({reminder("A"), reminder("B")}));
    bool done = false;
    h.core->shutdown([&] { done = true; });
    h.sms->answer({channels::SendStatus::accepted, "m1", "", {}});
    h.until([&] { return !h.store.records.empty(); }, "record while stopping");
    h.store.answer(h.store.records, std::vector<RecordStatus>{RecordStatus::sent});
    BOOST_TEST(h.store.releases.empty());  // B is still sending
    // B never answers: after the deadline it is released.
    h.until([&] { return !h.store.releases.empty(); }, "release");
    BOOST_REQUIRE_EQUAL(h.store.releases[0].refs.size(), 1U);
    BOOST_TEST(h.store.releases[0].refs[0].licence == "B");
    BOOST_TEST(!done);
    h.store.answer(h.store.releases, std::int64_t{1});
    h.until([&] { return done; }, "stopped");
    BOOST_TEST(h.events.closed);
    BOOST_TEST(h.producer.flushed);
}

BOOST_AUTO_TEST_CASE(stops_at_once_when_idle) {
    Harness h;
    h.own(0, 0);
    h.until([&] { return !h.store.claims.empty(); }, "claim");
    h.store.answer(h.store.claims, batch_of({}));
    bool done = false;
    h.core->shutdown([&] { done = true; });
    h.until([&] { return done; }, "stopped");
    BOOST_TEST(h.store.releases.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(compose)

struct ComposeFixture {
    TempDir dir;
    config::Config cfg = test_config(write_templates(dir));
    templates::TemplateSet tmpl = templates::TemplateSet::load(cfg);
};

BOOST_FIXTURE_TEST_CASE(both_languages, ComposeFixture) {
    auto en = core::compose(reminder("A"), cfg, tmpl);
    BOOST_REQUIRE(std::holds_alternative<channels::Message>(en));
    BOOST_TEST(std::get<channels::Message>(en).text.find("Test permit") != std::string::npos);
    BOOST_TEST(std::get<channels::Message>(en).to == "+16135550142");
    auto fr = core::compose(reminder("A", ChannelKind::email, Language::fr), cfg, tmpl);
    BOOST_REQUIRE(std::holds_alternative<channels::Message>(fr));
    const auto& m = std::get<channels::Message>(fr);
    BOOST_TEST(m.subject == "Rappel");
    BOOST_TEST(m.text.find("Permis d'essai") != std::string::npos);
    BOOST_TEST(m.to == "ada@example.ca");
    BOOST_TEST((m.language == Language::fr));
}

BOOST_FIXTURE_TEST_CASE(errors, ComposeFixture) {
    auto r = reminder("A", ChannelKind::voice);
    auto no_contact = core::compose(r, cfg, tmpl);
    BOOST_REQUIRE(std::holds_alternative<core::ComposeError>(no_contact));
    BOOST_TEST((std::get<core::ComposeError>(no_contact).kind == core::ComposeError::Kind::no_contact));

    r = reminder("A");
    r.program = "gone";
    auto unknown = core::compose(r, cfg, tmpl);
    BOOST_REQUIRE(std::holds_alternative<core::ComposeError>(unknown));
    BOOST_TEST((std::get<core::ComposeError>(unknown).kind == core::ComposeError::Kind::unknown_program));

    for (auto lang : {Language::en, Language::fr}) {
        r = reminder("A", ChannelKind::voice, lang);
        r.payload.voice = "+16135550143";  // no voice template
        auto bad = core::compose(r, cfg, tmpl);
        BOOST_REQUIRE(std::holds_alternative<core::ComposeError>(bad));
        const auto& e = std::get<core::ComposeError>(bad);
        BOOST_TEST((e.kind == core::ComposeError::Kind::template_error));
        BOOST_TEST(e.reason().rfind("template: ", 0) == 0U);
    }
}

BOOST_AUTO_TEST_SUITE_END()
