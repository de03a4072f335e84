#include "engine/config/config.hpp"
#include "engine/config/load_options.hpp"

#include "engine/config/reader.hpp"
#include "engine/config/schema.hpp"
#include "engine/base/time_format.hpp"

#include <date/tz.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>

#include <arpa/inet.h>

namespace rappel::config {
namespace {

using detail::describe;
using detail::Diagnostics;
using detail::Field;
using detail::join_path;
using detail::MapReader;
using detail::read_string;

bool all_of_chars(std::string_view s, auto&& allowed) {
    return std::all_of(s.begin(), s.end(), [&](char c) { return allowed(c); });
}

bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_control(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// [a-z0-9-]{1,max}
bool is_id(std::string_view s, std::size_t max) {
    return !s.empty() && s.size() <= max &&
           all_of_chars(s, [](char c) { return is_lower(c) || is_digit(c) || c == '-'; });
}

bool is_topic_name(std::string_view s) {
    return !s.empty() && s.size() <= 249 && s != "." && s != ".." && all_of_chars(s, [](char c) {
        return is_lower(c) || is_upper(c) || is_digit(c) || c == '.' || c == '_' || c == '-';
    });
}

bool is_env_name(std::string_view s) {
    return !s.empty() && !is_digit(s.front()) &&
           all_of_chars(s, [](char c) { return is_upper(c) || is_lower(c) || is_digit(c) || c == '_'; });
}

bool is_e164(std::string_view s) {
    return s.size() >= 3 && s.size() <= 16 && s[0] == '+' && s[1] != '0' &&
           all_of_chars(s.substr(1), is_digit);
}

bool is_address(std::string_view s) {
    auto at = s.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < s.size() && s.rfind('@') == at &&
           all_of_chars(s, [](char c) {
               return !is_control(c) && c != ' ' && c != '<' && c != '>' && c != ',' && c != '"';
           });
}

// "address" or "Display Name <address>".
bool is_mailbox(std::string_view s) {
    if (!all_of_chars(s, [](char c) { return !is_control(c); })) return false;
    auto lt = s.rfind('<');
    if (lt == std::string_view::npos) return is_address(s);
    return s.ends_with('>') && is_address(s.substr(lt + 1, s.size() - lt - 2));
}

// scheme://host... with something after the scheme and no spaces or control characters.
bool is_url_with(std::string_view s, std::string_view scheme) {
    return s.starts_with(scheme) && s.size() > scheme.size() && s[scheme.size()] != '/' &&
           all_of_chars(s, [](char c) { return !is_control(c) && c != ' '; });
}

// Problem with a comma-separated host[:port] list, or empty when it is fine.
std::string brokers_problem(std::string_view brokers) {
    std::string_view rest = brokers;
    while (true) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        auto colon = item.rfind(':');
        std::string_view host = item.substr(0, colon);
        bool ok = !host.empty() && all_of_chars(host, [](char c) { return !is_control(c) && c != ' '; });
        if (ok && colon != std::string_view::npos) {
            std::string_view port = item.substr(colon + 1);
            int p = 0;
            auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
            ok = !port.empty() && ec == std::errc{} && end == port.data() + port.size() && p >= 1 &&
                 p <= 65535;
        }
        if (!ok) {
            return fmt::format("expected a comma-separated list of host:port, got '{}'", brokers);
        }
        if (comma == std::string_view::npos) return {};
        rest.remove_prefix(comma + 1);
    }
}

std::optional<std::string> env_value(const char* name) {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): start-up only
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
}

// librdkafka properties the engine owns, with the reason.
std::string_view reserved_property(std::string_view name) {
    if (name == "bootstrap.servers" || name == "metadata.broker.list") return "use kafka.brokers";
    if (name == "group.id") return "use kafka.group_id";
    if (name == "enable.auto.commit" || name == "enable.auto.offset.store") {
        return "the engine commits offsets itself, after reminders are stored";
    }
    return {};
}

bool is_secret_property(std::string_view name) {
    return name.find("password") != std::string_view::npos || name.find("secret") != std::string_view::npos ||
           name == "ssl.key.pem";
}

class Loader {
public:
    Loader(std::string name, const std::filesystem::path& base_dir, LoadOptions options = {})
        : diag_(std::move(name)), base_dir_(std::filesystem::absolute(base_dir)), options_(options) {}

    Config load(const std::string& text);

private:
    void read_kafka(MapReader& top);
    void read_properties(MapReader& m);
    void read_topic(MapReader& m, std::string_view key, std::string& out);
    void read_redis(MapReader& top);
    void read_engine(MapReader& top);
    void read_retry(MapReader& top);
    void read_http(MapReader& top);
    void read_log(MapReader& top);
    void read_providers(MapReader& top);
    std::optional<ProviderConfig> read_twilio(const Field& f);
    std::optional<ProviderConfig> read_smtp(const Field& f);
    void read_channels(MapReader& top);
    void read_programs(MapReader& top);
    void read_program(const Field& f);
    struct StageRead {
        StageConfig stage;  // id set when valid, for duplicate detection
        YAML::Mark id_mark;
        bool valid = false;
    };
    StageRead read_stage(const Field& f);
    void read_windows(MapReader& m, ProgramConfig& p);
    void read_closures(MapReader& m, ProgramConfig& p);
    void check_send_at(const Field& stage_field, const StageConfig& st, const ProgramConfig& p);
    void read_stage_channels(const Field& f, StageConfig& stage);
    void apply_env_overrides();
    void check_lease_outlasts_timeouts();

