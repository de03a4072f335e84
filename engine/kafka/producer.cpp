#include "engine/base/log.hpp"
#include "engine/kafka/detail.hpp"
#include "engine/kafka/kafka.hpp"

#include <boost/asio/post.hpp>

#include <array>
#include <atomic>
#include <exception>
#include <stdexcept>
#include <vector>

namespace rappel::kafka {

namespace {

// Non-null pointer for empty (but present) keys and values: librdkafka reads a null pointer
// as "no key" / "null value".
char g_empty[1] = {0};

void* mem_ptr(std::string_view s) {
    return s.empty() ? g_empty : const_cast<char*>(s.data());
}

Producer::DeliveryReport::Failure classify(rd_kafka_resp_err_t err) {
    using F = Producer::DeliveryReport::Failure;
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return F::none;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE: return F::too_large;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__FATAL: return F::permanent;
    default: return F::retriable;
    }
}

// A callback that throws must not unwind through librdkafka.
template <typename F, typename... Args>
void deliver(const F& cb, const Args&... args) {
    if (!cb) return;
    try {
        cb(args...);
    } catch (const std::exception& e) {
        log::error("kafka", "delivery callback threw: {}", e.what());
    } catch (...) {
        log::error("kafka", "delivery callback threw");
    }
}

// What a message's opaque points to: one callback per message, or a batch's shared count.
struct Ticket {
    virtual ~Ticket() = default;
    // Frees the ticket when it has no message left; `report` is ignored while destroying.
    virtual void delivered(const Producer::DeliveryReport& report, bool destroying) = 0;
};

struct SingleTicket final : Ticket {
    explicit SingleTicket(Producer::DeliveryCallback c) : cb(std::move(c)) {}
    void delivered(const Producer::DeliveryReport& report, bool destroying) override {
        std::unique_ptr<SingleTicket> self(this);
        if (!destroying) deliver(cb, report);
    }
    Producer::DeliveryCallback cb;
};

struct BatchTicket final : Ticket {
    BatchTicket(std::size_t n, Producer::BatchCallback c) : remaining(n), cb(std::move(c)) { first.ok = true; }
    // Also used for the messages the local queue refused.
    void delivered(const Producer::DeliveryReport& report, bool destroying) override {
        if (!report.ok && failed++ == 0) first = report;
        if (--remaining > 0) return;
        std::unique_ptr<BatchTicket> self(this);
        if (!destroying) deliver(cb, first, failed);
    }
    std::size_t remaining;
    std::size_t failed = 0;
    Producer::DeliveryReport first;
    Producer::BatchCallback cb;
};

// The argument list of one rd_kafka_produceva call, on the stack for up to 8 headers.
class ProduceArgs {
public:
    ProduceArgs(const std::string& topic, std::int32_t partition, std::optional<std::string_view> key,
                std::optional<std::string_view> value, const Headers& headers, void* opaque,
                std::optional<std::pair<std::string_view, std::string_view>> extra = std::nullopt) {
        if (headers.size() + 8 > fixed_.size()) heap_.reserve(headers.size() + 8);
        add(RD_KAFKA_VTYPE_TOPIC).u.cstr = topic.c_str();
        add(RD_KAFKA_VTYPE_PARTITION).u.i32 = partition < 0 ? RD_KAFKA_PARTITION_UA : partition;
        add(RD_KAFKA_VTYPE_MSGFLAGS).u.i = RD_KAFKA_MSG_F_COPY;
        if (key) {
            auto& v = add(RD_KAFKA_VTYPE_KEY);
            v.u.mem.ptr = mem_ptr(*key);
            v.u.mem.size = key->size();
        }
        if (value) {
            auto& v = add(RD_KAFKA_VTYPE_VALUE);
            v.u.mem.ptr = mem_ptr(*value);
            v.u.mem.size = value->size();
        }
        for (const auto& [name, val] : headers) {
            auto& v = add(RD_KAFKA_VTYPE_HEADER);
            v.u.header.name = name.c_str();
            v.u.header.val = val.data();
            v.u.header.size = static_cast<ssize_t>(val.size());
        }
        if (extra) {
            // librdkafka copies header names and values; the name needs a terminator.
            extra_name_.assign(extra->first);
            auto& v = add(RD_KAFKA_VTYPE_HEADER);
            v.u.header.name = extra_name_.c_str();
            v.u.header.val = extra->second.data();
            v.u.header.size = static_cast<ssize_t>(extra->second.size());
        }
        add(RD_KAFKA_VTYPE_OPAQUE).u.ptr = opaque;
    }
    rd_kafka_vu_t* data() { return heap_.empty() ? fixed_.data() : heap_.data(); }
    std::size_t size() const { return n_; }

private:
    rd_kafka_vu_t& add(rd_kafka_vtype_t type) {
        rd_kafka_vu_t& v = heap_.capacity() > 0 ? heap_.emplace_back() : fixed_[n_];
        ++n_;
        v.vtype = type;
        return v;
    }
    std::array<rd_kafka_vu_t, 15> fixed_{};
    std::vector<rd_kafka_vu_t> heap_;
    std::string extra_name_;
    std::size_t n_ = 0;
};

}  // namespace

