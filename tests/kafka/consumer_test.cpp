#define BOOST_TEST_MODULE kafka_consumer
#include "engine/base/log.hpp"
#include "engine/kafka/kafka.hpp"
#include "tests/kafka/drive.hpp"
#include "tests/support/mock_kafka.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using rappel::kafka::Consumer;
using rappel::kafka::Headers;
using rappel::kafka::Message;
using rappel::kafka::TopicPartitionOffset;
using rappel::kafka::test::drive_until;
using rappel::testkit::group_consumer_properties;
using rappel::testkit::MockKafka;
using rappel::testkit::TestProducer;
using rappel::testkit::unique_group;

namespace {

struct Quiet {
    Quiet() { rappel::log::set_level(rappel::log::Level::error); }
};
BOOST_TEST_GLOBAL_FIXTURE(Quiet);

// Fills each partition with `per_partition` messages keyed "p<partition>-<index>".
void fill(const MockKafka& mock, const std::string& topic, int partitions, int per_partition) {
    TestProducer producer(mock.bootstrap());
    for (int p = 0; p < partitions; ++p) {
        for (int i = 0; i < per_partition; ++i) {
            std::string id = "p" + std::to_string(p) + "-" + std::to_string(i);
            producer.send(topic, id, "value-" + id, {{"id", id}}, p);
        }
    }
    producer.flush();
}

// Records everything a consumer reports.
struct Recorder {
    std::vector<Message> messages;
    std::vector<std::size_t> batch_sizes;
    std::vector<std::vector<TopicPartitionOffset>> assigned;
    std::vector<std::vector<TopicPartitionOffset>> revoked;
    std::vector<std::string> errors;
    std::map<std::int32_t, std::int64_t> start_offsets;  // applied in on_assign
    std::chrono::steady_clock::time_point first_assign{};

    Consumer::Handlers handlers() {
        Consumer::Handlers h;
        h.on_messages = [this](std::vector<Message>&& batch) {
            batch_sizes.push_back(batch.size());
            for (auto& m : batch) messages.push_back(std::move(m));
        };
        h.on_assign = [this](std::vector<TopicPartitionOffset>& parts) {
            if (assigned.empty()) first_assign = std::chrono::steady_clock::now();
            for (auto& p : parts) {
                if (auto it = start_offsets.find(p.partition); it != start_offsets.end()) {
                    p.offset = it->second;
                }
            }
            assigned.push_back(parts);
        };
        h.on_revoke = [this](const std::vector<TopicPartitionOffset>& parts) { revoked.push_back(parts); };
        h.on_error = [this](std::string_view e) { errors.emplace_back(e); };
        return h;
    }