    std::optional<std::string> read_secret(MapReader& m, std::string_view base, bool required);
    std::optional<std::string> secret_from_env(const Field& f);
    std::optional<std::string> secret_from_file(const Field& f);
    [[nodiscard]] std::filesystem::path resolve(const std::string& path) const;

    Diagnostics diag_;
    std::filesystem::path base_dir_;
    LoadOptions options_;
    Config cfg_;
    std::vector<std::string> provider_names_;  // every name in the file, valid or not
    std::set<ChannelKind> channels_named_;     // channels with an entry in `channels`
    std::optional<YAML::Mark> lease_mark_;     // where engine.lease_seconds was set
    struct TimeoutAt {
        std::string path;
        YAML::Mark mark;
        std::chrono::milliseconds value;
    };
    std::vector<TimeoutAt> timeouts_;  // every provider timeout_ms set in the file
};

Config Loader::load(const std::string& text) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        diag_.at(e.mark, "", fmt::format("invalid YAML: {}", e.msg));
        throw ConfigError(diag_.report());
    }
    MapReader top(diag_, Field{YAML::Node(), root, ""}, section("top"));
    if (top.is_map()) {
        read_kafka(top);
        read_redis(top);
        read_engine(top);
        read_retry(top);
        read_http(top);
        read_log(top);
        read_providers(top);
        read_channels(top);
        read_programs(top);
        check_lease_outlasts_timeouts();
    }
    apply_env_overrides();
    if (!diag_.ok()) throw ConfigError(diag_.report());
    return std::move(cfg_);
}

std::filesystem::path Loader::resolve(const std::string& path) const {
    std::filesystem::path p(path);
    if (p.is_relative()) p = base_dir_ / p;
    return p.lexically_normal();
}

std::optional<std::string> Loader::secret_from_env(const Field& f) {
    auto name = read_string(diag_, f);
    if (!name) return std::nullopt;
    if (!is_env_name(*name)) {
        diag_.at(f.mark(), f.path,
                 fmt::format("expected an environment variable name, got {}", describe(f.value)));
        return std::nullopt;
    }
    if (!options_.resolve_secrets) return std::string(kUnresolvedSecret);
    const char* value = std::getenv(name->c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) {
        diag_.at(f.mark(), f.path, fmt::format("environment variable {} is not set", *name));
        return std::nullopt;
    }
    if (*value == '\0') {
        diag_.at(f.mark(), f.path, fmt::format("environment variable {} is empty", *name));
        return std::nullopt;
    }
    return std::string(value);
}

std::optional<std::string> Loader::secret_from_file(const Field& f) {
    auto name = read_string(diag_, f);
    if (!name) return std::nullopt;
    if (!options_.resolve_secrets) return std::string(kUnresolvedSecret);
    // systemd's LoadCredential= puts secrets in $CREDENTIALS_DIRECTORY, known only at start.
    constexpr std::string_view kCredentials = "${CREDENTIALS_DIRECTORY}";
    if (name->starts_with(kCredentials)) {
        const char* dir = std::getenv("CREDENTIALS_DIRECTORY");  // NOLINT(concurrency-mt-unsafe)
        if (dir == nullptr || *dir == '\0') {
            diag_.at(f.mark(), f.path,
                     "CREDENTIALS_DIRECTORY is not set (it is when systemd starts the service with "
                     "LoadCredential=)");
            return std::nullopt;
        }
        name->replace(0, kCredentials.size(), dir);
    }
    std::filesystem::path path = resolve(*name);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        diag_.at(f.mark(), f.path,
                 fmt::format("cannot read secret file {}: {}", path.string(),
                             std::generic_category().message(errno)));
        return std::nullopt;
    }
    std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
        content.pop_back();
    }
    if (content.empty()) {
        diag_.at(f.mark(), f.path, fmt::format("secret file {} is empty", path.string()));
        return std::nullopt;
    }
    return content;
}

std::optional<std::string> Loader::read_secret(MapReader& m, std::string_view base, bool required) {
    std::string env_key = fmt::format("{}_env", base);
    std::string file_key = fmt::format("{}_file", base);
    const Field* env = m.find(env_key);
    const Field* file = m.find(file_key);
    if (env != nullptr && file != nullptr) {
        diag_.at(file->key.Mark(), file->path, fmt::format("set only one of {} and {}", env_key, file_key));
        return std::nullopt;
    }
    if (env != nullptr) return secret_from_env(*env);
    if (file != nullptr) return secret_from_file(*file);
    if (required && m.is_map()) {
        diag_.at(m.anchor(), m.path(),
                 fmt::format("required: set {} (environment variable) or {} (file)", env_key, file_key));
    }
    return std::nullopt;
}

void Loader::read_topic(MapReader& m, std::string_view key, std::string& out) {
    std::string v;
    if (!m.get(key, v)) return;
    if (!is_topic_name(v)) {
        m.error(key, fmt::format("expected a topic name of [A-Za-z0-9._-], at most 249 "
                                 "characters, got '{}'",
                                 v));
        return;
    }
    out = std::move(v);
}

