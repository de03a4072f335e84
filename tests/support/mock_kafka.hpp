#pragma once
// An in-process Kafka cluster (librdkafka's mock cluster, rdkafka_mock.h) listening on
// loopback TCP, plus blocking producer/consumer helpers for tests.
//
// Mock cluster limits (librdkafka 2.0.2): no CreateTopics (use create_topic()), and the
// first JoinGroup of an empty group waits ~3 s before the group forms. Group consumers in
// tests should use session.timeout.ms=6000, heartbeat.interval.ms=500 (see
// group_consumer_properties()).
#include "engine/kafka/kafka.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace rappel::testkit {

class MockKafka {
public:
    explicit MockKafka(int brokers = 1);
    ~MockKafka();
    MockKafka(const MockKafka&) = delete;
    MockKafka& operator=(const MockKafka&) = delete;

    const std::string& bootstrap() const { return bootstrap_; }
    void create_topic(const std::string& topic, int partitions);
    // Makes the broker answer metadata requests for `topic` with this error (an
    // rd_kafka_resp_err_t; 0 clears it), e.g. RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
    // so producers to it fail.
    void set_topic_error(const std::string& topic, int error);

private:
    rd_kafka_s* rk_ = nullptr;
    rd_kafka_mock_cluster_s* cluster_ = nullptr;
    std::string bootstrap_;
};

// A unique consumer group name (prefix + random suffix).
std::string unique_group(const std::string& prefix = "test");

// Properties for an engine kafka::Consumer against the mock: bootstrap, group, quiet logs,
// short session timeout and heartbeat, cooperative-sticky, fetch.wait.max.ms=100.
kafka::Properties group_consumer_properties(const std::string& bootstrap, const std::string& group);

// Blocking producer. send() throws std::runtime_error if the message cannot be queued;
// flush() throws unless every message sent so far was acknowledged.
class TestProducer {
public:
    explicit TestProducer(const std::string& bootstrap);
    // With extra librdkafka properties, e.g. {"message.max.bytes", "2000000"}.
    TestProducer(const std::string& bootstrap, const kafka::Properties& extra);
    ~TestProducer();
    TestProducer(const TestProducer&) = delete;
    TestProducer& operator=(const TestProducer&) = delete;

    void send(const std::string& topic, const std::string& key, const std::string& value,
              const kafka::Headers& headers = {}, int partition = -1);
    void flush();

private:
    rd_kafka_s* rk_ = nullptr;
    int failed_ = 0;
    std::string last_error_;
    friend struct TestProducerAccess;
};

// Blocking reader of every partition of one topic from the beginning (plain assign, no
// group join). Accumulates everything it has read across calls.
class TestConsumer {
public:
    TestConsumer(const std::string& bootstrap, const std::string& topic,
                 std::string group = unique_group("reader"));
    ~TestConsumer();
    TestConsumer(const TestConsumer&) = delete;
    TestConsumer& operator=(const TestConsumer&) = delete;

    // Reads until done(all messages so far) is true or the timeout passes; returns all
    // messages read so far either way.
    std::vector<kafka::Message> poll_until(std::function<bool(const std::vector<kafka::Message>&)> done,
                                           std::chrono::milliseconds timeout);

private:
    rd_kafka_s* rk_ = nullptr;
    std::vector<kafka::Message> seen_;
};

}  // namespace rappel::testkit
