#include "engine/core/core.hpp"

#include "engine/base/log.hpp"
#include "engine/core/dead_letters.hpp"
#include "engine/core/dispatch.hpp"
#include "engine/core/ingest.hpp"
#include "engine/core/lifecycle.hpp"
#include "engine/core/ownership.hpp"
#include "engine/core/relay.hpp"
#include "engine/core/restore.hpp"

namespace rappel::core {

struct Core::Parts {
    explicit Parts(CoreDeps deps)
        : ctx(std::move(deps)), ownership(ctx), ingest(ctx), dead_letters(ctx), dispatch(ctx), relay(ctx),
          lifecycle(ctx), restore(ctx) {
        ctx.ownership = &ownership;
        ctx.ingest = &ingest;
        ctx.dead_letters = &dead_letters;
        ctx.dispatch = &dispatch;
        ctx.relay = &relay;
        ctx.lifecycle = &lifecycle;
        ctx.restore = &restore;
    }
    Context ctx;
    Ownership ownership;
    Ingest ingest;
    DeadLetters dead_letters;
    Dispatch dispatch;
    Relay relay;
    Lifecycle lifecycle;
    Restore restore;
};

Core::Core(CoreDeps deps) : parts_(std::make_unique<Parts>(std::move(deps))) {}

Core::~Core() {
    parts_->dispatch.stop_timer();
}

void Core::start() {
    auto& ctx = parts_->ctx;
    EventSource::Handlers h;
    h.on_messages = ctx.guard([this](std::vector<kafka::Message>&& msgs) { parts_->ingest.on_messages(std::move(msgs)); });
    h.on_assigned = ctx.guard([this](const std::vector<std::int32_t>& ps) {
        parts_->ownership.on_assigned(ps);
        parts_->dispatch.wake();
    });
    h.on_revoked = ctx.guard([this](const std::vector<std::int32_t>& ps) { parts_->ownership.on_revoked(ps); });
    ctx.deps.events.start(std::move(h));
    parts_->dispatch.wake();
    log::info("engine", "started instance {} consuming {} as group {}", ctx.deps.instance_id,
              ctx.cfg.kafka.events_topic, ctx.cfg.kafka.group_id);
}

void Core::shutdown(std::function<void()> done) {
    parts_->lifecycle.shutdown(std::move(done));
}

EngineStats Core::stats() const {
    return parts_->ctx.stats;
}

CoreHealth Core::health() const {
    const auto& ctx = parts_->ctx;
    CoreHealth h;
    h.stopping = ctx.stopping;
    for (const auto& [p, part] : ctx.parts.all()) {
        if (part.owned) h.owned.push_back(p);
        if (part.claim_failing || part.apply_failures > 0 || part.record_failures > 0 || part.offset_failures > 0)
            ++h.store_failing;
        if (part.relay_failures > 0) ++h.relay_failing;
        h.in_flight += part.in_flight.size();
        h.buffered_events += part.buffered.size();
        if (part.paused) ++h.paused;
    }
    return h;
}

}  // namespace rappel::core
