#include "engine/base/log.hpp"
#include "engine/kafka/detail.hpp"
#include "engine/kafka/kafka.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace rappel::kafka {

namespace {

constexpr auto kCloseTimeout = std::chrono::seconds{10};

}  // namespace

struct Consumer::Impl {
    Impl(boost::asio::io_context& io_, const Properties& props, std::vector<std::string> topics_,
         Handlers handlers_, std::size_t max_batch_);
    ~Impl();

    void start();
    void arm();
    void schedule_serve();
    void serve();
    void keepalive_tick();
    void handle_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
    void report(std::string_view what);
    void close();

    static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                             void* opaque);
    static void commit_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                          void* opaque);
    static void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque);

    boost::asio::io_context& io;
    std::vector<std::string> topics;
    Handlers handlers;
    std::size_t max_batch;
    rd_kafka_t* rk = nullptr;
    rd_kafka_queue_t* queue = nullptr;
    detail::IoEventPipe pipe;
    boost::asio::steady_timer keepalive;
    std::chrono::milliseconds keepalive_interval{1000};
    bool started = false;
    bool closed = false;
    bool serve_posted = false;
    int in_rebalance = 0;
    // Expires with the Impl; asynchronous handlers check it before touching `this`.
    std::shared_ptr<char> alive = std::make_shared<char>();
};

Consumer::Impl::Impl(boost::asio::io_context& io_, const Properties& props, std::vector<std::string> topics_,
                     Handlers handlers_, std::size_t max_batch_)
    : io(io_),
      topics(std::move(topics_)),
      handlers(std::move(handlers_)),
      max_batch(std::max<std::size_t>(1, max_batch_)),
      pipe(io_),
      keepalive(io_) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    try {
        detail::set_property(conf, "partition.assignment.strategy", "cooperative-sticky");
        detail::set_property(conf, "auto.offset.reset", "earliest");
        detail::apply_properties(conf, props);
        detail::set_property(conf, "enable.auto.commit", "false");
        detail::set_property(conf, "enable.auto.offset.store", "false");
        if (detail::conf_get(conf, "group.id").empty()) {
            throw std::runtime_error("kafka consumer: group.id is required");
        }
    } catch (...) {
        rd_kafka_conf_destroy(conf);
        throw;
    }
    // librdkafka considers a consumer that has not called rd_kafka_consumer_poll() within
    // max.poll.interval.ms as stuck and makes it leave the group. The queue is only served
    // when it has something, so an idle consumer polls on this timer to stay a member.
    const std::string mpi = detail::conf_get(conf, "max.poll.interval.ms");
    const long max_poll_ms = mpi.empty() ? 300000 : std::stol(mpi);
    keepalive_interval = std::chrono::milliseconds{std::clamp(max_poll_ms / 4, 100L, 30000L)};

    detail::route_logs(conf);
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &Impl::rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, &Impl::commit_cb);
    rd_kafka_conf_set_error_cb(conf, &Impl::error_cb);

    char errstr[512];
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("kafka consumer: ") + errstr);
    }
    rd_kafka_poll_set_consumer(rk);
    queue = rd_kafka_queue_get_consumer(rk);
    if (!queue) {
        rd_kafka_destroy(rk);
        rk = nullptr;
        throw std::runtime_error("kafka consumer: no consumer queue");
    }
    rd_kafka_queue_io_event_enable(queue, pipe.write_fd(), "1", 1);
}

Consumer::Impl::~Impl() {
    close();
}

void Consumer::Impl::start() {
    if (started || closed) return;
    started = true;
    detail::ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) {
        rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    if (auto err = rd_kafka_subscribe(rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error(std::string("kafka subscribe: ") + rd_kafka_err2str(err));
    }
    // Something may already be queued (the io event fired before we watched the pipe).
    schedule_serve();
    keepalive_tick();
}

void Consumer::Impl::arm() {
    if (closed) return;
    pipe.async_wait([this] { serve(); });
}

void Consumer::Impl::schedule_serve() {
    if (serve_posted || closed) return;
    serve_posted = true;
    std::weak_ptr<char> w = alive;
    boost::asio::post(io, [this, w] {
        if (w.expired()) return;
        serve_posted = false;
        serve();
    });
}

void Consumer::Impl::keepalive_tick() {
    if (closed) return;
    keepalive.expires_after(keepalive_interval);
    std::weak_ptr<char> w = alive;
    keepalive.async_wait([this, w](const boost::system::error_code& ec) {
        if (ec || w.expired() || closed) return;
        serve();
        if (w.expired()) return;
        keepalive_tick();
    });
}

void Consumer::Impl::serve() {
    if (closed) return;
    std::weak_ptr<char> w = alive;
    std::vector<Message> batch;
    bool full = false;
    while (!closed) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 0);
        if (w.expired()) return;  // a rebalance handler destroyed the consumer
        if (!m) break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                std::string what = m->rkt ? fmt::format("{}[{}]: {}", rd_kafka_topic_name(m->rkt),
                                                        m->partition, rd_kafka_message_errstr(m))
                                          : std::string(rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                report(what);
                if (w.expired()) return;
            } else {
                rd_kafka_message_destroy(m);
            }
            continue;
        }
        batch.push_back(detail::to_message(m));
        rd_kafka_message_destroy(m);
        if (batch.size() >= max_batch) {
            full = true;
            break;
        }
    }
    if (!batch.empty() && handlers.on_messages) {
        handlers.on_messages(std::move(batch));
        if (w.expired()) return;
    }
    if (closed) return;
    // A full batch may leave messages behind and librdkafka will not signal again until
    // the queue has been emptied, so continue on the loop instead of waiting on the pipe.
    if (full) {
        schedule_serve();
    } else {
        arm();
    }
}

