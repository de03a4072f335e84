#pragma once
// What the core needs from the outside besides the Store (scheduler/schedule.hpp): a source
// of events and a producer of outcomes and dead letters. Small on purpose: the Kafka
// adapters (kafka_ports.hpp) implement them in production, fakes in unit tests. Every
// callback runs on the engine's io_context thread.
#include "engine/base/result.hpp"
#include "engine/kafka/kafka.hpp"
#include "scheduler/schedule.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
        std::string_view position;  // when not empty: sent as the kOutboxHeader header
    };
    virtual void produce_batch(const std::string& topic, std::span<const Record> records,
                               const kafka::Headers& headers, Done done);
    // Shutdown only: blocks until delivered or the timeout passed.
    virtual void flush(std::chrono::milliseconds timeout) = 0;
};

// The outcomes topic read back (rebuild after Redis lost its state): the terminal outcomes
// that restore done markers. Each outcome the relay publishes names the events partition
// of its licence in a header (kPartitionHeader); outcomes written before that header existed
// come without one.
inline constexpr std::string_view kPartitionHeader = "rappel-partition";
// Where an outcome was in its partition's outbox, "<entry id>/<index>": read back so that a
// relay round interrupted between publishing and deleting publishes nothing twice.
inline constexpr std::string_view kOutboxHeader = "rappel-outbox";

class OutcomeHistory {
public:
    struct Batch {
        // The ended reminders whose header names one of the partitions asked for.
        std::map<std::int32_t, std::vector<scheduler::EndedReminder>> by_partition;
        // Ended reminders without the header: their partition is unknown.
        std::vector<scheduler::EndedReminder> unrouted;
        std::int64_t read = 0;  // outcome messages read for this batch (all statuses)
    };
    struct Handlers {
        // One batch at a time: the next is read once `next` is called (bounded memory).
        std::function<void(Batch&&, std::function<void()> next)> on_batch;
        // Everything up to the end offsets taken when the pass started was handed out
        // (value: outcome messages read in all), or reading failed (the caller retries).
        std::function<void(Result<std::int64_t>)> on_end;
    };
    // Destroying a pass cancels it: no callback runs after that.
    class Pass {
    public:
        virtual ~Pass() = default;
    };
    virtual ~OutcomeHistory() = default;
    // Reads the whole outcomes topic from its beginning, keeping what `partitions` need.
    // Callbacks run on the io thread, never inside this call.
    virtual std::unique_ptr<Pass> read(std::set<std::int32_t> partitions, Handlers handlers) = 0;
    // The kOutboxHeader positions of `partition`'s outcomes written at or after `since`
    // (Kafka message time): what an interrupted relay round already published. `done` runs
    // once on the io thread, never inside this call, unless the pass is destroyed first.
    using Positions = std::set<std::string, std::less<>>;
    virtual std::unique_ptr<Pass> published(std::int32_t partition, TimePoint since,
                                            std::function<void(Result<Positions>)> done) = 0;
};

}  // namespace rappel::core
