#include "engine/config/schema.hpp"

#include "config_test_support.hpp"
#include "engine/config/config.hpp"

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

using namespace rappel;
using namespace rappel::config;
using namespace rappel::config::test;

namespace {

auto tie(const KafkaConfig& k) {
    return std::tie(k.brokers, k.group_id, k.events_topic, k.dlq_topic, k.outcomes_topic, k.properties);
}
auto tie(const RedisConfig& r) {
    return std::tuple(r.host, r.port, r.password, r.key_prefix, r.command_timeout.count(),
                      r.connect_timeout.count());
}
auto tie(const EngineConfig& e) {
    return std::tuple(e.default_time_zone, e.lease.count(), e.poll_interval.count(), e.claim_batch,
                      e.max_in_flight, e.ingest_batch, e.expire_after.count(), e.retention.count());
}
auto tie(const RetryConfig& r) {
    return std::tuple(r.max_attempts, r.backoff_base.count(), r.backoff_cap.count(), r.jitter);
}

bool same_section(std::string_view id, const Config& a, const Config& b) {
    if (id == "kafka") return tie(a.kafka) == tie(b.kafka);
    if (id == "redis") return tie(a.redis) == tie(b.redis);
    if (id == "engine") return tie(a.engine) == tie(b.engine);
    return tie(a.retry) == tie(b.retry);
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(schema_table)

BOOST_AUTO_TEST_CASE(documented_defaults_are_the_loaded_defaults) {
    // Writing a key's documented default explicitly must change nothing.
    ScratchDir s;
    const Config defaults = s.load(base_after({}));
    int checked = 0;
    for (std::string_view id : {"kafka", "redis", "engine", "retry"}) {
        for (const KeySpec& key : section(id).keys) {
            if (key.default_value.empty() || key.default_value.find('<') != std::string_view::npos) {
                continue;
            }
            std::string value = key.kind == KeyKind::integer ? std::string(key.default_value)
                                                             : fmt::format("\"{}\"", key.default_value);
            Config explicit_cfg = s.load(base_after({fmt::format("{}: {{{}: {}}}", id, key.name, value)}));
            BOOST_TEST(same_section(id, explicit_cfg, defaults), id << "." << key.name);
            ++checked;
        }
    }
    BOOST_TEST(checked == 21);

    // The remaining documented defaults, checked one by one.
    const ProviderConfig& twilio = defaults.providers.at(0);
    const ProviderConfig& smtp = defaults.providers.at(1);
    BOOST_TEST(section("kafka").find("dlq_topic")->default_value == "<events_topic>.dlq");
    BOOST_TEST(defaults.kafka.dlq_topic == defaults.kafka.events_topic + ".dlq");
    BOOST_TEST(section("provider.twilio-sms").find("base_url")->default_value == twilio.base_url);
    BOOST_TEST(section("provider.twilio-sms").find("timeout_ms")->default_value ==
               std::to_string(twilio.timeout.count()));
    BOOST_TEST(section("provider.smtp").find("timeout_ms")->default_value ==
               std::to_string(smtp.timeout.count()));
    BOOST_TEST(section("provider.smtp").find("starttls")->default_value == "try");
    BOOST_TEST((smtp.starttls == StartTls::try_));
    const ProgramConfig& p = defaults.programs.at("p1");
    BOOST_TEST(section("program.catch_up").find("policy")->default_value == "skip");
    BOOST_TEST((p.catch_up == CatchUp::skip));
    BOOST_TEST(section("program.catch_up").find("grace_days")->default_value ==
               std::to_string(p.catch_up_grace.count()));
    BOOST_TEST(section("program.stage").find("send_at")->default_value ==
               fmt::format("{:02}:{:02}", p.stages.at(0).send_hour, p.stages.at(0).send_minute));
    BOOST_TEST(section("program").find("templates")->default_value == "templates/<program id>");
    BOOST_TEST(p.templates_dir == (s.dir / "templates" / "p1").lexically_normal());
}

BOOST_AUTO_TEST_CASE(table_is_consistent) {
    std::set<std::string_view> ids;
    for (const SectionSpec& sec : schema()) {
        BOOST_TEST(ids.insert(sec.id).second, "section " << sec.id << " twice");
        std::set<std::string_view> names;
        for (const KeySpec& key : sec.keys) {
            BOOST_TEST(names.insert(key.name).second, sec.id << "." << key.name << " twice");
            BOOST_TEST(!key.description.empty(), sec.id << "." << key.name);
            BOOST_TEST(!(key.required && !key.default_value.empty()), sec.id << "." << key.name);
            if (key.kind == KeyKind::integer) {
                BOOST_TEST(key.min < key.max, sec.id << "." << key.name);
                if (!key.default_value.empty()) {
                    long long v = std::stoll(std::string(key.default_value));
                    BOOST_TEST((v >= key.min && v <= key.max), sec.id << "." << key.name);
                }
            }
            if (key.kind == KeyKind::choice && !key.default_value.empty()) {
                std::string choices = "|" + std::string(key.choices) + "|";
                BOOST_TEST(contains(choices, "|" + std::string(key.default_value) + "|"),
                           sec.id << "." << key.name);
            }
        }
    }
    BOOST_CHECK_THROW(section("nope"), std::logic_error);
    BOOST_TEST(type_text(*section("retry").find("max_attempts")) == "integer 1..20");
    BOOST_TEST(type_text(*section("provider.smtp").find("starttls")) == "`none`, `try` or `required`");
}

BOOST_AUTO_TEST_CASE(docs_embed_the_generated_tables) {
    const std::string begin = "<!-- BEGIN KEY TABLES (generated from engine/config/schema.cpp) -->\n";
    const std::string end = "<!-- END KEY TABLES -->";
    std::string doc = read_text(source_dir() / "docs" / "configuration.md");
    auto b = doc.find(begin);
    auto e = doc.find(end);
    BOOST_TEST_REQUIRE(b != std::string::npos, "docs/configuration.md lacks the begin marker");
    BOOST_TEST_REQUIRE(e != std::string::npos, "docs/configuration.md lacks the end marker");
    std::string embedded = doc.substr(b + begin.size(), e - b - begin.size());
    std::string generated = schema_markdown();
    if (embedded != generated) {
        // Leave the expected text next to the build for copying into the document.
        const char* bin = std::getenv("RAPPEL_BINARY_DIR");
        std::filesystem::path out =
            std::filesystem::path(bin != nullptr ? bin : ".") / "configuration-key-tables.md";
        write_file(out, generated);
        BOOST_ERROR(
            "docs/configuration.md is out of date with the key tables; the current "
            "tables are in "
            << out.string());
    }
}

BOOST_AUTO_TEST_SUITE_END()
