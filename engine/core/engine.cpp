#include "engine/core/engine.hpp"

#include "engine/base/log.hpp"
#include "engine/core/core.hpp"
#include "engine/core/kafka_ports.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/redis_store.hpp"

#include <stdexcept>

namespace rappel::core {

// The composition of the core with its production ports: Redis (hiredis on Asio) for the
// schedule store, Kafka for events, outcomes and dead letters.
struct Engine::Impl {
    explicit Impl(EngineDeps d)
        : deps(std::move(d)),
          redis(deps.io, redis::Endpoint{deps.config.redis.host, deps.config.redis.port, deps.config.redis.password},
                redis::ClientOptions{.command_timeout = deps.config.redis.command_timeout,
                                     .connect_timeout = deps.config.redis.connect_timeout,
                                     .random = deps.random}),
          store(redis, deps.config.redis.key_prefix, deps.config.kafka.events_topic,
                std::chrono::duration_cast<Millis>(deps.config.engine.retention),
                std::make_shared<const scheduler::WindowBook>(deps.config.programs,
                                                              deps.config.engine.default_time_zone)) {}

    EngineDeps deps;
    redis::Client redis;
    scheduler::RedisStore store;
    std::unique_ptr<KafkaProducer> producer;
    std::unique_ptr<KafkaProducer> dead_letter_producer;
    std::unique_ptr<KafkaEventSource> events;
    std::unique_ptr<KafkaOutcomeHistory> history;
    std::unique_ptr<Core> core;
};

Engine::Engine(EngineDeps deps) : impl_(std::make_shared<Impl>(std::move(deps))) {}

Engine::~Engine() = default;

void Engine::start() {
    auto& d = impl_->deps;
    {
        // Start-up only: refuse a Redis written by another schedule layout before touching it.
        redis::SyncClient sync(redis::Endpoint{d.config.redis.host, d.config.redis.port, d.config.redis.password});
        auto layout = scheduler::RedisStore::check_layout(sync, d.config.redis.key_prefix);
        if (!layout && layout.error().code == "layout") throw std::runtime_error(layout.error().message);
        if (!layout) log::warn("engine", "{}; checking again is left to the next start", layout.error().message);
    }
    impl_->producer = std::make_unique<KafkaProducer>(d.io, d.config);
    // librdkafka waits message.timeout.ms (default 5 min) for a topic that never shows up or
    // is not authorised; a dead letter gives up sooner (see DeadLetters).
    impl_->dead_letter_producer =
        std::make_unique<KafkaProducer>(d.io, d.config, kafka::Properties{{"message.timeout.ms", "6000"}});
    impl_->events = std::make_unique<KafkaEventSource>(d.io, d.config);
    impl_->history = std::make_unique<KafkaOutcomeHistory>(d.io, d.config);
    auto* registry = &d.channels;
    CoreDeps deps{
        d.io, d.config, d.templates, [registry](ChannelKind k) { return registry->find(k); }, d.clock, d.random,
        d.instance_id, impl_->store, *impl_->events, *impl_->producer, impl_->dead_letter_producer.get()};
    deps.outcome_history = impl_->history.get();
    deps.observer = d.observer;
    impl_->core = std::make_unique<Core>(std::move(deps));
    impl_->redis.start();
    impl_->core->start();
}

void Engine::shutdown(std::function<void()> done) {
    if (!impl_->core) {
        if (done) done();
        return;
    }
    std::weak_ptr<Impl> weak = impl_;
    impl_->core->shutdown([weak, done = std::move(done)] {
        if (auto impl = weak.lock()) impl->redis.stop();
        if (done) done();
    });
}

EngineStats Engine::stats() const { return impl_->core ? impl_->core->stats() : EngineStats{}; }

CoreHealth Engine::health() const { return impl_->core ? impl_->core->health() : CoreHealth{}; }

std::optional<std::int64_t> Engine::consumer_lag() const {
    if (!impl_->core || !impl_->events) return std::nullopt;
    return impl_->events->lag(impl_->core->health().owned);
}

}  // namespace rappel::core
