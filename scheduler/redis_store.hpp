#pragma once
// scheduler::Store on Redis, layout 3 (docs/architecture.md, "Where state lives").
//
// Keys of partition N, all with the hash tag {pN} so every call touches one hash slot:
//   <prefix>:{pN}:L:<licence hash>  STRING  the licence record (scheduler/record.hpp)
//   <prefix>:{pN}:S, :Sh, :Sb       ZSET    per priority lane (normal, high, bulk): licence hash ->
//                                           the next instant an entry of that lane needs attention (ms)
//   <prefix>:{pN}:O                 HASH    topic -> next offset to consume
//   <prefix>:{pN}:X                 STREAM  outbox: one entry per state change, field b = outcomes
//   <prefix>:layout                 STRING  the layout version ("3")
// Every operation reads what it needs, decides in C++ (record.hpp), and writes back with one
// compare-and-set script (lua2/commit.lua). Operations of one partition run one at a time, in
// the order they were issued; a conflict (another engine wrote meanwhile) re-reads and
// re-decides.
#include "engine/redis/redis_client.hpp"
#include "scheduler/schedule.hpp"
#include "scheduler/window.hpp"

#include <deque>
#include <map>
#include <memory>
#include <string>

namespace rappel::scheduler {

class RedisStore final : public Store {
public:
    // `windows`: send windows and priority lanes (nullptr: every hour open, one lane).
    RedisStore(redis::Client& client, std::string prefix, std::string topic, Millis retention,
               std::shared_ptr<const WindowBook> windows = nullptr);
    ~RedisStore() override;

    // Start-up check, blocking: writes the layout version into an empty Redis, and refuses
    // (with a message naming both versions) one written by a different layout.
    static Result<void> check_layout(redis::SyncClient& sync, const std::string& prefix);

    void read_offset(std::int32_t partition,
                     std::function<void(Result<std::optional<std::int64_t>>)> done) override;
    void apply(std::int32_t partition, std::vector<IngestItem> items, TimePoint now,
               std::function<void(Result<ApplyResult>)> done) override;
    void claim(std::int32_t partition, TimePoint now, Millis lease, int max, ClaimToken token,
               std::function<bool(const ReminderRef&)> skip,
               std::function<void(Result<ClaimBatch>)> done) override;
    void record(std::int32_t partition, TimePoint now, std::vector<AttemptRecord> records,
                std::function<void(Result<std::vector<RecordStatus>>)> done) override;
    void release(std::int32_t partition, TimePoint now, ClaimToken token, std::vector<ReminderRef> refs,
                 std::function<void(Result<std::int64_t>)> done) override;
    void restore_done(std::int32_t partition, std::vector<EndedReminder> ended, TimePoint now,
                      std::function<void(Result<std::int64_t>)> done) override;
    void read_outbox(std::int32_t partition, int max_entries,
                     std::function<void(Result<std::vector<OutboxEntry>>)> done) override;
    void delete_outbox(std::int32_t partition, std::vector<std::string> ids,
                       std::function<void(Result<void>)> done) override;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace rappel::scheduler
