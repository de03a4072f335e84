#include "engine/core/dead_letters.hpp"

#include "engine/base/log.hpp"

namespace rappel::core {
namespace {
constexpr std::string_view kLog = "engine";
constexpr std::size_t kHeaderOverhead = 64;  // per header and per record, generous
}

struct DeadLetters::Letter {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::string reason;
    std::optional<std::string> key;
    std::optional<std::string> value;
    kafka::Headers headers;
    std::size_t original_size = 0;
    bool truncated = false;
    int failures = 0;
    std::function<void()> settled;
};

std::string DeadLetters::topic() const {
    return ctx_.cfg.kafka.dlq_topic.empty() ? ctx_.cfg.kafka.events_topic + ".dlq" : ctx_.cfg.kafka.dlq_topic;
}

namespace {

kafka::Headers rappel_headers(const kafka::Message& m, const EventError& e) {
    return {{"rappel-reason", e.reason},
            {"rappel-detail", e.detail},
            {"rappel-source-topic", m.topic},
            {"rappel-source-partition", std::to_string(m.partition)},
            {"rappel-source-offset", std::to_string(m.offset)}};
}

}  // namespace

void DeadLetters::send(const kafka::Message& m, const EventError& e, std::function<void()> settled) {
    auto l = std::make_shared<Letter>();
    l->partition = m.partition;
    l->offset = m.offset;
    l->reason = e.reason;
    l->key = m.key;
    l->value = m.value;
    l->headers = m.headers;
    for (auto& h : rappel_headers(m, e)) l->headers.push_back(std::move(h));
    l->original_size = (m.key ? m.key->size() : 0) + (m.value ? m.value->size() : 0);
    for (const auto& [k, v] : m.headers) l->original_size += k.size() + v.size();
    l->settled = std::move(settled);
    log::warn(kLog, "dead-lettering partition {} offset {}: {}: {}", m.partition, m.offset, e.reason, e.detail);
    produce(std::move(l));
}

void DeadLetters::produce(std::shared_ptr<Letter> l) {
    auto key = l->key ? std::optional<std::string_view>(*l->key) : std::nullopt;
    auto value = l->value ? std::optional<std::string_view>(*l->value) : std::nullopt;
    Producer& producer = ctx_.deps.dead_letter_producer ? *ctx_.deps.dead_letter_producer : ctx_.deps.producer;
    producer.produce(topic(), key, value, l->headers,
                               ctx_.guard([this, l](const Delivery& d) { on_delivery(l, d); }));
}

void DeadLetters::on_delivery(std::shared_ptr<Letter> l, const Delivery& d) {
    auto settle = [&] {
        auto done = std::move(l->settled);
        l->settled = nullptr;
        if (done) done();
    };
    switch (d.status) {
    case DeliveryStatus::ok:
        failing_since_.reset();
        return settle();
    case DeliveryStatus::retriable:
        if (++l->failures < ctx_.opts.dead_letter_attempts && !ctx_.stopping && !failing_since_) {
            ctx_.after(backoff_delay(ctx_.opts.kafka_backoff, l->failures, *ctx_.deps.random),
                       [this, l] { produce(l); });
            return;
        }
        break;
    case DeliveryStatus::too_large:
        if (!l->truncated) {
            l->truncated = true;
            // The copy keeps only rappel's headers: the original ones may be what is large.
            kafka::Headers kept;
            std::size_t used = (l->key ? l->key->size() : 0) + kHeaderOverhead;
            for (auto& [k, v] : l->headers) {
                if (k.rfind("rappel-", 0) != 0) continue;
                used += k.size() + v.size() + kHeaderOverhead;
                kept.emplace_back(k, v);
            }
            kept.emplace_back("rappel-truncated", std::to_string(l->original_size));
            used += 32 + kHeaderOverhead;
            const std::size_t room = ctx_.opts.dead_letter_budget > used ? ctx_.opts.dead_letter_budget - used : 0;
            if (l->value && l->value->size() > room) l->value->resize(room);
            l->headers = std::move(kept);
            log::warn(kLog, "partition {} offset {}: dead letter too large ({}); sending a truncated copy",
                      l->partition, l->offset, d.error);
            return produce(l);
        }
        break;
    case DeliveryStatus::refused:
        break;
    }
    ++ctx_.stats.dead_letters_failed;
    if (d.status == DeliveryStatus::retriable && !failing_since_) failing_since_ = std::chrono::steady_clock::now();
    log::error(kLog,
               "partition {} offset {}: the dead-letter topic {} refused the invalid event ({}): {}; "
               "it is dropped, its `invalid` outcome is still published",
               l->partition, l->offset, topic(), l->reason, d.error);
    settle();
}

}  // namespace rappel::core
