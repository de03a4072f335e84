#include "engine/core/kafka_ports.hpp"

#include "engine/base/log.hpp"
#include "engine/kafka/topic_reader.hpp"
#include "scheduler/record.hpp"

#include <boost/asio/post.hpp>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>

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

Delivery to_delivery(const kafka::Producer::DeliveryReport& r) {
    using F = kafka::Producer::DeliveryReport::Failure;
    Delivery d;
    if (!r.ok) {
        d.error = r.error;
        d.status = r.failure == F::too_large   ? DeliveryStatus::too_large
                   : r.failure == F::permanent ? DeliveryStatus::refused
                                               : DeliveryStatus::retriable;
    }
    return d;
}

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
    auto cb = [shared](const kafka::Producer::DeliveryReport& r) { (*shared)(to_delivery(r)); };
    if (producer_->produce(topic, -1, key, value, headers, cb)) return;
    boost::asio::post(io_, [w = std::weak_ptr<char>(alive_), shared] {
        if (!w.expired()) (*shared)(Delivery{DeliveryStatus::retriable, "local queue full"});
    });
}

void KafkaProducer::produce_batch(const std::string& topic, std::span<const Record> records,
                                  const kafka::Headers& headers, Done done) {
    if (records.empty()) return done(Delivery{});
    std::vector<kafka::Producer::Record> rs;
    rs.reserve(records.size());
    for (const auto& r : records) {
        kafka::Producer::Record k{r.key, r.value, std::nullopt};
        if (!r.position.empty()) k.header.emplace(kOutboxHeader, r.position);
        rs.push_back(k);
    }
    producer_->produce_batch(topic, rs, headers,
                             [done = std::move(done)](const kafka::Producer::DeliveryReport& r, std::size_t) {
                                 done(to_delivery(r));
                             });
}

void KafkaProducer::flush(std::chrono::milliseconds timeout) {
    producer_->flush(timeout);
}

// ---- KafkaOutcomeHistory ---------------------------------------------------------------------

namespace {
constexpr std::size_t kReadBatch = 2000;         // messages per fetch call
constexpr std::size_t kKeptPerBatch = 5000;      // ended reminders handed out at a time
constexpr auto kPollWait = std::chrono::milliseconds{100};
constexpr auto kOpenTimeout = std::chrono::milliseconds{10'000};
constexpr auto kStallLimit = std::chrono::seconds{30};  // no message for this long: the pass fails

std::optional<std::int32_t> partition_header(const kafka::Headers& hs) {
    for (const auto& [k, v] : hs) {
        if (k != kPartitionHeader) continue;
        std::int32_t p = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
        if (ec == std::errc{} && end == v.data() + v.size() && p >= 0) return p;
        return std::nullopt;
    }
    return std::nullopt;
}
}  // namespace

struct KafkaOutcomeHistory::Worker : std::enable_shared_from_this<Worker> {
    boost::asio::io_context& io;
    kafka::Properties props;
    std::string topic;
    std::set<std::int32_t> partitions;
    // Touched on the io thread only.
    std::shared_ptr<Handlers> handlers;

    std::mutex m;
    std::condition_variable cv;
    bool cancelled = false;  // under m
    bool go_on = false;      // under m: the last batch was taken
    std::atomic<bool> finished{false};
    std::thread thread;

    Worker(boost::asio::io_context& io_, kafka::Properties p, std::string t, std::set<std::int32_t> ps, Handlers h)
        : io(io_), props(std::move(p)), topic(std::move(t)), partitions(std::move(ps)),
          handlers(std::make_shared<Handlers>(std::move(h))) {}

    void cancel() {
        std::lock_guard lock(m);
        cancelled = true;
        cv.notify_all();
    }
    bool is_cancelled() {
        std::lock_guard lock(m);
        return cancelled;
    }

    void end(Result<std::int64_t> r) {
        boost::asio::post(io, [self = shared_from_this(), r = std::move(r)]() mutable {
            if (self->is_cancelled()) return;
            if (self->handlers->on_end) self->handlers->on_end(std::move(r));
        });
        finished = true;
    }

    // Hands one batch to the io thread and waits until it was taken (or the pass cancelled).
    bool hand_out(Batch&& b) {
        {
            std::lock_guard lock(m);
            go_on = false;
        }
        boost::asio::post(io, [self = shared_from_this(), b = std::move(b)]() mutable {
            if (self->is_cancelled()) return;
            self->handlers->on_batch(std::move(b), [w = std::weak_ptr<Worker>(self)] {
                if (auto s = w.lock()) {
                    std::lock_guard lock(s->m);
                    s->go_on = true;
                    s->cv.notify_all();
                }
            });
        });
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return go_on || cancelled; });
        return !cancelled;
    }

    void run() {
        try {
            kafka::TopicReader reader(props, topic);
            auto total = reader.open(kOpenTimeout);
            if (!total) return end(total.error());
            std::int64_t read = 0;
            auto last_message = std::chrono::steady_clock::now();
            Batch b;
            std::size_t kept = 0;
            while (!reader.at_end()) {
                if (is_cancelled()) return void(finished = true);
                auto msgs = reader.next(kReadBatch, kPollWait);
                if (!msgs) return end(msgs.error());
                const auto now = std::chrono::steady_clock::now();
                if (msgs.value().empty()) {
                    if (now - last_message > kStallLimit)
                        return end(Error{"kafka", "no message from the outcomes topic for 30 s"});
                } else {
                    last_message = now;
                }
                for (const auto& msg : msgs.value()) {
                    ++b.read;
                    if (!msg.value) continue;
                    auto ended = scheduler::ended_from_outcome(*msg.value);
                    if (!ended) continue;
                    if (auto p = partition_header(msg.headers)) {
                        if (!partitions.count(*p)) continue;
                        b.by_partition[*p].push_back(std::move(*ended));
                    } else {
                        b.unrouted.push_back(std::move(*ended));
                    }
                    ++kept;
                }
                if (kept >= kKeptPerBatch) {
                    read += b.read;
                    if (!hand_out(std::move(b))) return void(finished = true);
                    b = Batch{};
                    kept = 0;
                }
            }
            read += b.read;
            if (kept > 0 && !hand_out(std::move(b))) return void(finished = true);
            end(read);
        } catch (const std::exception& e) {
            end(Error{"kafka", e.what()});
        }
    }
};

