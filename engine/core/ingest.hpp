#pragma once
// Ingest: consumed events are validated (EventParser, the Kafka key, the program), planned,
// the invalid ones dead-lettered, and all of them applied to the Store in offset order with
// the partition's next offset. One batch per partition at a time; backpressure pauses a
// partition above `pause_above` buffered events and resumes it below half of that.
#include "engine/core/context.hpp"
#include "engine/event/event_parser.hpp"

#include <set>
#include <vector>

namespace rappel::core {

class Ingest {
public:
    explicit Ingest(Context& ctx);
    void on_messages(std::vector<kafka::Message>&& msgs);
    // Starts the next batch of `p` if it can make progress now; call whenever that may change.
    void apply_next(std::int32_t p);

private:
    std::shared_ptr<ApplyBatch> build_batch(Partition& part);
    void run_apply(std::int32_t p, std::shared_ptr<ApplyBatch> batch);
    void on_applied(std::int32_t p, std::shared_ptr<ApplyBatch> batch, Result<scheduler::ApplyResult> r);
    void finish_batch(std::int32_t p);

    Context& ctx_;
    EventParser parser_;
    std::set<ChannelKind> available_channels_;
};

}  // namespace rappel::core
