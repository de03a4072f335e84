#include "engine/core/ownership.hpp"

#include "engine/base/log.hpp"
#include "engine/core/dispatch.hpp"
#include "engine/core/ingest.hpp"
#include "engine/core/restore.hpp"

namespace rappel::core {
namespace {
constexpr std::string_view kLog = "engine";
}

void Ownership::on_assigned(const std::vector<std::int32_t>& partitions) {
    for (auto p : partitions) {
        auto& part = ctx_.parts.at(p);
        part.owned = true;
        part.generation = ++generation_seq_;
        part.buffered.clear();
        part.paused = false;
        part.awaiting_offset = true;
        part.restoring = false;
        part.relay_check = true;
        part.offset_failures = 0;
        part.next_due = ctx_.now();
        log::info(kLog, "assigned partition {}; reading its stored offset", p);
        read_offset(p, part.generation);
    }
    ctx_.stats.partitions_owned = ctx_.parts.owned_count();
}

void Ownership::on_revoked(const std::vector<std::int32_t>& partitions) {
    for (auto p : partitions) {
        auto* part = ctx_.parts.find(p);
        if (!part || !part->owned) continue;
        part->owned = false;
        part->generation = ++generation_seq_;
        part->buffered.clear();
        part->paused = false;
        part->awaiting_offset = false;
        part->restoring = false;
        log::info(kLog, "revoked partition {}", p);
    }
    ctx_.stats.partitions_owned = ctx_.parts.owned_count();
    ctx_.restore->revoked();
}

void Ownership::read_offset(std::int32_t p, std::uint64_t generation) {
    ctx_.deps.store.read_offset(p, ctx_.guard([this, p, generation](Result<std::optional<std::int64_t>> r) {
        on_offset(p, generation, std::move(r));
    }));
}

// Where a newly assigned partition is consumed from: the next offset stored with the state
// it covers. Kafka's committed offset is only for lag monitoring: after Redis lost its last
// second it is ahead of the state, after Redis lost everything it would skip what must be
// rebuilt. No stored offset means the beginning (re-applying is harmless: stale versions and
// offsets below the stored one are skipped, and the done markers restored from the outcomes
// topic first keep what already ended from being scheduled again); an error means "ask
// again", never a guess.
void Ownership::on_offset(std::int32_t p, std::uint64_t generation, Result<std::optional<std::int64_t>> r) {
    auto& part = ctx_.parts.at(p);
    if (!part.owned || part.generation != generation || !part.awaiting_offset) return;
    if (!r) {
        if (++part.offset_failures == 1)
            log::error(kLog, "partition {}: cannot read its stored offset ({}); retrying, partition paused", p,
                       r.error().message);
        if (ctx_.stopping) return;
        ctx_.after(ctx_.store_delay(part.offset_failures), [this, p, generation] {
            auto& again = ctx_.parts.at(p);
            if (again.owned && again.generation == generation && again.awaiting_offset) read_offset(p, generation);
        });
        return;
    }
    if (part.offset_failures > 0) log::info(kLog, "partition {}: stored offset read", p);
    part.offset_failures = 0;
    if (!r.value() && ctx_.restore->enabled()) {
        part.restoring = true;  // still awaiting_offset: nothing is consumed or claimed
        ctx_.restore->need(p, generation);
        return;
    }
    consume(p, r.value().value_or(kOffsetBeginning));
    ctx_.restore->maybe_start();  // partitions waiting for this answer to start their pass
}

void Ownership::consume(std::int32_t p, std::int64_t offset) {
    auto& part = ctx_.parts.at(p);
    part.awaiting_offset = false;
    part.restoring = false;
    ctx_.deps.events.seek(p, offset);
    if (!ctx_.stopping) ctx_.deps.events.resume(p);
    if (offset == kOffsetBeginning)
        log::info(kLog, "partition {}: consuming from the beginning", p);
    else
        log::info(kLog, "partition {}: consuming from offset {}", p, offset);
    ctx_.ingest->apply_next(p);
    ctx_.dispatch->wake();
}

}  // namespace rappel::core
