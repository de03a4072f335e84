#pragma once
// The engine core, against its ports only: ownership of partitions, ingest (validate, plan,
// dead-letter, apply), dispatch (claim, compose, send, record), the outbox relay and the
// graceful stop. Everything runs on one io_context thread. engine.hpp wires it to Kafka and
// Redis.
#include "channels/channel.hpp"
#include "engine/base/backoff.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/random.hpp"
#include "engine/config/config.hpp"
#include "engine/core/observer.hpp"
#include "engine/core/ports.hpp"
#include "engine/core/stats.hpp"
#include "scheduler/schedule.hpp"
#include "templates/template_set.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace rappel::core {

struct CoreOptions {
    std::size_t pause_above = 20000;  // buffered events per partition before pausing it
    int outbox_batch = 500;           // outbox entries read per relay step
    int record_batch = 500;           // attempt records per Store::record call
    BackoffPolicy store_backoff{Millis{100}, Millis{10'000}};   // Store retries
    BackoffPolicy kafka_backoff{Millis{100}, Millis{5'000}};    // produce retries
    int dead_letter_attempts = 3;     // tries of a retriable dead-letter produce
    // A dead-letter copy is cut to this (key, headers and value) when the topic refuses the
    // original as too large. Kafka's default limit is 1 MB.
    std::size_t dead_letter_budget = 1'000'000;
    std::chrono::milliseconds stop_deadline{15'000};   // for in-flight sends on shutdown
    std::chrono::milliseconds final_deadline{5'000};   // for release and the last relay
};

struct CoreDeps {
    boost::asio::io_context& io;
    const config::Config& config;
    const templates::TemplateSet& templates;
    // The channel of each kind (nullptr: none configured), e.g. ChannelRegistry::find.
    std::function<channels::Channel*(ChannelKind)> channels;
    ClockPtr clock;
    RandomPtr random;
    std::string instance_id;
    scheduler::Store& store;
    EventSource& events;
    Producer& producer;
    // Dead letters go through their own producer when set (a shorter delivery timeout, so a
    // dead-letter topic that refuses without an error cannot hold its partition for long).
    Producer* dead_letter_producer = nullptr;
    CoreOptions options{};
    // The outcomes topic read back to restore done markers before a partition without a
    // stored offset is consumed (nullptr: consumed at once, nothing restored).
    OutcomeHistory* outcome_history = nullptr;
    CoreObserver* observer = nullptr;  // metrics hook (observer.hpp); may be null
};

class Core {
public:
    explicit Core(CoreDeps deps);
    ~Core();
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    void start();
    // Stop consuming and claiming; in-flight sends finish (up to the stop deadline) and
    // their results are recorded; what is still claimed is released; the outbox is relayed;
    // the source is closed and the producer flushed. `done` runs on the io thread.
    void shutdown(std::function<void()> done);
    EngineStats stats() const;
    CoreHealth health() const;

    struct Parts;

private:
    std::unique_ptr<Parts> parts_;
};

}  // namespace rappel::core
