#include "engine/core/ports.hpp"

#include <memory>

namespace rappel::core {

void Producer::produce_batch(const std::string& topic, std::span<const Record> records,
                             const kafka::Headers& headers, Done done) {
    if (records.empty()) return done(Delivery{});
    struct State {
        std::size_t remaining;
        Delivery first;
        Done done;
    };
    auto st = std::make_shared<State>(State{records.size(), {}, std::move(done)});
    for (const auto& r : records) {
        kafka::Headers h = headers;
        if (!r.position.empty()) h.emplace_back(std::string(kOutboxHeader), std::string(r.position));
        produce(topic, r.key, r.value, h, [st](const Delivery& d) {
            if (d.status != DeliveryStatus::ok && st->first.status == DeliveryStatus::ok) st->first = d;
            if (--st->remaining == 0) st->done(st->first);
        });
    }
}

}  // namespace rappel::core
