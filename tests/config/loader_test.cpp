#define BOOST_TEST_MODULE config
#include "config_test_support.hpp"
#include "engine/config/config.hpp"
#include "engine/config/reader.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

using namespace rappel;
using namespace rappel::config;
using namespace rappel::config::test;

namespace {

// kProviders (lines 1-4), "programs:" (line 5), then `program` from line 6.
std::string program_text(std::initializer_list<std::string_view> program) {
    std::string out;
    for (auto line : kProviders) out += std::string(line) + '\n';
    out += "programs:\n";
    for (auto line : program) out += std::string(line) + '\n';
    return out;
}

std::size_t line_count(const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')) + 1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shipped)

BOOST_AUTO_TEST_CASE(rappel_yaml_loads) {
    ScratchDir scratch;
    ::setenv("RAPPEL_TWILIO_AUTH_TOKEN", "demo-token-not-secret", 1);
    std::filesystem::path file = source_dir() / "config" / "rappel.yaml";
    std::filesystem::path templates = source_dir() / "config" / "templates";
    bool have_templates = std::filesystem::is_directory(templates / "drivers-licence") &&
                          std::filesystem::is_directory(templates / "health-card");
    if (!have_templates) {
        // The template files are written separately; load a copy next to empty folders.
        std::filesystem::copy_file(file, scratch.dir / "rappel.yaml");
        file = scratch.dir / "rappel.yaml";
        templates = scratch.dir / "templates";
    }
    Config cfg = load_config(file);

    BOOST_TEST(cfg.source == std::filesystem::absolute(file).lexically_normal());
    BOOST_TEST(cfg.kafka.brokers == "127.0.0.1:9092");
    BOOST_TEST(cfg.kafka.events_topic == "renewals.due-dates");
    BOOST_TEST(cfg.kafka.dlq_topic == "renewals.due-dates.dlq");
    BOOST_TEST(cfg.kafka.outcomes_topic == "notifications.outcomes");
    BOOST_TEST(cfg.redis.host == "127.0.0.1");
    BOOST_TEST(cfg.redis.port == 6379);
    BOOST_TEST(cfg.engine.default_time_zone == "America/Toronto");

    BOOST_TEST_REQUIRE(cfg.providers.size() == 2u);
    const ProviderConfig& sms = cfg.providers[0];
    BOOST_TEST(sms.name == "twilio-sim");
    BOOST_TEST((sms.type == ProviderType::twilio_sms));
    BOOST_TEST(sms.base_url == "http://127.0.0.1:8081");
    BOOST_TEST(sms.account_sid.size() == 34u);
    BOOST_TEST(sms.auth_token == "demo-token-not-secret");
    BOOST_TEST(sms.from == "+16135550100");
    const ProviderConfig& mail = cfg.providers[1];
    BOOST_TEST(mail.name == "smtp-local");
    BOOST_TEST((mail.type == ProviderType::smtp));
    BOOST_TEST(mail.url == "smtp://127.0.0.1:2525");
    BOOST_TEST(mail.from == "ServiceOntario <reminders@example.ca>");
    BOOST_TEST((mail.starttls == StartTls::try_));
    BOOST_TEST(mail.unsubscribe_url == "https://example.ca/unsubscribe");
    BOOST_TEST(cfg.channel_provider.at(ChannelKind::sms) == "twilio-sim");
    BOOST_TEST(cfg.channel_provider.at(ChannelKind::email) == "smtp-local");

    BOOST_TEST_REQUIRE(cfg.programs.size() == 2u);
    const ProgramConfig& dl = cfg.programs.at("drivers-licence");
    BOOST_TEST(dl.display_name.at(Language::en) == "driver's licence");
    BOOST_TEST(dl.display_name.at(Language::fr) == "permis de conduire");
    BOOST_TEST(dl.templates_dir == (templates / "drivers-licence").lexically_normal());
    BOOST_TEST(dl.templates_dir.is_absolute());
    BOOST_TEST((dl.catch_up == CatchUp::latest));
    BOOST_TEST(dl.catch_up_grace.count() == 3);
    BOOST_TEST_REQUIRE(dl.stages.size() == 4u);
    std::vector<std::string> ids;
    std::vector<int> offsets;
    for (const StageConfig& s : dl.stages) {
        ids.push_back(s.id);
        offsets.push_back(s.offset_days);
    }
    BOOST_TEST(ids == (std::vector<std::string>{"60d", "30d", "7d", "1d-after"}),
               boost::test_tools::per_element());
    BOOST_TEST(offsets == (std::vector<int>{-60, -30, -7, 1}), boost::test_tools::per_element());
    BOOST_TEST((dl.stages[0].channels == std::vector{ChannelKind::sms, ChannelKind::email}));
    BOOST_TEST(dl.stages[2].preference);
    BOOST_TEST(dl.stages[2].channels.empty());
    BOOST_TEST(dl.stages[3].send_hour == 9);
    BOOST_TEST(dl.stages[3].send_minute == 30);
    BOOST_TEST((dl.stages[3].channels == std::vector{ChannelKind::sms}));

    const ProgramConfig& hc = cfg.programs.at("health-card");
    BOOST_TEST((hc.catch_up == CatchUp::skip));
    BOOST_TEST_REQUIRE(hc.stages.size() == 3u);
    BOOST_TEST((hc.stages[0].channels == std::vector{ChannelKind::email}));
    BOOST_TEST((hc.stages[1].channels == std::vector{ChannelKind::sms, ChannelKind::email}));
    BOOST_TEST(hc.stages[2].preference);
    ::unsetenv("RAPPEL_TWILIO_AUTH_TOKEN");
}

BOOST_AUTO_TEST_CASE(rappel_yaml_names_the_missing_token) {
    ScratchDir scratch;
    ::unsetenv("RAPPEL_TWILIO_AUTH_TOKEN");
    std::filesystem::copy_file(source_dir() / "config" / "rappel.yaml", scratch.dir / "rappel.yaml");
    try {
        load_config(scratch.dir / "rappel.yaml");
        BOOST_FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        std::string what = e.what();
        BOOST_TEST(contains(what, "rappel.yaml:"));
        BOOST_TEST(contains(what,
                            "providers.twilio-sim.auth_token_env: environment variable "
                            "RAPPEL_TWILIO_AUTH_TOKEN is not set"));
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(structure)

BOOST_AUTO_TEST_CASE(unknown_top_level_key_suggests_the_nearest) {
    ScratchDir s;
    std::string e = s.errors(base_after({"retires:", "  max_attempts: 3"}));
    BOOST_TEST(e == "test.yaml:1:1: retires: unknown key 'retires' (did you mean 'retry'?)");
}

BOOST_AUTO_TEST_CASE(unknown_nested_key_points_at_the_key) {
    ScratchDir s;
    std::string e = s.errors(base_after({"kafka:", "  brokers: a:9092", "  brokrs: b:9092"}));
    BOOST_TEST(e == "test.yaml:3:3: kafka.brokrs: unknown key 'brokrs' (did you mean 'brokers'?)");
}

BOOST_AUTO_TEST_CASE(unknown_key_without_near_match_lists_the_keys) {
    ScratchDir s;
    std::string e = s.errors(base_after({"redis:", "  colour: blue"}));
    BOOST_TEST(e ==
               "test.yaml:2:3: redis.colour: unknown key 'colour' (expected one of: host, "
               "port, password_env, password_file, key_prefix, command_timeout_ms, "
               "connect_timeout_ms)");
}

BOOST_AUTO_TEST_CASE(yaml_syntax_error_has_a_position) {
    ScratchDir s;
    std::string e = s.errors(yaml({"kafka:", "  brokers: a:9092", " group_id: x"}));
    BOOST_TEST(e == "test.yaml:3:2: invalid YAML: end of map not found");
    e = s.errors(yaml({"redis: {host: a", "retry: {}"}));
    BOOST_TEST(e.starts_with("test.yaml:2:"));
    BOOST_TEST(contains(e, "invalid YAML: end of map flow not found"));
}

BOOST_AUTO_TEST_CASE(duplicate_key_is_an_error) {
    ScratchDir s;
    std::string e = s.errors(base_after({"redis:", "  port: 6379", "  port: 6380"}));
    BOOST_TEST(e == "test.yaml:3:3: redis.port: duplicate key 'port' (first at line 2)");
}

BOOST_AUTO_TEST_CASE(empty_file_reports_required_sections) {
    ScratchDir s;
    std::string e = s.errors("");
    BOOST_TEST(contains(e, "test.yaml:1:1: providers: required key 'providers' is missing"));
    BOOST_TEST(contains(e, "test.yaml:1:1: channels: required key 'channels' is missing"));
    BOOST_TEST(contains(e, "test.yaml:1:1: programs: required key 'programs' is missing"));
}

BOOST_AUTO_TEST_CASE(root_must_be_a_map) {
    ScratchDir s;
    BOOST_TEST(s.errors("- a\n- b\n") == "test.yaml:1:1: expected a map, got a list");
}

BOOST_AUTO_TEST_CASE(section_of_wrong_kind) {
    ScratchDir s;
    BOOST_TEST(s.errors(base_after({"kafka: localhost"})) ==
               "test.yaml:1:8: kafka: expected a map, got 'localhost'");
}

BOOST_AUTO_TEST_CASE(all_errors_are_reported_together_in_file_order) {
    ScratchDir s;
    std::string e = s.errors(base_after({
        "redis:",               // 1
        "  port: 70000",        // 2
        "retry:",               // 3
        "  jitter: partial",    // 4
        "  max_attempts: 25",   // 5
        "engine:",              // 6
        "  claim_batch: many",  // 7
    }));
    BOOST_TEST(line_count(e) == 4u);
    BOOST_TEST(e ==
               "test.yaml:2:9: redis.port: expected an integer 1..65535, got '70000'\n"
               "test.yaml:4:11: retry.jitter: expected one of none, full, got 'partial'\n"
               "test.yaml:5:17: retry.max_attempts: expected an integer 1..20, got '25'\n"
               "test.yaml:7:16: engine.claim_batch: expected an integer 1..10000, got 'many'");
}

BOOST_AUTO_TEST_CASE(load_config_reports_an_unreadable_file) {
    ScratchDir s;
    try {
        load_config(s.dir / "nope.yaml");
        BOOST_FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
        BOOST_TEST(contains(e.what(), "nope.yaml: cannot read the file"));
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sections)

BOOST_AUTO_TEST_CASE(defaults_applied) {
    ScratchDir s;
    Config cfg = s.load(base_after({}));
    const Config d;
    BOOST_TEST(cfg.source == "test.yaml");
    BOOST_TEST(cfg.kafka.brokers == d.kafka.brokers);
    BOOST_TEST(cfg.kafka.group_id == d.kafka.group_id);
    BOOST_TEST(cfg.kafka.events_topic == "renewals.due-dates");
    BOOST_TEST(cfg.kafka.dlq_topic == "renewals.due-dates.dlq");
    BOOST_TEST(cfg.kafka.outcomes_topic == d.kafka.outcomes_topic);
    BOOST_TEST(cfg.kafka.properties.empty());
    BOOST_TEST(cfg.redis.host == d.redis.host);
    BOOST_TEST(cfg.redis.port == d.redis.port);
    BOOST_TEST(cfg.redis.password.empty());
    BOOST_TEST(cfg.redis.key_prefix == d.redis.key_prefix);
    BOOST_TEST(cfg.engine.default_time_zone == d.engine.default_time_zone);
    BOOST_TEST(cfg.engine.lease.count() == d.engine.lease.count());
    BOOST_TEST(cfg.engine.poll_interval.count() == d.engine.poll_interval.count());
    BOOST_TEST(cfg.engine.claim_batch == d.engine.claim_batch);
    BOOST_TEST(cfg.engine.max_in_flight == d.engine.max_in_flight);
    BOOST_TEST(cfg.engine.ingest_batch == d.engine.ingest_batch);
    BOOST_TEST(cfg.engine.expire_after.count() == d.engine.expire_after.count());
    BOOST_TEST(cfg.engine.retention.count() == d.engine.retention.count());
    BOOST_TEST(cfg.retry.max_attempts == d.retry.max_attempts);
    BOOST_TEST(cfg.retry.backoff_base.count() == d.retry.backoff_base.count());
    BOOST_TEST(cfg.retry.backoff_cap.count() == d.retry.backoff_cap.count());
    BOOST_TEST((cfg.retry.jitter == Jitter::full));

    BOOST_TEST_REQUIRE(cfg.providers.size() == 2u);
    BOOST_TEST(cfg.providers[0].base_url == "https://api.twilio.com");
    BOOST_TEST(cfg.providers[0].auth_token == "tok-VERY-SECRET-1234");
    BOOST_TEST(cfg.providers[0].timeout.count() == 10000);
    BOOST_TEST((cfg.providers[1].starttls == StartTls::try_));
    BOOST_TEST(cfg.providers[1].username.empty());
    BOOST_TEST(cfg.providers[1].timeout.count() == 10000);

    const ProgramConfig& p = cfg.programs.at("p1");
    BOOST_TEST((p.catch_up == CatchUp::skip));
    BOOST_TEST(p.catch_up_grace.count() == 3);
    BOOST_TEST(p.templates_dir == (s.dir / "templates" / "p1").lexically_normal());
    BOOST_TEST_REQUIRE(p.stages.size() == 1u);
    BOOST_TEST(p.stages[0].send_hour == 10);
    BOOST_TEST(p.stages[0].send_minute == 0);
    BOOST_TEST(!p.stages[0].preference);
}

BOOST_AUTO_TEST_CASE(kafka_values_and_properties) {
    ScratchDir s;
    ::setenv("RAPPEL_TEST_SASL", "sasl-secret", 1);
    Config cfg = s.load(base_after({
        "kafka:",
        "  brokers: k1:9092, k2:9093",
        "  events_topic: ev",
        "  outcomes_topic: out",
        "  properties: {session.timeout.ms: 6000, client.id: rappel-1}",
        "  properties_env: {sasl.password: RAPPEL_TEST_SASL}",
    }));
    BOOST_TEST(cfg.kafka.brokers == "k1:9092, k2:9093");
    BOOST_TEST(cfg.kafka.dlq_topic == "ev.dlq");
    BOOST_TEST(cfg.kafka.properties.at("session.timeout.ms") == "6000");
    BOOST_TEST(cfg.kafka.properties.at("client.id") == "rappel-1");
    BOOST_TEST(cfg.kafka.properties.at("sasl.password") == "sasl-secret");
    ::unsetenv("RAPPEL_TEST_SASL");
}

BOOST_AUTO_TEST_CASE(kafka_refuses_engine_owned_and_secret_properties) {
    ScratchDir s;
    std::string e = s.errors(base_after({
        "kafka:",
        "  properties:",
        "    enable.auto.commit: true",
        "    group.id: other",
        "    sasl.password: hunter2",
        "  events_topic: bad topic",
    }));
    BOOST_TEST(contains(e,
                        "test.yaml:3:5: kafka.properties.enable.auto.commit: not allowed here: "
                        "the engine commits offsets itself, after reminders are stored"));
    BOOST_TEST(contains(e,
                        "test.yaml:4:5: kafka.properties.group.id: not allowed here: use "
                        "kafka.group_id"));
    BOOST_TEST(contains(e,
                        "test.yaml:5:5: kafka.properties.sasl.password: secrets come from the "
                        "environment or files: use properties_env or properties_file"));
    BOOST_TEST(contains(e, "test.yaml:6:17: kafka.events_topic: expected a topic name"));
    BOOST_TEST(!contains(e, "hunter2"));
}

BOOST_AUTO_TEST_CASE(redis_key_prefix_refuses_hash_tags) {
    ScratchDir s;
    BOOST_TEST(s.errors(base_after({"redis: {key_prefix: \"rp{x}\"}"})) ==
               "test.yaml:1:21: redis.key_prefix: expected [A-Za-z0-9_-], at most 32 characters, "
               "got 'rp{x}'");
}

BOOST_AUTO_TEST_CASE(retry_cap_must_not_be_below_base) {
    ScratchDir s;
    BOOST_TEST(s.errors(base_after({"retry:", "  backoff_base_seconds: 60", "  backoff_cap_seconds: 10"})) ==
               "test.yaml:3:24: retry.backoff_cap_seconds: must be at least backoff_base_seconds "
               "(60), got 10");
    Config cfg =
        s.load(base_after({"retry: {backoff_base_seconds: 5, backoff_cap_seconds: 5, "
                           "jitter: none, max_attempts: 20}"}));
    BOOST_TEST(cfg.retry.backoff_base.count() == 5);
    BOOST_TEST(cfg.retry.backoff_cap.count() == 5);
    BOOST_TEST((cfg.retry.jitter == Jitter::none));
    BOOST_TEST(cfg.retry.max_attempts == 20);
}

BOOST_AUTO_TEST_CASE(bad_time_zone_suggests_a_zone) {
    ScratchDir s;
    BOOST_TEST(s.errors(base_after({"engine:", "  default_time_zone: America/Torono"})) ==
               "test.yaml:2:22: engine.default_time_zone: unknown time zone 'America/Torono' "
               "(did you mean 'America/Toronto'?)");
    Config cfg = s.load(base_after({"engine: {default_time_zone: America/Winnipeg}"}));
    BOOST_TEST(cfg.engine.default_time_zone == "America/Winnipeg");
}

BOOST_AUTO_TEST_CASE(environment_overrides_addresses) {
    ScratchDir s;
    ::setenv("RAPPEL_KAFKA_BROKERS", "10.0.0.5:19092", 1);
    ::setenv("RAPPEL_REDIS_HOST", "redis.internal", 1);
    ::setenv("RAPPEL_REDIS_PORT", "16379", 1);
    Config cfg = s.load(base_after({"kafka: {brokers: file:9092}", "redis: {host: file, port: 1}"}));
    BOOST_TEST(cfg.kafka.brokers == "10.0.0.5:19092");
    BOOST_TEST(cfg.redis.host == "redis.internal");
    BOOST_TEST(cfg.redis.port == 16379);

    ::setenv("RAPPEL_REDIS_PORT", "sixty", 1);
    BOOST_TEST(s.errors(base_after({})) ==
               "environment RAPPEL_REDIS_PORT: redis.port: expected an integer 1..65535, got "
               "'sixty'");
    ::unsetenv("RAPPEL_KAFKA_BROKERS");
    ::unsetenv("RAPPEL_REDIS_HOST");
    ::unsetenv("RAPPEL_REDIS_PORT");
    cfg = s.load(base_after({"kafka: {brokers: file:9092}"}));
    BOOST_TEST(cfg.kafka.brokers == "file:9092");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(secrets)

BOOST_AUTO_TEST_CASE(literal_secret_is_refused_without_echoing_it) {
    ScratchDir s;
    std::string e = s.errors(yaml({
        "providers:",                                           // 1
        "  sms-p:",                                             // 2
        "    type: twilio-sms",                                 // 3
        "    account_sid: AC0123456789abcdef0123456789abcdef",  // 4
        "    auth_token: plain-text-token-999",                 // 5
        "    from: \"+16135550100\"",                           // 6
        "channels: {sms: sms-p}",                               // 7
        "redis: {password: redis-pass-777}",                    // 8
        "programs:",                                            // 9
        "  p1:",
        "    name: {en: One, fr: Un}",
        "    stages: [{id: s1, offset_days: -7, channels: [sms]}]",
    }));
    BOOST_TEST(contains(e,
                        "test.yaml:5:5: providers.sms-p.auth_token: secrets come from the "
                        "environment or files: use auth_token_env or auth_token_file"));
    BOOST_TEST(contains(e,
                        "test.yaml:2:3: providers.sms-p: required: set auth_token_env "
                        "(environment variable) or auth_token_file (file)"));
    BOOST_TEST(contains(e,
                        "test.yaml:8:9: redis.password: secrets come from the environment or "
                        "files: use password_env or password_file"));
    BOOST_TEST(!contains(e, "plain-text-token-999"));
    BOOST_TEST(!contains(e, "redis-pass-777"));
}

BOOST_AUTO_TEST_CASE(missing_environment_variable_is_named) {
    ScratchDir s;
    ::unsetenv("RAPPEL_TEST_UNSET_VAR");
    std::string e = s.errors(yaml({
        "providers:",
        "  sms-p:",
        "    type: twilio-sms",
        "    account_sid: AC0123456789abcdef0123456789abcdef",
        "    auth_token_env: RAPPEL_TEST_UNSET_VAR",
        "    from: \"+16135550100\"",
        "channels: {sms: sms-p}",
        "programs: {p1: {name: {en: One, fr: Un}, stages: [{id: s1, offset_days: 1, channels: [sms]}]}}",
    }));
    BOOST_TEST(e ==
               "test.yaml:5:21: providers.sms-p.auth_token_env: environment variable "
               "RAPPEL_TEST_UNSET_VAR is not set");
}

BOOST_AUTO_TEST_CASE(secret_values_never_appear_in_errors) {
    ScratchDir s;
    ::setenv("RAPPEL_TEST_EMPTY", "", 1);
    std::string e = s.errors(base_after({
        "redis: {password_env: RAPPEL_TEST_TOKEN}",
        "kafka: {properties_env: {sasl.password: RAPPEL_TEST_EMPTY}, group_id: [x]}",
    }));
    BOOST_TEST(contains(e,
                        "kafka.properties_env.sasl.password: environment variable "
                        "RAPPEL_TEST_EMPTY is empty"));
    BOOST_TEST(contains(e, "kafka.group_id: expected a string, got a list"));
    BOOST_TEST(!contains(e, "tok-VERY-SECRET-1234"));
    ::unsetenv("RAPPEL_TEST_EMPTY");
}

BOOST_AUTO_TEST_CASE(secret_file_is_relative_to_the_config_and_trimmed) {
    ScratchDir s;
    std::filesystem::create_directories(s.dir / "secrets");
    write_file(s.dir / "secrets" / "redis", "from-file-pw\r\n\n");
    write_file(s.dir / "secrets" / "smtp", "smtp-pw");
    Config cfg = s.load(yaml({
        "redis: {password_file: secrets/redis}",
        "providers:",
        "  sms-p: {type: twilio-sms, account_sid: AC0123456789abcdef0123456789abcdef, "
        "auth_token_file: ./secrets/smtp, from: \"+16135550100\"}",
        "  mail-p: {type: smtp, url: \"smtps://mail:465\", from: r@example.ca, username: u, "
        "password_file: secrets/smtp, unsubscribe_url: \"mailto:stop@example.ca?subject=stop\"}",
        "channels: {sms: sms-p, email: mail-p}",
        "programs: {p1: {name: {en: One, fr: Un}, stages: [{id: s1, offset_days: 1, channels: [email]}]}}",
    }));
    BOOST_TEST(cfg.redis.password == "from-file-pw");
    BOOST_TEST(cfg.providers[0].auth_token == "smtp-pw");
    BOOST_TEST(cfg.providers[1].password == "smtp-pw");
    BOOST_TEST(cfg.providers[1].username == "u");

    std::string e = s.errors(base_after({"redis: {password_file: secrets/none}"}));
    BOOST_TEST(contains(e, "test.yaml:1:24: redis.password_file: cannot read secret file " +
                               (s.dir / "secrets" / "none").string()));
}

BOOST_AUTO_TEST_CASE(only_one_source_per_secret) {
    ScratchDir s;
    BOOST_TEST(s.errors(base_after({"redis:", "  password_env: RAPPEL_TEST_TOKEN", "  password_file: pw"})) ==
               "test.yaml:3:3: redis.password_file: set only one of password_env and "
               "password_file");
}

BOOST_AUTO_TEST_CASE(smtp_password_needs_a_username) {
    ScratchDir s;
    std::string e = s.errors(yaml({
        "providers:",
        "  mail-p:",
        "    type: smtp",
        "    url: smtp://mail:25",
        "    from: r@example.ca",
        "    password_env: RAPPEL_TEST_TOKEN",
        "    unsubscribe_url: https://example.ca/u",
        "channels: {email: mail-p}",
        "programs: {p1: {name: {en: One, fr: Un}, stages: [{id: s1, offset_days: 1, channels: [email]}]}}",
    }));
    BOOST_TEST(e == "test.yaml:6:19: providers.mail-p.password_env: a password needs a username");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(providers_and_channels)

BOOST_AUTO_TEST_CASE(provider_fields_are_validated) {
    ScratchDir s;
    std::string e = s.errors(yaml({
        "providers:",                                // 1
        "  sms-p:",                                  // 2
        "    type: twilio-sms",                      // 3
        "    base_url: ftp://twilio",                // 4
        "    account_sid: ACxyz",                    // 5
        "    auth_token_env: RAPPEL_TEST_TOKEN",     // 6
        "    from: 613-555-0100",                    // 7
        "    timeout_ms: 5",                         // 8
        "  mail-p:",                                 // 9
        "    type: smtp",                            // 10
        "    url: http://mail",                      // 11
        "    from: Rappel reminders",                // 12
        "    starttls: always",                      // 13
        "    unsubscribe_url: http://example.ca/u",  // 14
        "  Bad_Name: {type: smtp}",                  // 15
        "  voice-p: {type: twilio-voice}",           // 16
        "channels: {sms: sms-p, email: mail-p}",     // 17
        "programs: {p1: {name: {en: One, fr: Un}, stages: [{id: s1, offset_days: 1, channels: [sms]}]}}",
    }));
    BOOST_TEST(contains(e,
                        "test.yaml:4:15: providers.sms-p.base_url: expected an http:// or "
                        "https:// URL, got 'ftp://twilio'"));
    BOOST_TEST(contains(e,
                        "test.yaml:5:18: providers.sms-p.account_sid: expected 'AC' followed "
                        "by 32 hexadecimal digits"));
    BOOST_TEST(contains(e,
                        "test.yaml:7:11: providers.sms-p.from: expected an E.164 number such "
                        "as +16135550100, got '613-555-0100'"));
    BOOST_TEST(contains(e,
                        "test.yaml:8:17: providers.sms-p.timeout_ms: expected an integer "
                        "100..600000, got '5'"));
    BOOST_TEST(contains(e,
                        "test.yaml:11:10: providers.mail-p.url: expected an smtp:// or "
                        "smtps:// URL, got 'http://mail'"));
    BOOST_TEST(contains(e,
                        "test.yaml:12:11: providers.mail-p.from: expected an address or "
                        "'Name <address>', got 'Rappel reminders'"));
    BOOST_TEST(contains(e,
                        "test.yaml:13:15: providers.mail-p.starttls: expected one of none, "
                        "try, required, got 'always'"));
    BOOST_TEST(contains(e,
                        "test.yaml:14:22: providers.mail-p.unsubscribe_url: expected an "
                        "https:// URL or a mailto: address, got 'http://example.ca/u'"));
    BOOST_TEST(contains(e,
                        "test.yaml:15:3: providers.Bad_Name: provider name must match "
                        "[a-z0-9-]{1,64}, got 'Bad_Name'"));
    BOOST_TEST(contains(e,
                        "test.yaml:16:19: providers.voice-p.type: expected one of twilio-sms, "
                        "smtp, got 'twilio-voice' (did you mean 'twilio-sms'?)"));
    // Channels naming providers that failed validation add no further noise.
    BOOST_TEST(!contains(e, "channels."));
}

BOOST_AUTO_TEST_CASE(provider_keys_depend_on_the_type) {
    ScratchDir s;
    std::string e = s.errors(yaml({
        "providers:",
        "  mail-p:",
        "    type: smtp",
        "    url: smtp://mail:25",
        "    from: r@example.ca",
        "    unsubscribe_url: https://example.ca/u",
        "    account_sid: AC0123456789abcdef0123456789abcdef",
        "  sms-p: {from: \"+16135550100\"}",
        "channels: {email: mail-p}",
        "programs: {p1: {name: {en: One, fr: Un}, stages: [{id: s1, offset_days: 1, channels: [email]}]}}",
    }));
    BOOST_TEST(contains(e, "test.yaml:7:5: providers.mail-p.account_sid: unknown key 'account_sid'"));
    BOOST_TEST(contains(e, "test.yaml:8:3: providers.sms-p.type: required key 'type' is missing"));
}

BOOST_AUTO_TEST_CASE(channels_must_name_providers_of_the_right_type) {
    ScratchDir s;
    std::string e = s.errors(yaml({
        kProviders[0],
        kProviders[1],
        kProviders[2],
        "channels:",        // 4
        "  sms: mail-p",    // 5
        "  email: mail-q",  // 6
        "  voice: sms-p",   // 7
        "programs: {p1: {name: {en: One, fr: Un}, stages: [{id: s1, offset_days: 1, channels: preference}]}}",
    }));
    BOOST_TEST(e ==
               "test.yaml:5:8: channels.sms: provider 'mail-p' has type smtp; sms needs a "
               "provider of type twilio-sms\n"
               "test.yaml:6:10: channels.email: no provider named 'mail-q' (did you mean "
               "'mail-p'?)\n"
               "test.yaml:7:3: channels.voice: voice has no adapter yet");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(programs)

BOOST_AUTO_TEST_CASE(bad_send_at) {
    ScratchDir s;
    std::string e = s.errors(program_text({
        "  p1:",                        // 6
        "    name: {en: One, fr: Un}",  // 7
        "    stages:",                  // 8
        "      - id: s1",               // 9
        "        offset_days: -7",      // 10
        "        send_at: \"25:00\"",   // 11
        "        channels: [sms]",      // 12
        "      - id: s2",               // 13
        "        offset_days: -3",      // 14
        "        send_at: 9:30",        // 15
        "        channels: [sms]",      // 16
    }));
    BOOST_TEST(e ==
               "test.yaml:11:18: programs.p1.stages[0].send_at: expected a local time HH:MM "
               "(00:00 to 23:59), got '25:00'\n"
               "test.yaml:15:18: programs.p1.stages[1].send_at: expected a local time HH:MM "
               "(00:00 to 23:59), got '9:30'");
}

BOOST_AUTO_TEST_CASE(windows_default_per_channel) {
    ScratchDir s;
    Config cfg = s.load(program_text({
        "  p1:",
        "    name: {en: One, fr: Un}",
        "    stages:",
        "      - {id: s1, offset_days: -7, channels: [sms]}",
    }));
    const ProgramConfig& p = cfg.programs.at("p1");
    const SendWindow& sms = *p.window(ChannelKind::sms);
    BOOST_TEST(sms.weekday_open == 9 * 60);
    BOOST_TEST(sms.weekday_close == 20 * 60);
    BOOST_TEST(sms.weekend_open == 10 * 60);
    BOOST_TEST(sms.weekend_close == 17 * 60);
    BOOST_TEST(!sms.skip_weekends);
    BOOST_TEST(sms.skip_holidays);
    const SendWindow& email = *p.window(ChannelKind::email);
    BOOST_TEST(email.weekday_open == 8 * 60);
    BOOST_TEST(email.weekend_close == 21 * 60);
    const SendWindow& voice = *p.window(ChannelKind::voice);
    BOOST_TEST(voice.weekday_open == 10 * 60);
    BOOST_TEST(voice.weekday_close == 19 * 60);
    BOOST_TEST(voice.skip_weekends);
    BOOST_TEST((p.priority == Priority::normal));
    BOOST_TEST(p.closures.empty());
    BOOST_TEST(!p.stages[0].shift.has_value());
}

BOOST_AUTO_TEST_CASE(windows_closures_shift_and_priorities_are_read) {
    ScratchDir s;
    Config cfg = s.load(program_text({
        "  p1:",
        "    name: {en: One, fr: Un}",
        "    priority: bulk",
        "    windows:",
        "      sms: {weekdays: \"08:30-18:00\", weekends: closed, skip_weekends: true, skip_holidays: false}",
        "    closures: [\"2026-12-24\", \"2026-12-31\"]",
        "    stages:",
        "      - {id: s1, offset_days: -7, send_at: \"08:30\", channels: [sms], shift: next, priority: high}",
        "      - {id: s2, offset_days: 1, channels: [email]}",
    }));
    const ProgramConfig& p = cfg.programs.at("p1");
    const SendWindow& sms = *p.window(ChannelKind::sms);
    BOOST_TEST(sms.weekday_open == 8 * 60 + 30);
    BOOST_TEST(sms.weekday_close == 18 * 60);
    BOOST_TEST(sms.weekend_open == sms.weekend_close);
    BOOST_TEST(sms.skip_weekends);
    BOOST_TEST(!sms.skip_holidays);
    BOOST_TEST(p.window(ChannelKind::email)->weekday_open == 8 * 60);  // default kept
    BOOST_TEST_REQUIRE(p.closures.size() == 2u);
    BOOST_TEST((p.closures[0] == std::chrono::year{2026} / 12 / 24));
    BOOST_TEST((p.priority == Priority::bulk));
    BOOST_TEST((p.stages[0].shift == Shift::next));
    BOOST_TEST((p.priority_of("s1") == Priority::high));
    BOOST_TEST((p.priority_of("s2") == Priority::bulk));
}

BOOST_AUTO_TEST_CASE(send_at_outside_its_window_and_bad_windows_are_errors_with_lines) {
    ScratchDir s;
    std::string e = s.errors(program_text({
        "  p1:",                                                         // 6
        "    name: {en: One, fr: Un}",                                   // 7
        "    windows:",                                                  // 8
        "      sms: {weekdays: \"20:00-09:00\", weekends: \"9-5\"}",       // 9
        "      email: {weekdays: \"07:00-22:00\", skip_holidays: maybe}",  // 10
        "    closures: [\"2026-02-30\"]",                                // 11
        "    stages:",                                                   // 12
        "      - {id: s1, offset_days: -7, send_at: \"03:00\", channels: [email]}",  // 13
        "      - {id: s2, offset_days: -1, send_at: \"22:00\", channels: [email], shift: later}",  // 14
    }));
    BOOST_TEST(e ==
               "test.yaml:9:23: programs.p1.windows.sms.weekdays: expected local hours HH:MM-HH:MM (start before "
               "end, up to 24:00) or 'closed', got '20:00-09:00'\n"
               "test.yaml:9:48: programs.p1.windows.sms.weekends: expected local hours HH:MM-HH:MM (start before "
               "end, up to 24:00) or 'closed', got '9-5'\n"
               "test.yaml:10:55: programs.p1.windows.email.skip_holidays: expected one of true, false, got 'maybe'\n"
               "test.yaml:11:16: programs.p1.closures[0]: expected a date YYYY-MM-DD, got '2026-02-30'\n"
               "test.yaml:13:44: programs.p1.stages[0].send_at: 03:00 is outside the email window (weekdays "
               "07:00-22:00): set programs.p1.windows.email\n"
               "test.yaml:14:79: programs.p1.stages[1].shift: expected one of previous, next, got 'later'");
}

BOOST_AUTO_TEST_CASE(duplicate_stage_id) {
    ScratchDir s;
    std::string e = s.errors(program_text({
        "  p1:", "    name: {en: One, fr: Un}", "    stages:",
        "      - {id: s1, offset_days: -7, channels: [sms]}",    // 9
        "      - {id: s1, offset_days: -3, channels: [email]}",  // 10
    }));
    BOOST_TEST(e ==
               "test.yaml:10:10: programs.p1.stages[1].id: duplicate stage id 's1' (first "
               "at line 9)");
}

BOOST_AUTO_TEST_CASE(stage_channel_without_provider) {
    ScratchDir s;
    std::string e = s.errors(yaml({
        kProviders[0], kProviders[1],
        "channels: {sms: sms-p}",                                     // 3
        "programs:",                                                  // 4
        "  p1:",                                                      // 5
        "    name: {en: One, fr: Un}",                                // 6
        "    stages:",                                                // 7
        "      - {id: s1, offset_days: -7, channels: [sms, email]}",  // 8
        "      - {id: s2, offset_days: -1, channels: [voice]}",       // 9
    }));
    BOOST_TEST(e ==
               "test.yaml:8:51: programs.p1.stages[0].channels[1]: no provider for channel "
               "'email': set channels.email\n"
               "test.yaml:9:46: programs.p1.stages[1].channels[0]: voice has no adapter yet");
}

BOOST_AUTO_TEST_CASE(stage_fields_are_validated) {
    ScratchDir s;
    std::string e = s.errors(program_text({
        "  p1:",                                                        // 6
        "    name: {en: One, fr: Un}",                                  // 7
        "    stages:",                                                  // 8
        "      - {id: Sixty Days, offset_days: -60, channels: [sms]}",  // 9
        "      - {id: s2, offset_days: 500, channels: [sms]}",          // 10
        "      - {id: s3, offset_days: 1, channels: []}",               // 11
        "      - {id: s4, offset_days: 2, channels: [sms, sms]}",       // 12
        "      - {id: s5, offset_days: 3, channels: [preference]}",     // 13
        "      - {id: s6, offset_days: 4, channels: sms}",              // 14
        "      - {id: s7, offset_days: 5, channels: [emial]}",          // 15
        "      - {offset_days: 6, channels: [sms]}",                    // 16
    }));
    BOOST_TEST(contains(e,
                        "test.yaml:9:14: programs.p1.stages[0].id: stage id must match "
                        "[a-z0-9-]{1,32}, got 'Sixty Days'"));
    BOOST_TEST(contains(e,
                        "test.yaml:10:31: programs.p1.stages[1].offset_days: expected an "
                        "integer -400..400, got '500'"));
    BOOST_TEST(contains(e,
                        "test.yaml:11:44: programs.p1.stages[2].channels: expected at least "
                        "one channel"));
    BOOST_TEST(contains(e,
                        "test.yaml:12:50: programs.p1.stages[3].channels[1]: duplicate "
                        "channel 'sms'"));
    BOOST_TEST(contains(e,
                        "test.yaml:13:45: programs.p1.stages[4].channels[0]: expected sms, "
                        "email or voice, got 'preference' ('preference' stands alone: "
                        "channels: preference)"));
    BOOST_TEST(contains(e,
                        "test.yaml:14:44: programs.p1.stages[5].channels: expected a list of "
                        "sms, email, voice, or 'preference', got 'sms'"));
    BOOST_TEST(contains(e,
                        "test.yaml:15:45: programs.p1.stages[6].channels[0]: expected sms, "
                        "email or voice, got 'emial' (did you mean 'email'?)"));
    BOOST_TEST(contains(e,
                        "test.yaml:16:9: programs.p1.stages[7].id: required key 'id' is "
                        "missing"));
    BOOST_TEST(line_count(e) == 8u);
}

BOOST_AUTO_TEST_CASE(program_fields_are_validated) {
    ScratchDir s;
    std::string e = s.errors(program_text({
        "  Drivers_Licence:",                                       // 6
        "    name: {en: One, fr: Un}",                              // 7
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",  // 8
        "  p1:",                                                    // 9
        "    name: {en: One}",                                      // 10
        "    catch_up: {policy: newest, grace_days: 365}",          // 11
        "  p2:",                                                    // 12
        "    name: {en: Two, fr: Deux}",                            // 13
        "    stages: []",                                           // 14
    }));
    BOOST_TEST(e ==
               "test.yaml:6:3: programs.Drivers_Licence: program id must match [a-z0-9-]{1,64}, "
               "got 'Drivers_Licence'\n"
               "test.yaml:9:3: programs.p1.stages: required key 'stages' is missing (list of "
               "stages)\n"
               "test.yaml:10:5: programs.p1.name.fr: required key 'fr' is missing (string)\n"
               "test.yaml:11:24: programs.p1.catch_up.policy: expected one of skip, latest, got "
               "'newest' (did you mean 'latest'?)\n"
               "test.yaml:11:44: programs.p1.catch_up.grace_days: expected an integer 0..90, got "
               "'365'\n"
               "test.yaml:14:13: programs.p2.stages: expected at least one stage");
}

BOOST_AUTO_TEST_CASE(sms_max_segments_defaults_to_3_and_is_bounded) {
    ScratchDir s;
    Config cfg = s.load(program_text({
        "  p1:",
        "    name: {en: One, fr: Un}",
        "    sms_max_segments: 1",
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",
        "  p2:",
        "    name: {en: Two, fr: Deux}",
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",
    }));
    BOOST_TEST(cfg.programs.at("p1").sms_max_segments == 1);
    BOOST_TEST(cfg.programs.at("p2").sms_max_segments == 3);
    BOOST_TEST(ProgramConfig{}.sms_max_segments == 3);

    std::string e = s.errors(program_text({
        "  p1:",                                                    // 6
        "    name: {en: One, fr: Un}",                              // 7
        "    sms_max_segments: 0",                                  // 8
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",  // 9
        "  p2:",                                                    // 10
        "    name: {en: Two, fr: Deux}",                            // 11
        "    sms_max_segments: 11",                                 // 12
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",  // 13
    }));
    BOOST_TEST(e ==
               "test.yaml:8:23: programs.p1.sms_max_segments: expected an integer 1..10, got "
               "'0'\n"
               "test.yaml:12:23: programs.p2.sms_max_segments: expected an integer 1..10, got "
               "'11'");
}

BOOST_AUTO_TEST_CASE(stages_are_sorted_by_offset) {
    ScratchDir s;
    Config cfg = s.load(program_text({
        "  p1:",
        "    name: {en: One, fr: Un}",
        "    catch_up: {policy: latest, grace_days: 0}",
        "    windows: {sms: {weekdays: \"00:00-24:00\"}}",
        "    stages:",
        "      - {id: after, offset_days: 1, send_at: \"08:05\", channels: [email]}",
        "      - {id: week, offset_days: -7, channels: [email, sms]}",
        "      - {id: early, offset_days: -60, channels: preference}",
        "      - {id: month, offset_days: -30, send_at: \"23:59\", channels: [sms]}",
    }));
    const ProgramConfig& p = cfg.programs.at("p1");
    BOOST_TEST((p.catch_up == CatchUp::latest));
    BOOST_TEST(p.catch_up_grace.count() == 0);
    BOOST_TEST_REQUIRE(p.stages.size() == 4u);
    BOOST_TEST(p.stages[0].id == "early");
    BOOST_TEST(p.stages[0].preference);
    BOOST_TEST(p.stages[1].id == "month");
    BOOST_TEST(p.stages[1].send_hour == 23);
    BOOST_TEST(p.stages[1].send_minute == 59);
    BOOST_TEST(p.stages[2].id == "week");
    BOOST_TEST((p.stages[2].channels == std::vector{ChannelKind::email, ChannelKind::sms}));
    BOOST_TEST(p.stages[3].id == "after");
    BOOST_TEST(p.stages[3].send_hour == 8);
    BOOST_TEST(p.stages[3].send_minute == 5);
}

BOOST_AUTO_TEST_CASE(templates_resolve_against_the_config_directory) {
    ScratchDir s;
    Config cfg = s.load(program_text({
        "  p1:",
        "    name: {en: One, fr: Un}",
        "    templates: ./templates/../templates/p2",
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",
    }));
    BOOST_TEST(cfg.programs.at("p1").templates_dir == (s.dir / "templates" / "p2").lexically_normal());

    std::string e = s.errors(program_text({
        "  p1:",                                                    // 6
        "    name: {en: One, fr: Un}",                              // 7
        "    templates: missing/p1",                                // 8
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",  // 9
        "  p3:",                                                    // 10
        "    name: {en: Three, fr: Trois}",                         // 11
        "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",  // 12
    }));
    BOOST_TEST(e == "test.yaml:8:16: programs.p1.templates: directory not found: " +
                        (s.dir / "missing" / "p1").lexically_normal().string() + "\n" +
                        "test.yaml:10:3: programs.p3.templates: directory not found: " +
                        (s.dir / "templates" / "p3").lexically_normal().string() +
                        " (the default; set templates)");

    // load_config: relative to the file's directory, not the working directory.
    std::filesystem::create_directories(s.dir / "conf" / "tpl" / "p1");
    write_file(s.dir / "conf" / "rappel.yaml", program_text({
                                                   "  p1:",
                                                   "    name: {en: One, fr: Un}",
                                                   "    templates: tpl/p1",
                                                   "    stages: [{id: s1, offset_days: 1, channels: [sms]}]",
                                               }));
    cfg = load_config(s.dir / "conf" / "rappel.yaml");
    BOOST_TEST(cfg.programs.at("p1").templates_dir == (s.dir / "conf" / "tpl" / "p1").lexically_normal());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(suggestions)

BOOST_AUTO_TEST_CASE(edit_distance_counts_transpositions_once) {
    BOOST_TEST(detail::edit_distance("", "abc") == 3u);
    BOOST_TEST(detail::edit_distance("retry", "retry") == 0u);
    BOOST_TEST(detail::edit_distance("rerty", "retry") == 1u);
    BOOST_TEST(detail::edit_distance("retires", "retry") == 3u);
    BOOST_TEST(detail::edit_distance("kitten", "sitting") == 3u);
}

BOOST_AUTO_TEST_CASE(closest_match_is_only_offered_when_near) {
    constexpr std::array<std::string_view, 4> keys{"host", "port", "lease_seconds", "retry"};
    BOOST_TEST(detail::closest_match("prot", keys).value_or("") == "port");
    BOOST_TEST(detail::closest_match("lease", keys).value_or("") == "lease_seconds");
    BOOST_TEST(detail::closest_match("retires", keys).value_or("") == "retry");
    BOOST_TEST(!detail::closest_match("colour", keys).has_value());
    BOOST_TEST(!detail::closest_match("zz", keys).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lease_and_timeouts)

namespace {
// engine (lines 1-2), providers with the given timeouts (sms line 4, mail timeout line 10),
// channels (line 11), then kProgram.
std::string lease_text(std::string_view lease, std::string_view sms_timeout, std::string_view mail_timeout) {
    std::string out;
    if (!lease.empty()) out += "engine:\n  lease_seconds: " + std::string(lease) + "\n";
    else out += "engine:\n  claim_batch: 10\n";
    out += "providers:\n";
    out += "  sms-p: {type: twilio-sms, account_sid: AC0123456789abcdef0123456789abcdef, "
           "auth_token_env: RAPPEL_TEST_TOKEN, from: \"+16135550100\"" +
           (sms_timeout.empty() ? std::string() : ", timeout_ms: " + std::string(sms_timeout)) + "}\n";
    out += "  mail-p:\n    type: smtp\n    url: \"smtp://127.0.0.1:2525\"\n"
           "    from: \"Rappel <r@example.ca>\"\n    unsubscribe_url: \"https://example.ca/u\"\n";
    out += mail_timeout.empty() ? "    starttls: try\n" : "    timeout_ms: " + std::string(mail_timeout) + "\n";
    out += "channels: {sms: sms-p, email: mail-p}\n";
    for (auto line : kProgram) out += std::string(line) + '\n';
    return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(lease_must_outlast_the_longest_provider_timeout) {
    ScratchDir s;
    const std::string e = s.errors(lease_text("6", "2000", "6000"));
    BOOST_TEST(contains(e,
                        "test.yaml:2:18: engine.lease_seconds: lease_seconds (6 s) must outlast the longest "
                        "provider timeout, providers.mail-p.timeout_ms (6000 ms, line 10)"));
    // Equal is not enough: the claim would end the moment the send gives up.
    BOOST_TEST(contains(s.errors(lease_text("5", "5000", "")),
                        "test.yaml:2:18: engine.lease_seconds: lease_seconds (5 s) must outlast the longest "
                        "provider timeout, providers.mail-p.timeout_ms (10000 ms, the default)"));
    BOOST_TEST(contains(s.errors(lease_text("9", "", "2000")),
                        "providers.sms-p.timeout_ms (10000 ms, the default)"));
}

BOOST_AUTO_TEST_CASE(a_timeout_longer_than_the_default_lease_is_reported_at_the_timeout) {
    ScratchDir s;
    const std::string e = s.errors(lease_text("", "400000", ""));
    BOOST_TEST(contains(e,
                        "test.yaml:4:147: providers.sms-p.timeout_ms: 400000 ms must be shorter than "
                        "engine.lease_seconds (300 s, the default)"));
}

BOOST_AUTO_TEST_CASE(a_lease_longer_than_every_timeout_loads) {
    ScratchDir s;
    const Config cfg = s.load(lease_text("6", "2000", "5999"));
    BOOST_TEST(cfg.engine.lease.count() == 6);
    BOOST_TEST(s.load(lease_text("11", "", "")).engine.lease.count() == 11);
}

BOOST_AUTO_TEST_SUITE_END()
