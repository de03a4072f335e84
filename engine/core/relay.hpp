#pragma once
// The outbox relay: outcomes written by the Store in the same atomic step as the state
// change are published to the outcomes topic (keyed), and an entry is deleted once every
// one of its outcomes is acknowledged. Failures are retried with backoff. Each outcome carries
// its outbox position (kOutboxHeader): the first round after a partition was taken over, or
// after a failed round, reads back the positions already on the topic and skips them, so a
// crash between publishing and deleting publishes nothing twice.
#include "engine/core/context.hpp"

#include <map>
#include <memory>

namespace rappel::core {

class Relay {
public:
    explicit Relay(Context& ctx) : ctx_(ctx) {}
    void relay(std::int32_t p);
    void relay_all();
    bool idle() const;

private:
    void check(std::int32_t p, std::shared_ptr<std::vector<scheduler::OutboxEntry>> entries);
    void publish(std::int32_t p, std::shared_ptr<std::vector<scheduler::OutboxEntry>> entries,
                 OutcomeHistory::Positions already);
    void done(std::int32_t p, bool more);
    void failed(std::int32_t p, std::string_view what, std::string_view error);

    Context& ctx_;
    std::map<std::int32_t, std::unique_ptr<OutcomeHistory::Pass>> checks_;  // read-backs running
};

}  // namespace rappel::core