void Loader::read_kafka(MapReader& top) {
    KafkaConfig& k = cfg_.kafka;
    if (const Field* f = top.find("kafka")) {
        MapReader m(diag_, *f, section("kafka"));
        std::string brokers;
        if (m.get("brokers", brokers)) {
            if (auto problem = brokers_problem(brokers); !problem.empty()) {
                m.error("brokers", problem);
            } else {
                k.brokers = brokers;
            }
        }
        m.get("group_id", k.group_id);
        read_topic(m, "events_topic", k.events_topic);
        read_topic(m, "dlq_topic", k.dlq_topic);
        read_topic(m, "outcomes_topic", k.outcomes_topic);
        if (k.dlq_topic.empty()) k.dlq_topic = k.events_topic + ".dlq";
        if (k.dlq_topic == k.events_topic) m.error("dlq_topic", "must differ from events_topic");
        if (k.outcomes_topic == k.events_topic || k.outcomes_topic == k.dlq_topic) {
            m.error("outcomes_topic", "must differ from events_topic and dlq_topic");
        }
        read_properties(m);
    }
    if (k.dlq_topic.empty()) k.dlq_topic = k.events_topic + ".dlq";
}

void Loader::read_properties(MapReader& m) {
    struct Source {
        std::string_view key;
        bool secret_allowed;
    };
    std::map<std::string, std::string> seen_in;  // property -> key that set it
    for (Source src :
         {Source{"properties", false}, Source{"properties_env", true}, Source{"properties_file", true}}) {
        const Field* f = m.find(src.key);
        if (f == nullptr) continue;
        auto entries = detail::read_entries(diag_, *f);
        if (!entries) continue;
        for (const Field& e : *entries) {
            const std::string& name = e.key.Scalar();
            if (auto why = reserved_property(name); !why.empty()) {
                diag_.at(e.key.Mark(), e.path, fmt::format("not allowed here: {}", why));
                continue;
            }
            if (!src.secret_allowed && is_secret_property(name)) {
                diag_.at(e.key.Mark(), e.path,
                         "secrets come from the environment or files: use properties_env or "
                         "properties_file");
                continue;
            }
            if (auto [it, fresh] = seen_in.emplace(name, src.key); !fresh) {
                diag_.at(e.key.Mark(), e.path,
                         fmt::format("property '{}' is already set in kafka.{}", name, it->second));
                continue;
            }
            std::optional<std::string> value;
            if (src.key == "properties") {
                value = read_string(diag_, e);
            } else if (src.key == "properties_env") {
                value = secret_from_env(e);
            } else {
                value = secret_from_file(e);
            }
            if (value) cfg_.kafka.properties[name] = std::move(*value);
        }
    }
}

void Loader::read_redis(MapReader& top) {
    const Field* f = top.find("redis");
    if (f == nullptr) return;
    RedisConfig& r = cfg_.redis;
    MapReader m(diag_, *f, section("redis"));
    std::string host;
    if (m.get("host", host)) {
        if (!all_of_chars(host, [](char c) { return !is_control(c) && c != ' '; })) {
            m.error("host", fmt::format("expected a host name or address, got '{}'", host));
        } else {
            r.host = host;
        }
    }
    m.get("port", r.port);
    int ms = 0;
    if (m.get("command_timeout_ms", ms)) r.command_timeout = std::chrono::milliseconds{ms};
    if (m.get("connect_timeout_ms", ms)) r.connect_timeout = std::chrono::milliseconds{ms};
    if (auto password = read_secret(m, "password", false)) r.password = std::move(*password);
    std::string prefix;
    if (m.get("key_prefix", prefix)) {
        if (prefix.size() > 32 || !all_of_chars(prefix, [](char c) {
                return is_lower(c) || is_upper(c) || is_digit(c) || c == '_' || c == '-';
            })) {
            m.error("key_prefix",
                    fmt::format("expected [A-Za-z0-9_-], at most 32 characters, got '{}'", prefix));
        } else {
            r.key_prefix = prefix;
        }
    }
}

void Loader::read_engine(MapReader& top) {
    const Field* f = top.find("engine");
    if (f == nullptr) return;
    EngineConfig& e = cfg_.engine;
    MapReader m(diag_, *f, section("engine"));
    std::string zone;
    if (m.get("default_time_zone", zone)) {
        try {
            date::locate_zone(zone);
            e.default_time_zone = zone;
        } catch (const std::exception&) {
            std::vector<std::string_view> names;
            for (const auto& z : date::get_tzdb().zones) names.push_back(z.name());
            auto near = detail::closest_match(zone, names);
            m.error("default_time_zone", fmt::format("unknown time zone '{}'{}", zone,
                                                     near ? fmt::format(" (did you mean '{}'?)", *near)
                                                          : std::string(" (expected an IANA name such as "
                                                                        "America/Toronto)")));
        }
    }
    int v = 0;
    if (m.get("lease_seconds", v)) {
        e.lease = std::chrono::seconds{v};
        lease_mark_ = m.find("lease_seconds")->mark();
    }
    if (m.get("poll_interval_ms", v)) e.poll_interval = std::chrono::milliseconds{v};
    m.get("claim_batch", e.claim_batch);
    m.get("max_in_flight", e.max_in_flight);
    m.get("ingest_batch", e.ingest_batch);
    if (m.get("expire_after_hours", v)) e.expire_after = std::chrono::hours{v};
    if (m.get("retention_days", v)) e.retention = std::chrono::days{v};
}

void Loader::read_http(MapReader& top) {
    const Field* f = top.find("http");
    if (f == nullptr) return;
    HttpConfig& h = cfg_.http;
    MapReader m(diag_, *f, section("http"));
    m.get("address", h.address);
    m.get("port", h.port);
    h.enabled = h.port > 0;
    int v = 0;
    if (m.get("probe_interval_ms", v)) h.probe_interval = std::chrono::milliseconds{v};
    m.get("ready_max_outbox", h.ready_max_outbox);
    unsigned char addr[16];
    if (::inet_pton(AF_INET, h.address.c_str(), addr) != 1 && ::inet_pton(AF_INET6, h.address.c_str(), addr) != 1)
        m.error("address", fmt::format("expected an IP address such as 127.0.0.1 or ::1, got '{}'", h.address));
}

