#pragma once
// Redis-backed schedule of one engine: applies event batches, claims due reminders with a
// lease, records send results, and reads the outcome outbox. All state lives in Redis,
// partitioned like the input topic (see scheduler/keys.hpp and docs/architecture.md).
#include "engine/base/channel_kind.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/result.hpp"
#include "engine/event/event.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/keys.hpp"
#include "scheduler/plan.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rappel::scheduler {

// One consumed message, encoded for the apply script.
std::string encode_event_entry(std::int64_t offset, const RenewalEvent& ev,
                               const std::vector<PlannedReminder>& plan);
std::string encode_invalid_entry(std::int64_t offset, std::string_view kafka_key,
                                 const EventError& err);

// What the engine keeps per licence to render its reminders: the holder's name, language,
// contacts and data. Stored while a reminder of the licence is alive, then deleted.
struct Payload {
    std::string name;
    Language language = Language::en;
    std::string sms, voice, email;
    std::vector<std::pair<std::string, std::string>> data;
};
std::string encode_payload(const RenewalEvent& ev);
std::optional<Payload> decode_payload(std::string_view json);

struct ApplyResult {
    std::int64_t applied = 0;
    std::int64_t stale = 0;
    std::int64_t scheduled = 0;
    std::int64_t next_offset = -1;
};

struct ClaimedReminder {
    std::string reminder_id;
    std::string stage;
    ChannelKind channel = ChannelKind::sms;
    int attempt = 0;
    std::string event_id;
    std::string program;
    std::string licence_id;
    std::string due_date;  // YYYY-MM-DD
    std::string payload;   // encode_payload() JSON
    TimePoint fire_at{};
};

struct ClaimBatch {
    std::optional<TimePoint> next_due;  // earliest score left in the schedule
    std::vector<ClaimedReminder> items;
};

enum class AttemptResult { sent, retry, failed };

struct CompleteArgs {
    std::string reminder_id;
    std::string token;
    AttemptResult result = AttemptResult::sent;
    std::string provider;
    std::string provider_message_id;
    std::string reason;
    TimePoint next_attempt{};  // for retry
    int max_attempts = 1;
};

struct OutboxEntry {
    std::string id;
    std::string key;
    std::string value;
};

class ScheduleStore {
public:
    ScheduleStore(redis::Client& client, std::string prefix, std::string topic,
                  Millis retention);

    Keys keys(std::int32_t partition) const { return Keys(prefix_, partition); }

    void apply(std::int32_t partition, std::vector<std::string> entries, TimePoint now,
               std::function<void(Result<ApplyResult>)> done);
    void claim(std::int32_t partition, TimePoint now, Millis lease, int max,
               const std::string& token, std::function<void(Result<ClaimBatch>)> done);
    // Result: the status written ("sent", "failed", ...), "" for a scheduled retry, or
    // "fenced" when the claim had been taken over.
    void complete(std::int32_t partition, TimePoint now, const CompleteArgs& args,
                  std::function<void(Result<std::string>)> done);
    void release(std::int32_t partition, TimePoint now, const std::string& token,
                 std::vector<std::string> reminder_ids, std::function<void(Result<std::int64_t>)> done);

    // Outbox entries after `after_id` (exclusive; "" = from the start).
    void read_outbox(std::int32_t partition, const std::string& after_id, int count,
                     std::function<void(Result<std::vector<OutboxEntry>>)> done);
    void delete_outbox(std::int32_t partition, std::vector<std::string> ids,
                       std::function<void(Result<void>)> done);

    // Stored next offset of a partition (blocking; for partition assignment).
    static Result<std::optional<std::int64_t>> read_offset(redis::SyncClient& sync,
                                                           const std::string& prefix,
                                                           const std::string& topic,
                                                           std::int32_t partition);

private:
    redis::Client& client_;
    std::string prefix_;
    std::string topic_;
    Millis retention_;
};

}  // namespace rappel::scheduler
