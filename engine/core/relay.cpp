#include "engine/core/relay.hpp"

#include "engine/base/log.hpp"
#include "engine/core/lifecycle.hpp"

#include <charconv>
#include <numeric>

namespace rappel::core {
namespace {
constexpr std::string_view kLog = "engine";
}

void Relay::relay_all() {
    for (auto& [p, part] : ctx_.parts.all())
        if (part.owned || ctx_.stopping) relay(p);
}

bool Relay::idle() const {
    for (const auto& [p, part] : ctx_.parts.all())
        if (part.relaying) return false;
    return true;
}

void Relay::relay(std::int32_t p) {
    auto& part = ctx_.parts.at(p);
    if (part.relaying || part.relay_waiting) {
        part.relay_again = true;
        return;
    }
    part.relaying = true;
    part.relay_again = false;
    ctx_.deps.store.read_outbox(
        p, ctx_.opts.outbox_batch, ctx_.guard([this, p](Result<std::vector<scheduler::OutboxEntry>> r) {
            if (!r) return failed(p, "reading the outbox", r.error().message);
            if (r.value().empty()) return done(p, false);
            auto entries = std::make_shared<std::vector<scheduler::OutboxEntry>>(std::move(r.value()));
            if (ctx_.parts.at(p).relay_check && ctx_.deps.outcome_history) return check(p, std::move(entries));
            publish(p, std::move(entries), {});
        }));
}

namespace {
// Redis stream ids are "<unix ms>-<seq>" in Redis's clock; Kafka message times are the
// producer's. The margin covers the two hosts' clocks disagreeing.
constexpr auto kClockMargin = std::chrono::minutes{10};

TimePoint entry_time(std::string_view id) {
    std::int64_t ms = 0;
    std::from_chars(id.data(), id.data() + id.size(), ms);
    return from_unix_ms(ms);
}
}  // namespace

void Relay::check(std::int32_t p, std::shared_ptr<std::vector<scheduler::OutboxEntry>> entries) {
    const TimePoint since = entry_time(entries->front().id) - kClockMargin;
    checks_[p] = ctx_.deps.outcome_history->published(
        p, since, ctx_.guard([this, p, entries](Result<OutcomeHistory::Positions> r) {
            checks_.erase(p);
            if (!r) return failed(p, "reading back the outcomes already published", r.error().message);
            publish(p, entries, std::move(r.value()));
        }));
}

void Relay::publish(std::int32_t p, std::shared_ptr<std::vector<scheduler::OutboxEntry>> entries,
                    OutcomeHistory::Positions already) {
    // Each outcome's place in the outbox, sent with it (kOutboxHeader); those `already` on the
    // topic are not sent again.
    std::vector<std::string> positions;
    std::vector<Producer::Record> records;
    std::vector<const scheduler::Outcome*> sent;
    for (const auto& e : *entries)
        for (std::size_t i = 0; i < e.outcomes.size(); ++i) {
            std::string pos = e.id + "/" + std::to_string(i);
            if (already.count(pos)) continue;
            positions.push_back(std::move(pos));
            sent.push_back(&e.outcomes[i]);
        }
    if (const auto skipped = std::accumulate(entries->begin(), entries->end(), std::size_t{0},
                                             [](std::size_t n, const auto& e) { return n + e.outcomes.size(); }) -
                             sent.size();
        skipped > 0)
        log::info(kLog, "partition {}: {} outcomes of an interrupted relay round were already published", p, skipped);
    records.reserve(sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) records.push_back({sent[i]->key, sent[i]->value, positions[i]});
    auto all_acked = [this, p, entries, sent = std::move(sent)](const Delivery& d) {
        if (d.status != DeliveryStatus::ok) return failed(p, "publishing outcomes", d.error);
        ctx_.stats.outcomes_relayed += sent.size();
        if (ctx_.deps.observer)
            for (const auto* o : sent) ctx_.deps.observer->on_outcome_published(o->value);
        std::vector<std::string> ids;
        ids.reserve(entries->size());
        for (const auto& x : *entries) ids.push_back(x.id);
        const bool full = entries->size() >= static_cast<std::size_t>(ctx_.opts.outbox_batch);
        ctx_.deps.store.delete_outbox(p, std::move(ids), ctx_.guard([this, p, full](Result<void> r) {
            if (!r) return failed(p, "deleting relayed outbox entries", r.error().message);
            done(p, full);
        }));
    };
    if (records.empty()) return all_acked(Delivery{});
    // Informational for consumers; the rebuild reads it back (restore.hpp).
    const kafka::Headers headers{{std::string(kPartitionHeader), std::to_string(p)}};
    ctx_.deps.producer.produce_batch(ctx_.cfg.kafka.outcomes_topic, records, headers,
                                     ctx_.guard(std::move(all_acked)));
}

void Relay::failed(std::int32_t p, std::string_view what, std::string_view error) {
    auto& part = ctx_.parts.at(p);
    part.relaying = false;
    part.relay_check = true;
    if (++part.relay_failures == 1) log::error(kLog, "partition {}: {} failed ({}); retrying", p, what, error);
    part.relay_waiting = true;
    const auto delay = ctx_.stopping ? ctx_.store_delay(1) : ctx_.store_delay(part.relay_failures);
    ctx_.after(delay, [this, p] {
        auto& again = ctx_.parts.at(p);
        again.relay_waiting = false;
        if (again.owned || ctx_.stopping) relay(p);
        ctx_.lifecycle->maybe_finish();
    });
    ctx_.lifecycle->maybe_finish();
}

void Relay::done(std::int32_t p, bool more) {
    auto& part = ctx_.parts.at(p);
    part.relaying = false;
    part.relay_check = false;
    if (part.relay_failures > 0) log::info(kLog, "partition {}: relaying outcomes works again", p);
    part.relay_failures = 0;
    if ((more || part.relay_again) && (part.owned || ctx_.stopping)) relay(p);
    ctx_.lifecycle->maybe_finish();
}

}  // namespace rappel::core