void Loader::read_log(MapReader& top) {
    const Field* f = top.find("log");
    if (f == nullptr) return;
    LogConfig& l = cfg_.log;
    MapReader m(diag_, *f, section("log"));
    if (auto c = m.choice("format")) l.format = *c == 0 ? "text" : "json";
    static constexpr std::string_view kLevels[] = {"debug", "info", "warn", "error"};
    if (auto c = m.choice("level")) l.level = std::string(kLevels[*c]);
    int v = 0;
    if (m.get("repeat_window_seconds", v)) l.repeat_window = std::chrono::seconds{v};
    if (const Field* mods = m.find("modules")) {
        if (auto entries = detail::read_entries(diag_, *mods)) {
            for (const Field& e : *entries) {
                auto value = read_string(diag_, e);
                if (!value) continue;
                if (std::find(std::begin(kLevels), std::end(kLevels), *value) == std::end(kLevels)) {
                    diag_.at(e.mark(), e.path, fmt::format("expected debug, info, warn or error, got '{}'", *value));
                    continue;
                }
                l.modules[e.key.Scalar()] = *value;
            }
        }
    }
}

void Loader::read_retry(MapReader& top) {
    const Field* f = top.find("retry");
    if (f == nullptr) return;
    RetryConfig& r = cfg_.retry;
    MapReader m(diag_, *f, section("retry"));
    m.get("max_attempts", r.max_attempts);
    int base = static_cast<int>(r.backoff_base.count());
    int cap = static_cast<int>(r.backoff_cap.count());
    bool base_ok = m.find("backoff_base_seconds") == nullptr || m.get("backoff_base_seconds", base);
    bool cap_ok = m.find("backoff_cap_seconds") == nullptr || m.get("backoff_cap_seconds", cap);
    r.backoff_base = std::chrono::seconds{base};
    r.backoff_cap = std::chrono::seconds{cap};
    if (base_ok && cap_ok && cap < base) {
        m.error("backoff_cap_seconds",
                fmt::format("must be at least backoff_base_seconds ({}), got {}", base, cap));
    }
    if (auto j = m.choice("jitter")) r.jitter = *j == 0 ? Jitter::none : Jitter::full;
}

void Loader::read_providers(MapReader& top) {
    const Field* f = top.find("providers");
    if (f == nullptr) return;
    auto entries = detail::read_entries(diag_, *f);
    if (!entries) return;
    if (entries->empty()) {
        diag_.at(f->mark(), f->path, "expected at least one provider");
        return;
    }
    for (const Field& e : *entries) {
        const std::string& name = e.key.Scalar();
        provider_names_.push_back(name);
        if (!is_id(name, 64)) {
            diag_.at(e.key.Mark(), e.path,
                     fmt::format("provider name must match [a-z0-9-]{{1,64}}, got '{}'", name));
            continue;
        }
        if (!e.value.IsMap()) {
            diag_.at(e.mark(), e.path, fmt::format("expected a map, got {}", describe(e.value)));
            continue;
        }
        // The type selects the table the other keys are checked against.
        std::optional<Field> type;
        for (auto it = e.value.begin(); it != e.value.end(); ++it) {
            if (it->first.IsScalar() && it->first.Scalar() == "type") {
                type = Field{it->first, it->second, join_path(e.path, "type")};
                break;
            }
        }
        if (!type) {
            diag_.at(e.key.Mark(), join_path(e.path, "type"),
                     "required key 'type' is missing (`twilio-sms` or `smtp`)");
            continue;
        }
        auto kind = detail::read_choice(diag_, *type, section("provider.twilio-sms").find("type")->choices);
        if (!kind) continue;
        auto provider = *kind == 0 ? read_twilio(e) : read_smtp(e);
        if (provider) {
            provider->name = name;
            cfg_.providers.push_back(std::move(*provider));
        }
    }
}

std::optional<ProviderConfig> Loader::read_twilio(const Field& f) {
    std::size_t errors = diag_.count();
    MapReader m(diag_, f, section("provider.twilio-sms"));
    ProviderConfig p;
    p.type = ProviderType::twilio_sms;
    p.base_url = "https://api.twilio.com";
    std::string url;
    if (m.get("base_url", url)) {
        if (!is_url_with(url, "http://") && !is_url_with(url, "https://")) {
            m.error("base_url", fmt::format("expected an http:// or https:// URL, got '{}'", url));
        } else {
            while (url.ends_with('/')) url.pop_back();
            p.base_url = url;
        }
    }
    std::string sid;
    if (m.get("account_sid", sid)) {
        if (sid.size() != 34 || !sid.starts_with("AC") || !all_of_chars(sid.substr(2), is_hex)) {
            m.error("account_sid", "expected 'AC' followed by 32 hexadecimal digits");
        } else {
            p.account_sid = sid;
        }
    }
    if (auto token = read_secret(m, "auth_token", true)) p.auth_token = std::move(*token);
    std::string from;
    if (m.get("from", from)) {
        if (!is_e164(from)) {
            m.error("from", fmt::format("expected an E.164 number such as +16135550100, got '{}'", from));
        } else {
            p.from = from;
        }
    }
    int timeout = 0;
    if (m.get("timeout_ms", timeout)) {
        p.timeout = std::chrono::milliseconds{timeout};
        const Field* t = m.find("timeout_ms");
        timeouts_.push_back(TimeoutAt{t->path, t->mark(), p.timeout});
    }
    if (diag_.count() != errors) return std::nullopt;
    return p;
}

