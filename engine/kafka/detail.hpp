#pragma once
// Private helpers shared by Consumer and Producer: configuration, partition lists and the
// pipe through which librdkafka wakes the Asio loop.
#include "engine/kafka/kafka.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rappel::kafka::detail {

// Sets each property on `conf`; throws std::runtime_error naming the property on failure.
void set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);
void apply_properties(rd_kafka_conf_t* conf, const Properties& props);
// Routes librdkafka's log lines to rappel::log (component "kafka").
void route_logs(rd_kafka_conf_t* conf);
std::string conf_get(rd_kafka_conf_t* conf, const char* name);

// A fetched message (not an error event) as a Message: key, value, headers, timestamp.
Message to_message(const rd_kafka_message_t* m);

std::vector<TopicPartitionOffset> to_vector(const rd_kafka_topic_partition_list_t* list);
// The caller owns the returned list (rd_kafka_topic_partition_list_destroy).
rd_kafka_topic_partition_list_t* to_list(const std::vector<TopicPartitionOffset>& parts);

struct ListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

// A non-blocking pipe whose write end is handed to rd_kafka_queue_io_event_enable().
// librdkafka writes one byte when the queue becomes non-empty (and not again until the
// queue has been served), so every wake-up must be followed by serving the queue until
// it is empty.
class IoEventPipe {
public:
    explicit IoEventPipe(boost::asio::io_context& io);
    ~IoEventPipe();
    IoEventPipe(const IoEventPipe&) = delete;
    IoEventPipe& operator=(const IoEventPipe&) = delete;

    int write_fd() const { return write_fd_; }
    // Runs `fn` once the pipe is readable, after draining it. At most one wait is pending;
    // a second call while waiting is ignored. `fn` is never called after close().
    void async_wait(std::function<void()> fn);
    bool waiting() const { return waiting_; }
    // Only after the queue's io event has been disabled.
    void close();

private:
    void drain();

    boost::asio::posix::stream_descriptor read_;
    int write_fd_ = -1;
    bool waiting_ = false;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace rappel::kafka::detail
