#pragma once
// The outbox relay: outcomes written by the Store in the same atomic step as the state
// change are published to the outcomes topic (keyed), and an entry is deleted once every
// one of its outcomes is acknowledged. Failures are retried with backoff; a crash in
// between publishes again (consumers of outcomes deduplicate).
#include "engine/core/context.hpp"

namespace rappel::core {

class Relay {
public:
    explicit Relay(Context& ctx) : ctx_(ctx) {}
    void relay(std::int32_t p);
    void relay_all();
    bool idle() const;

private:
    void publish(std::int32_t p, std::shared_ptr<std::vector<scheduler::OutboxEntry>> entries);
    void done(std::int32_t p, bool more);
    void failed(std::int32_t p, std::string_view what, std::string_view error);

    Context& ctx_;
};

}  // namespace rappel::core
