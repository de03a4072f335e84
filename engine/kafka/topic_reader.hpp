#pragma once
// A whole topic read once: every partition from its beginning up to the end offsets taken
// when the read opens, by a consumer of its own (assign mode: no group join, no commits).
// Blocking: for a worker thread, never the io thread.
#include "engine/base/result.hpp"
#include "engine/kafka/kafka.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_queue_s;

namespace rappel::kafka {

class TopicReader {
public:
    // `props`: bootstrap.servers and client settings (group.id is not needed). Throws
    // std::runtime_error on invalid settings.
    TopicReader(Properties props, std::string topic);
    ~TopicReader();
    TopicReader(const TopicReader&) = delete;
    TopicReader& operator=(const TopicReader&) = delete;

    // Looks the topic up, takes its end offsets and starts fetching. Returns how many
    // messages lie between the beginnings and those ends (0: nothing to read; a topic that
    // does not exist is empty).
    // since_ms: start each partition at its first message written at or after that time
    // (Kafka message timestamps) instead of its beginning.
    Result<std::int64_t> open(std::chrono::milliseconds timeout, std::optional<std::int64_t> since_ms = std::nullopt);
    // Up to `max` messages below the end offsets; empty when nothing arrived within `wait`.
    Result<std::vector<Message>> next(std::size_t max, std::chrono::milliseconds wait);
    bool at_end() const { return ends_.empty(); }

private:
    // The timestamp of the message at `offset` (assigns and unassigns the partition).
    Result<std::int64_t> last_timestamp(std::int32_t partition, std::int64_t offset, std::chrono::milliseconds timeout);

    std::string topic_;
    rd_kafka_s* rk_ = nullptr;
    rd_kafka_queue_s* queue_ = nullptr;
    std::map<std::int32_t, std::int64_t> ends_;  // partitions not read to their end yet
};

}  // namespace rappel::kafka
