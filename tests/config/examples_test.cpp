#include "config_test_support.hpp"
#include "engine/config/config.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace rappel;
using namespace rappel::config;
using namespace rappel::config::test;

namespace {

std::vector<std::string> read_lines(const std::filesystem::path& path) {
    std::ifstream in(path);
    BOOST_TEST_REQUIRE(in.good(), "cannot open " << path.string());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

std::filesystem::path examples() {
    return source_dir() / "config" / "examples";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(example_events)

BOOST_AUTO_TEST_CASE(exactly_one_line_is_malformed) {
    std::vector<std::string> lines = read_lines(examples() / "events.jsonl");
    int malformed = 0;
    for (const std::string& line : lines) {
        if (!nlohmann::json::accept(line)) {
            ++malformed;
            BOOST_TEST(contains(line, "evt-bad-1"));
        }
    }
    BOOST_TEST(malformed == 1);
}

BOOST_AUTO_TEST_CASE(events_cover_the_demo_scenario) {
    ScratchDir scratch;
    std::vector<std::string> lines = read_lines(examples() / "events.jsonl");
    std::set<std::string> licences, programs, languages, zones, channel_sets;
    std::map<std::string, int> event_ids;
    std::map<std::string, std::set<std::int64_t>> versions;  // program/licence -> versions
    int suppressed = 0;
    for (const std::string& line : lines) {
        if (!nlohmann::json::accept(line)) continue;
        auto ev = nlohmann::json::parse(line);
        BOOST_TEST(ev.at("schema") == "renewal-event/1");
        BOOST_TEST(ev.at("type") == "due");
        BOOST_TEST(ev.at("occurred_at").get<std::string>().starts_with("2026-11-30T"));
        std::string due = ev.at("due_date");
        BOOST_TEST((due >= "2027-01-05" && due <= "2027-02-25"), due);
        std::string key = ev.at("program").get<std::string>() + "/" + ev.at("licence_id").get<std::string>();
        licences.insert(key);
        programs.insert(ev.at("program"));
        ++event_ids[ev.at("event_id")];
        versions[key].insert(ev.at("version").get<std::int64_t>());
        const auto& holder = ev.at("holder");
        languages.insert(holder.at("language"));
        zones.insert(holder.at("time_zone"));
        channel_sets.insert(holder.at("channels").dump());
        const auto& contacts = holder.at("contacts");
        for (const auto& c : holder.at("channels")) {
            if (!contacts.contains(c.get<std::string>())) ++suppressed;
        }
        BOOST_TEST(ev.at("data").at("renewal_url").get<std::string>().starts_with("https://www.ontario.ca/"));
    }
    BOOST_TEST(licences.size() >= 22u);
    BOOST_TEST((programs == std::set<std::string>{"drivers-licence", "health-card"}));
    BOOST_TEST((languages == std::set<std::string>{"en", "fr"}));
    BOOST_TEST((zones == std::set<std::string>{"America/Toronto", "America/Winnipeg"}));
    for (const char* set : {R"(["sms"])", R"(["email"])", R"(["sms","email"])", R"(["email","sms"])"}) {
        BOOST_TEST(channel_sets.contains(set), set);
    }
    BOOST_TEST(suppressed == 1);
    int duplicates = 0;
    for (const auto& [id, n] : event_ids) duplicates += n > 1 ? 1 : 0;
    BOOST_TEST(duplicates == 1);
    int updated = 0;
    for (const auto& [key, v] : versions) updated += v.size() > 1 ? 1 : 0;
    BOOST_TEST(updated == 1);

    // Every program is configured in the shipped config.
    ::setenv("RAPPEL_TWILIO_AUTH_TOKEN", "t", 1);
    std::filesystem::copy_file(source_dir() / "config" / "rappel.yaml", scratch.dir / "rappel.yaml");
    Config cfg = load_config(scratch.dir / "rappel.yaml");
    for (const std::string& p : programs) BOOST_TEST(cfg.programs.contains(p), p);
    ::unsetenv("RAPPEL_TWILIO_AUTH_TOKEN");

    // The renewal follows one driver's licence, with a newer version.
    std::vector<std::string> renewed = read_lines(examples() / "renewed.jsonl");
    BOOST_TEST_REQUIRE(renewed.size() == 1u);
    BOOST_TEST_REQUIRE(nlohmann::json::accept(renewed[0]));
    auto r = nlohmann::json::parse(renewed[0]);
    BOOST_TEST(r.at("type") == "renewed");
    BOOST_TEST(r.at("program") == "drivers-licence");
    std::string key = "drivers-licence/" + r.at("licence_id").get<std::string>();
    BOOST_TEST_REQUIRE(versions.contains(key));
    BOOST_TEST(r.at("version").get<std::int64_t>() > *versions.at(key).rbegin());
    BOOST_TEST(!event_ids.contains(r.at("event_id").get<std::string>()));
}

BOOST_AUTO_TEST_SUITE_END()
