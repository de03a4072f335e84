#include "tests/support/mock_kafka.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <stdexcept>

namespace rappel::testkit {

namespace {

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error("kafka property " + name + ": " + errstr);
    }
}

// Only errors: the mock and clients log every connection teardown at lower levels.
void quiet(rd_kafka_conf_t* conf) {
    set(conf, "log_level", "3");
}

rd_kafka_t* make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("rd_kafka_new: ") + errstr);
    }
    return rk;
}

}  // namespace

struct TestProducerAccess {
    static void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* self = static_cast<TestProducer*>(opaque);
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ++self->failed_;
            self->last_error_ = rd_kafka_err2str(m->err);
        }
    }
};

std::string unique_group(const std::string& prefix) {
    static std::atomic<int> counter{0};
    std::random_device rd;
    return prefix + "-" + std::to_string(rd()) + "-" + std::to_string(counter.fetch_add(1));
}

kafka::Properties group_consumer_properties(const std::string& bootstrap, const std::string& group) {
    return {
        {"bootstrap.servers", bootstrap},
        {"group.id", group},
        {"session.timeout.ms", "6000"},
        {"heartbeat.interval.ms", "500"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        // The mock answers a Fetch only after fetch.wait.max.ms when there is nothing new,
        // delaying the offset lookups queued behind it.
        {"fetch.wait.max.ms", "100"},
        {"log_level", "3"},
    };
}

MockKafka::MockKafka(int brokers) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    quiet(conf);
    rk_ = make_handle(RD_KAFKA_PRODUCER, conf);
    cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (!cluster_) {
        rd_kafka_destroy(rk_);
        throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    }
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

MockKafka::~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
}

void MockKafka::create_topic(const std::string& topic, int partitions) {
    auto err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error("mock topic " + topic + ": " + rd_kafka_err2str(err));
    }
}

void MockKafka::set_topic_error(const std::string& topic, int error) {
    rd_kafka_mock_topic_set_error(cluster_, topic.c_str(), static_cast<rd_kafka_resp_err_t>(error));
}

TestProducer::TestProducer(const std::string& bootstrap) : TestProducer(bootstrap, kafka::Properties{}) {}

TestProducer::TestProducer(const std::string& bootstrap, const kafka::Properties& extra) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    quiet(conf);
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "linger.ms", "0");
    for (const auto& [name, value] : extra) set(conf, name, value);
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &TestProducerAccess::dr_cb);
    rk_ = make_handle(RD_KAFKA_PRODUCER, conf);
}

TestProducer::~TestProducer() {
    rd_kafka_flush(rk_, 5000);
    rd_kafka_destroy(rk_);
}

void TestProducer::send(const std::string& topic, const std::string& key, const std::string& value,
                        const kafka::Headers& headers, int partition) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, val] : headers) {
        rd_kafka_header_add(hdrs, name.c_str(), static_cast<ssize_t>(name.size()), val.data(),
                            static_cast<ssize_t>(val.size()));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (true) {
        rd_kafka_vu_t vus[6] = {};
        vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
        vus[0].u.cstr = topic.c_str();
        vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
        vus[1].u.i32 = partition < 0 ? RD_KAFKA_PARTITION_UA : partition;
        vus[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vus[2].u.i = RD_KAFKA_MSG_F_COPY;
        vus[3].vtype = RD_KAFKA_VTYPE_KEY;
        vus[3].u.mem.ptr = const_cast<char*>(key.c_str());
        vus[3].u.mem.size = key.size();
        vus[4].vtype = RD_KAFKA_VTYPE_VALUE;
        vus[4].u.mem.ptr = const_cast<char*>(value.c_str());
        vus[4].u.mem.size = value.size();
        vus[5].vtype = RD_KAFKA_VTYPE_HEADERS;
        vus[5].u.headers = hdrs;
        rd_kafka_error_t* error = rd_kafka_produceva(rk_, vus, 6);
        if (!error) break;  // headers now owned by librdkafka
        const auto code = rd_kafka_error_code(error);
        std::string what = rd_kafka_error_string(error);
        rd_kafka_error_destroy(error);
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() > deadline) {
            rd_kafka_headers_destroy(hdrs);
            throw std::runtime_error("produce: " + what);
        }
        rd_kafka_poll(rk_, 50);
    }
    rd_kafka_poll(rk_, 0);
}

void TestProducer::flush() {
    if (rd_kafka_flush(rk_, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error("flush timed out");
    }
    if (failed_ > 0) {
        throw std::runtime_error(std::to_string(failed_) + " message(s) failed: " + last_error_);
    }
}

TestConsumer::TestConsumer(const std::string& bootstrap, const std::string& topic, std::string group) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    quiet(conf);
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", group);
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.auto.offset.store", "false");
    rk_ = make_handle(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk_);

    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
    int partitions = 0;
    std::string error = "no metadata";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (partitions == 0 && std::chrono::steady_clock::now() < deadline) {
        const rd_kafka_metadata_t* md = nullptr;
        auto err = rd_kafka_metadata(rk_, 0, rkt, &md, 2000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                partitions = md->topics[0].partition_cnt;
            } else if (md->topic_cnt == 1) {
                error = rd_kafka_err2str(md->topics[0].err);
            }
            rd_kafka_metadata_destroy(md);
        } else {
            error = rd_kafka_err2str(err);
        }
    }
    rd_kafka_topic_destroy(rkt);
    if (partitions == 0) {
        rd_kafka_destroy(rk_);
        throw std::runtime_error("metadata for " + topic + ": " + error);
    }

    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    auto err = rd_kafka_assign(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_destroy(rk_);
        throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(err));
    }
}

TestConsumer::~TestConsumer() {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
}

std::vector<kafka::Message> TestConsumer::poll_until(
    std::function<bool(const std::vector<kafka::Message>&)> done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(seen_)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        rd_kafka_message_t* m =
            rd_kafka_consumer_poll(rk_, static_cast<int>(std::min<long>(left.count(), 100)));
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            kafka::Message out;
            out.topic = rd_kafka_topic_name(m->rkt);
            out.partition = m->partition;
            out.offset = m->offset;
            if (m->key) out.key.emplace(static_cast<const char*>(m->key), m->key_len);
            if (m->payload) out.value.emplace(static_cast<const char*>(m->payload), m->len);
            rd_kafka_timestamp_type_t tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
            out.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
            rd_kafka_headers_t* hdrs = nullptr;
            if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char* name = nullptr;
                const void* val = nullptr;
                size_t size = 0;
                for (size_t i = 0;
                     rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
                     ++i) {
                    out.headers.emplace_back(name,
                                             val ? std::string(static_cast<const char*>(val), size) : "");
                }
            }
            seen_.push_back(std::move(out));
        }
        rd_kafka_message_destroy(m);
    }
    return seen_;
}

}  // namespace rappel::testkit
