#pragma once
// The whole set of real components around an engine, on loopback ports picked at run time:
// a Kafka mock cluster (TCP), redis-server, the provider simulator and an SMTP sink, plus a
// config file for `rappeld` pointing at them. Used by the integration tests, the demo and
// the benchmarks. Everything started here is stopped by the destructor.
#include "channels/simulator/provider_simulator.hpp"
#include "engine/base/clock.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/smtp_sink.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rappel::testkit {

struct StackOptions {
    int partitions = 4;
    int smtp_fail_first = 0;
    std::string clock_start = "2026-12-01T00:00:00Z";
    double clock_speed = 100000;
    std::string base_config;                     // default: <source>/config/rappel.yaml
    std::function<void(YAML::Node&)> tweak;      // edits the config before it is written
    std::string log_level = "info";
    std::vector<std::string> engine_args;        // extra rappeld arguments
    std::map<std::string, std::string> engine_env;  // extra rappeld environment
};

class Stack {
public:
    explicit Stack(StackOptions options = {});
    ~Stack();
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    MockKafka& kafka() { return *kafka_; }
    RedisServer& redis() { return *redis_; }
    sim::ProviderSimulator& sim() { return *sim_; }
    SmtpSink& smtp() { return *smtp_; }
    const std::string& dir() const { return dir_->path(); }
    const std::string& config_path() const { return config_path_; }
    const std::string& events_topic() const { return events_topic_; }
    const std::string& dlq_topic() const { return dlq_topic_; }
    const std::string& outcomes_topic() const { return outcomes_topic_; }

    // Starts `rappeld` on the simulated clock. The clock's anchor is fixed by the first
    // start, so an engine restarted later continues the same timeline.
    std::unique_ptr<Process> start_engine(const std::string& instance = "engine-1");
    std::string engine_log(const std::string& instance = "engine-1") const;
    TimePoint sim_now() const;
    std::optional<TimePoint> anchor_start() const;

    // Publishes one event; the key is "<program>/<licence_id>" read from the JSON (or
    // "unparsable" when it cannot be read).
    void publish(const std::string& json);
    void publish_raw(const std::string& key, const std::string& value);
    // To one partition of the events topic, whatever the key.
    void publish_to(int partition, const std::string& key, const std::string& value);
    void flush();

    // Outcomes read so far (accumulated), waiting until done(all) or the timeout.
    std::vector<nlohmann::json> outcomes(
        const std::function<bool(const std::vector<nlohmann::json>&)>& done,
        std::chrono::milliseconds timeout);
    std::vector<kafka::Message> dead_letters(
        const std::function<bool(const std::vector<kafka::Message>&)>& done,
        std::chrono::milliseconds timeout);

private:
    void write_config();

    StackOptions options_;
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<MockKafka> kafka_;
    std::unique_ptr<RedisServer> redis_;
    std::unique_ptr<sim::ProviderSimulator> sim_;
    std::unique_ptr<SmtpSink> smtp_;
    std::unique_ptr<TestProducer> producer_;
    std::unique_ptr<TestConsumer> outcome_reader_;
    std::unique_ptr<TestConsumer> dlq_reader_;
    std::vector<nlohmann::json> outcomes_;
    std::string config_path_;
    std::string events_topic_ = "renewals.due-dates";
    std::string dlq_topic_ = "renewals.due-dates.dlq";
    std::string outcomes_topic_ = "notifications.outcomes";
    std::optional<std::chrono::system_clock::time_point> anchor_;
    TimePoint clock_start_{};
};

// Counts outcomes by status, and the terminal ones per reminder id.
bool is_terminal(const std::string& status);

}  // namespace rappel::testkit
