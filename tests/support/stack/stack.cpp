#include "tests/support/stack/stack.hpp"

#include "engine/base/time_format.hpp"

#include <fstream>
#include <stdexcept>

namespace rappel::testkit {

bool is_terminal(const std::string& s) {
    return s == "sent" || s == "failed" || s == "cancelled" || s == "expired" ||
           s == "suppressed" || s == "delivered" || s == "undelivered";
}

Stack::Stack(StackOptions options) : options_(std::move(options)) {
    dir_ = std::make_unique<TempDir>("rappel-stack");
    kafka_ = std::make_unique<MockKafka>(1);
    kafka_->create_topic(events_topic_, options_.partitions);
    kafka_->create_topic(dlq_topic_, 1);
    kafka_->create_topic(outcomes_topic_, options_.partitions);
    redis_ = std::make_unique<RedisServer>();
    sim_ = std::make_unique<sim::ProviderSimulator>(sim::ProviderSimulator::Options{});
    sim_->start();
    smtp_ = std::make_unique<SmtpSink>(options_.smtp_fail_first);
    producer_ = std::make_unique<TestProducer>(kafka_->bootstrap());
    auto start = parse_rfc3339(options_.clock_start);
    if (!start) throw std::invalid_argument("StackOptions.clock_start is not RFC 3339");
    clock_start_ = *start;
    write_config();
}

Stack::~Stack() = default;

void Stack::write_config() {
    const std::string src = source_dir();
    YAML::Node root = YAML::LoadFile(options_.base_config.empty() ? src + "/config/rappel.yaml"
                                                                  : options_.base_config);
    root["kafka"]["brokers"] = kafka_->bootstrap();
    root["kafka"]["events_topic"] = events_topic_;
    root["kafka"]["dlq_topic"] = dlq_topic_;
    root["kafka"]["outcomes_topic"] = outcomes_topic_;
    root["kafka"]["group_id"] = "rappel-test";
    auto props = root["kafka"]["properties"];
    props["session.timeout.ms"] = "6000";
    props["heartbeat.interval.ms"] = "500";
    props["partition.assignment.strategy"] = "cooperative-sticky";
    root["redis"]["host"] = redis_->host();
    root["redis"]["port"] = redis_->port();
    for (auto it = root["providers"].begin(); it != root["providers"].end(); ++it) {
        auto p = it->second;
        const auto type = p["type"].as<std::string>();
        if (type == "twilio-sms") {
            p["base_url"] = sim_->base_url();
            p["account_sid"] = sim_->options().account_sid;
            p["timeout_ms"] = 2000;
        } else if (type == "smtp") {
            p["url"] = smtp_->url();
            p["starttls"] = "none";
            // Below the tests' smallest lease (5 s): the loader requires the lease to outlast it.
            p["timeout_ms"] = 4000;
        }
    }
    for (auto it = root["programs"].begin(); it != root["programs"].end(); ++it) {
        const auto id = it->first.as<std::string>();
        it->second["templates"] = src + "/config/templates/" + id;
    }
    if (options_.tweak) options_.tweak(root);
    config_path_ = dir_->path() + "/rappel.yaml";
    std::ofstream out(config_path_);
    out << YAML::Dump(root) << "\n";
    if (!out) throw std::runtime_error("cannot write " + config_path_);
}

std::unique_ptr<Process> Stack::start_engine(const std::string& instance) {
    if (!anchor_) anchor_ = std::chrono::system_clock::now();
    const auto anchor_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(anchor_->time_since_epoch()).count();
    std::vector<std::string> argv{binary_dir() + "/engine/app/rappeld",
                                  "--config", config_path_,
                                  "--clock-start", options_.clock_start,
                                  "--clock-speed", std::to_string(options_.clock_speed),
                                  "--clock-anchor", std::to_string(anchor_ms),
                                  "--instance-id", instance,
                                  "--log-level", options_.log_level};
    argv.insert(argv.end(), options_.engine_args.begin(), options_.engine_args.end());
    std::map<std::string, std::string> env{{"RAPPEL_TWILIO_AUTH_TOKEN", sim_->options().auth_token}};
    env.insert(options_.engine_env.begin(), options_.engine_env.end());
    return std::make_unique<Process>(argv, env, engine_log(instance));
}

std::string Stack::engine_log(const std::string& instance) const {
    return dir_->path() + "/" + instance + ".log";
}

std::optional<TimePoint> Stack::anchor_start() const {
    if (!anchor_) return std::nullopt;
    return clock_start_;
}

TimePoint Stack::sim_now() const {
    if (!anchor_) return clock_start_;
    const SimulatedClock c(clock_start_, options_.clock_speed, *anchor_);
    return c.now();
}

void Stack::publish(const std::string& json) {
    std::string key = "unparsable";
    auto j = nlohmann::json::parse(json, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("program") && j.contains("licence_id") &&
        j["program"].is_string() && j["licence_id"].is_string())
        key = j["program"].get<std::string>() + "/" + j["licence_id"].get<std::string>();
    publish_raw(key, json);
}

void Stack::publish_raw(const std::string& key, const std::string& value) {
    producer_->send(events_topic_, key, value);
}

void Stack::publish_to(int partition, const std::string& key, const std::string& value) {
    producer_->send(events_topic_, key, value, {}, partition);
}

void Stack::flush() { producer_->flush(); }

std::vector<nlohmann::json> Stack::outcomes(
    const std::function<bool(const std::vector<nlohmann::json>&)>& done,
    std::chrono::milliseconds timeout) {
    if (!outcome_reader_)
        outcome_reader_ = std::make_unique<TestConsumer>(kafka_->bootstrap(), outcomes_topic_);
    std::size_t parsed = 0;
    outcome_reader_->poll_until(
        [&](const std::vector<kafka::Message>& msgs) {
            for (; parsed < msgs.size(); ++parsed) {
                if (parsed < outcomes_.size()) continue;
                const auto& v = msgs[parsed].value;
                outcomes_.push_back(v ? nlohmann::json::parse(*v, nullptr, false) : nlohmann::json{});
            }
            return done(outcomes_);
        },
        timeout);
    return outcomes_;
}

std::vector<kafka::Message> Stack::dead_letters(
    const std::function<bool(const std::vector<kafka::Message>&)>& done,
    std::chrono::milliseconds timeout) {
    if (!dlq_reader_) dlq_reader_ = std::make_unique<TestConsumer>(kafka_->bootstrap(), dlq_topic_);
    return dlq_reader_->poll_until(done, timeout);
}

}  // namespace rappel::testkit