std::optional<ProviderConfig> Loader::read_smtp(const Field& f) {
    std::size_t errors = diag_.count();
    MapReader m(diag_, f, section("provider.smtp"));
    ProviderConfig p;
    p.type = ProviderType::smtp;
    std::string url;
    if (m.get("url", url)) {
        if (!is_url_with(url, "smtp://") && !is_url_with(url, "smtps://")) {
            m.error("url", fmt::format("expected an smtp:// or smtps:// URL, got '{}'", url));
        } else {
            p.url = url;
        }
    }
    std::string from;
    if (m.get("from", from)) {
        if (!is_mailbox(from)) {
            m.error("from", fmt::format("expected an address or 'Name <address>', got '{}'", from));
        } else {
            p.from = from;
        }
    }
    m.get("username", p.username);
    if (auto password = read_secret(m, "password", false)) {
        if (m.find("username") == nullptr) {
            m.error(m.find("password_env") != nullptr ? "password_env" : "password_file",
                    "a password needs a username");
        }
        p.password = std::move(*password);
    }
    if (auto tls = m.choice("starttls")) {
        static constexpr std::array kModes{StartTls::none, StartTls::try_, StartTls::required};
        p.starttls = kModes.at(*tls);
    }
    std::string unsubscribe;
    if (m.get("unsubscribe_url", unsubscribe)) {
        bool mailto = unsubscribe.starts_with("mailto:") &&
                      is_address(std::string_view(unsubscribe)
                                     .substr(7)
                                     .substr(0, std::string_view(unsubscribe).substr(7).find('?')));
        if (!mailto && !is_url_with(unsubscribe, "https://")) {
            m.error("unsubscribe_url",
                    fmt::format("expected an https:// URL or a mailto: address, got '{}'", unsubscribe));
        } else {
            p.unsubscribe_url = unsubscribe;
        }
    }
    int timeout = 0;
    if (m.get("timeout_ms", timeout)) {
        p.timeout = std::chrono::milliseconds{timeout};
        const Field* t = m.find("timeout_ms");
        timeouts_.push_back(TimeoutAt{t->path, t->mark(), p.timeout});
    }
    if (diag_.count() != errors) return std::nullopt;
    return p;
}

void Loader::read_channels(MapReader& top) {
    const Field* f = top.find("channels");
    if (f == nullptr) return;
    MapReader m(diag_, *f, section("channels"));
    for (ChannelKind kind : {ChannelKind::sms, ChannelKind::email, ChannelKind::voice}) {
        const Field* c = m.find(to_string(kind));
        if (c == nullptr) continue;
        if (kind == ChannelKind::voice) {
            diag_.at(c->key.Mark(), c->path, "voice has no adapter yet");
            continue;
        }
        channels_named_.insert(kind);
        auto name = read_string(diag_, *c);
        if (!name) continue;
        ProviderType wanted = kind == ChannelKind::sms ? ProviderType::twilio_sms : ProviderType::smtp;
        std::string_view wanted_text = kind == ChannelKind::sms ? "twilio-sms" : "smtp";
        auto provider = std::find_if(cfg_.providers.begin(), cfg_.providers.end(),
                                     [&](const ProviderConfig& p) { return p.name == *name; });
        if (provider == cfg_.providers.end()) {
            bool named =
                std::find(provider_names_.begin(), provider_names_.end(), *name) != provider_names_.end();
            if (named) continue;  // that provider's own errors are already reported
            std::vector<std::string_view> names(provider_names_.begin(), provider_names_.end());
            auto near = detail::closest_match(*name, names);
            diag_.at(c->mark(), c->path,
                     fmt::format("no provider named '{}'{}", *name,
                                 near ? fmt::format(" (did you mean '{}'?)", *near) : ""));
            continue;
        }
        if (provider->type != wanted) {
            diag_.at(c->mark(), c->path,
                     fmt::format("provider '{}' has type {}; {} needs a provider of type {}", *name,
                                 provider->type == ProviderType::smtp ? "smtp" : "twilio-sms",
                                 to_string(kind), wanted_text));
            continue;
        }
        cfg_.channel_provider[kind] = *name;
    }
}

void Loader::read_programs(MapReader& top) {
    const Field* f = top.find("programs");
    if (f == nullptr) return;
    auto entries = detail::read_entries(diag_, *f);
    if (!entries) return;
    if (entries->empty()) {
        diag_.at(f->mark(), f->path, "expected at least one program");
        return;
    }
    for (const Field& e : *entries) read_program(e);
}