struct Producer::Impl {
    Impl(boost::asio::io_context& io_, const Properties& props);
    ~Impl();

    void arm();
    void serve();

    static void dr_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
    static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);

    boost::asio::io_context& io;
    rd_kafka_t* rk = nullptr;
    rd_kafka_queue_t* queue = nullptr;
    detail::IoEventPipe pipe;
    std::atomic<std::size_t> in_flight{0};
    bool destroying = false;
    std::shared_ptr<char> alive = std::make_shared<char>();
};

Producer::Impl::Impl(boost::asio::io_context& io_, const Properties& props) : io(io_), pipe(io_) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    try {
        detail::set_property(conf, "enable.idempotence", "true");
        detail::set_property(conf, "acks", "all");
        detail::set_property(conf, "linger.ms", "5");
        detail::apply_properties(conf, props);
    } catch (...) {
        rd_kafka_conf_destroy(conf);
        throw;
    }
    detail::route_logs(conf);
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &Impl::dr_cb);
    rd_kafka_conf_set_error_cb(conf, &Impl::error_cb);

    char errstr[512];
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("kafka producer: ") + errstr);
    }
    queue = rd_kafka_queue_get_main(rk);
    rd_kafka_queue_io_event_enable(queue, pipe.write_fd(), "1", 1);
    arm();
}

Producer::Impl::~Impl() {
    // Callbacks of messages still queued are dropped (not invoked): their owners may be
    // gone already. Call flush() before destroying to get them.
    destroying = true;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    while (rd_kafka_poll(rk, 0) > 0) {
    }
    rd_kafka_queue_io_event_enable(queue, -1, nullptr, 0);
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy(rk);
    pipe.close();
}

void Producer::Impl::arm() {
    pipe.async_wait([this] { serve(); });
}

void Producer::Impl::serve() {
    std::weak_ptr<char> w = alive;
    while (rd_kafka_poll(rk, 0) > 0) {
        if (w.expired()) return;  // a callback destroyed the producer
    }
    if (w.expired()) return;
    arm();
}

void Producer::Impl::dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto* ticket = static_cast<Ticket*>(m->_private);
    self->in_flight.fetch_sub(1);
    if (!ticket) return;
    DeliveryReport report;
    report.ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!report.ok) {
        report.error = rd_kafka_err2str(m->err);
        report.code = static_cast<int>(m->err);
        report.failure = classify(m->err);
    }
    report.partition = m->partition;
    report.offset = m->offset;
    ticket->delivered(report, self->destroying);
}

