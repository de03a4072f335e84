#include "engine/core/ingest.hpp"

#include "engine/base/log.hpp"
#include "engine/core/dead_letters.hpp"
#include "engine/core/dispatch.hpp"
#include "engine/core/lifecycle.hpp"
#include "engine/core/relay.hpp"
#include "scheduler/plan.hpp"

#include <algorithm>

namespace rappel::core {
namespace {
constexpr std::string_view kLog = "engine";
}

Ingest::Ingest(Context& ctx) : ctx_(ctx) {
    for (auto kind : {ChannelKind::sms, ChannelKind::email, ChannelKind::voice})
        if (ctx_.deps.channels(kind)) available_channels_.insert(kind);
}

void Ingest::on_messages(std::vector<kafka::Message>&& msgs) {
    std::set<std::int32_t> touched;
    for (auto& m : msgs) {
        auto* part = ctx_.parts.find(m.partition);
        // Not ours, or not sought to the stored offset yet: dropped, consumed again later.
        if (ctx_.stopping || !part || !part->owned || part->awaiting_offset) continue;
        ++ctx_.stats.events_consumed;
        part->buffered.push_back(std::move(m));
        touched.insert(m.partition);
    }
    for (auto p : touched) {
        auto& part = ctx_.parts.at(p);
        if (!part.paused && part.buffered.size() > ctx_.opts.pause_above) {
            part.paused = true;
            ctx_.deps.events.pause(p);
            log::info(kLog, "partition {}: {} events buffered; paused", p, part.buffered.size());
        }
        apply_next(p);
    }
}

std::shared_ptr<ApplyBatch> Ingest::build_batch(Partition& part) {
    auto b = std::make_shared<ApplyBatch>();
    b->generation = part.generation;
    const auto n = std::min(part.buffered.size(), static_cast<std::size_t>(std::max(1, ctx_.cfg.engine.ingest_batch)));
    const TimePoint t = ctx_.now();
    b->items.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        kafka::Message m = std::move(part.buffered.front());
        part.buffered.pop_front();
        scheduler::IngestItem item;
        item.offset = m.offset;
        EventError err;
        bool ok = false;
        if (!m.value) {
            err = EventError{"invalid-json", "message has no value", ""};
        } else {
            ok = parser_.parse(*m.value, item.event, err);
        }
        if (ok && (!m.key || *m.key != outcome_key(item.event))) {
            ok = false;
            err = EventError{"key-mismatch", "the Kafka key must be '<program>/<licence_id>' of the event",
                             item.event.event_id};
        }
        if (ok && !ctx_.cfg.programs.count(item.event.program)) {
            ok = false;
            err = EventError{"unknown-program",
                             "no campaign is configured for program '" + item.event.program + "'",
                             item.event.event_id};
        }
        if (!ok) {
            ++ctx_.stats.events_invalid;
            if (ctx_.deps.observer) ctx_.deps.observer->on_invalid_event(err.reason);
            item.key = m.key.value_or("");
            item.event = RenewalEvent{};
            item.invalid = err;
            b->items.push_back(std::move(item));
            b->invalid.push_back(std::move(m));
            b->errors.push_back(std::move(err));
            continue;
        }
        item.key = outcome_key(item.event);
        if (item.event.type == EventType::due)
            item.plan = scheduler::plan_reminders(item.event, ctx_.cfg.programs.at(item.event.program),
                                                  ctx_.cfg.engine, available_channels_, t);
        b->items.push_back(std::move(item));
    }
    return b;
}

void Ingest::apply_next(std::int32_t p) {
    auto& part = ctx_.parts.at(p);
    if (ctx_.stopping || part.applying || !part.owned || part.awaiting_offset || part.buffered.empty()) return;
    part.applying = true;
    part.batch = build_batch(part);
    auto batch = part.batch;
    // Invalid events go to the dead-letter topic first (each at most once per process), then
    // the batch is applied, their `invalid` outcomes and offsets included.
    for (std::size_t i = 0; i < batch->invalid.size(); ++i) {
        if (part.dead_lettered.count(batch->invalid[i].offset)) continue;
        ++batch->dead_letters_pending;
    }
    if (batch->dead_letters_pending == 0) return run_apply(p, batch);
    for (std::size_t i = 0; i < batch->invalid.size(); ++i) {
        const auto offset = batch->invalid[i].offset;
        if (part.dead_lettered.count(offset)) continue;
        ctx_.dead_letters->send(batch->invalid[i], batch->errors[i], [this, p, batch, offset] {
            auto& pt = ctx_.parts.at(p);
            pt.dead_lettered.insert(offset);
            if (--batch->dead_letters_pending > 0) return;
            if (pt.generation != batch->generation || ctx_.stopping) return finish_batch(p);
            run_apply(p, batch);
        });
    }
}

void Ingest::run_apply(std::int32_t p, std::shared_ptr<ApplyBatch> batch) {
    ctx_.deps.store.apply(p, batch->items, ctx_.now(),
                          ctx_.guard([this, p, batch](Result<scheduler::ApplyResult> r) {
                              on_applied(p, batch, std::move(r));
                          }));
}

void Ingest::on_applied(std::int32_t p, std::shared_ptr<ApplyBatch> batch, Result<scheduler::ApplyResult> r) {
    auto& part = ctx_.parts.at(p);
    if (!r) {
        // Dropped when the partition moved on or we stop: its events are consumed again.
        if (part.generation != batch->generation || ctx_.stopping) return finish_batch(p);
        if (++part.apply_failures == 1)
            log::error(kLog, "partition {}: applying events failed ({}); retrying", p, r.error().message);
        ctx_.after(ctx_.store_delay(part.apply_failures), [this, p, batch] {
            auto& again = ctx_.parts.at(p);
            if (again.generation != batch->generation || ctx_.stopping) return finish_batch(p);
            run_apply(p, batch);
        });
        return;
    }
    if (part.apply_failures > 0) log::info(kLog, "partition {}: applying events works again", p);
    part.apply_failures = 0;
    const auto& res = r.value();
    if (res.next_offset >= 0) {
        // Offsets below the stored one are never applied again: forget their dead letters.
        part.dead_lettered.erase(part.dead_lettered.begin(), part.dead_lettered.lower_bound(res.next_offset));
    }
    if (part.generation == batch->generation) {
        ctx_.stats.events_applied += static_cast<std::uint64_t>(res.applied);
        if (res.next_offset >= 0) ctx_.deps.events.commit(p, res.next_offset);
        if (part.paused && part.buffered.size() < ctx_.opts.pause_above / 2) {
            part.paused = false;
            ctx_.deps.events.resume(p);
            log::info(kLog, "partition {}: resumed", p);
        }
        if (res.scheduled > 0) {
            part.next_due = ctx_.now();
            ctx_.dispatch->wake();
        }
        ctx_.relay->relay(p);
    }
    finish_batch(p);
}

void Ingest::finish_batch(std::int32_t p) {
    auto& part = ctx_.parts.at(p);
    part.applying = false;
    part.batch.reset();
    // Whatever generation the batch was from, the partition's own buffered events may be
    // waiting for it: restart the loop.
    apply_next(p);
    ctx_.lifecycle->maybe_finish();
}

}  // namespace rappel::core