void Loader::read_program(const Field& f) {
    const std::string& id = f.key.Scalar();
    if (!is_id(id, 64)) {
        diag_.at(f.key.Mark(), f.path, fmt::format("program id must match [a-z0-9-]{{1,64}}, got '{}'", id));
        return;
    }
    MapReader m(diag_, f, section("program"));
    if (!m.is_map()) return;
    ProgramConfig p;
    p.id = id;

    if (const Field* n = m.find("name")) {
        MapReader names(diag_, *n, section("program.name"));
        for (Language lang : {Language::en, Language::fr}) {
            std::string v;
            if (names.get(to_string(lang), v)) p.display_name[lang] = v;
        }
    }

    std::error_code ec;
    if (const Field* t = m.find("templates")) {
        if (auto dir = read_string(diag_, *t)) {
            p.templates_dir = resolve(*dir);
            if (!std::filesystem::is_directory(p.templates_dir, ec)) {
                diag_.at(t->mark(), t->path,
                         fmt::format("directory not found: {}", p.templates_dir.string()));
            }
        }
    } else {
        p.templates_dir = resolve("templates/" + id);
        if (!std::filesystem::is_directory(p.templates_dir, ec)) {
            diag_.at(m.anchor(), join_path(m.path(), "templates"),
                     fmt::format("directory not found: {} (the default; set templates)",
                                 p.templates_dir.string()));
        }
    }

    m.get("sms_max_segments", p.sms_max_segments);

    if (const Field* c = m.find("catch_up")) {
        MapReader cu(diag_, *c, section("program.catch_up"));
        if (auto policy = cu.choice("policy")) p.catch_up = *policy == 0 ? CatchUp::skip : CatchUp::latest;
        int grace = 0;
        if (cu.get("grace_days", grace)) p.catch_up_grace = std::chrono::days{grace};
    }

    if (auto prio = m.choice("priority")) p.priority = static_cast<Priority>(*prio);
    read_windows(m, p);
    read_closures(m, p);

    if (const Field* s = m.find("stages")) {
        if (!s->value.IsSequence()) {
            diag_.at(s->mark(), s->path,
                     fmt::format("expected a list of stages, got {}", describe(s->value)));
        } else if (s->value.size() == 0) {
            diag_.at(s->mark(), s->path, "expected at least one stage");
        } else {
            std::map<std::string, int> first_line;  // stage id -> line
            for (std::size_t i = 0; i < s->value.size(); ++i) {
                Field item{YAML::Node(), s->value[i], detail::index_path(s->path, i)};
                StageRead r = read_stage(item);
                if (!r.stage.id.empty()) {
                    auto [it, fresh] = first_line.emplace(r.stage.id, r.id_mark.line);
                    if (!fresh) {
                        diag_.at(r.id_mark, join_path(item.path, "id"),
                                 fmt::format("duplicate stage id '{}' (first at line {})", r.stage.id,
                                             it->second + 1));
                        continue;
                    }
                }
                if (r.valid) {
                    check_send_at(item, r.stage, p);
                    p.stages.push_back(std::move(r.stage));
                }
            }
        }
    }
    std::stable_sort(p.stages.begin(), p.stages.end(), [](const StageConfig& a, const StageConfig& b) {
        return a.offset_days < b.offset_days;
    });
    cfg_.programs[id] = std::move(p);
}

Loader::StageRead Loader::read_stage(const Field& f) {
    StageRead r;
    std::size_t errors = diag_.count();
    MapReader m(diag_, f, section("program.stage"));
    if (!m.is_map()) return r;
    StageConfig& st = r.stage;
    std::string id;
    if (m.get("id", id)) {
        if (!is_id(id, 32)) {
            m.error("id", fmt::format("stage id must match [a-z0-9-]{{1,32}}, got '{}'", id));
        } else {
            st.id = id;
            r.id_mark = m.find("id")->key.Mark();
        }
    }
    m.get("offset_days", st.offset_days);
    std::string at;
    if (m.get("send_at", at)) {
        bool ok = at.size() == 5 && is_digit(at[0]) && is_digit(at[1]) && at[2] == ':' && is_digit(at[3]) &&
                  is_digit(at[4]);
        int hour = ok ? (at[0] - '0') * 10 + (at[1] - '0') : 0;
        int minute = ok ? (at[3] - '0') * 10 + (at[4] - '0') : 0;
        if (!ok || hour > 23 || minute > 59) {
            m.error("send_at", fmt::format("expected a local time HH:MM (00:00 to 23:59), got '{}'", at));
        } else {
            st.send_hour = hour;
            st.send_minute = minute;
        }
    }
    if (const Field* c = m.find("channels")) read_stage_channels(*c, st);
    if (auto shift = m.choice("shift")) st.shift = *shift == 0 ? Shift::previous : Shift::next;
    if (auto prio = m.choice("priority")) st.priority = static_cast<Priority>(*prio);
    r.valid = diag_.count() == errors;
    return r;
}

namespace {

// The defaults of docs/configuration.md, "Send windows".
SendWindow default_window(ChannelKind c) {
    SendWindow w;
    w.skip_holidays = true;
    switch (c) {
    case ChannelKind::sms:
        w.weekday_open = 9 * 60, w.weekday_close = 20 * 60;
        w.weekend_open = 10 * 60, w.weekend_close = 17 * 60;
        break;
    case ChannelKind::email:
        w.weekday_open = w.weekend_open = 8 * 60;
        w.weekday_close = w.weekend_close = 21 * 60;
        break;
    case ChannelKind::voice:
        w.weekday_open = 10 * 60, w.weekday_close = 19 * 60;
        w.weekend_open = w.weekend_close = 0;
        w.skip_weekends = true;
        break;
    }
    return w;
}

// "HH:MM" (00:00 to 24:00) in minutes.
std::optional<int> parse_hhmm(std::string_view t) {
    if (t.size() != 5 || !is_digit(t[0]) || !is_digit(t[1]) || t[2] != ':' || !is_digit(t[3]) || !is_digit(t[4]))
        return std::nullopt;
    const int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
    return h * 60 + m;
}

// "HH:MM-HH:MM" with start < end, or "closed" (an empty range).
std::optional<std::pair<int, int>> parse_hours(std::string_view t) {
    if (t == "closed") return std::pair{0, 0};
    if (t.size() != 11 || t[5] != '-') return std::nullopt;
    auto from = parse_hhmm(t.substr(0, 5)), to = parse_hhmm(t.substr(6));
    if (!from || !to || *from >= *to) return std::nullopt;
    return std::pair{*from, *to};
}

std::string hhmm(int minutes) { return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60); }

}  // namespace

