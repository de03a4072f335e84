#pragma once
// Layout 3's licence record and the decisions taken on it (pure: no I/O).
//
// One record per licence holds everything the schedule knows about it: the last applied
// version, the holder's payload while a reminder needs it, its live reminders ("entries",
// pending or claimed) and its done markers (reminders that reached a terminal outcome, so
// nothing is sent twice across replays and new versions). The record is a compact binary
// string whose first 8 bytes are a revision: the store writes a record back only if its
// revision is still the one it read (compare-and-set in scheduler/lua/commit.lua), so every
// decision below runs in C++ on a consistent copy and Lua never parses a record.
#include "engine/base/result.hpp"
#include "scheduler/schedule.hpp"
#include "scheduler/window.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::scheduler {

// 3: payloads carry the holder's zone; schedule sorted sets per priority lane.
inline constexpr int kLayoutVersion = 3;
inline constexpr std::size_t kRevisionBytes = 8;

enum class DoneStatus : std::uint8_t { sent = 1, failed = 2, expired = 3 };

struct Entry {
    std::string stage;
    ChannelKind channel = ChannelKind::sms;
    bool claimed = false;
    // The licence changed while this entry was claimed: it belongs to an older version. Its
    // send may still be reported; a retry of it is cancelled.
    bool superseded = false;
    int attempt = 0;              // attempts charged so far
    std::int64_t fire_at = 0;     // unix ms
    std::int64_t expires_at = 0;  // unix ms
    ClaimToken token = 0;         // claimed only
    std::int64_t lease_until = 0; // claimed only, unix ms
    // Superseded only: the due date (days since epoch) and event of its own version.
    std::int32_t own_due_days = 0;
    std::string own_event_id;

    std::int64_t due_at() const { return claimed ? lease_until : fire_at; }
};

struct Done {
    std::array<std::uint8_t, 12> rid{};  // the reminder id's 12 bytes
    DoneStatus status = DoneStatus::sent;
    std::int32_t day = 0;                // days since epoch when it ended (for pruning)
};

struct LicenceRecord {
    std::uint64_t rev = 0;  // the revision read from Redis (0: not there)
    // An event was applied to it. A record that is not known holds only done markers
    // restored from the outcomes topic (restore_ended): no version, no reminders.
    bool known = false;
    std::uint64_t version = 0;
    std::string event_id;
    std::string program;
    std::string licence_id;
    std::int32_t due_days = 0;
    std::optional<Payload> payload;
    std::vector<Entry> entries;
    std::vector<Done> done;

    bool exists() const { return known; }
    // When the licence next needs attention: earliest pending fire time or lease expiry.
    std::optional<std::int64_t> next_instant() const;
};

// next_instant() per priority lane (index: config::Priority), the lane of an entry from
// `book` (everything `normal` without one).
using LaneInstants = std::array<std::optional<std::int64_t>, config::kPriorities>;
LaneInstants lane_instants(const LicenceRecord& r, const WindowBook* book);

std::string encode_record(const LicenceRecord& r);
Result<LicenceRecord> decode_record(std::string_view bytes);
// The revision prefix a compare-and-set expects ("" for a record that does not exist).
std::string revision_bytes(std::uint64_t rev);

// Shared by every decision of one store call.
struct DecisionContext {
    TimePoint now{};
    Millis retention{};
    // Send windows to keep claims and retries to (nullptr: none, every hour is open).
    const WindowBook* windows = nullptr;
};

// An outcome as the outbox keeps it: compact (the outbox is written to the AOF and held in
// memory until relayed), rendered as notification-outcome/1 JSON when read for the relay.
struct PendingOutcome {
    std::string key;  // "<program>/<licence_id>", or the Kafka key of an invalid event
    std::string event_id, reminder_id, stage, status, channel, provider, provider_message_id, reason;
    int attempt = 0;
    std::int64_t scheduled_for = -1;  // unix ms, or -1
};
// One outbox entry: the outcomes of one store call, all written at `at`.
std::string encode_outbox(const std::vector<PendingOutcome>& outcomes, TimePoint at);
Result<std::vector<Outcome>> render_outbox(std::string_view entry);

// notification-outcome/1 JSON, built here once.
struct OutcomeFields {
    std::string_view event_id, reminder_id, program, licence_id, stage, channel, provider, status;
    int attempt = 0;
    std::string_view provider_message_id, reason, at;
    std::optional<TimePoint> scheduled_for;
};
std::string outcome_json(const OutcomeFields& f);
std::string outcome_key(std::string_view program, std::string_view licence_id);

struct ApplyCounts {
    bool stale = false;
    std::int64_t scheduled = 0;
    std::int64_t cancelled = 0;
};
// Applies one valid event to its licence's record (which may not exist yet).
ApplyCounts apply_event(LicenceRecord& rec, const IngestItem& item, const DecisionContext& ctx,
                        std::vector<PendingOutcome>& out);
// The `invalid` outcome of a dead-lettered message.
PendingOutcome invalid_outcome(const IngestItem& item);

// Claims the record's due entries (at most `budget`), skipping what `skip` names. Entries
// past their expiry end `expired`; a superseded entry whose lease ran out ends `cancelled`.
// A due entry outside its channel's send window (ctx.windows) is not claimed and no attempt
// is charged: it moves to the window's next opening in the holder's zone, or ends `expired`
// when its expiry comes first; `moved` counts those moved. Reminders carried over to an
// opening are ordered most urgent first (closest to the due date; see carry_over_at).
// Returns how many were claimed; sets `cut` when due entries were left for lack of budget.
int claim_entries(LicenceRecord& rec, std::string_view licence_hash, const DecisionContext& ctx,
                  Millis lease, ClaimToken token, const std::function<bool(const ReminderRef&)>& skip,
                  int budget, std::vector<ClaimedReminder>& items, std::vector<PendingOutcome>& out,
                  bool& cut, int* moved = nullptr);

// The fire time of an entry carried over to `opening`: the opening plus one millisecond per
// day left until its due date (0 to 999), so the most urgent go first within a lane.
std::int64_t carry_over_at(const LicenceRecord& rec, const Entry& e, TimePoint opening);

// When an entry of `rec` may go at or after `t`: t itself, or its window's next opening in
// the holder's zone (TimePoint::max(): the window never opens). Without ctx.windows, t.
TimePoint allowed_at(const LicenceRecord& rec, const Entry& e, const DecisionContext& ctx, TimePoint t);

RecordStatus record_attempt(LicenceRecord& rec, const AttemptRecord& a, const DecisionContext& ctx,
                            std::vector<PendingOutcome>& out);

bool release_entry(LicenceRecord& rec, const ReminderRef& ref, ClaimToken token, TimePoint now);

// Rebuild: adds the done marker of an ended reminder (which must belong to this record's
// licence) unless it is there already or older than the retention. A record that does not
// exist yet becomes a not-known one. Returns whether a marker was added.
bool restore_ended(LicenceRecord& rec, const EndedReminder& ended, const DecisionContext& ctx);

// The ended reminder a notification-outcome/1 JSON text stands for: nullopt when it is not a
// `sent`, `failed` or `expired` outcome with a reminder id (or cannot be read).
std::optional<EndedReminder> ended_from_outcome(std::string_view json);

}  // namespace rappel::scheduler
