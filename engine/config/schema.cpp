#include "engine/config/schema.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace rappel::config {
namespace {

constexpr KeySpec key(std::string_view name, KeyKind kind, bool required, std::string_view def,
                      std::string_view description) {
    KeySpec k;
    k.name = name;
    k.kind = kind;
    k.required = required;
    k.default_value = def;
    k.description = description;
    return k;
}

constexpr KeySpec text(std::string_view name, bool required, std::string_view def,
                       std::string_view description, std::string_view type = {}) {
    KeySpec k = key(name, KeyKind::string, required, def, description);
    k.type_text = type;
    return k;
}

// Optional with a default, or required when `def` is empty.
constexpr KeySpec whole(std::string_view name, std::int64_t min, std::int64_t max, std::string_view def,
                        std::string_view description) {
    KeySpec k = key(name, KeyKind::integer, def.empty(), def, description);
    k.min = min;
    k.max = max;
    return k;
}

constexpr KeySpec pick(std::string_view name, std::string_view choices, std::string_view def,
                       std::string_view description) {
    KeySpec k = key(name, KeyKind::choice, def.empty(), def, description);
    k.choices = choices;
    return k;
}

// Optional, its default described in `description` (it depends on other keys).
constexpr KeySpec pick_optional(std::string_view name, std::string_view choices, std::string_view description) {
    KeySpec k = key(name, KeyKind::choice, false, {}, description);
    k.choices = choices;
    return k;
}

constexpr KeySpec env(std::string_view name, std::string_view description) {
    return key(name, KeyKind::env_name, false, {}, description);
}

constexpr KeySpec file(std::string_view name, std::string_view def, std::string_view description) {
    return key(name, KeyKind::file_path, false, def, description);
}

constexpr KeySpec nested(std::string_view name, KeyKind kind, bool required, std::string_view type,
                         std::string_view description, std::string_view def = {}) {
    KeySpec k = key(name, kind, required, def, description);
    k.type_text = type;
    return k;
}

// A default in parentheses is documentation text, not a value.
constexpr std::string_view kAllDefaults = "(all defaults)";

constexpr KeySpec kTop[] = {
    nested("kafka", KeyKind::map, false, "section", "Kafka brokers and topics.", kAllDefaults),
    nested("redis", KeyKind::map, false, "section", "Redis server holding the schedule.", kAllDefaults),
    nested("engine", KeyKind::map, false, "section", "Scheduling and throughput settings.", kAllDefaults),
    nested("retry", KeyKind::map, false, "section", "Retry policy for failed sends.", kAllDefaults),
    nested("http", KeyKind::map, false, "section",
           "The operators' HTTP listener: `/metrics`, `/healthz`, `/readyz`. Off unless `port` is set.",
           kAllDefaults),
    nested("log", KeyKind::map, false, "section", "Log format and levels.", kAllDefaults),
    nested("providers", KeyKind::map, true, "map of provider name to provider",
           "Delivery providers by name; names match `[a-z0-9-]{1,64}`."),
    nested("channels", KeyKind::map, true, "section", "Which provider delivers each channel."),
    nested("programs", KeyKind::map, true, "map of program id to program",
           "Campaigns by program id (the event's `program`); ids match `[a-z0-9-]{1,64}`. "
           "At least one."),
};

constexpr KeySpec kKafka[] = {
    text("brokers", false, "127.0.0.1:9092",
         "Bootstrap servers, comma-separated `host:port`. Overridden by "
         "`RAPPEL_KAFKA_BROKERS`."),
    text("group_id", false, "rappel", "Consumer group. Engines in one group share the input partitions."),
    text("events_topic", false, "renewals.due-dates", "Topic carrying `renewal-event/1` events.",
         "topic name"),
    text("dlq_topic", false, "<events_topic>.dlq", "Dead-letter topic for invalid events.", "topic name"),
    text("outcomes_topic", false, "notifications.outcomes",
         "Topic receiving `notification-outcome/1` events.", "topic name"),
    nested("properties", KeyKind::map, false, "map of string to string",
           "librdkafka properties passed through unchanged, e.g. `session.timeout.ms`. "
           "Refused: `bootstrap.servers` and `group.id` (use `brokers` and `group_id`), "
           "`enable.auto.commit` and `enable.auto.offset.store` (the engine commits offsets "
           "itself, after storing reminders), and secrets (names containing `password` or "
           "`secret`, and `ssl.key.pem`)."),
    nested("properties_env", KeyKind::map, false, "map of property to variable name",
           "librdkafka properties whose values are read from environment variables at "
           "start-up, for secrets such as `sasl.password`."),
    nested("properties_file", KeyKind::map, false, "map of property to file path",
           "librdkafka properties whose values are read from files at start-up (trailing "
           "newlines removed)."),
};

constexpr KeySpec kRedis[] = {
    text("host", false, "127.0.0.1", "Redis host. Overridden by `RAPPEL_REDIS_HOST`."),
    whole("port", 1, 65535, "6379", "Redis port. Overridden by `RAPPEL_REDIS_PORT`."),
    env("password_env",
        "Environment variable holding the Redis password (`AUTH`). Optional; at most one "
        "of `password_env` and `password_file`."),
    file("password_file", "", "File holding the Redis password."),
    text("key_prefix", false, "rp", "Prefix of every Redis key, so several deployments can share one server.",
         "string `[A-Za-z0-9_-]{1,32}`"),
    whole("command_timeout_ms", 100, 600000, "5000",
          "No reply for this long while commands are pending: the connection is declared dead, "
          "pending commands fail and the engine reconnects."),
    whole("connect_timeout_ms", 100, 600000, "5000",
          "Longest wait for a new connection to answer (TCP connect, `AUTH`, `PING`)."),
};

constexpr KeySpec kEngine[] = {
    text("default_time_zone", false, "America/Toronto",
         "Time zone of holders whose event has no `holder.time_zone`.", "IANA time zone"),
    whole("lease_seconds", 5, 3600, "300",
          "How long a claimed reminder stays with an engine; a crashed engine's claims "
          "return to the schedule after it."),
    whole("poll_interval_ms", 10, 60000, "200", "Real time between schedule polls when nothing is due."),
    whole("claim_batch", 1, 10000, "256", "Reminders claimed per Redis script call."),
    whole("max_in_flight", 1, 100000, "1000", "Sends in flight at once per engine."),
    whole("ingest_batch", 1, 100000, "500", "Events applied per Redis script call."),
    whole("expire_after_hours", 1, 720, "72",
          "A reminder that could not go out within this time after its send time ends as "
          "`expired`."),
    whole("retention_days", 1, 3650, "400", "How long dedup markers and applied versions are kept."),
};

constexpr KeySpec kRetry[] = {
    whole("max_attempts", 1, 20, "5", "Attempts per reminder, the first one included."),
    whole("backoff_base_seconds", 1, 86400, "30", "Delay before the first retry."),
    whole("backoff_cap_seconds", 1, 604800, "3600",
          "Longest delay between attempts; at least `backoff_base_seconds`."),
    pick("jitter", "none|full", "full",
         "`full`: each delay is random between 0 and the exponential delay; `none`: exactly "
         "the exponential delay."),
};

constexpr std::string_view kProviderTypes = "twilio-sms|smtp";

constexpr KeySpec kTwilio[] = {
    pick("type", kProviderTypes, "", "Adapter: `twilio-sms` for SMS."),
    text("base_url", false, "https://api.twilio.com",
         "Messages API root, `http://` or `https://`; a trailing `/` is removed.", "URL"),
    text("account_sid", true, "", "Account SID.", "`AC` and 32 hex digits"),
    env("auth_token_env",
        "Environment variable holding the auth token. Exactly one of `auth_token_env` and "
        "`auth_token_file`."),
    file("auth_token_file", "", "File holding the auth token."),
    text("from", true, "", "Sender number.", "E.164 number, e.g. `+16135550100`"),
    whole("timeout_ms", 100, 600000, "10000", "Time limit of one request."),
};

constexpr KeySpec kSmtp[] = {
    pick("type", kProviderTypes, "", "Adapter: `smtp` for email."),
    text("url", true, "",
         "Server, `smtp://host:port` (STARTTLS per `starttls`) or "
         "`smtps://host:port` (TLS from the start).",
         "URL"),
    text("from", true, "", "`From` header.", "address or `Name <address>`"),
    text("username", false, "", "Login, if the server requires one."),
    env("password_env",
        "Environment variable holding the SMTP password. Optional, needs `username`; at "
        "most one of `password_env` and `password_file`."),
    file("password_file", "", "File holding the SMTP password."),
    pick("starttls", "none|try|required", "try",
         "STARTTLS on `smtp://`: `none` never, `try` when offered, `required` or fail. "
         "Ignored for `smtps://`."),
    text("unsubscribe_url", true, "", "Target of the `List-Unsubscribe` header.",
         "`https://` URL or `mailto:` address"),
    whole("timeout_ms", 100, 600000, "10000", "Time limit of one SMTP session."),
};

constexpr KeySpec kChannels[] = {
    text("sms", false, "", "Provider of type `twilio-sms` delivering text messages.", "provider name"),
    text("email", false, "", "Provider of type `smtp` delivering email.", "provider name"),
    text("voice", false, "", "Not supported yet: voice has no adapter, so it is refused.", "provider name"),
};

constexpr KeySpec kProgram[] = {
    nested("name", KeyKind::map, true, "section", "Name of the program in each language, used in messages."),
    file("templates", "templates/<program id>", "Directory of this program's message templates; must exist."),
    whole("sms_max_segments", 1, 10, "3",
          "SMS budget: segments the longest plausible rendering of each SMS template may "
          "take (160/153 GSM-7 characters or 70/67 UCS-2 per segment). Checked at start-up "
          "and by `rappelctl validate`."),
    nested("catch_up", KeyKind::map, false, "section",
           "What happens to stages already past when an event arrives.", kAllDefaults),
    pick("priority", "high|normal|bulk", "normal",
         "Send lane of this program's reminders: due `high` ones are claimed before `normal` "
         "ones, `normal` before `bulk`, whatever their age. A stage may override it."),
    nested("windows", KeyKind::map, false, "map of channel to window",
           "Local hours each channel may reach a holder, in the holder's time zone (see Send "
           "windows below). A channel not listed keeps its default window.",
           "(defaults per channel)"),
    nested("closures", KeyKind::list, false, "list of `YYYY-MM-DD`",
           "Extra days without sends for every channel of this program (e.g. `2026-12-24`); "
           "stages landing on one move by their `shift` rule.",
           "none"),
    nested("stages", KeyKind::list, true, "list of stages",
           "Reminders relative to the due date; at least one. Sorted by `offset_days` at "
           "load."),
};

constexpr KeySpec kWindow[] = {
    text("weekdays", false, "per channel", "Monday to Friday hours, `HH:MM-HH:MM` (end excluded, `24:00` allowed), or `closed`.",
         "`HH:MM-HH:MM` or `closed`"),
    text("weekends", false, "per channel", "Saturday and Sunday hours, same format.", "`HH:MM-HH:MM` or `closed`"),
    pick_optional("skip_weekends", "false|true",
                  "`true`: weekends are skipped days (stages move off them, nothing is sent). "
                  "Default `true` for voice, `false` for the others."),
    pick("skip_holidays", "true|false", "true",
         "`true`: Ontario's public holidays and their weekday substitutes are skipped days."),
};

constexpr KeySpec kProgramName[] = {
    text("en", true, "", "English name, e.g. `driver's licence`."),
    text("fr", true, "", "French name, e.g. `permis de conduire`."),
};

constexpr KeySpec kHttp[] = {
    text("address", false, "127.0.0.1",
         "Address to listen on. Loopback by default: expose it wider only behind a firewall "
         "(it has no authentication).",
         "IP address"),
    whole("port", 0, 65535, "0",
          "Port to listen on; 0: no listener. 9464 is customary for an exporter."),
    whole("probe_interval_ms", 100, 600000, "5000",
          "Real time between Redis probes (round-trip time, outbox backlog, schedule size, readiness)."),
    whole("ready_max_outbox", 1, 100000000, "100000",
          "Outbox entries (owned partitions) above which `/readyz` answers 503: the relay is not keeping up."),
};

constexpr KeySpec kLog[] = {
    pick("format", "text|json", "text",
         "`json`: one object per line with `ts`, `level`, `module`, `msg` (and `repeated`). "
         "Overridden by `--log-format`."),
    pick("level", "debug|info|warn|error", "info", "Level of every module without its own. Overridden by `--log-level`."),
    nested("modules", KeyKind::map, false, "map of module to level",
           "Levels per module (`engine`, `redis`, `kafka`, `http`, `observe`, `rappeld`, ...), e.g. "
           "`kafka: warn`. Extended by `--log-module`."),
    whole("repeat_window_seconds", 0, 3600, "10",
          "An identical warn or error line within this window is suppressed; the next one after it "
          "says `repeated N times`. 0: never suppress."),
};

constexpr KeySpec kCatchUp[] = {
    pick("policy", "skip|latest", "skip",
         "`skip`: stages already past end as `expired`; `latest`: the latest past stage is "
         "sent if its send time is at most `grace_days` old, the others end as `expired`."),
    whole("grace_days", 0, 90, "3", "Grace period of the `latest` policy."),
};

constexpr KeySpec kStage[] = {
    text("id", true, "", "Stage id, unique within the program; part of each reminder id.",
         "string `[a-z0-9-]{1,32}`"),
    whole("offset_days", -400, 400, "", "Days from the due date: negative before, positive after."),
    text("send_at", false, "10:00", "Local time of the holder.", "`HH:MM`"),
    nested("channels", KeyKind::list, true, "list of `sms`, `email`, `voice`, or `preference`",
           "Channels of this stage, each sent once; no duplicates. The string `preference` "
           "sends on the holder's most preferred consented channel that has a contact and a "
           "provider. Every listed channel needs a provider in `channels`."),
    pick_optional("shift", "previous|next",
         "Where the stage goes when its day is skipped by a channel's window: `previous` or "
         "`next` allowed day. Default `previous` for a stage before the due date (which "
         "`next` never passes: it falls back to `previous`), `next` otherwise."),
    pick_optional("priority", "high|normal|bulk", "Send lane of this stage's reminders; default: the program's."),
};

constexpr SectionSpec kSections[] = {
    {"top", "top level", "The file is one YAML map with these sections.", kTop},
    {"kafka", "kafka", "Kafka connection and topics.", kKafka},
    {"redis", "redis", "Redis connection.", kRedis},
    {"engine", "engine", "Scheduling and throughput.", kEngine},
    {"retry", "retry",
     "Retries of a send that failed for a temporary reason; exponential backoff "
     "`min(cap, base * 2^(attempt-1))`.",
     kRetry},
    {"http", "http", "The operators' HTTP listener (see docs/operations.md).", kHttp},
    {"log", "log", "Logging.", kLog},
    {"provider.twilio-sms", "providers.<name> with type: twilio-sms",
     "Twilio-compatible Messages API (Twilio, or a compatible gateway or simulator).", kTwilio},
    {"provider.smtp", "providers.<name> with type: smtp", "SMTP server for email.", kSmtp},
    {"channels", "channels",
     "Channel to provider name; each must name a provider of the "
     "right type.",
     kChannels},
    {"program", "programs.<id>", "One campaign.", kProgram},
    {"program.name", "programs.<id>.name", "Both languages are required.", kProgramName},
    {"program.catch_up", "programs.<id>.catch_up", "Catch-up of past stages.", kCatchUp},
    {"program.window", "programs.<id>.windows.<channel>",
     "Send window of one channel (`sms`, `email` or `voice`); unset keys keep that channel's default.",
     kWindow},
    {"program.stage", "programs.<id>.stages[]", "One reminder stage.", kStage},
};

std::string escape_cell(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

const KeySpec* SectionSpec::find(std::string_view key) const {
    for (const KeySpec& k : keys) {
        if (k.name == key) return &k;
    }
    return nullptr;
}

std::span<const SectionSpec> schema() {
    return kSections;
}

const SectionSpec& section(std::string_view id) {
    for (const SectionSpec& s : kSections) {
        if (s.id == id) return s;
    }
    throw std::logic_error(fmt::format("no config section '{}'", id));
}

std::string type_text(const KeySpec& key) {
    if (!key.type_text.empty()) return std::string(key.type_text);
    switch (key.kind) {
        case KeyKind::string:
            return "string";
        case KeyKind::integer:
            return fmt::format("integer {}..{}", key.min, key.max);
        case KeyKind::choice: {
            std::string out;
            std::string_view rest = key.choices;
            while (!rest.empty()) {
                auto bar = rest.find('|');
                auto item = rest.substr(0, bar);
                if (!out.empty()) out += bar == std::string_view::npos ? " or " : ", ";
                out += fmt::format("`{}`", item);
                rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
            }
            return out;
        }
        case KeyKind::env_name:
            return "environment variable name";
        case KeyKind::file_path:
            return "path";
        case KeyKind::map:
            return "map";
        case KeyKind::list:
            return "list";
    }
    return "?";
}

std::string schema_markdown() {
    std::string out;
    for (const SectionSpec& s : kSections) {
        out += fmt::format("### `{}`\n\n{}\n\n", s.title, s.summary);
        out += "| key | type | default | description |\n|---|---|---|---|\n";
        for (const KeySpec& k : s.keys) {
            std::string def = k.required                         ? "required"
                              : k.default_value.empty()          ? "none"
                              : k.default_value.starts_with('(') ? std::string(k.default_value)
                                                                 : fmt::format("`{}`", k.default_value);
            out += fmt::format("| `{}` | {} | {} | {} |\n", k.name, escape_cell(type_text(k)),
                               escape_cell(def), escape_cell(k.description));
        }
        out += "\n";
    }
    return out;
}

}  // namespace rappel::config
