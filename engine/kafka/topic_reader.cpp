#include "engine/kafka/topic_reader.hpp"

#include "engine/kafka/detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace rappel::kafka {

TopicReader::TopicReader(Properties props, std::string topic) : topic_(std::move(topic)) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    try {
        detail::apply_properties(conf, props);
        detail::set_property(conf, "enable.auto.commit", "false");
        detail::set_property(conf, "enable.auto.offset.store", "false");
        detail::set_property(conf, "enable.partition.eof", "true");
        detail::set_property(conf, "auto.offset.reset", "earliest");
    } catch (...) {
        rd_kafka_conf_destroy(conf);
        throw;
    }
    detail::route_logs(conf);
    char errstr[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk_) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("kafka topic reader: ") + errstr);
    }
    rd_kafka_poll_set_consumer(rk_);
    queue_ = rd_kafka_queue_get_consumer(rk_);
}

TopicReader::~TopicReader() {
    if (queue_) rd_kafka_queue_destroy(queue_);
    if (rk_) {
        rd_kafka_assign(rk_, nullptr);
        rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
}

Result<std::int64_t> TopicReader::last_timestamp(std::int32_t partition, std::int64_t offset,
                                                 std::chrono::milliseconds timeout) {
    detail::ListPtr one(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(one.get(), topic_.c_str(), partition)->offset = offset;
    if (auto a = rd_kafka_assign(rk_, one.get()); a != RD_KAFKA_RESP_ERR_NO_ERROR)
        return Error{"kafka", fmt::format("assigning {} [{}]: {}", topic_, partition, rd_kafka_err2str(a))};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<std::int64_t> ts;
    while (!ts && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consume_queue(queue_, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->partition == partition && m->offset == offset) {
            rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
            ts = rd_kafka_message_timestamp(m, &type);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk_, nullptr);
    if (!ts) return Error{"kafka", fmt::format("reading the last message of {} [{}]: timed out", topic_, partition)};
    return *ts;
}

Result<std::int64_t> TopicReader::open(std::chrono::milliseconds timeout, std::optional<std::int64_t> since_ms) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic_.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(rk_, 0, rkt, &md, static_cast<int>(timeout.count()));
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return Error{"kafka", fmt::format("reading metadata of {}: {}", topic_, rd_kafka_err2str(err))};
    int partitions = 0;
    rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (md->topic_cnt == 1) {
        partitions = md->topics[0].partition_cnt;
        topic_err = md->topics[0].err;
    }
    rd_kafka_metadata_destroy(md);
    if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return std::int64_t{0};
    if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return Error{"kafka", fmt::format("topic {}: {}", topic_, rd_kafka_err2str(topic_err))};
    std::int64_t total = 0;
    detail::ListPtr list(rd_kafka_topic_partition_list_new(partitions));
    for (int p = 0; p < partitions; ++p) {
        std::int64_t low = 0, high = 0;
        const auto w = rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &low, &high,
                                                        static_cast<int>(timeout.count()));
        if (w != RD_KAFKA_RESP_ERR_NO_ERROR)
            return Error{"kafka", fmt::format("end offsets of {} [{}]: {}", topic_, p, rd_kafka_err2str(w))};
        if (high <= low) continue;
        std::int64_t start = low;
        if (since_ms) {
            detail::ListPtr at(rd_kafka_topic_partition_list_new(1));
            rd_kafka_topic_partition_list_add(at.get(), topic_.c_str(), p)->offset = *since_ms;
            const auto t = rd_kafka_offsets_for_times(rk_, at.get(), static_cast<int>(timeout.count()));
            if (t != RD_KAFKA_RESP_ERR_NO_ERROR || at->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
                return Error{"kafka", fmt::format("offsets by time of {} [{}]: {}", topic_, p,
                                                  rd_kafka_err2str(t != RD_KAFKA_RESP_ERR_NO_ERROR ? t : at->elems[0].err))};
            if (at->elems[0].offset < 0) {
                // "Nothing written since then", or a broker that does not look offsets up by
                // time (librdkafka's mock cluster): the last message tells which.
                auto last = last_timestamp(p, high - 1, timeout);
                if (!last) return last.error();
                if (last.value() < *since_ms) continue;
                start = low;
            } else {
                start = std::max(low, at->elems[0].offset);
            }
            if (start >= high) continue;
        }
        ends_[p] = high;
        total += high - start;
        rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset = since_ms ? start : RD_KAFKA_OFFSET_BEGINNING;
    }
    if (ends_.empty()) return total;
    if (auto a = rd_kafka_assign(rk_, list.get()); a != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ends_.clear();
        return Error{"kafka", fmt::format("assigning {}: {}", topic_, rd_kafka_err2str(a))};
    }
    return total;
}

Result<std::vector<Message>> TopicReader::next(std::size_t max, std::chrono::milliseconds wait) {
    std::vector<Message> out;
    if (ends_.empty() || max == 0) return out;
    std::vector<rd_kafka_message_t*> batch(max);
    const auto n = rd_kafka_consume_batch_queue(queue_, static_cast<int>(wait.count()), batch.data(), max);
    if (n < 0) return Error{"kafka", fmt::format("reading {}: {}", topic_, rd_kafka_err2str(rd_kafka_last_error()))};
    std::optional<Error> failure;
    for (ssize_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = batch[static_cast<std::size_t>(i)];
        auto it = ends_.find(m->partition);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (it != ends_.end() && m->offset >= it->second - 1) ends_.erase(it);
        } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (it != ends_.end() && m->offset < it->second) {
                out.push_back(detail::to_message(m));
                if (m->offset >= it->second - 1) ends_.erase(it);
            }
        } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                   m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                   m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
            if (!failure) failure = Error{"kafka", fmt::format("reading {}: {}", topic_, rd_kafka_message_errstr(m))};
        }
        // Other errors (a broker down, a timeout) are transient: librdkafka keeps fetching.
        rd_kafka_message_destroy(m);
    }
    if (failure) return *failure;
    return out;
}

}  // namespace rappel::kafka
