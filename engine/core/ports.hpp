#pragma once
// What the core needs from the outside besides the Store (scheduler/schedule.hpp): a source
// of events and a producer of outcomes and dead letters. Small on purpose: the Kafka
// adapters (kafka_ports.hpp) implement them in production, fakes in unit tests. Every
// callback runs on the engine's io_context thread.
#include "engine/kafka/kafka.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::core {

using kafka::kOffsetBeginning;

class EventSource {
public:
    struct Handlers {
        std::function<void(std::vector<kafka::Message>&&)> on_messages;
        // Newly assigned partitions start PAUSED: nothing arrives until resume(). The owner
        // seeks them to its stored offset first.
        std::function<void(const std::vector<std::int32_t>&)> on_assigned;
        std::function<void(const std::vector<std::int32_t>&)> on_revoked;
    };
    virtual ~EventSource() = default;
    virtual void start(Handlers handlers) = 0;
    virtual void pause(std::int32_t partition) = 0;
    virtual void resume(std::int32_t partition) = 0;
    // offset: next offset to read, or kOffsetBeginning.
    virtual void seek(std::int32_t partition, std::int64_t offset) = 0;
    // Lag monitoring only: the state's own offset lives in the Store.
    virtual void commit(std::int32_t partition, std::int64_t next_offset) = 0;
    // Leaves the group (on_revoked for everything owned); bounded.
    virtual void close() = 0;
};

enum class DeliveryStatus {
    ok,
    retriable,  // may work later: timeouts, broker down, local queue full
    too_large,  // the message (or the topic's limit) is too large
    refused,    // permanent: unknown topic, not authorised, ...
};

struct Delivery {
    DeliveryStatus status = DeliveryStatus::ok;
    std::string error;  // librdkafka's text; never contact data
};

class Producer {
public:
    using Done = std::function<void(const Delivery&)>;
    virtual ~Producer() = default;
    // `done` runs exactly once, later (never inside this call). Partitioned by key.
    virtual void produce(const std::string& topic, std::optional<std::string_view> key,
                         std::optional<std::string_view> value, const kafka::Headers& headers,
                         Done done) = 0;
    // Many messages to one topic, one `done` for all: the first failure, or ok once every
    // message was delivered. It runs exactly once, later (at once for an empty batch). The
    // views need only live during the call. This default produces them one by one; adapters
    // batch.
    struct Record {
        std::string_view key, value;
    };
    virtual void produce_batch(const std::string& topic, std::span<const Record> records,
                               const kafka::Headers& headers, Done done);
    // Shutdown only: blocks until delivered or the timeout passed.
    virtual void flush(std::chrono::milliseconds timeout) = 0;
};

}  // namespace rappel::core
