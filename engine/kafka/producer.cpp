#include "engine/base/log.hpp"
#include "engine/kafka/detail.hpp"
#include "engine/kafka/kafka.hpp"

#include <boost/asio/post.hpp>

#include <atomic>
#include <exception>
#include <stdexcept>

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

void deliver(const Producer::DeliveryCallback& cb, const Producer::DeliveryReport& report) {
    if (!cb) return;
    try {
        cb(report);
    } catch (const std::exception& e) {
        log::error("kafka", "delivery callback threw: {}", e.what());
    } catch (...) {
        log::error("kafka", "delivery callback threw");
    }
}

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
    std::unique_ptr<DeliveryCallback> cb(static_cast<DeliveryCallback*>(m->_private));
    self->in_flight.fetch_sub(1);
    if (self->destroying || !cb) return;
    DeliveryReport report;
    report.ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!report.ok) {
        report.error = rd_kafka_err2str(m->err);
        report.code = static_cast<int>(m->err);
        report.failure = classify(m->err);
    }
    report.partition = m->partition;
    report.offset = m->offset;
    deliver(*cb, report);
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
    auto owned = std::make_unique<DeliveryCallback>(std::move(cb));
    std::vector<rd_kafka_vu_t> vus;
    vus.reserve(6 + headers.size());
    auto add = [&vus](rd_kafka_vtype_t type) -> rd_kafka_vu_t& {
        rd_kafka_vu_t& v = vus.emplace_back();
        v.vtype = type;
        return v;
    };
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
    add(RD_KAFKA_VTYPE_OPAQUE).u.ptr = owned.get();

    rd_kafka_error_t* error = rd_kafka_produceva(impl_->rk, vus.data(), vus.size());
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
    std::shared_ptr<DeliveryCallback> shared(std::move(owned));
    std::weak_ptr<char> w = impl_->alive;
    boost::asio::post(impl_->io, [w, shared, code, what = std::move(what)] {
        if (w.expired()) return;
        DeliveryReport report;
        report.error = what;
        report.code = static_cast<int>(code);
        report.failure = classify(code);
        deliver(*shared, report);
    });
    return true;
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
