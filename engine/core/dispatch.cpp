#include "engine/core/dispatch.hpp"

#include "engine/base/log.hpp"
#include "engine/core/compose.hpp"
#include "engine/core/lifecycle.hpp"
#include "engine/core/relay.hpp"
#include "engine/core/retry.hpp"

#include <algorithm>

namespace rappel::core {
namespace {
constexpr std::string_view kLog = "engine";
}

// Claim tokens fence results across processes: a random base per process, then a counter.
Dispatch::Dispatch(Context& ctx)
    : ctx_(ctx), timer_(ctx.deps.io), token_base_(ctx.deps.random->next_u64() & ~0xffffffffULL) {}

void Dispatch::wake() {
    if (!ctx_.stopping) arm(ctx_.now());
}

void Dispatch::stop_timer() {
    timer_.cancel();
    armed_ = TimePoint::max();
}

// Re-armed only when the wake-up instant moves earlier (or the armed one has passed).
void Dispatch::arm(TimePoint when) {
    if (ctx_.stopping) return;
    if (armed_ != TimePoint::max() && when >= armed_) return;
    armed_ = when;
    timer_.expires_after(ctx_.deps.clock->real_delay_until(when));
    timer_.async_wait(ctx_.guard([this](const boost::system::error_code& ec) {
        if (ec) return;
        armed_ = TimePoint::max();
        tick();
    }));
}

void Dispatch::tick() {
    if (ctx_.stopping) return;
    const TimePoint t = ctx_.now();
    const auto max = static_cast<std::size_t>(std::max(0, ctx_.cfg.engine.max_in_flight));
    for (auto& [p, part] : ctx_.parts.all()) {
        const std::size_t used = ctx_.parts.in_flight();
        if (used >= max) break;
        if (part.owned && !part.awaiting_offset && !part.claiming && (!part.next_due || *part.next_due <= t))
            claim(p, max - used);
    }
    // Wake at the earliest known due instant, else after the poll interval. Partitions due
    // but not claimed (all slots busy) are picked up when a result is recorded.
    TimePoint next = t + ctx_.poll_interval();
    for (auto& [p, part] : ctx_.parts.all())
        if (part.owned && !part.claiming && part.next_due && *part.next_due > t) next = std::min(next, *part.next_due);
    arm(next);
    ctx_.relay->relay_all();
}

void Dispatch::claim(std::int32_t p, std::size_t capacity) {
    auto& part = ctx_.parts.at(p);
    const int max = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(ctx_.cfg.engine.claim_batch), capacity));
    if (max <= 0) return;
    part.claiming = true;
    const scheduler::ClaimToken token = token_base_ | (++token_seq_ & 0xffffffffULL);
    // What this engine holds (sending, or its result waiting to be recorded) is never claimed
    // again by it, even when its lease ran out while the Store was unreachable. Asked while
    // the claim decides: only this partition's own claim (one at a time) adds to it.
    auto holds = [this, p, alive = std::weak_ptr<char>(ctx_.alive)](const scheduler::ReminderRef& ref) {
        if (alive.expired()) return true;
        const Partition* held = ctx_.parts.find(p);
        return held != nullptr && held->in_flight.count(ref) > 0;
    };
    ctx_.deps.store.claim(p, ctx_.now(), ctx_.deps.clock->elapsed_during(ctx_.cfg.engine.lease), max, token,
                          std::move(holds),
                          ctx_.guard([this, p, token](Result<scheduler::ClaimBatch> r) {
                              on_claimed(p, token, std::move(r));
                          }));
}

// Claimed reminders are sent even if the partition was revoked meanwhile: they are ours
// until the lease runs out, and the claim token fences the result.
void Dispatch::on_claimed(std::int32_t p, scheduler::ClaimToken token, Result<scheduler::ClaimBatch> r) {
    auto& part = ctx_.parts.at(p);
    part.claiming = false;
    if (!r) {
        if (!part.claim_failing)
            log::error(kLog, "partition {}: claiming due reminders failed ({}); retrying", p, r.error().message);
        part.claim_failing = true;
        part.next_due = ctx_.now() + ctx_.poll_interval();
        if (part.owned) arm(*part.next_due);
        ctx_.lifecycle->maybe_finish();
        return;
    }
    if (part.claim_failing) log::info(kLog, "partition {}: claiming works again", p);
    part.claim_failing = false;
    auto& batch = r.value();
    part.next_due = batch.more ? std::optional<TimePoint>(ctx_.now()) : batch.next_due;
    for (auto& item : batch.items) {
        auto [it, fresh] = part.in_flight.try_emplace(item.ref, InFlight{token, item.attempt, item.reminder_id});
        if (!fresh) {
            // The Store ignored `skip`: keep the first claim, whose send is under way.
            log::warn(kLog, "reminder {}: claimed again while in flight; ignored", item.reminder_id);
            continue;
        }
        ++ctx_.stats.reminders_claimed;
        // Claimed while stopping: not sent, released with the rest.
        if (ctx_.stopping) continue;
        send(p, std::move(item));
    }
    if (part.next_due && part.owned) arm(*part.next_due);
    ctx_.relay->relay(p);
    ctx_.lifecycle->maybe_finish();
}

