// The `http` and `log` sections and secrets from systemd's credentials directory.
#include "tests/config/config_test_support.hpp"

using namespace rappel::config;
using namespace rappel::config::test;

BOOST_AUTO_TEST_SUITE(observe_sections)

BOOST_AUTO_TEST_CASE(http_is_off_and_loopback_by_default) {
    ScratchDir s;
    Config cfg = s.load(with_base({}));
    BOOST_TEST(!cfg.http.enabled);
    BOOST_TEST(cfg.http.address == "127.0.0.1");
    BOOST_TEST(cfg.log.format == "text");
    BOOST_TEST(cfg.log.level == "info");
    BOOST_TEST(cfg.log.repeat_window.count() == 10);
}

BOOST_AUTO_TEST_CASE(http_and_log_sections_are_read) {
    ScratchDir s;
    Config cfg = s.load(with_base({"http: {address: \"::1\", port: 9464, probe_interval_ms: 1000, ready_max_outbox: 50}",
                                   "log: {format: json, level: warn, modules: {kafka: error, redis: debug}, "
                                   "repeat_window_seconds: 0}"}));
    BOOST_TEST(cfg.http.enabled);
    BOOST_TEST(cfg.http.address == "::1");
    BOOST_TEST(cfg.http.port == 9464);
    BOOST_TEST(cfg.http.probe_interval.count() == 1000);
    BOOST_TEST(cfg.http.ready_max_outbox == 50);
    BOOST_TEST(cfg.log.format == "json");
    BOOST_TEST(cfg.log.level == "warn");
    BOOST_TEST(cfg.log.modules.at("kafka") == "error");
    BOOST_TEST(cfg.log.modules.at("redis") == "debug");
    BOOST_TEST(cfg.log.repeat_window.count() == 0);
}

BOOST_AUTO_TEST_CASE(bad_http_and_log_values_are_reported_with_their_place) {
    ScratchDir s;
    const auto e = s.errors(base_after({"http: {address: localhost, port: 70000}",
                                        "log: {format: xml, modules: {kafka: loud}}"}));
    BOOST_TEST(contains(e, "test.yaml:1:"));
    BOOST_TEST(contains(e, "http.address: expected an IP address"));
    BOOST_TEST(contains(e, "http.port"));
    BOOST_TEST(contains(e, "log.format"));
    BOOST_TEST(contains(e, "log.modules.kafka: expected debug, info, warn or error, got 'loud'"));
}

BOOST_AUTO_TEST_CASE(secret_files_may_live_in_the_credentials_directory) {
    ScratchDir s;
    std::filesystem::create_directories(s.dir / "creds");
    write_file(s.dir / "creds" / "token", "from-credential\n");
    const std::string text = yaml({"providers:",
                                   "  sms-p: {type: twilio-sms, account_sid: AC0123456789abcdef0123456789abcdef, "
                                   "auth_token_file: \"${CREDENTIALS_DIRECTORY}/token\", from: \"+16135550100\"}",
                                   "channels: {sms: sms-p}",
                                   "programs:", "  p1:", "    name: {en: One, fr: Un}", "    stages:",
                                   "      - {id: s1, offset_days: -7, channels: [sms]}"});
    ::setenv("CREDENTIALS_DIRECTORY", (s.dir / "creds").c_str(), 1);
    BOOST_TEST(s.load(text).providers.at(0).auth_token == "from-credential");
    ::unsetenv("CREDENTIALS_DIRECTORY");
    BOOST_TEST(contains(s.errors(text), "test.yaml:2:"));
    BOOST_TEST(contains(s.errors(text), "CREDENTIALS_DIRECTORY is not set"));
}

BOOST_AUTO_TEST_SUITE_END()
