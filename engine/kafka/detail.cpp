#include "engine/kafka/detail.hpp"

#include "engine/base/log.hpp"

#include <boost/system/error_code.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace rappel::kafka::detail {

void set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        throw std::runtime_error("kafka property " + name + ": " + errstr);
    }
}

void apply_properties(rd_kafka_conf_t* conf, const Properties& props) {
    for (const auto& [name, value] : props) set_property(conf, name, value);
}

namespace {

void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    // syslog levels: 0-3 error, 4 warning, 5 notice, 6 info, 7 debug.
    log::Level l = log::Level::debug;
    if (level <= 3) {
        l = log::Level::error;
    } else if (level == 4) {
        l = log::Level::warn;
    } else if (level == 5) {
        l = log::Level::info;
    }
    if (l < log::level()) return;
    log::write(l, "kafka", fmt::format("{} {}: {}", rk ? rd_kafka_name(rk) : "-", fac, buf));
}

}  // namespace

void route_logs(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_log_cb(conf, log_cb);
}

std::string conf_get(rd_kafka_conf_t* conf, const char* name) {
    std::array<char, 256> buf{};
    size_t size = buf.size();
    if (rd_kafka_conf_get(conf, name, buf.data(), &size) != RD_KAFKA_CONF_OK) return {};
    return std::string(buf.data());
}

Message to_message(const rd_kafka_message_t* m) {
    Message out;
    out.topic = rd_kafka_topic_name(m->rkt);
    out.partition = m->partition;
    out.offset = m->offset;
    if (m->key) out.key.emplace(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) out.value.emplace(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    const std::int64_t ts = rd_kafka_message_timestamp(m, &type);
    out.timestamp_ms = ts >= 0 ? ts : 0;
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0;
             rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
            out.headers.emplace_back(
                name, value ? std::string(static_cast<const char*>(value), size) : std::string());
        }
    }
    return out;
}

std::vector<TopicPartitionOffset> to_vector(const rd_kafka_topic_partition_list_t* list) {
    std::vector<TopicPartitionOffset> out;
    if (!list) return out;
    out.reserve(static_cast<std::size_t>(list->cnt));
    for (int i = 0; i < list->cnt; ++i) {
        const auto& e = list->elems[i];
        out.push_back(TopicPartitionOffset{e.topic, e.partition, e.offset});
    }
    return out;
}

rd_kafka_topic_partition_list_t* to_list(const std::vector<TopicPartitionOffset>& parts) {
    auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
    for (const auto& p : parts) {
        rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = p.offset;
    }
    return list;
}

IoEventPipe::IoEventPipe(boost::asio::io_context& io) : read_(io) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("kafka: pipe2: ") + std::strerror(errno));
    }
    read_.assign(fds[0]);
    write_fd_ = fds[1];
}

IoEventPipe::~IoEventPipe() {
    close();
}

void IoEventPipe::async_wait(std::function<void()> fn) {
    if (waiting_ || !read_.is_open()) return;
    waiting_ = true;
    std::weak_ptr<char> alive = alive_;
    read_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [this, alive, fn = std::move(fn)](const boost::system::error_code& ec) {
                         if (alive.expired()) return;
                         waiting_ = false;
                         if (ec || !read_.is_open()) return;
                         drain();
                         fn();
                     });
}

void IoEventPipe::drain() {
    std::array<char, 256> buf{};
    while (true) {
        ssize_t n = ::read(read_.native_handle(), buf.data(), buf.size());
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        break;  // EAGAIN: empty
    }
}

void IoEventPipe::close() {
    alive_.reset();
    waiting_ = false;
    if (read_.is_open()) {
        boost::system::error_code ignored;
        read_.close(ignored);
    }
    if (write_fd_ >= 0) {
        ::close(write_fd_);
        write_fd_ = -1;
    }
}

}  // namespace rappel::kafka::detail