void Loader::read_windows(MapReader& m, ProgramConfig& p) {
    for (ChannelKind c : {ChannelKind::sms, ChannelKind::email, ChannelKind::voice}) p.windows[c] = default_window(c);
    const Field* f = m.find("windows");
    if (f == nullptr) return;
    auto entries = detail::read_entries(diag_, *f);
    if (!entries) return;
    for (const Field& e : *entries) {
        auto kind = parse_channel_kind(e.key.Scalar());
        if (!kind) {
            diag_.at(e.key.Mark(), e.path, fmt::format("expected sms, email or voice, got '{}'", e.key.Scalar()));
            continue;
        }
        MapReader w(diag_, e, section("program.window"));
        SendWindow& win = p.windows[*kind];
        for (auto [key, open, close] : {std::tuple{"weekdays", &win.weekday_open, &win.weekday_close},
                                        std::tuple{"weekends", &win.weekend_open, &win.weekend_close}}) {
            std::string text;
            if (!w.get(key, text)) continue;
            auto hours = parse_hours(text);
            if (!hours) {
                w.error(key, fmt::format("expected local hours HH:MM-HH:MM (start before end, up to 24:00) or "
                                         "'closed', got '{}'",
                                         text));
                continue;
            }
            *open = hours->first;
            *close = hours->second;
        }
        if (auto v = w.choice("skip_weekends")) win.skip_weekends = *v == 1;
        if (auto v = w.choice("skip_holidays")) win.skip_holidays = *v == 0;
    }
}

void Loader::read_closures(MapReader& m, ProgramConfig& p) {
    const Field* f = m.find("closures");
    if (f == nullptr) return;
    if (!f->value.IsSequence()) {
        diag_.at(f->mark(), f->path, fmt::format("expected a list of dates YYYY-MM-DD, got {}", describe(f->value)));
        return;
    }
    for (std::size_t i = 0; i < f->value.size(); ++i) {
        Field item{YAML::Node(), f->value[i], detail::index_path(f->path, i)};
        auto d = item.value.IsScalar() ? parse_date(item.value.Scalar()) : std::nullopt;
        if (!d) {
            diag_.at(item.mark(), item.path, fmt::format("expected a date YYYY-MM-DD, got {}", describe(item.value)));
            continue;
        }
        p.closures.push_back(*d);
    }
}

// A stage's send_at must fall in the weekday hours of each channel it may use (the weekend
// hours for a channel closed on weekdays): on a day with other hours it waits for them.
void Loader::check_send_at(const Field& stage_field, const StageConfig& st, const ProgramConfig& p) {
    std::vector<ChannelKind> used = st.channels;
    if (st.preference) used.assign(channels_named_.begin(), channels_named_.end());
    const int at = st.send_hour * 60 + st.send_minute;
    for (ChannelKind c : used) {
        const SendWindow* w = p.window(c);
        if (w == nullptr) continue;
        const bool weekdays = w->weekday_open < w->weekday_close;
        const int open = weekdays ? w->weekday_open : w->weekend_open;
        const int close = weekdays ? w->weekday_close : w->weekend_close;
        if (at >= open && at < close) continue;
        const YAML::Node n = stage_field.value["send_at"];
        const std::string path = join_path(stage_field.path, "send_at");
        const std::string what =
            open < close ? fmt::format("{} is outside the {} window ({} {}-{}): set programs.{}.windows.{}",
                                       hhmm(at), to_string(c), weekdays ? "weekdays" : "weekends", hhmm(open),
                                       hhmm(close), p.id, to_string(c))
                         : fmt::format("the {} window of programs.{} is closed every day", to_string(c), p.id);
        diag_.at(n ? n.Mark() : stage_field.value.Mark(), path, what);
    }
}

void Loader::read_stage_channels(const Field& f, StageConfig& stage) {
    if (f.value.IsScalar() && f.value.Scalar() == "preference") {
        stage.preference = true;
        if (channels_named_.empty()) {
            diag_.at(f.mark(), f.path, "'preference' needs at least one provider in channels");
        }
        return;
    }
    if (!f.value.IsSequence()) {
        diag_.at(
            f.mark(), f.path,
            fmt::format("expected a list of sms, email, voice, or 'preference', got {}", describe(f.value)));
        return;
    }
    if (f.value.size() == 0) {
        diag_.at(f.mark(), f.path, "expected at least one channel");
        return;
    }
    static constexpr std::array<std::string_view, 3> kNames{"sms", "email", "voice"};
    for (std::size_t i = 0; i < f.value.size(); ++i) {
        Field item{YAML::Node(), f.value[i], detail::index_path(f.path, i)};
        std::optional<ChannelKind> kind;
        if (item.value.IsScalar()) kind = parse_channel_kind(item.value.Scalar());
        if (!kind) {
            std::string hint;
            if (item.value.IsScalar() && item.value.Scalar() == "preference") {
                hint = " ('preference' stands alone: channels: preference)";
            } else if (item.value.IsScalar()) {
                if (auto near = detail::closest_match(item.value.Scalar(), kNames)) {
                    hint = fmt::format(" (did you mean '{}'?)", *near);
                }
            }
            diag_.at(item.mark(), item.path,
                     fmt::format("expected sms, email or voice, got {}{}", describe(item.value), hint));
            continue;
        }
        if (std::find(stage.channels.begin(), stage.channels.end(), *kind) != stage.channels.end()) {
            diag_.at(item.mark(), item.path, fmt::format("duplicate channel '{}'", to_string(*kind)));
            continue;
        }
        stage.channels.push_back(*kind);
        if (*kind == ChannelKind::voice) {
            diag_.at(item.mark(), item.path, "voice has no adapter yet");
        } else if (!channels_named_.contains(*kind)) {
            diag_.at(item.mark(), item.path,
                     fmt::format("no provider for channel '{}': set channels.{}", to_string(*kind),
                                 to_string(*kind)));
        }
    }
}

