#pragma once
// Typed configuration, parsed and validated once at start-up by load_config(). Secrets are
// never in the file: the file names environment variables (`*_env`) or files (`*_file`)
// that hold them, resolved at load time.
#include "engine/base/channel_kind.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::config {

struct KafkaConfig {
    std::string brokers = "127.0.0.1:9092";
    std::string group_id = "rappel";
    std::string events_topic = "renewals.due-dates";
    std::string dlq_topic;  // default: <events_topic>.dlq
    std::string outcomes_topic = "notifications.outcomes";
    // Extra librdkafka properties passed through unchanged (e.g. session.timeout.ms).
    std::map<std::string, std::string> properties;
};

struct RedisConfig {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string password;  // resolved from password_env / password_file
    std::string key_prefix = "rp";
    std::chrono::milliseconds command_timeout{5000};  // no reply this long: connection dead
    std::chrono::milliseconds connect_timeout{5000};  // TCP connect + AUTH + PING
};

struct EngineConfig {
    std::string default_time_zone = "America/Toronto";
    std::chrono::seconds lease{300};          // claim lease; a crashed engine's claims return after it
    std::chrono::milliseconds poll_interval{200};  // real time between schedule polls when idle
    int claim_batch = 256;                    // reminders claimed per script call
    int max_in_flight = 1000;                 // sends in flight per engine
    int ingest_batch = 500;                   // events per apply script call
    std::chrono::hours expire_after{72};      // a reminder later than this is `expired`
    std::chrono::days retention{400};         // how long dedup markers and versions are kept
};

// The operators' HTTP listener (/metrics, /healthz, /readyz). Off unless `port` is set.
struct HttpConfig {
    bool enabled = false;
    std::string address = "127.0.0.1";
    int port = 0;
    std::chrono::milliseconds probe_interval{5000};  // Redis probe behind the gauges and /readyz
    int ready_max_outbox = 100000;                   // outbox entries above which /readyz fails
};

struct LogConfig {
    std::string format = "text";             // text or json
    std::string level = "info";              // debug, info, warn or error
    std::map<std::string, std::string> modules;  // module -> level
    std::chrono::seconds repeat_window{10};  // identical warn/error lines suppressed this long
};

enum class Jitter { none, full };

struct RetryConfig {
    int max_attempts = 5;
    std::chrono::seconds backoff_base{30};
    std::chrono::seconds backoff_cap{3600};
    Jitter jitter = Jitter::full;
};

enum class ProviderType { twilio_sms, smtp };

enum class StartTls { none, try_, required };

struct ProviderConfig {
    std::string name;
    ProviderType type = ProviderType::twilio_sms;
    std::chrono::milliseconds timeout{10000};
    // twilio_sms
    std::string base_url;       // e.g. https://api.twilio.com
    std::string account_sid;
    std::string auth_token;     // resolved from auth_token_env / auth_token_file
    std::string from;           // sender number (E.164) or email From header
    // smtp
    std::string url;            // smtp://host:port or smtps://host:port
    std::string username;
    std::string password;       // resolved from password_env / password_file
    StartTls starttls = StartTls::try_;
    std::string unsubscribe_url;  // List-Unsubscribe target (https URL or mailto:)
};

enum class CatchUp { skip, latest };

// Send lane: `high` reminders are claimed before `normal` ones, `normal` before `bulk`.
enum class Priority : std::uint8_t { high = 0, normal = 1, bulk = 2 };
inline constexpr int kPriorities = 3;
constexpr std::string_view to_string(Priority p) {
    return p == Priority::high ? "high" : p == Priority::bulk ? "bulk" : "normal";
}

// Where a stage goes when its day is skipped: the previous allowed day (never later than
// the due date for a stage before it) or the next one.
enum class Shift { previous, next };

// Hours a channel may reach a holder, in the holder's local time: [open, close) in minutes
// since local midnight (close 1440 = 24:00; open == close: closed that kind of day).
struct SendWindow {
    int weekday_open = 0, weekday_close = 1440;
    int weekend_open = 0, weekend_close = 1440;
    bool skip_weekends = false;
    bool skip_holidays = false;  // Ontario public holidays (scheduler/holidays.hpp)
};

struct StageConfig {
    std::string id;               // [a-z0-9-]{1,32}, e.g. "60d-before"
    int offset_days = 0;          // negative: before the due date
    int send_hour = 10;           // local time of the holder
    int send_minute = 0;
    // Channels this stage uses, in order. Empty with `preference`: the holder's most
    // preferred consented channel that has a contact.
    std::vector<ChannelKind> channels;
    bool preference = false;
    std::optional<Shift> shift;        // unset: previous before the due date, next on or after
    std::optional<Priority> priority;  // unset: the program's
};

struct ProgramConfig {
    std::string id;                                   // e.g. "drivers-licence"
    std::map<Language, std::string> display_name;     // per language
    std::filesystem::path templates_dir;              // absolute after load
    std::vector<StageConfig> stages;                  // sorted by offset_days
    CatchUp catch_up = CatchUp::skip;
    std::chrono::days catch_up_grace{3};
    int sms_max_segments = 3;  // budget of each SMS template's longest plausible rendering
    // Per channel; a channel without an entry is never restricted (the loader fills every
    // channel with its default window).
    std::map<ChannelKind, SendWindow> windows;
    std::vector<std::chrono::year_month_day> closures;  // extra days without sends
    Priority priority = Priority::normal;

    const SendWindow* window(ChannelKind c) const {
        auto it = windows.find(c);
        return it == windows.end() ? nullptr : &it->second;
    }
    Priority priority_of(std::string_view stage_id) const {
        for (const auto& s : stages)
            if (s.id == stage_id) return s.priority.value_or(priority);
        return priority;
    }
};

struct Config {
    std::filesystem::path source;        // the file it was read from
    KafkaConfig kafka;
    RedisConfig redis;
    EngineConfig engine;
    RetryConfig retry;
    HttpConfig http;
    LogConfig log;
    std::vector<ProviderConfig> providers;
    std::map<ChannelKind, std::string> channel_provider;  // channel -> provider name
    std::map<std::string, ProgramConfig> programs;
};

// Thrown only by load_config(); what() lists every problem, one per line, each as
// "<file>:<line>:<column>: <field path>: <what was expected>".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

Config load_config(const std::filesystem::path& file);
// Same, from text; `name` is used in messages and relative paths resolve against `base_dir`.
Config load_config_text(const std::string& text, const std::string& name,
                        const std::filesystem::path& base_dir);

}  // namespace rappel::config