void Producer::Impl::error_cb(rd_kafka_t* rk, int err, const char* reason, void*) {
    const auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        const auto orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        log::error("kafka", "producer fatal error: {}: {}", rd_kafka_err2name(orig), buf);
        return;
    }
    log::warn("kafka", "producer: {}: {}", rd_kafka_err2name(code), reason ? reason : "");
}

Producer::Producer(boost::asio::io_context& io, Properties props)
    : impl_(std::make_unique<Impl>(io, props)) {}

Producer::~Producer() = default;

bool Producer::produce(const std::string& topic, std::int32_t partition, std::optional<std::string_view> key,
                       std::optional<std::string_view> value, const Headers& headers, DeliveryCallback cb) {
    auto owned = std::make_unique<SingleTicket>(std::move(cb));
    ProduceArgs args(topic, partition, key, value, headers, static_cast<Ticket*>(owned.get()));
    rd_kafka_error_t* error = rd_kafka_produceva(impl_->rk, args.data(), args.size());
    if (!error) {
        // Delivery reports are served on this thread, so counting after the call is safe.
        impl_->in_flight.fetch_add(1);
        static_cast<void>(owned.release());  // freed by dr_cb
        return true;
    }
    const auto code = rd_kafka_error_code(error);
    std::string what = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) return false;

    // Rejected outright (unknown topic or partition, message too large, fatal error...):
    // report it like a failed delivery, on the loop rather than re-entrantly.
    std::shared_ptr<SingleTicket> shared(std::move(owned));
    std::weak_ptr<char> w = impl_->alive;
    boost::asio::post(impl_->io, [w, shared, code, what = std::move(what)] {
        if (w.expired()) return;
        DeliveryReport report;
        report.error = what;
        report.code = static_cast<int>(code);
        report.failure = classify(code);
        deliver(shared->cb, report);
    });
    return true;
}

void Producer::produce_batch(const std::string& topic, std::span<const Record> records, const Headers& headers,
                             BatchCallback cb) {
    // One extra count, released below, so no delivery report can complete the batch while
    // it is still being queued.
    auto* ticket = new BatchTicket(records.size() + 1, std::move(cb));
    DeliveryReport refused;  // the first message librdkafka would not take, if any
    std::size_t not_queued = 0;
    for (const auto& r : records) {
        ProduceArgs args(topic, -1, r.key, r.value, headers, static_cast<Ticket*>(ticket), r.header);
        rd_kafka_error_t* error = rd_kafka_produceva(impl_->rk, args.data(), args.size());
        if (!error) {
            impl_->in_flight.fetch_add(1);
            continue;
        }
        const auto code = rd_kafka_error_code(error);
        if (not_queued++ == 0) {
            refused.error = code == RD_KAFKA_RESP_ERR__QUEUE_FULL ? "local queue full" : rd_kafka_error_string(error);
            refused.code = static_cast<int>(code);
            refused.failure = code == RD_KAFKA_RESP_ERR__QUEUE_FULL ? DeliveryReport::Failure::retriable : classify(code);
        }
        rd_kafka_error_destroy(error);
    }
    // The refused messages and the extra count are settled on the loop, never re-entrantly.
    std::weak_ptr<char> w = impl_->alive;
    boost::asio::post(impl_->io, [this, w, ticket, refused, not_queued] {
        const bool gone = w.expired();
        for (std::size_t i = 0; i < not_queued; ++i) ticket->delivered(refused, gone || impl_->destroying);
        DeliveryReport ok;
        ok.ok = true;
        ticket->delivered(ok, gone || impl_->destroying);
    });
}

std::size_t Producer::in_flight() const {
    return impl_->in_flight.load();
}

bool Producer::flush(std::chrono::milliseconds timeout) {
    std::weak_ptr<char> w = impl_->alive;
    rd_kafka_flush(impl_->rk, static_cast<int>(timeout.count()));
    if (w.expired()) return true;
    while (rd_kafka_poll(impl_->rk, 0) > 0) {
        if (w.expired()) return true;
    }
    return impl_->in_flight.load() == 0;
}

}  // namespace rappel::kafka