void Dispatch::send(std::int32_t p, scheduler::ClaimedReminder item) {
    auto& slot = ctx_.parts.at(p).in_flight.at(item.ref);
    slot.state = InFlight::State::sending;
    channels::Channel* channel = ctx_.deps.channels(item.ref.channel);
    if (!channel)
        return on_result(p, item.ref, "", {channels::SendStatus::rejected, "", "no provider for channel", {}});
    auto composed = compose(item, ctx_.cfg, ctx_.deps.templates);
    if (auto* err = std::get_if<ComposeError>(&composed))
        return on_result(p, item.ref, "", {channels::SendStatus::rejected, "", err->reason(), {}});
    channel->send(std::get<channels::Message>(composed),
                  ctx_.guard([this, p, ref = item.ref, provider = std::string(channel->provider())](
                                 channels::SendResult res) { on_result(p, ref, provider, std::move(res)); }));
}

void Dispatch::on_result(std::int32_t p, const scheduler::ReminderRef& ref, const std::string& provider,
                         channels::SendResult res) {
    auto& part = ctx_.parts.at(p);
    auto it = part.in_flight.find(ref);
    if (it == part.in_flight.end() || it->second.state != InFlight::State::sending) return;  // released
    it->second.state = InFlight::State::recording;
    scheduler::AttemptRecord rec;
    rec.ref = ref;
    rec.token = it->second.token;
    rec.provider = provider;
    rec.provider_message_id = res.provider_message_id;
    rec.reason = res.reason;
    rec.max_attempts = ctx_.cfg.retry.max_attempts;
    switch (res.status) {
    case channels::SendStatus::accepted:
        ++ctx_.stats.sends_accepted;
        rec.result = scheduler::AttemptResult::sent;
        break;
    case channels::SendStatus::retry:
        ++ctx_.stats.sends_retried;
        rec.result = scheduler::AttemptResult::retry;
        rec.next_attempt =
            ctx_.now() + backoff_delay(ctx_.cfg.retry, it->second.attempt, *ctx_.deps.random, res.retry_after);
        break;
    case channels::SendStatus::rejected:
        ++ctx_.stats.sends_rejected;
        rec.result = scheduler::AttemptResult::failed;
        break;
    }
    log::debug(kLog, "reminder {} attempt {}: {} {}", it->second.reminder_id, it->second.attempt,
               channels::to_string(res.status), res.reason);
    part.to_record.push_back(std::move(rec));
    flush_records(p);
}

// Results arriving while a record call is under way wait and go in the next batch.
void Dispatch::flush_records(std::int32_t p) {
    auto& part = ctx_.parts.at(p);
    if (part.recording || part.to_record.empty()) return;
    part.recording = true;
    const auto n = std::min(part.to_record.size(), static_cast<std::size_t>(std::max(1, ctx_.opts.record_batch)));
    auto records = std::make_shared<std::vector<scheduler::AttemptRecord>>(
        std::make_move_iterator(part.to_record.begin()), std::make_move_iterator(part.to_record.begin() + n));
    part.to_record.erase(part.to_record.begin(), part.to_record.begin() + n);
    ctx_.deps.store.record(p, ctx_.now(), *records,
                           ctx_.guard([this, p, records](Result<std::vector<scheduler::RecordStatus>> r) {
                               on_recorded(p, records, std::move(r));
                           }));
}

// A result must reach the Store: losing it would let the lease run out and the reminder go
// out twice. So recording is retried until the Store answers, even while stopping.
void Dispatch::on_recorded(std::int32_t p, std::shared_ptr<std::vector<scheduler::AttemptRecord>> records,
                           Result<std::vector<scheduler::RecordStatus>> r) {
    auto& part = ctx_.parts.at(p);
    if (!r) {
        if (++part.record_failures == 1)
            log::error(kLog, "partition {}: recording {} results failed ({}); retrying", p, records->size(),
                       r.error().message);
        ctx_.after(ctx_.store_delay(part.record_failures), [this, p, records] {
            ctx_.deps.store.record(p, ctx_.now(), *records,
                                   ctx_.guard([this, p, records](Result<std::vector<scheduler::RecordStatus>> again) {
                                       on_recorded(p, records, std::move(again));
                                   }));
        });
        return;
    }
    if (part.record_failures > 0) log::info(kLog, "partition {}: recording results works again", p);
    part.record_failures = 0;
    part.recording = false;
    const auto& statuses = r.value();
    for (std::size_t i = 0; i < records->size(); ++i) {
        const auto& rec = (*records)[i];
        const auto status = i < statuses.size() ? statuses[i] : scheduler::RecordStatus::fenced;
        auto it = part.in_flight.find(rec.ref);
        const std::string rid = it != part.in_flight.end() ? it->second.reminder_id : std::string();
        if (it != part.in_flight.end() && it->second.token == rec.token) part.in_flight.erase(it);
        if (status == scheduler::RecordStatus::retrying) {
            if (!part.next_due || rec.next_attempt < *part.next_due) part.next_due = rec.next_attempt;
            if (part.owned) arm(rec.next_attempt);
        } else if (status == scheduler::RecordStatus::fenced) {
            log::warn(kLog, "reminder {}: its claim was taken over; result not recorded", rid);
        }
    }
    ctx_.relay->relay(p);
    flush_records(p);
    wake();  // send slots were freed
    ctx_.lifecycle->maybe_finish();
}

bool Dispatch::idle() const {
    for (const auto& [p, part] : ctx_.parts.all())
        if (part.claiming || part.recording || !part.to_record.empty()) return false;
    return true;
}

std::size_t Dispatch::sending() const {
    std::size_t n = 0;
    for (const auto& [p, part] : ctx_.parts.all())
        for (const auto& [ref, f] : part.in_flight) n += f.state == InFlight::State::sending ? 1 : 0;
    return n;
}

}  // namespace rappel::core