    std::set<std::int32_t> assigned_partitions() const {
        std::set<std::int32_t> out;
        for (const auto& a : assigned)
            for (const auto& p : a) out.insert(p.partition);
        return out;
    }
    std::set<std::int32_t> revoked_partitions() const {
        std::set<std::int32_t> out;
        for (const auto& r : revoked)
            for (const auto& p : r) out.insert(p.partition);
        return out;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(group_consumer_reads_all_partitions_from_assigned_offsets) {
    MockKafka mock;
    mock.create_topic("in", 4);
    fill(mock, "in", 4, 10);

    boost::asio::io_context io;
    Recorder rec;
    rec.start_offsets[0] = 5;  // skip the first five messages of partition 0
    const std::size_t max_batch = 7;
    Consumer consumer(io, group_consumer_properties(mock.bootstrap(), unique_group("g")), {"in"},
                      rec.handlers(), max_batch);
    const auto started = std::chrono::steady_clock::now();
    consumer.start();

    BOOST_REQUIRE(drive_until(
        io, [&] { return rec.messages.size() >= 35; }, 30s));
    BOOST_TEST_MESSAGE(
        "group join (start -> on_assign): "
        << std::chrono::duration_cast<std::chrono::milliseconds>(rec.first_assign - started).count()
        << " ms");

    BOOST_CHECK((rec.assigned_partitions() == std::set<std::int32_t>{0, 1, 2, 3}));
    BOOST_CHECK_EQUAL(rec.messages.size(), 35u);
    std::set<std::pair<std::int32_t, std::int64_t>> seen;
    for (const auto& m : rec.messages) {
        BOOST_CHECK_EQUAL(m.topic, "in");
        if (m.partition == 0) BOOST_CHECK_GE(m.offset, 5);
        BOOST_CHECK(seen.emplace(m.partition, m.offset).second);
        const std::string id = "p" + std::to_string(m.partition) + "-" + std::to_string(m.offset);
        BOOST_CHECK(m.key == id);
        BOOST_CHECK(m.value == "value-" + id);
        BOOST_CHECK((m.headers == Headers{{"id", id}}));
    }
    for (auto size : rec.batch_sizes) {
        BOOST_CHECK_GT(size, 0u);
        BOOST_CHECK_LE(size, max_batch);
    }
    // Per-partition order is preserved.
    std::map<std::int32_t, std::int64_t> last;
    for (const auto& m : rec.messages) {
        auto it = last.find(m.partition);
        if (it != last.end()) BOOST_CHECK_GT(m.offset, it->second);
        last[m.partition] = m.offset;
    }

    BOOST_TEST_MESSAGE("on_assign -> all messages: "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - rec.first_assign)
                              .count()
                       << " ms");
    BOOST_CHECK(rec.revoked.empty());
    const auto closing = std::chrono::steady_clock::now();
    consumer.close();
    BOOST_TEST_MESSAGE("close: " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - closing)
                                        .count()
                                 << " ms");
    BOOST_CHECK((rec.revoked_partitions() == std::set<std::int32_t>{0, 1, 2, 3}));
    BOOST_CHECK_MESSAGE(rec.errors.empty(), "first error: " << (rec.errors.empty() ? "" : rec.errors[0]));
}

BOOST_AUTO_TEST_CASE(new_consumer_resumes_after_committed_offsets) {
    MockKafka mock;
    mock.create_topic("jobs", 4);
    fill(mock, "jobs", 4, 10);
    const std::string group = unique_group("resume");
    boost::asio::io_context io;

    {
        Recorder rec;
        Consumer first(io, group_consumer_properties(mock.bootstrap(), group), {"jobs"}, rec.handlers());
        first.start();
        BOOST_REQUIRE(drive_until(
            io, [&] { return rec.messages.size() >= 40; }, 30s));
        // Everything up to offset 5 of each partition is done: the next one to read is 6.
        std::vector<TopicPartitionOffset> done;
        for (std::int32_t p = 0; p < 4; ++p) done.push_back({"jobs", p, 6});
        first.commit(done);
        first.close();
        BOOST_CHECK_EQUAL(rec.revoked_partitions().size(), 4u);
    }

    Recorder rec;
    {
        Consumer second(io, group_consumer_properties(mock.bootstrap(), group), {"jobs"}, rec.handlers());
        second.start();
        BOOST_REQUIRE(drive_until(
            io, [&] { return rec.messages.size() >= 16; }, 30s));
        for (const auto& a : rec.assigned)
            for (const auto& p : a) BOOST_CHECK_EQUAL(p.offset, -1001);  // untouched: committed
        BOOST_CHECK_EQUAL(rec.messages.size(), 16u);
        std::map<std::int32_t, std::int64_t> first_offset;
        for (const auto& m : rec.messages) first_offset.try_emplace(m.partition, m.offset);
        BOOST_CHECK_EQUAL(first_offset.size(), 4u);
        for (const auto& [p, off] : first_offset) BOOST_CHECK_EQUAL(off, 6);
        BOOST_CHECK(rec.revoked.empty());
        // Destroyed without close(): the destructor leaves the group and revokes.
    }
    BOOST_CHECK_EQUAL(rec.revoked_partitions().size(), 4u);
}

BOOST_AUTO_TEST_CASE(paused_partitions_resume_delivery) {
    MockKafka mock;
    mock.create_topic("bp", 2);
    boost::asio::io_context io;
    Recorder rec;
    Consumer consumer(io, group_consumer_properties(mock.bootstrap(), unique_group("bp")), {"bp"},
                      rec.handlers());
    consumer.start();
    BOOST_REQUIRE(drive_until(
        io, [&] { return rec.assigned_partitions().size() == 2; }, 30s));

    consumer.pause({{"bp", 0}, {"bp", 1}});
    fill(mock, "bp", 2, 3);
    // While paused nothing is delivered; resume and everything arrives.
    BOOST_CHECK(!drive_until(
        io, [&] { return !rec.messages.empty(); }, 500ms));
    consumer.resume({{"bp", 0}, {"bp", 1}});
    BOOST_REQUIRE(drive_until(
        io, [&] { return rec.messages.size() >= 6; }, 10s));
    BOOST_CHECK_EQUAL(rec.messages.size(), 6u);
    consumer.close();
}

BOOST_AUTO_TEST_CASE(idle_consumer_stays_in_the_group) {
    // librdkafka evicts a consumer that does not poll within max.poll.interval.ms; an idle
    // consumer has nothing queued, so only the keepalive poll keeps it in the group.
    MockKafka mock;
    mock.create_topic("quiet", 1);
    boost::asio::io_context io;
    Recorder rec;
    auto props = group_consumer_properties(mock.bootstrap(), unique_group("idle"));
    props["max.poll.interval.ms"] = "6000";  // the minimum: session.timeout.ms
    Consumer consumer(io, props, {"quiet"}, rec.handlers());
    consumer.start();
    BOOST_REQUIRE(drive_until(
        io, [&] { return !rec.assigned.empty(); }, 30s));
    // Idle for longer than max.poll.interval.ms: no error, no revocation.
    BOOST_CHECK(!drive_until(
        io, [&] { return !rec.errors.empty() || !rec.revoked.empty(); }, 8s));
    BOOST_CHECK_MESSAGE(rec.errors.empty(), "first error: " << (rec.errors.empty() ? "" : rec.errors[0]));
    // Still consuming.
    fill(mock, "quiet", 1, 1);
    BOOST_CHECK(drive_until(
        io, [&] { return rec.messages.size() == 1; }, 10s));
    consumer.close();
}

BOOST_AUTO_TEST_CASE(eager_assignor_is_supported) {
    MockKafka mock;
    mock.create_topic("eager", 2);
    fill(mock, "eager", 2, 4);
    boost::asio::io_context io;
    Recorder rec;
    rec.start_offsets[1] = 3;
    auto props = group_consumer_properties(mock.bootstrap(), unique_group("eager"));
    props["partition.assignment.strategy"] = "range";
    Consumer consumer(io, props, {"eager"}, rec.handlers());
    consumer.start();
    BOOST_REQUIRE(drive_until(
        io, [&] { return rec.messages.size() >= 5; }, 30s));
    BOOST_CHECK_EQUAL(rec.messages.size(), 5u);
    BOOST_CHECK((rec.assigned_partitions() == std::set<std::int32_t>{0, 1}));
    for (const auto& m : rec.messages) {
        if (m.partition == 1) BOOST_CHECK_EQUAL(m.offset, 3);
    }
    consumer.close();
    BOOST_CHECK((rec.revoked_partitions() == std::set<std::int32_t>{0, 1}));
    BOOST_CHECK(rec.errors.empty());
}

BOOST_AUTO_TEST_CASE(missing_group_id_throws) {
    boost::asio::io_context io;
    BOOST_CHECK_THROW(Consumer(io, {{"bootstrap.servers", "127.0.0.1:1"}}, {"x"}, {}), std::runtime_error);
    try {
        Consumer(io, {{"bootstrap.servers", "127.0.0.1:1"}, {"group.id", "g"}, {"bogus.prop", "1"}}, {"x"},
                 {});
        BOOST_FAIL("expected an exception");
    } catch (const std::runtime_error& e) {
        BOOST_CHECK(std::string(e.what()).find("bogus.prop") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(never_started_consumer_closes_promptly) {
    MockKafka mock;
    boost::asio::io_context io;
    const auto t0 = std::chrono::steady_clock::now();
    {
        Consumer consumer(io, group_consumer_properties(mock.bootstrap(), unique_group("ns")), {"nothing"},
                          {});
    }
    BOOST_CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}
