#pragma once
// The graceful stop: stop consuming and claiming; wait (up to the stop deadline) for sends
// in flight, their records, applies and relays; release what is still claimed; relay what
// remains (up to the final deadline); close the source; flush the producer.
#include "engine/core/context.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>

namespace rappel::core {

class Lifecycle {
public:
    explicit Lifecycle(Context& ctx) : ctx_(ctx), deadline_(ctx.deps.io) {}
    void shutdown(std::function<void()> done);
    // Called by the parts whenever something finished: moves the stop on when it can.
    void maybe_finish();

private:
    enum class Phase { running, draining, releasing, relaying, stopped };
    void release();
    void final_relay();
    void final_stop();

    Context& ctx_;
    Phase phase_ = Phase::running;
    boost::asio::steady_timer deadline_;
    std::function<void()> done_;
};

}  // namespace rappel::core