// The relay's read-back: the outbox positions of one partition's outcomes since a time.
struct KafkaOutcomeHistory::Checker : std::enable_shared_from_this<Checker> {
    boost::asio::io_context& io;
    kafka::Properties props;
    std::string topic;
    std::int32_t partition;
    std::int64_t since_ms;
    std::function<void(Result<Positions>)> done;  // io thread only
    std::atomic<bool> cancelled{false};
    std::atomic<bool> finished{false};
    std::thread thread;

    Checker(boost::asio::io_context& io_, kafka::Properties p, std::string t, std::int32_t part, std::int64_t since,
            std::function<void(Result<Positions>)> d)
        : io(io_), props(std::move(p)), topic(std::move(t)), partition(part), since_ms(since), done(std::move(d)) {}

    void end(Result<Positions> r) {
        boost::asio::post(io, [self = shared_from_this(), r = std::move(r)]() mutable {
            if (!self->cancelled) self->done(std::move(r));
        });
        finished = true;
    }

    void run() {
        try {
            kafka::TopicReader reader(props, topic);
            auto total = reader.open(kOpenTimeout, since_ms);
            if (!total) return end(total.error());
            Positions out;
            auto last_message = std::chrono::steady_clock::now();
            while (!reader.at_end()) {
                if (cancelled) return void(finished = true);
                auto msgs = reader.next(kReadBatch, kPollWait);
                if (!msgs) return end(msgs.error());
                const auto now = std::chrono::steady_clock::now();
                if (msgs.value().empty() && now - last_message > kStallLimit)
                    return end(Error{"kafka", "no message from the outcomes topic for 30 s"});
                if (!msgs.value().empty()) last_message = now;
                for (const auto& msg : msgs.value()) {
                    if (partition_header(msg.headers) != partition) continue;
                    for (const auto& [name, value] : msg.headers)
                        if (name == kOutboxHeader) out.insert(value);
                }
            }
            end(std::move(out));
        } catch (const std::exception& e) {
            end(Error{"kafka", e.what()});
        }
    }
};

namespace {
class CheckerPass final : public OutcomeHistory::Pass {
public:
    explicit CheckerPass(std::shared_ptr<KafkaOutcomeHistory::Checker> c) : c_(std::move(c)) {}
    ~CheckerPass() override { c_->cancelled = true; }

private:
    std::shared_ptr<KafkaOutcomeHistory::Checker> c_;
};

class WorkerPass final : public OutcomeHistory::Pass {
public:
    explicit WorkerPass(std::shared_ptr<KafkaOutcomeHistory::Worker> w) : w_(std::move(w)) {}
    ~WorkerPass() override { w_->cancel(); }

private:
    std::shared_ptr<KafkaOutcomeHistory::Worker> w_;
};
}  // namespace

KafkaOutcomeHistory::KafkaOutcomeHistory(boost::asio::io_context& io, const config::Config& cfg)
    : io_(io), cfg_(cfg) {}

KafkaOutcomeHistory::~KafkaOutcomeHistory() {
    for (auto& w : workers_) w->cancel();
    for (auto& c : checkers_) c->cancelled = true;
    for (auto& w : workers_)
        if (w->thread.joinable()) w->thread.join();
    for (auto& c : checkers_)
        if (c->thread.joinable()) c->thread.join();
}

kafka::Properties KafkaOutcomeHistory::reader_properties() const {
    auto props = base_properties(cfg_);
    props["group.id"] = cfg_.kafka.group_id + ".rebuild";
    for (const char* group_only : {"partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms",
                                   "max.poll.interval.ms", "group.instance.id"})
        props.erase(group_only);
    return props;
}

std::unique_ptr<OutcomeHistory::Pass> KafkaOutcomeHistory::published(std::int32_t partition, TimePoint since,
                                                                     std::function<void(Result<Positions>)> done) {
    std::erase_if(checkers_, [](const std::shared_ptr<Checker>& c) {
        if (!c->finished) return false;
        if (c->thread.joinable()) c->thread.join();
        return true;
    });
    auto c = std::make_shared<Checker>(io_, reader_properties(), cfg_.kafka.outcomes_topic, partition,
                                       to_unix_ms(since), std::move(done));
    c->thread = std::thread([c] { c->run(); });
    checkers_.push_back(c);
    return std::make_unique<CheckerPass>(c);
}

std::unique_ptr<OutcomeHistory::Pass> KafkaOutcomeHistory::read(std::set<std::int32_t> partitions, Handlers handlers) {
    // Threads of passes that ended are joined here (at most one pass runs at a time).
    std::erase_if(workers_, [](const std::shared_ptr<Worker>& w) {
        if (!w->finished) return false;
        if (w->thread.joinable()) w->thread.join();
        return true;
    });
    auto w = std::make_shared<Worker>(io_, reader_properties(), cfg_.kafka.outcomes_topic, std::move(partitions),
                                      std::move(handlers));
    w->thread = std::thread([w] { w->run(); });
    workers_.push_back(w);
    return std::make_unique<WorkerPass>(w);
}

}  // namespace rappel::core
