#pragma once
// The core's ports over engine/kafka: the events topic as an EventSource (partitions
// assigned paused) and one idempotent producer for outcomes and dead letters.
#include "engine/config/config.hpp"
#include "engine/core/ports.hpp"
#include "engine/kafka/kafka.hpp"

#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <optional>

namespace rappel::core {

class KafkaEventSource final : public EventSource {
public:
    // Throws on invalid Kafka settings (in start(), where the consumer is built).
    KafkaEventSource(boost::asio::io_context& io, const config::Config& cfg);
    ~KafkaEventSource() override;
    void start(Handlers handlers) override;
    void pause(std::int32_t partition) override;
    void resume(std::int32_t partition) override;
    void seek(std::int32_t partition, std::int64_t offset) override;
    void commit(std::int32_t partition, std::int64_t next_offset) override;
    void close() override;
    // Events in the topic past the offsets committed so far, summed over these partitions
    // (those with a commit and a known high watermark); nullopt when none is known.
    std::optional<std::int64_t> lag(const std::vector<std::int32_t>& partitions) const;

private:
    boost::asio::io_context& io_;
    const config::Config& cfg_;
    std::unique_ptr<kafka::Consumer> consumer_;
    std::map<std::int32_t, std::int64_t> committed_;  // partition -> next offset last committed
};

class KafkaProducer final : public Producer {
public:
    // Throws on invalid Kafka settings. `overrides` win over the configured properties.
    KafkaProducer(boost::asio::io_context& io, const config::Config& cfg, const kafka::Properties& overrides = {});
    ~KafkaProducer() override;
    void produce(const std::string& topic, std::optional<std::string_view> key,
                 std::optional<std::string_view> value, const kafka::Headers& headers, Done done) override;
    void produce_batch(const std::string& topic, std::span<const Record> records, const kafka::Headers& headers,
                       Done done) override;
    void flush(std::chrono::milliseconds timeout) override;

private:
    boost::asio::io_context& io_;
    std::unique_ptr<kafka::Producer> producer_;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
};

// The outcomes topic read back on a worker thread per pass (kafka::TopicReader), parsed
// there, handed to the io thread one bounded batch at a time.
class KafkaOutcomeHistory final : public OutcomeHistory {
public:
    KafkaOutcomeHistory(boost::asio::io_context& io, const config::Config& cfg);
    // Cancels every pass and joins its thread (each notices within a poll interval).
    ~KafkaOutcomeHistory() override;
    std::unique_ptr<Pass> read(std::set<std::int32_t> partitions, Handlers handlers) override;
    std::unique_ptr<Pass> published(std::int32_t partition, TimePoint since,
                                    std::function<void(Result<Positions>)> done) override;

    struct Worker;
    struct Checker;

private:
    kafka::Properties reader_properties() const;

    boost::asio::io_context& io_;
    const config::Config& cfg_;
    std::vector<std::shared_ptr<Worker>> workers_;
    std::vector<std::shared_ptr<Checker>> checkers_;
};

// librdkafka properties of each client: bootstrap.servers, then cfg.kafka.properties.
kafka::Properties consumer_properties(const config::Config& cfg);
kafka::Properties producer_properties(const config::Config& cfg);

}  // namespace rappel::core
