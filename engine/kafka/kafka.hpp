#pragma once
// librdkafka on the engine's Boost.Asio loop. librdkafka signals its queues through a pipe
// (rd_kafka_queue_io_event_enable) that Asio watches, so messages, delivery reports and
// rebalance events are served on the io_context thread without a polling timer.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rappel::kafka {

using Properties = std::map<std::string, std::string>;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Message {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::optional<std::string> key;    // nullopt: no key
    std::optional<std::string> value;  // nullopt: null value (tombstone)
    Headers headers;
    std::int64_t timestamp_ms = 0;
};

struct TopicPartitionOffset {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = -1001;  // RD_KAFKA_OFFSET_INVALID: use the committed offset
    // on_assign only: assign the partition paused (nothing is fetched until resume()), e.g.
    // while the owner looks up where to start, then seek() and resume().
    bool start_paused = false;
};

inline constexpr std::int64_t kOffsetBeginning = -2;  // RD_KAFKA_OFFSET_BEGINNING

class Consumer {
public:
    struct Handlers {
        // Called with a batch of messages (at most max_batch) as they arrive.
        std::function<void(std::vector<Message>&&)> on_messages;
        // Called before partitions are assigned: set each element's offset to where
        // consumption must start (or leave -1001 for the committed offset).
        std::function<void(std::vector<TopicPartitionOffset>&)> on_assign;
        // Called before partitions are taken away (and on close).
        std::function<void(const std::vector<TopicPartitionOffset>&)> on_revoke;
        // Non-fatal errors, for logging.
        std::function<void(std::string_view)> on_error;
    };

    // `props` must include bootstrap.servers and group.id. enable.auto.commit and
    // enable.auto.offset.store are forced off; the assignor defaults to cooperative-sticky.
    // Throws std::runtime_error on invalid configuration (start-up only).
    Consumer(boost::asio::io_context& io, Properties props, std::vector<std::string> topics,
             Handlers handlers, std::size_t max_batch = 1000);
    ~Consumer();
    Consumer(const Consumer&) = delete;
    Consumer& operator=(const Consumer&) = delete;

    void start();
    // Commits these next-offsets to Kafka asynchronously (offset = next message to read).
    void commit(const std::vector<TopicPartitionOffset>& offsets);
    // Stops fetching for these partitions / resumes (backpressure).
    void pause(const std::vector<TopicPartitionOffset>& parts);
    void resume(const std::vector<TopicPartitionOffset>& parts);
    // Moves the fetch position of assigned partitions (offset, or kOffsetBeginning);
    // asynchronous, messages fetched from the old position are dropped.
    void seek(const std::vector<TopicPartitionOffset>& parts);
    // Leaves the group (on_revoke is called for everything assigned); blocking, bounded.
    void close();
    // The partition's high watermark as last seen in a fetch response (no broker call);
    // nullopt before the first fetch or once closed.
    std::optional<std::int64_t> high_watermark(const std::string& topic, std::int32_t partition) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class Producer {
public:
    struct DeliveryReport {
        bool ok = false;
        std::string error;  // when !ok
        std::int32_t partition = -1;
        std::int64_t offset = -1;
        int code = 0;  // rd_kafka_resp_err_t when !ok
        // When !ok: whether trying again may work.
        enum class Failure { none, retriable, too_large, permanent } failure = Failure::none;
    };
    using DeliveryCallback = std::function<void(const DeliveryReport&)>;

    // Idempotent by default (enable.idempotence=true, acks=all). Throws on bad config.
    Producer(boost::asio::io_context& io, Properties props);
    ~Producer();
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    // Queues a message; `cb` runs on the io_context thread once Kafka acknowledged it (or
    // it finally failed). partition < 0: partitioned by key. Returns false (and does not
    // call cb) only if the local queue is full; the caller retries later.
    bool produce(const std::string& topic, std::int32_t partition,
                 std::optional<std::string_view> key, std::optional<std::string_view> value,
                 const Headers& headers, DeliveryCallback cb);
    // Many messages to one topic (partitioned by key) with one callback: it runs once, on the
    // io_context thread, after every message was acknowledged or finally failed (never inside
    // this call), with the first failure (or ok) and how many failed. Messages the local queue
    // could not take count as failed (retriable). One allocation per batch, not per message.
    struct Record {
        std::optional<std::string_view> key, value;
        // One more header of this message only (name, value), after the batch's headers.
        std::optional<std::pair<std::string_view, std::string_view>> header = std::nullopt;
    };
    using BatchCallback = std::function<void(const DeliveryReport& first_failure, std::size_t failed)>;
    void produce_batch(const std::string& topic, std::span<const Record> records, const Headers& headers,
                       BatchCallback cb);
    std::size_t in_flight() const;
    // Blocks until every queued message is delivered or the timeout passes (shutdown only).
    bool flush(std::chrono::milliseconds timeout);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rappel::kafka