void Consumer::Impl::report(std::string_view what) {
    if (handlers.on_error) {
        handlers.on_error(what);
    } else {
        log::warn("kafka", "consumer: {}", what);
    }
}

void Consumer::Impl::handle_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    ++in_rebalance;
    const char* proto = rd_kafka_rebalance_protocol(rk);
    const bool cooperative = proto && std::strcmp(proto, "COOPERATIVE") == 0;
    try {
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            auto parts_vec = detail::to_vector(parts);
            if (handlers.on_assign) handlers.on_assign(parts_vec);
            for (const auto& p : parts_vec) {
                if (auto* e = rd_kafka_topic_partition_list_find(parts, p.topic.c_str(), p.partition)) {
                    e->offset = p.offset;
                }
            }
            if (cooperative) {
                if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) {
                    report(std::string("incremental assign: ") + rd_kafka_error_string(e));
                    rd_kafka_error_destroy(e);
                }
            } else if (auto r = rd_kafka_assign(rk, parts); r != RD_KAFKA_RESP_ERR_NO_ERROR) {
                report(std::string("assign: ") + rd_kafka_err2str(r));
            }
            // Paused right after the assignment, before this callback returns, so nothing is
            // fetched before the owner resumes them.
            std::vector<TopicPartitionOffset> paused;
            for (const auto& p : parts_vec)
                if (p.start_paused) paused.push_back(p);
            if (!paused.empty()) {
                detail::ListPtr list(detail::to_list(paused));
                if (auto r = rd_kafka_pause_partitions(rk, list.get()); r != RD_KAFKA_RESP_ERR_NO_ERROR)
                    report(std::string("pause on assign: ") + rd_kafka_err2str(r));
            }
        } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            if (rd_kafka_assignment_lost(rk)) report("partitions lost (session expired?)");
            if (handlers.on_revoke) handlers.on_revoke(detail::to_vector(parts));
            if (cooperative) {
                if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) {
                    report(std::string("incremental unassign: ") + rd_kafka_error_string(e));
                    rd_kafka_error_destroy(e);
                }
            } else {
                rd_kafka_assign(rk, nullptr);
            }
        } else {
            report(std::string("rebalance error: ") + rd_kafka_err2str(err));
            rd_kafka_topic_partition_list_t* current = nullptr;
            if (rd_kafka_assignment(rk, &current) == RD_KAFKA_RESP_ERR_NO_ERROR && current) {
                detail::ListPtr owned(current);
                if (current->cnt > 0 && handlers.on_revoke) {
                    handlers.on_revoke(detail::to_vector(current));
                }
                if (cooperative) {
                    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, current)) {
                        rd_kafka_error_destroy(e);
                    }
                } else {
                    rd_kafka_assign(rk, nullptr);
                }
            } else {
                rd_kafka_assign(rk, nullptr);
            }
        }
    } catch (const std::exception& e) {
        log::error("kafka", "rebalance handler threw: {}", e.what());
    } catch (...) {
        log::error("kafka", "rebalance handler threw");
    }
    --in_rebalance;
}

void Consumer::Impl::rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<Impl*>(opaque)->handle_rebalance(err, parts);
}

