#pragma once
// Internal to the core: what its parts share (dependencies, the partition table, counters)
// and how they reach each other.
#include "engine/core/core.hpp"
#include "engine/core/partition_table.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <utility>

namespace rappel::core {

class Ownership;
class Ingest;
class DeadLetters;
class Dispatch;
class Relay;
class Lifecycle;
class Restore;

struct Context {
    explicit Context(CoreDeps d) : deps(std::move(d)), cfg(deps.config), opts(deps.options) {}

    CoreDeps deps;
    const config::Config& cfg;
    const CoreOptions& opts;
    PartitionTable parts;
    EngineStats stats;
    bool stopping = false;

    Ownership* ownership = nullptr;
    Ingest* ingest = nullptr;
    DeadLetters* dead_letters = nullptr;
    Dispatch* dispatch = nullptr;
    Relay* relay = nullptr;
    Lifecycle* lifecycle = nullptr;
    Restore* restore = nullptr;

    // Expires with the core: asynchronous callbacks check it before touching anything.
    std::shared_ptr<char> alive = std::make_shared<char>();

    TimePoint now() const { return deps.clock->now(); }
    // The poll interval is real time; on a simulated clock it spans more clock time.
    Millis poll_interval() const { return deps.clock->elapsed_during(cfg.engine.poll_interval); }
    Millis store_delay(int failures) const {
        return backoff_delay(opts.store_backoff, failures, *deps.random);
    }

    // `f` wrapped so that it does nothing once the core is gone.
    template <typename F>
    auto guard(F f) {
        return [w = std::weak_ptr<char>(alive), f = std::move(f)](auto&&... args) mutable {
            if (w.expired()) return;
            f(std::forward<decltype(args)>(args)...);
        };
    }

    // Runs `f` after `real_delay` of real time (backoff waits).
    template <typename F>
    void after(RealDuration real_delay, F f) {
        auto timer = std::make_shared<boost::asio::steady_timer>(deps.io, real_delay);
        timer->async_wait([timer, g = guard(std::move(f))](const boost::system::error_code& ec) mutable {
            if (!ec) g();
        });
    }
};

}  // namespace rappel::core
