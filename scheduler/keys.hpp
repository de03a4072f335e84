#pragma once
// Reminder identity and the Redis key layout of one Kafka partition.
#include "engine/base/channel_kind.hpp"
#include "engine/config/config.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace rappel::scheduler {

// CONTRACT, do not change: reminder ids appear in outcomes, provider idempotency keys and
// Redis, and must stay identical across engine versions, restarts and replays.
//   reminder_id = "r" + lowercase hex of the first 12 bytes (24 hex chars) of
//   SHA-256(program 0x1F licence_id 0x1F YYYY-MM-DD 0x1F stage 0x1F channel)
// where channel is "sms", "email" or "voice". For example
//   printf 'drivers-licence\x1fC1\x1f2027-02-14\x1f60d\x1fsms' | sha256sum
// gives the 24 hex chars of the id of that stage and channel.
std::string reminder_id(std::string_view program, std::string_view licence_id,
                        std::chrono::year_month_day due_date, std::string_view stage,
                        ChannelKind channel);

// First 24 hex chars of SHA-256(program 0x1F licence_id), so Redis keys carry no licence text.
std::string licence_key_hash(std::string_view program, std::string_view licence_id);

// Key names of one partition. Every key carries the partition's hash tag ("{p17}"), so a
// script touching them stays in one hash slot, also on Redis Cluster.
class Keys {
public:
    Keys(std::string prefix, std::int32_t partition);

    std::int32_t partition() const { return partition_; }
    const std::string& tag() const { return tag_; }    // "{p17}"
    const std::string& base() const { return base_; }  // "<prefix>:{p17}:"

    std::string schedule() const;                          // ZSET licence hash -> next instant (ms), normal lane
    std::string schedule(config::Priority lane) const;     // "S" (normal), "Sh" (high), "Sb" (bulk)
    std::string licence(std::string_view lic_hash) const;  // STRING: the licence record
    std::string offsets() const;                           // HASH topic -> next offset
    std::string outbox() const;                            // STREAM of outcomes to publish

private:
    std::string with(std::string_view a, std::string_view b = {}) const;

    std::int32_t partition_;
    std::string tag_;
    std::string base_;
};

}  // namespace rappel::scheduler
