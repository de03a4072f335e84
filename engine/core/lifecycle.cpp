#include "engine/core/lifecycle.hpp"

#include "engine/base/log.hpp"
#include "engine/core/dispatch.hpp"
#include "engine/core/relay.hpp"
#include "engine/core/restore.hpp"

#include <map>

namespace rappel::core {
namespace {
constexpr std::string_view kLog = "engine";
}

void Lifecycle::shutdown(std::function<void()> done) {
    if (phase_ != Phase::running) return;
    phase_ = Phase::draining;
    done_ = std::move(done);
    ctx_.stopping = true;
    ctx_.restore->stop();
    ctx_.dispatch->stop_timer();
    for (auto& [p, part] : ctx_.parts.all())
        if (part.owned) ctx_.deps.events.pause(p);
    log::info(kLog, "stopping: {} sends in flight", ctx_.dispatch->sending());
    deadline_.expires_after(ctx_.opts.stop_deadline);
    deadline_.async_wait(ctx_.guard([this](const boost::system::error_code& ec) {
        if (ec || phase_ != Phase::draining) return;
        log::warn(kLog, "stop deadline reached; releasing what is still in flight");
        release();
    }));
    ctx_.relay->relay_all();
    maybe_finish();
}

void Lifecycle::maybe_finish() {
    if (phase_ == Phase::draining) {
        if (ctx_.dispatch->sending() > 0 || !ctx_.dispatch->idle() || !ctx_.relay->idle()) return;
        for (const auto& [p, part] : ctx_.parts.all())
            if (part.applying) return;
        release();
    } else if (phase_ == Phase::relaying) {
        if (ctx_.relay->idle()) final_stop();
    }
}

// Whatever is still claimed goes back to the schedule at once for the next owner, instead
// of waiting for its lease to run out. Results waiting to be recorded are not released:
// that could send them twice; their lease returns them if they never get recorded.
void Lifecycle::release() {
    phase_ = Phase::releasing;
    deadline_.expires_after(ctx_.opts.final_deadline);
    deadline_.async_wait(ctx_.guard([this](const boost::system::error_code& ec) {
        if (ec || phase_ == Phase::stopped) return;
        log::warn(kLog, "final stop deadline reached");
        final_stop();
    }));
    auto remaining = std::make_shared<std::size_t>(1);
    auto one_done = [this, remaining] {
        if (--*remaining == 0 && phase_ == Phase::releasing) final_relay();
    };
    for (auto& [p, part] : ctx_.parts.all()) {
        std::map<scheduler::ClaimToken, std::vector<scheduler::ReminderRef>> by_token;
        for (auto it = part.in_flight.begin(); it != part.in_flight.end();) {
            if (it->second.state == InFlight::State::recording) {
                ++it;
                continue;
            }
            by_token[it->second.token].push_back(it->first);
            it = part.in_flight.erase(it);
        }
        for (auto& [token, refs] : by_token) {
            ++*remaining;
            const auto n = refs.size();
            ctx_.deps.store.release(p, ctx_.now(), token, std::move(refs),
                                    ctx_.guard([p, n, one_done](Result<std::int64_t> r) {
                                        if (!r)
                                            log::warn(kLog, "partition {}: releasing {} claims failed ({}); "
                                                            "their lease returns them", p, n, r.error().message);
                                        one_done();
                                    }));
        }
    }
    one_done();
}

void Lifecycle::final_relay() {
    phase_ = Phase::relaying;
    ctx_.relay->relay_all();
    maybe_finish();
}

void Lifecycle::final_stop() {
    if (phase_ == Phase::stopped) return;
    phase_ = Phase::stopped;
    deadline_.cancel();
    ctx_.deps.events.close();
    ctx_.deps.producer.flush(std::chrono::seconds{10});
    if (ctx_.deps.dead_letter_producer) ctx_.deps.dead_letter_producer->flush(std::chrono::seconds{2});
    const auto& s = ctx_.stats;
    log::info(kLog, "stopped: consumed {} applied {} invalid {} sent {} retried {} rejected {} outcomes {}",
              s.events_consumed, s.events_applied, s.events_invalid, s.sends_accepted, s.sends_retried,
              s.sends_rejected, s.outcomes_relayed);
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done();
}

}  // namespace rappel::core
