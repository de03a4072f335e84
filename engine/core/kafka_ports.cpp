#include "engine/core/kafka_ports.hpp"

#include "engine/base/log.hpp"

#include <boost/asio/post.hpp>

namespace rappel::core {
namespace {

kafka::Properties base_properties(const config::Config& cfg) {
    kafka::Properties p{{"bootstrap.servers", cfg.kafka.brokers}};
    for (const auto& [k, v] : cfg.kafka.properties) p[k] = v;
    return p;
}

// The producer refuses messages above its own message.max.bytes (default 1,000,000) before
// the broker is asked, though a broker or topic may allow more: an invalid event that was
// consumed must be able to reach the dead-letter topic. The broker still has the last word
// (too large there: a truncated copy is sent).
constexpr const char* kProducerMaxBytes = "16777216";

}  // namespace

kafka::Properties consumer_properties(const config::Config& cfg) {
    auto p = base_properties(cfg);
    p["group.id"] = cfg.kafka.group_id;
    return p;
}

kafka::Properties producer_properties(const config::Config& cfg) {
    auto p = base_properties(cfg);
    for (const char* consumer_only :
         {"group.id", "session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy",
          "auto.offset.reset", "max.poll.interval.ms", "fetch.max.bytes", "max.partition.fetch.bytes"})
        p.erase(consumer_only);
    p.try_emplace("message.max.bytes", kProducerMaxBytes);
    return p;
}

KafkaEventSource::KafkaEventSource(boost::asio::io_context& io, const config::Config& cfg) : io_(io), cfg_(cfg) {}

KafkaEventSource::~KafkaEventSource() = default;

void KafkaEventSource::start(Handlers h) {
    kafka::Consumer::Handlers kh;
    kh.on_messages = std::move(h.on_messages);
    kh.on_assign = [on = std::move(h.on_assigned)](std::vector<kafka::TopicPartitionOffset>& tps) {
        std::vector<std::int32_t> ps;
        for (auto& tp : tps) {
            tp.start_paused = true;
            ps.push_back(tp.partition);
        }
        if (on) on(ps);
    };
    kh.on_revoke = [on = std::move(h.on_revoked)](const std::vector<kafka::TopicPartitionOffset>& tps) {
        std::vector<std::int32_t> ps;
        for (const auto& tp : tps) ps.push_back(tp.partition);
        if (on) on(ps);
    };
    kh.on_error = [](std::string_view e) { log::warn("kafka", "{}", e); };
    consumer_ = std::make_unique<kafka::Consumer>(io_, consumer_properties(cfg_),
                                                  std::vector<std::string>{cfg_.kafka.events_topic}, std::move(kh),
                                                  static_cast<std::size_t>(cfg_.engine.ingest_batch));
    consumer_->start();
}

void KafkaEventSource::pause(std::int32_t p) {
    if (consumer_) consumer_->pause({{cfg_.kafka.events_topic, p}});
}

void KafkaEventSource::resume(std::int32_t p) {
    if (consumer_) consumer_->resume({{cfg_.kafka.events_topic, p}});
}

void KafkaEventSource::seek(std::int32_t p, std::int64_t offset) {
    if (consumer_) consumer_->seek({{cfg_.kafka.events_topic, p, offset}});
}

void KafkaEventSource::commit(std::int32_t p, std::int64_t next_offset) {
    committed_[p] = next_offset;
    if (consumer_) consumer_->commit({{cfg_.kafka.events_topic, p, next_offset}});
}

std::optional<std::int64_t> KafkaEventSource::lag(const std::vector<std::int32_t>& partitions) const {
    if (!consumer_) return std::nullopt;
    std::optional<std::int64_t> sum;
    for (auto p : partitions) {
        auto c = committed_.find(p);
        auto high = consumer_->high_watermark(cfg_.kafka.events_topic, p);
        if (c == committed_.end() || !high) continue;
        sum = sum.value_or(0) + std::max<std::int64_t>(0, *high - c->second);
    }
    return sum;
}

void KafkaEventSource::close() {
    if (consumer_) consumer_->close();
}

KafkaProducer::KafkaProducer(boost::asio::io_context& io, const config::Config& cfg, const kafka::Properties& overrides)
    : io_(io), producer_(std::make_unique<kafka::Producer>(io, [&] {
          auto p = producer_properties(cfg);
          for (const auto& [k, v] : overrides) p[k] = v;
          return p;
      }())) {}

KafkaProducer::~KafkaProducer() = default;

void KafkaProducer::produce(const std::string& topic, std::optional<std::string_view> key,
                            std::optional<std::string_view> value, const kafka::Headers& headers, Done done) {
    auto shared = std::make_shared<Done>(std::move(done));
    auto cb = [shared](const kafka::Producer::DeliveryReport& r) {
        using F = kafka::Producer::DeliveryReport::Failure;
        Delivery d;
        if (!r.ok) {
            d.error = r.error;
            d.status = r.failure == F::too_large   ? DeliveryStatus::too_large
                       : r.failure == F::permanent ? DeliveryStatus::refused
                                                   : DeliveryStatus::retriable;
        }
        (*shared)(d);
    };
    if (producer_->produce(topic, -1, key, value, headers, cb)) return;
    boost::asio::post(io_, [w = std::weak_ptr<char>(alive_), shared] {
        if (!w.expired()) (*shared)(Delivery{DeliveryStatus::retriable, "local queue full"});
    });
}

void KafkaProducer::flush(std::chrono::milliseconds timeout) {
    producer_->flush(timeout);
}

}  // namespace rappel::core
