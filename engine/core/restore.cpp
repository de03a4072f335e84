#include "engine/core/restore.hpp"

#include "engine/base/log.hpp"
#include "engine/core/ownership.hpp"

#include <boost/asio/post.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace rappel::core {
namespace {
constexpr std::string_view kLog = "engine";

long long ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

Restore::~Restore() {
    cancel_pass();
}

bool Restore::valid(std::int32_t p, const PartState& s) const {
    const auto& all = ctx_.parts.all();
    const auto it = all.find(p);
    return it != all.end() && it->second.owned && it->second.generation == s.generation && it->second.restoring;
}

void Restore::need(std::int32_t p, std::uint64_t generation) {
    waiting_[p] = generation;
    log::info(kLog, "partition {}: no stored offset; restoring its done markers from {} first", p,
              ctx_.cfg.kafka.outcomes_topic);
    maybe_start();
}

// One pass for every partition waiting once no other assigned partition is still having its
// offset read: the partitions of one assignment are restored together.
void Restore::maybe_start() {
    if (pass_ || ctx_.stopping || start_posted_) return;
    start_posted_ = true;
    boost::asio::post(ctx_.deps.io, ctx_.guard([this] {
        start_posted_ = false;
        if (pass_ || ctx_.stopping) return;
        std::erase_if(waiting_, [&](const auto& kv) {
            auto* part = ctx_.parts.find(kv.first);
            return !part || !part->owned || part->generation != kv.second || !part->restoring;
        });
        if (waiting_.empty()) return;
        for (const auto& [p, part] : ctx_.parts.all())
            if (part.owned && part.awaiting_offset && !part.restoring) return;  // its answer calls again
        start_pass();
    }));
}

void Restore::start_pass() {
    pass_ = std::make_unique<PassState>();
    pass_->started = std::chrono::steady_clock::now();
    std::set<std::int32_t> ps;
    for (const auto& [p, generation] : waiting_) {
        pass_->parts[p].generation = generation;
        ps.insert(p);
    }
    waiting_.clear();
    const auto seq = ++pass_seq_;
    log::info(kLog, "restore: reading {} for partitions {}", ctx_.cfg.kafka.outcomes_topic, fmt::join(ps, ","));
    OutcomeHistory::Handlers h;
    h.on_batch = ctx_.guard([this, seq](OutcomeHistory::Batch&& b, std::function<void()> next) {
        if (pass_ && pass_seq_ == seq) on_batch(std::move(b), std::move(next));
    });
    h.on_end = ctx_.guard([this, seq](Result<std::int64_t> r) {
        if (pass_ && pass_seq_ == seq) on_end(std::move(r));
    });
    pass_->pass = ctx_.deps.outcome_history->read(std::move(ps), std::move(h));
}

void Restore::on_batch(OutcomeHistory::Batch&& b, std::function<void()> next) {
    pass_->read += b.read;
    auto remaining = std::make_shared<std::size_t>(1);
    auto all_written = [this, remaining, next, seq = pass_seq_] {
        if (--*remaining == 0 && pass_ && pass_seq_ == seq) next();
    };
    // Without the header the partition is unknown: every partition of the pass gets the
    // marker (one that is not its licence's keeps a record nobody reads, expiring after the
    // retention).
    if (!b.unrouted.empty()) {
        pass_->unrouted += static_cast<std::int64_t>(b.unrouted.size());
        for (const auto& [p, s] : pass_->parts) {
            if (!valid(p, s)) continue;
            auto& list = b.by_partition[p];
            list.insert(list.end(), b.unrouted.begin(), b.unrouted.end());
        }
    }
    for (auto& [p, list] : b.by_partition) {
        auto it = pass_->parts.find(p);
        if (it == pass_->parts.end() || !valid(p, it->second) || list.empty()) continue;
        it->second.kept += static_cast<std::int64_t>(list.size());
        ++*remaining;
        write(p, it->second.generation, std::make_shared<std::vector<scheduler::EndedReminder>>(std::move(list)),
              remaining, all_written, 0);
    }
    all_written();
}

// Retried with backoff until the Store answers, as long as the partition stays ours.
void Restore::write(std::int32_t p, std::uint64_t generation, std::shared_ptr<std::vector<scheduler::EndedReminder>> ended,
                    std::shared_ptr<std::size_t> remaining, std::function<void()> next, int failures) {
    const auto seq = pass_seq_;
    auto copy = *ended;
    ctx_.deps.store.restore_done(
        p, std::move(copy), ctx_.now(),
        ctx_.guard([this, p, generation, ended, remaining, next, failures, seq](Result<std::int64_t> r) {
            if (!pass_ || pass_seq_ != seq) return;
            auto it = pass_->parts.find(p);
            if (it == pass_->parts.end() || it->second.generation != generation || !valid(p, it->second))
                return next();
            if (r) {
                it->second.restored += r.value();
                return next();
            }
            if (failures == 0)
                log::error(kLog, "partition {}: restoring done markers failed ({}); retrying", p, r.error().message);
            if (ctx_.stopping) return;
            ctx_.after(ctx_.store_delay(failures + 1), [this, p, generation, ended, remaining, next, failures, seq] {
                if (pass_ && pass_seq_ == seq) write(p, generation, ended, remaining, next, failures + 1);
            });
        }));
}

void Restore::on_end(Result<std::int64_t> r) {
    if (!r) {
        // Never consumed without its markers (that could send twice): read again.
        if (++pass_->failures == 1)
            log::error(kLog, "restore: reading {} failed ({}); retrying, its partitions stay paused",
                       ctx_.cfg.kafka.outcomes_topic, r.error().message);
        pass_->pass.reset();
        if (ctx_.stopping) return;
        const auto seq = pass_seq_;
        ctx_.after(backoff_delay(ctx_.opts.kafka_backoff, pass_->failures, *ctx_.deps.random), [this, seq] {
            if (!pass_ || pass_seq_ != seq) return;
            for (const auto& [p, s] : pass_->parts)
                if (valid(p, s)) waiting_[p] = s.generation;
            pass_.reset();
            maybe_start();
        });
        return;
    }
    const auto ms = ms_since(pass_->started);
    log::info(kLog, "restore: read {} outcomes of {} in {} ms ({} without a partition header)", r.value(),
              ctx_.cfg.kafka.outcomes_topic, ms, pass_->unrouted);
    auto done = std::move(pass_);
    for (const auto& [p, s] : done->parts) {
        if (!valid(p, s)) continue;
        log::info(kLog, "partition {}: restored {} done markers ({} ended reminders read) in {} ms", p, s.restored,
                  s.kept, ms);
        ctx_.ownership->consume(p, kOffsetBeginning);
    }
    maybe_start();
}

void Restore::revoked() {
    if (pass_) {
        bool any = false;
        for (const auto& [p, s] : pass_->parts) any = any || valid(p, s);
        if (!any) {
            log::info(kLog, "restore: every partition of the pass was revoked; cancelled");
            cancel_pass();
        }
    }
    maybe_start();  // a revoked partition may have been the one whose offset was awaited
}

void Restore::stop() {
    waiting_.clear();
    cancel_pass();
}

void Restore::cancel_pass() {
    if (!pass_) return;
    ++pass_seq_;
    pass_.reset();
}

}  // namespace rappel::core
