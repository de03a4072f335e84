#pragma once
// The schedule store contract between the engine core and the state layer (layout 3).
//
// State is partitioned like the input topic. Per licence there is ONE record (its version,
// the holder's payload while a reminder needs it, its live reminders and done markers) and
// ONE sorted-set member (the next instant the licence needs attention: the earliest pending
// fire time or claim lease expiry). The engine core only sees these types; the Redis layout,
// the binary record format and the decisions (stale, supersede, claim, fence, retry) live in
// scheduler/ (record.hpp, redis_store.hpp) and are defined once.
//
// Every operation is asynchronous; its callback runs on the engine's io_context thread,
// exactly once. Errors are values: Error{"redis", ...} means the operation may or may not
// have been applied and is safe to repeat as is (every operation is idempotent on replay:
// entries below the stored offset are skipped, results are fenced by their claim token).
#include "engine/base/channel_kind.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/result.hpp"
#include "engine/event/event.hpp"
#include "scheduler/plan.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rappel::scheduler {

// What the engine keeps per licence to render its reminders. Stored while a reminder of the
// licence is alive, then dropped (privacy: contact data only as long as needed).
struct Payload {
    std::string name;
    Language language = Language::en;
    std::string sms, voice, email;
    std::vector<std::pair<std::string, std::string>> data;
    // The holder's IANA zone as the event gave it ("": engine.default_time_zone), so claims
    // and retries keep to the send window in local time.
    std::string time_zone;
};

// One consumed message of a partition, after validation and planning by ingest. `invalid`
// set: the event was dead-lettered; the store writes its `invalid` outcome and moves the
// offset past it. Otherwise `event` (and for `due`, its `plan`) is applied.
struct IngestItem {
    std::int64_t offset = 0;
    std::string key;  // outcome key: "<program>/<licence_id>", or the Kafka key when invalid
    std::optional<EventError> invalid;
    RenewalEvent event;
    std::vector<PlannedReminder> plan;
};

struct ApplyResult {
    std::int64_t applied = 0;     // items at or past the stored offset
    std::int64_t stale = 0;
    std::int64_t scheduled = 0;   // reminders newly scheduled
    std::int64_t cancelled = 0;
    std::int64_t next_offset = -1;  // the partition's stored next offset after this call
};

// A claim token fences the results of one claim: unique per engine process and claim call.
using ClaimToken = std::uint64_t;

// Which live reminder of which licence: enough to find it again in its record.
struct ReminderRef {
    std::string licence;  // licence hash (the record's member in the schedule)
    std::string stage;
    ChannelKind channel = ChannelKind::sms;
};

struct ClaimedReminder {
    ReminderRef ref;
    std::string reminder_id;
    int attempt = 0;  // this attempt's number, from 1
    std::string event_id;
    std::string program;
    std::string licence_id;
    std::chrono::year_month_day due_date{};
    TimePoint fire_at{};
    TimePoint expires_at{};
    Payload payload;
};

struct ClaimBatch {
    std::optional<TimePoint> next_due;  // earliest instant left in the partition's schedule
    std::vector<ClaimedReminder> items;
    bool more = false;                  // the claim was cut at `max`: more may be due now
};

enum class AttemptResult { sent, retry, failed };

struct AttemptRecord {
    ReminderRef ref;
    ClaimToken token = 0;
    AttemptResult result = AttemptResult::sent;
    std::string provider;
    std::string provider_message_id;
    std::string reason;
    TimePoint next_attempt{};  // for retry
    int max_attempts = 1;
};

// What recording an attempt did to the reminder.
enum class RecordStatus {
    sent,       // terminal `sent` written
    failed,     // terminal `failed` (permanent, or retries exhausted)
    retrying,   // back in the schedule at next_attempt
    cancelled,  // its licence changed meanwhile: terminal `cancelled`
    expired,    // the retry would come after its expiry: terminal `expired`
    fenced,     // the claim was taken over (lease ran out, re-claimed): nothing written
};

constexpr std::string_view to_string(RecordStatus s) {
    switch (s) {
    case RecordStatus::sent: return "sent";
    case RecordStatus::failed: return "failed";
    case RecordStatus::retrying: return "retrying";
    case RecordStatus::cancelled: return "cancelled";
    case RecordStatus::expired: return "expired";
    case RecordStatus::fenced: return "fenced";
    }
    return "?";
}

// One outcome ready to publish: key and notification-outcome/1 JSON text.
struct Outcome {
    std::string key;
    std::string value;
};

// Outcomes written in one atomic step, in order. Deleted together once published.
struct OutboxEntry {
    std::string id;
    std::vector<Outcome> outcomes;
};

// A reminder that already reached a terminal outcome (`sent`, `failed` or `expired`), read back
// from the outcomes topic when Redis lost its state: its done marker is restored so that
// re-consuming the events topic schedules nothing that already ended.
enum class EndedStatus : std::uint8_t { sent, failed, expired };
struct EndedReminder {
    std::string program;
    std::string licence_id;
    std::string reminder_id;
    EndedStatus status = EndedStatus::sent;
    TimePoint at{};  // the outcome's `at`
};

class Store {
public:
    virtual ~Store() = default;

    // The partition's stored next offset (nullopt: none stored, consume from the beginning).
    virtual void read_offset(std::int32_t partition,
                             std::function<void(Result<std::optional<std::int64_t>>)> done) = 0;

    // Applies consumed items in offset order, and stores the partition's next offset in the
    // same atomic step. Items below the stored offset are skipped.
    virtual void apply(std::int32_t partition, std::vector<IngestItem> items, TimePoint now,
                       std::function<void(Result<ApplyResult>)> done) = 0;

    // Claims up to `max` due reminders with a lease (now + lease). `skip` names reminders the
    // caller still has in flight or waiting to be recorded: they are never claimed again by
    // this caller, even when their lease ran out.
    virtual void claim(std::int32_t partition, TimePoint now, Millis lease, int max,
                       ClaimToken token, std::function<bool(const ReminderRef&)> skip,
                       std::function<void(Result<ClaimBatch>)> done) = 0;

    // Records the results of send attempts (any claims of this partition), one status per
    // record, in order.
    virtual void record(std::int32_t partition, TimePoint now, std::vector<AttemptRecord> records,
                        std::function<void(Result<std::vector<RecordStatus>>)> done) = 0;

    // Gives claimed reminders back so they are due at once (shutdown); the attempt is not
    // charged. Returns how many were released.
    virtual void release(std::int32_t partition, TimePoint now, ClaimToken token,
                         std::vector<ReminderRef> refs,
                         std::function<void(Result<std::int64_t>)> done) = 0;

    // Rebuild: adds the done markers of these ended reminders to their licence records. A
    // licence the partition does not know yet gets a record holding only done markers (not
    // "known": the first event applied to it is not stale), which expires after the retention
    // unless an event gives it reminders. Markers older than the retention are skipped.
    // Returns how many markers were added (already present ones are not counted).
    virtual void restore_done(std::int32_t partition, std::vector<EndedReminder> ended, TimePoint now,
                              std::function<void(Result<std::int64_t>)> done) = 0;

    // Outbox entries of the partition, oldest first; and their deletion once published.
    virtual void read_outbox(std::int32_t partition, int max_entries,
                             std::function<void(Result<std::vector<OutboxEntry>>)> done) = 0;
    virtual void delete_outbox(std::int32_t partition, std::vector<std::string> ids,
                               std::function<void(Result<void>)> done) = 0;
};
using StorePtr = std::unique_ptr<Store>;

}  // namespace rappel::scheduler