void Consumer::Impl::commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                               void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    try {
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            self->report(std::string("commit failed: ") + rd_kafka_err2str(err));
            return;
        }
        if (!offsets) return;
        for (int i = 0; i < offsets->cnt; ++i) {
            const auto& e = offsets->elems[i];
            // With timeout 0 the seek is asynchronous: __IN_PROGRESS means it was started.
        if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR && e.err != RD_KAFKA_RESP_ERR__IN_PROGRESS) {
                self->report(
                    fmt::format("commit {}[{}] failed: {}", e.topic, e.partition, rd_kafka_err2str(e.err)));
            }
        }
    } catch (...) {
        log::error("kafka", "error handler threw");
    }
}

void Consumer::Impl::error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    try {
        self->report(fmt::format("{}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                                 reason ? reason : ""));
    } catch (...) {
        log::error("kafka", "error handler threw");
    }
}

void Consumer::Impl::close() {
    if (closed) return;
    if (in_rebalance > 0) {
        // Called from on_assign/on_revoke, inside librdkafka: finish outside of it.
        std::weak_ptr<char> w = alive;
        boost::asio::post(io, [this, w] {
            if (!w.expired()) close();
        });
        return;
    }
    closed = true;
    keepalive.cancel();
    if (rk) {
        // rd_kafka_consumer_close() may block without limit; run the same sequence on our own
        // queue with a deadline. Rebalance callbacks (on_revoke) are served from this queue.
        rd_kafka_queue_t* close_queue = rd_kafka_queue_new(rk);
        bool done = false;
        if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk, close_queue)) {
            log::warn("kafka", "consumer close: {}", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        } else {
            const auto deadline = std::chrono::steady_clock::now() + kCloseTimeout;
            while (!rd_kafka_consumer_closed(rk) && std::chrono::steady_clock::now() < deadline) {
                rd_kafka_event_t* ev = rd_kafka_queue_poll(close_queue, 100);
                if (!ev) continue;
                if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
                    handle_rebalance(rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev));
                }
                rd_kafka_event_destroy(ev);
            }
            done = rd_kafka_consumer_closed(rk) != 0;
            if (!done) log::warn("kafka", "consumer close timed out; leaving the group abruptly");
        }
        rd_kafka_queue_destroy(close_queue);
        rd_kafka_queue_io_event_enable(queue, -1, nullptr, 0);
        rd_kafka_queue_destroy(queue);
        queue = nullptr;
        if (done) {
            rd_kafka_destroy(rk);
        } else {
            rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        }
        rk = nullptr;
    }
    pipe.close();
}

Consumer::Consumer(boost::asio::io_context& io, Properties props, std::vector<std::string> topics,
                   Handlers handlers, std::size_t max_batch)
    : impl_(std::make_unique<Impl>(io, props, std::move(topics), std::move(handlers), max_batch)) {}

Consumer::~Consumer() = default;

void Consumer::start() {
    impl_->start();
}

void Consumer::commit(const std::vector<TopicPartitionOffset>& offsets) {
    if (impl_->closed || offsets.empty()) return;
    detail::ListPtr list(detail::to_list(offsets));
    if (auto err = rd_kafka_commit(impl_->rk, list.get(), 1); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        impl_->report(std::string("commit: ") + rd_kafka_err2str(err));
    }
}

std::optional<std::int64_t> Consumer::high_watermark(const std::string& topic, std::int32_t partition) const {
    if (impl_->closed || impl_->rk == nullptr) return std::nullopt;
    std::int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(impl_->rk, topic.c_str(), partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0)
        return std::nullopt;
    return high;
}

void Consumer::pause(const std::vector<TopicPartitionOffset>& parts) {
    if (impl_->closed || parts.empty()) return;
    detail::ListPtr list(detail::to_list(parts));
    if (auto err = rd_kafka_pause_partitions(impl_->rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        impl_->report(std::string("pause: ") + rd_kafka_err2str(err));
    }
}

void Consumer::resume(const std::vector<TopicPartitionOffset>& parts) {
    if (impl_->closed || parts.empty()) return;
    detail::ListPtr list(detail::to_list(parts));
    if (auto err = rd_kafka_resume_partitions(impl_->rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        impl_->report(std::string("resume: ") + rd_kafka_err2str(err));
    }
}

void Consumer::seek(const std::vector<TopicPartitionOffset>& parts) {
    if (impl_->closed || parts.empty()) return;
    detail::ListPtr list(detail::to_list(parts));
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(impl_->rk, list.get(), 0)) {
        impl_->report(std::string("seek: ") + rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return;
    }
    for (int i = 0; i < list->cnt; ++i) {
        const auto& e = list->elems[i];
        if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR)
            impl_->report(fmt::format("seek {}[{}]: {}", e.topic, e.partition, rd_kafka_err2str(e.err)));
    }
}

void Consumer::close() {
    impl_->close();
}

}  // namespace rappel::kafka
