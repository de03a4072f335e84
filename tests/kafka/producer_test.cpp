#define BOOST_TEST_MODULE kafka_producer
#include "engine/base/log.hpp"
#include "engine/kafka/kafka.hpp"
#include "engine/kafka/topic_reader.hpp"
#include "tests/kafka/drive.hpp"
#include "tests/support/mock_kafka.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using rappel::kafka::Headers;
using rappel::kafka::Message;
using rappel::kafka::Producer;
using rappel::kafka::test::drive_until;
using rappel::testkit::MockKafka;
using rappel::testkit::TestConsumer;

namespace {

struct Quiet {
    Quiet() { rappel::log::set_level(rappel::log::Level::error); }
};
BOOST_TEST_GLOBAL_FIXTURE(Quiet);

rappel::kafka::Properties producer_props(const MockKafka& mock) {
    return {{"bootstrap.servers", mock.bootstrap()}, {"log_level", "3"}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(delivers_messages_with_headers_and_reports_each) {
    MockKafka mock;
    mock.create_topic("events", 4);
    boost::asio::io_context io;
    Producer producer(io, producer_props(mock));

    constexpr int n = 200;
    std::vector<Producer::DeliveryReport> reports(n);
    int fired = 0;
    for (int i = 0; i < n; ++i) {
        Headers h{{"event-id", "e" + std::to_string(i)}, {"schema", "v1"}};
        bool queued =
            producer.produce("events", -1, "key-" + std::to_string(i % 17), "value-" + std::to_string(i), h,
                             [&reports, &fired, i](const Producer::DeliveryReport& r) {
                                 reports[static_cast<std::size_t>(i)] = r;
                                 ++fired;
                             });
        BOOST_REQUIRE(queued);
    }
    BOOST_CHECK_GT(producer.in_flight(), 0u);
    BOOST_REQUIRE(drive_until(
        io, [&] { return fired == n; }, 20s));
    BOOST_CHECK_EQUAL(producer.in_flight(), 0u);

    std::set<std::pair<int, long>> positions;
    for (const auto& r : reports) {
        BOOST_CHECK_MESSAGE(r.ok, r.error);
        BOOST_CHECK_GE(r.partition, 0);
        BOOST_CHECK_LT(r.partition, 4);
        BOOST_CHECK_GE(r.offset, 0);
        positions.emplace(r.partition, r.offset);
    }
    BOOST_CHECK_EQUAL(positions.size(), static_cast<std::size_t>(n));

    TestConsumer reader(mock.bootstrap(), "events");
    auto got = reader.poll_until([&](const auto& all) { return all.size() >= n; }, 20s);
    BOOST_REQUIRE_EQUAL(got.size(), static_cast<std::size_t>(n));
    std::map<std::string, const Message*> by_value;
    for (const auto& m : got) by_value[m.value.value_or("<null>")] = &m;
    for (int i = 0; i < n; ++i) {
        auto it = by_value.find("value-" + std::to_string(i));
        BOOST_REQUIRE(it != by_value.end());
        const Message& m = *it->second;
        BOOST_CHECK(m.key == "key-" + std::to_string(i % 17));
        Headers expected{{"event-id", "e" + std::to_string(i)}, {"schema", "v1"}};
        BOOST_CHECK(m.headers == expected);
        BOOST_CHECK(m.timestamp_ms > 0);
        // The report's position is where the message really landed.
        const auto& r = reports[static_cast<std::size_t>(i)];
        BOOST_CHECK_EQUAL(m.partition, r.partition);
        BOOST_CHECK_EQUAL(m.offset, r.offset);
    }
    // Same key, same partition.
    std::map<std::string, std::set<int>> partitions_of_key;
    for (const auto& m : got) partitions_of_key[*m.key].insert(m.partition);
    for (const auto& [key, parts] : partitions_of_key) BOOST_CHECK_EQUAL(parts.size(), 1u);
}

BOOST_AUTO_TEST_CASE(explicit_partition_null_key_and_tombstone) {
    MockKafka mock;
    mock.create_topic("t", 3);
    boost::asio::io_context io;
    Producer producer(io, producer_props(mock));
    int ok = 0;
    auto count = [&ok](const Producer::DeliveryReport& r) {
        BOOST_CHECK_MESSAGE(r.ok, r.error);
        BOOST_CHECK_EQUAL(r.partition, 2);
        if (r.ok) ++ok;
    };
    BOOST_REQUIRE(producer.produce("t", 2, std::nullopt, "no-key", {}, count));
    BOOST_REQUIRE(producer.produce("t", 2, "k", std::nullopt, {}, count));
    BOOST_REQUIRE(drive_until(
        io, [&] { return ok == 2; }, 10s));

    TestConsumer reader(mock.bootstrap(), "t");
    auto got = reader.poll_until([](const auto& all) { return all.size() >= 2; }, 10s);
    BOOST_REQUIRE_EQUAL(got.size(), 2u);
    BOOST_CHECK_EQUAL(got[0].partition, 2);
    BOOST_CHECK(!got[0].key.has_value());
    BOOST_CHECK(got[0].value == std::optional<std::string>("no-key"));
    BOOST_CHECK(got[1].key == std::optional<std::string>("k"));
    BOOST_CHECK(!got[1].value.has_value());
}

BOOST_AUTO_TEST_CASE(undeliverable_message_reports_failure) {
    MockKafka mock;
    mock.create_topic("small", 1);
    boost::asio::io_context io;
    auto props = producer_props(mock);
    props["message.timeout.ms"] = "2000";
    Producer producer(io, props);
    std::optional<Producer::DeliveryReport> report;
    BOOST_REQUIRE(
        producer.produce("small", 7, "k", "v", {}, [&](const Producer::DeliveryReport& r) { report = r; }));
    BOOST_REQUIRE(drive_until(
        io, [&] { return report.has_value(); }, 10s));
    BOOST_CHECK(!report->ok);
    BOOST_CHECK(!report->error.empty());
    BOOST_CHECK_EQUAL(producer.in_flight(), 0u);
}

BOOST_AUTO_TEST_CASE(flush_waits_for_everything) {
    MockKafka mock;
    mock.create_topic("f", 2);
    boost::asio::io_context io;
    Producer producer(io, producer_props(mock));
    int fired = 0;
    for (int i = 0; i < 50; ++i) {
        BOOST_REQUIRE(producer.produce("f", -1, "k" + std::to_string(i), "v", {},
                                       [&fired](const Producer::DeliveryReport& r) {
                                           BOOST_CHECK(r.ok);
                                           ++fired;
                                       }));
    }
    BOOST_CHECK(producer.flush(10s));
    BOOST_CHECK_EQUAL(fired, 50);
    BOOST_CHECK_EQUAL(producer.in_flight(), 0u);
}

BOOST_AUTO_TEST_CASE(destroying_with_messages_in_flight_drops_their_callbacks) {
    MockKafka mock;
    mock.create_topic("d", 1);
    boost::asio::io_context io;
    int fired = 0;
    {
        Producer producer(io, producer_props(mock));
        for (int i = 0; i < 20; ++i) {
            BOOST_REQUIRE(producer.produce("d", -1, std::nullopt, "v", {{"h", "x"}},
                                           [&fired](const Producer::DeliveryReport&) { ++fired; }));
        }
    }
    io.restart();
    io.poll();  // handlers left behind by the producer must be harmless
    BOOST_CHECK_EQUAL(fired, 0);
}

BOOST_AUTO_TEST_CASE(batch_is_delivered_with_one_callback_after_the_last_message) {
    MockKafka mock;
    mock.create_topic("b", 4);
    boost::asio::io_context io;
    Producer producer(io, producer_props(mock));
    constexpr int n = 300;
    std::vector<std::string> keys, values;
    for (int i = 0; i < n; ++i) {
        keys.push_back("key-" + std::to_string(i % 13));
        values.push_back("value-" + std::to_string(i));
    }
    std::vector<Producer::Record> records;
    for (int i = 0; i < n; ++i)
        records.push_back({keys[static_cast<std::size_t>(i)], values[static_cast<std::size_t>(i)],
                           std::pair<std::string_view, std::string_view>("rappel-outbox", values[static_cast<std::size_t>(i)])});
    int calls = 0;
    std::size_t failed = 99;
    bool ok = false;
    producer.produce_batch("b", records, {{"rappel-partition", "3"}},
                           [&](const Producer::DeliveryReport& r, std::size_t f) {
                               ++calls;
                               ok = r.ok;
                               failed = f;
                           });
    BOOST_CHECK_EQUAL(calls, 0);  // never inside the call
    BOOST_REQUIRE(drive_until(
        io, [&] { return calls > 0; }, 20s));
    BOOST_CHECK_EQUAL(calls, 1);
    BOOST_CHECK(ok);
    BOOST_CHECK_EQUAL(failed, 0u);
    BOOST_CHECK_EQUAL(producer.in_flight(), 0u);  // every message acknowledged before the callback

    TestConsumer reader(mock.bootstrap(), "b");
    auto got = reader.poll_until([&](const auto& all) { return all.size() >= n; }, 20s);
    BOOST_REQUIRE_EQUAL(got.size(), static_cast<std::size_t>(n));
    std::set<std::string> seen;
    for (const auto& m : got) {
        seen.insert(m.value.value_or(""));
        // The batch's headers, then the message's own.
        BOOST_CHECK(m.headers == (Headers{{"rappel-partition", "3"}, {"rappel-outbox", m.value.value_or("")}}));
    }
    BOOST_CHECK_EQUAL(seen.size(), static_cast<std::size_t>(n));
}

BOOST_AUTO_TEST_CASE(batch_with_messages_the_producer_refuses_fails_once_and_counts_them) {
    MockKafka mock;
    mock.create_topic("small", 1);
    boost::asio::io_context io;
    auto props = producer_props(mock);
    props["message.max.bytes"] = "1000";
    Producer producer(io, props);
    const std::string big(2000, 'x');
    const std::vector<Producer::Record> records{{"a", big}, {"b", "fits"}, {"c", big}};
    int calls = 0;
    std::size_t failed = 0;
    Producer::DeliveryReport first;
    first.ok = true;
    producer.produce_batch("small", records, {}, [&](const Producer::DeliveryReport& r, std::size_t f) {
        ++calls;
        first = r;
        failed = f;
    });
    BOOST_CHECK_EQUAL(calls, 0);
    BOOST_REQUIRE(drive_until(
        io, [&] { return calls > 0; }, 15s));
    BOOST_CHECK_EQUAL(calls, 1);
    BOOST_CHECK(!first.ok);
    BOOST_CHECK(first.failure == Producer::DeliveryReport::Failure::too_large);
    BOOST_CHECK_EQUAL(failed, 2u);
    // The message that fitted was still delivered.
    TestConsumer reader(mock.bootstrap(), "small");
    auto got = reader.poll_until([](const auto& all) { return !all.empty(); }, 10s);
    BOOST_REQUIRE_EQUAL(got.size(), 1u);
    BOOST_CHECK(got[0].value == std::optional<std::string>("fits"));
}

BOOST_AUTO_TEST_CASE(destroying_with_a_batch_in_flight_drops_its_callback) {
    MockKafka mock;
    mock.create_topic("d", 1);
    boost::asio::io_context io;
    int fired = 0;
    {
        Producer producer(io, producer_props(mock));
        const std::vector<Producer::Record> records(20, Producer::Record{std::nullopt, "v"});
        producer.produce_batch("d", records, {}, [&fired](const Producer::DeliveryReport&, std::size_t) { ++fired; });
    }
    io.restart();
    io.poll();
    BOOST_CHECK_EQUAL(fired, 0);
}

// The relay's read-back (engine/core/relay.cpp) starts the outcomes topic at a time.
BOOST_AUTO_TEST_CASE(topic_reader_starts_each_partition_at_a_time) {
    MockKafka mock;
    mock.create_topic("timed", 2);
    boost::asio::io_context io;
    Producer producer(io, producer_props(mock));
    auto send = [&](const std::string& prefix) {
        int acked = 0;
        for (int i = 0; i < 4; ++i)
            BOOST_REQUIRE(producer.produce("timed", i % 2, std::nullopt, prefix + std::to_string(i), {},
                                           [&acked](const Producer::DeliveryReport& r) { acked += r.ok; }));
        BOOST_REQUIRE(drive_until(
            io, [&] { return acked == 4; }, 10s));
    };
    send("old-");
    TestConsumer first(mock.bootstrap(), "timed");
    auto old = first.poll_until([](const auto& all) { return all.size() >= 4; }, 10s);
    BOOST_REQUIRE_EQUAL(old.size(), 4u);
    std::int64_t last_old = 0;
    for (const auto& m : old) last_old = std::max(last_old, m.timestamp_ms);
    const std::int64_t since = last_old + 1;
    // Wait for the wall clock (message times) to pass `since`.
    BOOST_REQUIRE(drive_until(
        io,
        [&] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count() > since;
        },
        5s));
    send("new-");

    rappel::kafka::TopicReader reader({{"bootstrap.servers", mock.bootstrap()}, {"group.id", "reader"}}, "timed");
    auto total = reader.open(10s, since);
    BOOST_REQUIRE_MESSAGE(total.ok(), (total.ok() ? std::string() : total.error().message));
    // At least the messages since then: all of them where the broker cannot look offsets up
    // by time (the mock cluster cannot: there it is all 8), exactly those where it can.
    BOOST_CHECK_GE(total.value(), 4);
    std::set<std::string> got;
    for (int i = 0; i < 100 && !reader.at_end(); ++i) {
        auto msgs = reader.next(100, 100ms);
        BOOST_REQUIRE(msgs.ok());
        for (const auto& m : msgs.value()) got.insert(m.value.value_or(""));
    }
    BOOST_CHECK(reader.at_end());
    for (const char* v : {"new-0", "new-1", "new-2", "new-3"}) BOOST_CHECK_MESSAGE(got.count(v), v);
    BOOST_CHECK_EQUAL(got.size(), static_cast<std::size_t>(total.value()));

    // After everything: nothing to read.
    rappel::kafka::TopicReader later({{"bootstrap.servers", mock.bootstrap()}, {"group.id", "reader"}}, "timed");
    auto none = later.open(10s, since + 3'600'000);
    BOOST_REQUIRE(none.ok());
    BOOST_CHECK_EQUAL(none.value(), 0);
    BOOST_CHECK(later.at_end());
}

BOOST_AUTO_TEST_CASE(bad_property_throws_with_its_name) {
    boost::asio::io_context io;
    try {
        Producer producer(io, {{"no.such.property", "1"}});
        BOOST_FAIL("expected an exception");
    } catch (const std::runtime_error& e) {
        BOOST_CHECK(std::string(e.what()).find("no.such.property") != std::string::npos);
    }
}
