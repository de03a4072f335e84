#pragma once
// The engine: ingest (Kafka -> validated, planned, applied to the Redis schedule with the
// partition's offset), firing (claim due reminders with a lease, render, send, record the
// result), and the outbox relay (outcomes written atomically with state changes, forwarded to
// Kafka by an idempotent producer). Everything runs on one io_context thread.
#include "channels/registry.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/random.hpp"
#include "engine/config/config.hpp"
#include "engine/core/observer.hpp"
#include "engine/core/stats.hpp"
#include "templates/template_set.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace rappel::core {

struct EngineDeps {
    boost::asio::io_context& io;
    const config::Config& config;
    const templates::TemplateSet& templates;
    channels::ChannelRegistry& channels;
    ClockPtr clock;
    RandomPtr random;
    std::string instance_id;  // unique per running process; part of claim tokens
    CoreObserver* observer = nullptr;  // metrics hook; may be null
};

class Engine {
public:
    explicit Engine(EngineDeps deps);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Connects to Redis and Kafka and starts consuming. Throws on invalid Kafka settings.
    void start();
    // Graceful stop: no new events or claims, in-flight sends finish (or are released),
    // the outbox is relayed, offsets committed. `done` runs on the io thread.
    void shutdown(std::function<void()> done);
    EngineStats stats() const;
    CoreHealth health() const;  // empty before start()
    // Consumer lag of the partitions served (events topic high watermark minus committed
    // offsets); nullopt when not known yet.
    std::optional<std::int64_t> consumer_lag() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace rappel::core