// A claim must still be held when its send gives up: a lease that ends first returns the
// reminder to the schedule while the provider may still accept it, and it goes out twice.
void Loader::check_lease_outlasts_timeouts() {
    const auto lease = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.engine.lease);
    const TimeoutAt* longest = nullptr;
    for (const auto& t : timeouts_)
        if (longest == nullptr || t.value > longest->value) longest = &t;
    // Providers without timeout_ms use the default (10 s), which the smallest lease (5 s)
    // does not outlast either.
    std::optional<std::pair<std::string, std::chrono::milliseconds>> defaulted;
    for (const auto& p : cfg_.providers) {
        const std::string path = fmt::format("providers.{}.timeout_ms", p.name);
        const bool set = std::any_of(timeouts_.begin(), timeouts_.end(),
                                     [&](const TimeoutAt& t) { return t.path == path; });
        if (!set && (!defaulted || p.timeout > defaulted->second)) defaulted.emplace(path, p.timeout);
    }
    const bool explicit_too_long = longest != nullptr && longest->value >= lease;
    const bool default_too_long = defaulted && defaulted->second >= lease &&
                                  (!explicit_too_long || defaulted->second > longest->value);
    if (!explicit_too_long && !default_too_long) return;
    const std::string timeout_path = default_too_long ? defaulted->first : longest->path;
    const auto timeout = default_too_long ? defaulted->second : longest->value;
    const std::string timeout_where =
        default_too_long ? "the default" : fmt::format("line {}", longest->mark.line + 1);
    const auto what = fmt::format(
        "lease_seconds ({} s) must outlast the longest provider timeout, {} ({} ms, {}): a send "
        "still waiting for its provider would lose its claim and go out twice",
        cfg_.engine.lease.count(), timeout_path, timeout.count(), timeout_where);
    if (lease_mark_) {
        diag_.at(*lease_mark_, "engine.lease_seconds", what);
    } else if (!default_too_long) {
        diag_.at(longest->mark, longest->path,
                 fmt::format("{} ms must be shorter than engine.lease_seconds ({} s, the default)",
                             timeout.count(), cfg_.engine.lease.count()));
    } else {
        diag_.outside(diag_.file(), "engine.lease_seconds", what);
    }
}

void Loader::apply_env_overrides() {
    if (auto brokers = env_value("RAPPEL_KAFKA_BROKERS")) {
        if (auto problem = brokers_problem(*brokers); !problem.empty()) {
            diag_.outside("environment RAPPEL_KAFKA_BROKERS", "kafka.brokers", problem);
        } else {
            cfg_.kafka.brokers = *brokers;
        }
    }
    if (auto host = env_value("RAPPEL_REDIS_HOST")) {
        if (!all_of_chars(*host, [](char c) { return !is_control(c) && c != ' '; })) {
            diag_.outside("environment RAPPEL_REDIS_HOST", "redis.host",
                          fmt::format("expected a host name or address, got '{}'", *host));
        } else {
            cfg_.redis.host = *host;
        }
    }
    if (auto port = env_value("RAPPEL_REDIS_PORT")) {
        const KeySpec& spec = *section("redis").find("port");
        int v = 0;
        auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), v);
        if (ec != std::errc{} || end != port->data() + port->size() || v < spec.min || v > spec.max) {
            diag_.outside("environment RAPPEL_REDIS_PORT", "redis.port",
                          fmt::format("expected an integer {}..{}, got '{}'", spec.min, spec.max, *port));
        } else {
            cfg_.redis.port = v;
        }
    }
}

}  // namespace

Config load_config_text(const std::string& text, const std::string& name,
                        const std::filesystem::path& base_dir) {
    return load_config_text(text, name, base_dir, LoadOptions{});
}

Config load_config_text(const std::string& text, const std::string& name, const std::filesystem::path& base_dir,
                        const LoadOptions& options) {
    Loader loader(name, base_dir, options);
    Config cfg = loader.load(text);
    cfg.source = name;
    return cfg;
}

Config load_config(const std::filesystem::path& file) { return load_config(file, LoadOptions{}); }

Config load_config(const std::filesystem::path& file, const LoadOptions& options) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) {
        throw ConfigError(fmt::format("{}: cannot read the file: is a directory", file.string()));
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw ConfigError(fmt::format("{}: cannot read the file: {}", file.string(),
                                      std::generic_category().message(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::filesystem::path absolute = std::filesystem::absolute(file).lexically_normal();
    Config cfg = load_config_text(text.str(), file.string(), absolute.parent_path(), options);
    cfg.source = absolute;
    return cfg;
}

}  // namespace rappel::config
