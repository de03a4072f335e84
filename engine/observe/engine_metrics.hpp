#pragma once
// rappeld's metrics, readiness and the HTTP endpoints that serve them. Built on the
// registry (metrics.hpp), fed by the core's stats and health (read at scrape), the core's
// observer hook (dead letters by reason, outcomes by program/channel/status), a decorator
// around each channel (sends by provider and result, latency) and a Redis probe of its own
// (round-trip time, outbox backlog, schedule size) that runs on a timer on the io thread.
// Everything here runs on the engine's io thread.
#include "channels/registry.hpp"
#include "engine/base/clock.hpp"
#include "engine/config/config.hpp"
#include "engine/core/engine.hpp"
#include "engine/core/observer.hpp"
#include "engine/observe/http_server.hpp"
#include "engine/observe/metrics.hpp"

#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>

namespace rappel::observe {

struct EngineMetricsOptions {
    std::chrono::milliseconds probe_interval{5000};  // real time between Redis probes
    std::size_t ready_max_outbox = 100'000;          // outbox entries above which /readyz fails
    std::string version;
    std::string commit;
};

class EngineMetrics : public core::CoreObserver {
public:
    EngineMetrics(boost::asio::io_context& io, const config::Config& cfg, ClockPtr clock,
                  EngineMetricsOptions options);
    ~EngineMetrics() override;

    // A registry whose channels are those of `inner`, each counted and timed. `inner` must
    // outlive the result.
    channels::ChannelRegistry instrument(const channels::ChannelRegistry& inner);
    // Reads the engine's stats and health at each scrape and readiness check.
    void attach(const core::Engine& engine);
    // Starts the Redis probe.
    void start();
    void stop();

    // Ready to take traffic, else the reason (one short line).
    bool ready(std::string& reason) const;
    // GET /metrics, /healthz, /readyz.
    HttpResponse handle(const std::string& path);
    Registry& registry() { return registry_; }

    void on_invalid_event(std::string_view reason) override;
    void on_outcome_published(std::string_view outcome_json) override;

    // Exposed for unit tests: the labels an outcome is counted under.
    struct OutcomeLabels {
        std::string_view program, channel, status;
    };
    static bool parse_outcome_labels(std::string_view json, OutcomeLabels& out);

private:
    Registry registry_;  // first: Impl holds references into it
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rappel::observe
