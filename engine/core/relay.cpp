#include "engine/core/relay.hpp"

#include "engine/base/log.hpp"
#include "engine/core/lifecycle.hpp"

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
            publish(p, std::make_shared<std::vector<scheduler::OutboxEntry>>(std::move(r.value())));
        }));
}

void Relay::publish(std::int32_t p, std::shared_ptr<std::vector<scheduler::OutboxEntry>> entries) {
    std::size_t outcomes = 0;
    for (const auto& e : *entries) outcomes += e.outcomes.size();
    auto all_acked = [this, p, entries, outcomes](const Delivery& d) {
        if (d.status != DeliveryStatus::ok) return failed(p, "publishing outcomes", d.error);
        ctx_.stats.outcomes_relayed += outcomes;
        if (ctx_.deps.observer)
            for (const auto& e : *entries)
                for (const auto& o : e.outcomes) ctx_.deps.observer->on_outcome_published(o.value);
        std::vector<std::string> ids;
        ids.reserve(entries->size());
        for (const auto& x : *entries) ids.push_back(x.id);
        const bool full = entries->size() >= static_cast<std::size_t>(ctx_.opts.outbox_batch);
        ctx_.deps.store.delete_outbox(p, std::move(ids), ctx_.guard([this, p, full](Result<void> r) {
            if (!r) return failed(p, "deleting relayed outbox entries", r.error().message);
            done(p, full);
        }));
    };
    if (outcomes == 0) return all_acked(Delivery{});
    std::vector<Producer::Record> records;
    records.reserve(outcomes);
    for (const auto& e : *entries)
        for (const auto& o : e.outcomes) records.push_back({o.key, o.value});
    // Informational for consumers; the rebuild reads it back (restore.hpp).
    const kafka::Headers headers{{std::string(kPartitionHeader), std::to_string(p)}};
    ctx_.deps.producer.produce_batch(ctx_.cfg.kafka.outcomes_topic, records, headers,
                                     ctx_.guard(std::move(all_acked)));
}

void Relay::failed(std::int32_t p, std::string_view what, std::string_view error) {
    auto& part = ctx_.parts.at(p);
    part.relaying = false;
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
    if (part.relay_failures > 0) log::info(kLog, "partition {}: relaying outcomes works again", p);
    part.relay_failures = 0;
    if ((more || part.relay_again) && (part.owned || ctx_.stopping)) relay(p);
    ctx_.lifecycle->maybe_finish();
}

}  // namespace rappel::core
