#define BOOST_TEST_MODULE ctl
#include "engine/ctl/ctl.hpp"
#include "engine/ctl/forecast.hpp"
#include "engine/base/time_format.hpp"
#include "tests/support/redis_server.hpp"
#include "engine/config/config.hpp"
#include "templates/template_set.hpp"
#include "tests/support/process.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono;
using namespace rappel;
namespace fs = std::filesystem;
namespace sms = rappel::templates::sms;

namespace {

void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// A one-program configuration ("p1", one stage "7d", SMS only) with the given templates.
struct Scratch {
    testkit::TempDir dir{"rappel-ctl-test"};
    fs::path config;

    Scratch(const std::string& en, const std::string& fr, int budget) {
        ::setenv("RAPPEL_TWILIO_AUTH_TOKEN", "ctl-test-token", 1);
        config = fs::path(dir.path()) / "rappel.yaml";
        write_file(config,
                   "providers:\n"
                   "  sms-sim:\n"
                   "    type: twilio-sms\n"
                   "    account_sid: ACa1b2c3d4e5f60718293a4b5c6d7e8f90\n"
                   "    auth_token_env: RAPPEL_TWILIO_AUTH_TOKEN\n"
                   "    from: \"+16135550100\"\n"
                   "channels:\n"
                   "  sms: sms-sim\n"
                   "programs:\n"
                   "  p1:\n"
                   "    name: {en: \"fishing licence\", fr: \"permis de pêche\"}\n"
                   "    sms_max_segments: " +
                       std::to_string(budget) +
                       "\n"
                       "    stages:\n"
                       "      - {id: 7d, offset_days: -7, channels: [sms]}\n");
        write_file(fs::path(dir.path()) / "templates/p1/default.sms.en.txt", en + "\n");
        write_file(fs::path(dir.path()) / "templates/p1/default.sms.fr.txt", fr + "\n");
    }
};

const templates::TemplateSource& source_for(const templates::TemplateSet& set, Language lang) {
    for (const auto& s : set.sources()) {
        if (s.channel == ChannelKind::sms && s.language == lang) return s;
    }
    throw std::runtime_error("no SMS source");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sample_values)

BOOST_AUTO_TEST_CASE(sample_data_covers_every_key_once_with_plausible_values) {
    testkit::TempDir dir("rappel-ctl-test");
    const fs::path a = fs::path(dir.path()) / "a.txt";
    const fs::path b = fs::path(dir.path()) / "b.txt";
    write_file(a, "Renew at {{data.renewal_url|https://x}} for {{data.fee|money}}. \\{{data.escaped}}");
    write_file(b, "Subject: {{data.fee|money}}\n\n{{#data.online?}}online{{/data.online?}} {{data.renewal_url}}");
    const ctl::Data data = ctl::sample_data({a, b, fs::path(dir.path()) / "missing.txt"});
    BOOST_TEST_REQUIRE(data.size() == 3u);
    BOOST_TEST(data[0].first == "renewal_url");
    BOOST_TEST(data[0].second.starts_with("https://www.ontario.ca/"));
    BOOST_TEST(data[1].first == "fee");
    BOOST_TEST(data[1].second == "120.00");
    BOOST_TEST(data[2].first == "online");
    BOOST_TEST(templates::is_truthy(data[2].second));
}

BOOST_AUTO_TEST_CASE(sample_values_make_a_render_context) {
    ctl::SampleValues v;
    v.language = Language::fr;
    v.name = "Geneviève Côté";
    v.due_date = year{2027} / March / 1;
    v.days_left = 7;
    v.data = {{"fee", "90.00"}};
    v.unsubscribe_url = "https://example.ca/u";
    const templates::RenderContext ctx = v.context();
    BOOST_TEST((ctx.language == Language::fr));
    BOOST_TEST(ctx.name == "Geneviève Côté");
    BOOST_TEST((ctx.due_date == year{2027} / March / 1));
    BOOST_TEST(ctx.days_left == 7);
    BOOST_TEST(ctx.data == &v.data);
    BOOST_TEST(ctx.unsubscribe_url == "https://example.ca/u");
    BOOST_TEST(ctx.program_name.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(longest_sms)

BOOST_AUTO_TEST_CASE(the_month_that_forces_ucs2_is_found) {
    // 63 GSM characters then the date: "1er septembre 2027" keeps it GSM-7 in one segment
    // (81 septets), but "1er août 2027" (û) makes it UCS-2, 76 units: two segments.
    const std::string fr = "Votre permis arrive a echeance bientot, merci de le renouveler " "{{due_date}}";
    Scratch s("Your licence expires on {{due_date}}.", fr, 3);
    const auto cfg = config::load_config(s.config);
    const auto set = templates::TemplateSet::load(cfg);

    auto est = ctl::longest_sms(set, source_for(set, Language::fr));
    BOOST_TEST_REQUIRE(est.ok());
    BOOST_TEST((est->analysis.encoding == sms::Encoding::ucs2));
    BOOST_TEST(est->analysis.segments == 2);
    BOOST_TEST(est->analysis.ucs2_forcers == "û");
    BOOST_TEST(contains(est->text, "août 2027"));

    auto en = ctl::longest_sms(set, source_for(set, Language::en));
    BOOST_TEST_REQUIRE(en.ok());
    BOOST_TEST((en->analysis.encoding == sms::Encoding::gsm7));
    BOOST_TEST(en->analysis.segments == 1);
    // The longest English dates: "September 10, 2027" ... "September 30, 2027".
    BOOST_TEST(en->text.starts_with("Your licence expires on September "));
    BOOST_TEST(en->analysis.units == 43u);
}

BOOST_AUTO_TEST_CASE(the_long_accented_name_forces_ucs2_in_english) {
    Scratch s("Hi {{name}}, renew at {{data.renewal_url}}", "Bonjour {{name}} : {{data.renewal_url}}", 3);
    const auto set = templates::TemplateSet::load(config::load_config(s.config));
    auto est = ctl::longest_sms(set, source_for(set, Language::en));
    BOOST_TEST_REQUIRE(est.ok());
    BOOST_TEST(est->text.starts_with("Hi Marie-Geneviève Côté-Lévesque-Tremblay, renew at https://www.ontario.ca/"));
    BOOST_TEST((est->analysis.encoding == sms::Encoding::ucs2));
    BOOST_TEST(est->analysis.ucs2_forcers == "ô");
    BOOST_TEST(est->analysis.units == sms::analyse(est->text).units);
    BOOST_TEST(est->analysis.segments == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate)

BOOST_AUTO_TEST_CASE(within_budget_prints_the_table_and_succeeds) {
    Scratch s("Your licence expires on {{due_date}}.", "Votre permis expire le {{due_date}}.", 1);
    std::ostringstream out, err;
    BOOST_TEST(ctl::validate(s.config, out, err) == 0);
    BOOST_TEST_MESSAGE(out.str() << err.str());
    BOOST_TEST(err.str().empty());
    BOOST_TEST(contains(out.str(), "PROGRAM  STAGE  CHANNEL  LANG  ENCODING  UNITS  SEGMENTS  BUDGET  STATUS"));
    // "Your licence expires on September 30, 2027." is 43 septets.
    BOOST_TEST(contains(out.str(), "p1       7d     sms      en    gsm7      43     1         1       ok"));
    BOOST_TEST(contains(out.str(), "templates/p1/default.sms.en.txt"));
    BOOST_TEST(contains(out.str(), "1 program, 2 templates, every SMS within budget"));
}

BOOST_AUTO_TEST_CASE(over_budget_names_segments_and_forcing_characters) {
    // 178 UTF-16 units with the longest name and date: 3 segments. The template's own "ê"
    // forces UCS-2, and the sample name's "ô" would too.
    const std::string fr = "Bonjour {{name}}, votre permis expire le {{due_date}}. Renouvelez-le en ligne "
                           "dès aujourd'hui, ou dans un centre : prenez rendez-vous en tête.";
    Scratch s("Short {{due_date}}", fr, 2);
    std::ostringstream out, err;
    BOOST_TEST(ctl::validate(s.config, out, err) == 1);
    BOOST_TEST_MESSAGE(out.str() << err.str());
    BOOST_TEST(contains(err.str(), "default.sms.fr.txt:1:1: "));
    BOOST_TEST(contains(err.str(), "needs 3 segments"));
    BOOST_TEST(contains(err.str(), "ê in the template"));
    BOOST_TEST(contains(err.str(), "ô in sample values"));
    BOOST_TEST(!contains(err.str(), "default.sms.en.txt"));
}

BOOST_AUTO_TEST_CASE(template_errors_are_listed_with_their_position) {
    Scratch s("Hello {{nme}}", "Bonjour {{name}}", 3);
    std::ostringstream out, err;
    BOOST_TEST(ctl::validate(s.config, out, err) == 1);
    BOOST_TEST(out.str().empty());
    BOOST_TEST(contains(err.str(), "rappelctl: invalid templates:\n"));
    BOOST_TEST(contains(err.str(), "default.sms.en.txt:1:"));
    BOOST_TEST(contains(err.str(), "nme"));
}

BOOST_AUTO_TEST_CASE(config_errors_are_listed_with_their_position) {
    Scratch s("Hello", "Bonjour", 3);
    write_file(s.config, read_file(s.config) + "bogus: 1\n");
    std::ostringstream out, err;
    BOOST_TEST(ctl::validate(s.config, out, err) == 1);
    BOOST_TEST(contains(err.str(), "rappel.yaml:15:1: "));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(preview)

BOOST_AUTO_TEST_CASE(built_in_sample_renders_both_languages) {
    Scratch s("Hello {{name}}, your {{program}} expires in {{days_left}} days, on {{due_date}}.",
              "Bonjour {{name}}, votre {{program}} expire le {{due_date}}.", 3);
    testkit::TempDir out_dir("rappel-ctl-out");
    ctl::PreviewOptions o;
    o.config_file = s.config;
    o.program = "p1";
    o.stage = "7d";
    o.out_dir = out_dir.path();
    std::ostringstream out, err;
    BOOST_TEST(ctl::preview(o, out, err) == 0);
    BOOST_TEST_MESSAGE(out.str() << err.str());
    BOOST_TEST(err.str().empty());
    BOOST_TEST(contains(out.str(), "Preview of p1 / 7d: 7 days before the due date, channels: sms"));
    BOOST_TEST(contains(out.str(), "=== en ===\n--- sms: gsm7, 86 septets, 1 segment\n"
                                   "Hello Liam O'Brien-Tremblay, your fishing licence expires in 7 days, on "
                                   "March 1, 2027.\n"));
    BOOST_TEST(contains(out.str(), "=== fr ===\n--- sms: ucs2, 70 UTF-16 units, 1 segment (UCS-2 forced by: ô ê)\n"
                                   "Bonjour Geneviève Côté, votre permis de pêche expire le 1er mars 2027.\n"));
}

BOOST_AUTO_TEST_CASE(event_file_supplies_name_date_and_data) {
    Scratch s("Hi {{name}}: {{due_date}} {{data.renewal_url}}", "Salut {{name}} : {{due_date}} {{data.renewal_url}}", 3);
    const fs::path event = fs::path(s.dir.path()) / "event.json";
    write_file(event,
               R"({"schema":"renewal-event/1","event_id":"evt-ctl-1","type":"due","program":"p1",)"
               R"("licence_id":"L-1","version":1,"occurred_at":"2026-11-20T15:04:05Z","due_date":"2027-08-02",)"
               R"("holder":{"name":"Zoë Ng","language":"en","contacts":{"sms":"+16135550142"},"channels":["sms"]},)"
               R"("data":{"renewal_url":"https://example.ca/r"}})"
               "\n");
    ctl::PreviewOptions o;
    o.config_file = s.config;
    o.stage = "7d";  // program from the event
    o.event_file = event;
    o.out_dir = s.dir.path();
    std::ostringstream out, err;
    BOOST_TEST(ctl::preview(o, out, err) == 0);
    BOOST_TEST_MESSAGE(out.str() << err.str());
    BOOST_TEST(contains(out.str(), "Event: evt-ctl-1 from "));
    BOOST_TEST(contains(out.str(), "Hi Zoë Ng: August 2, 2027 https://example.ca/r\n"));
    BOOST_TEST(contains(out.str(), "Salut Zoë Ng : 2 août 2027 https://example.ca/r\n"));
}

BOOST_AUTO_TEST_CASE(bad_event_file_is_refused) {
    Scratch s("Hi", "Salut", 3);
    const fs::path event = fs::path(s.dir.path()) / "event.json";
    write_file(event, R"({"schema":"renewal-event/1","event_id":"e"})");
    ctl::PreviewOptions o;
    o.config_file = s.config;
    o.program = "p1";
    o.stage = "7d";
    o.event_file = event;
    std::ostringstream out, err;
    BOOST_TEST(ctl::preview(o, out, err) == 1);
    BOOST_TEST(contains(err.str(), "not a renewal-event/1 event: missing-field"));
}

BOOST_AUTO_TEST_CASE(rappelctl_writes_the_email_html) {
    testkit::TempDir out_dir("rappel-ctl-out");
    const std::string log = out_dir.path() + "/rappelctl.log";
    const fs::path html_dir = fs::path(out_dir.path()) / "html";  // created by rappelctl
    testkit::Process p({RAPPELCTL_PATH, "preview", testkit::source_dir() + "/tests/ctl/fixtures/ok/rappel.yaml",
                        "--program", "p1", "--stage", "30d", "--out", html_dir.string()},
                       {{"RAPPEL_TWILIO_AUTH_TOKEN", "ctl-test-token"}}, log);
    const auto rc = p.wait(std::chrono::seconds{30});
    const std::string output = read_file(log);
    BOOST_TEST_MESSAGE(output);
    BOOST_TEST_REQUIRE(rc.has_value());
    BOOST_TEST(*rc == 0);
    for (const char* lang : {"en", "fr"}) {
        const fs::path html = html_dir / ("p1-30d-" + std::string(lang) + ".html");
        BOOST_TEST_CONTEXT(html.string()) {
            BOOST_TEST(fs::exists(html));
            const std::string doc = read_file(html);
            BOOST_TEST(contains(doc, "<html lang=\"" + std::string(lang) + "\""));
            BOOST_TEST(contains(output, "HTML: " + html.string()));
        }
    }
    const std::string fr = read_file(html_dir / "p1-30d-fr.html");
    BOOST_TEST(contains(fr, "1er mars 2027"));
    BOOST_TEST(contains(fr, "Geneviève Côté"));
    BOOST_TEST(contains(read_file(html_dir / "p1-30d-en.html"), "Liam O&#39;Brien-Tremblay"));
    BOOST_TEST(contains(output, "Preview of p1 / 30d: 30 days before the due date, channels: email"));
    BOOST_TEST(contains(output, "Subject: Votre permis de pêche expire le 1er mars 2027"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(forecast_command)

BOOST_AUTO_TEST_CASE(a_bulk_wave_larger_than_the_pipe_is_forecast_to_carry_over) {
    testkit::RedisServer redis;
    ::setenv("RAPPEL_REDIS_PORT", std::to_string(redis.port()).c_str(), 1);
    ::setenv("RAPPEL_TWILIO_AUTH_TOKEN", "ctl-test-token", 1);
    redis.cli("ZADD rp:{p0}:Sh 1 vip");
    for (int i = 0; i < 30; ++i) redis.cli("ZADD rp:{p0}:Sb 1 b" + std::to_string(i));
    for (int i = 0; i < 5; ++i) redis.cli("ZADD rp:{p3}:S 1 n" + std::to_string(i));
    redis.cli("ZADD rp:{p3}:S 99999999999999 later");  // due after the close: not counted
    ctl::ForecastOptions o;
    o.config_file = testkit::source_dir() + "/tests/ctl/fixtures/ok/rappel.yaml";
    o.rate = 0.001;  // 21 in the 6 hours left (Thursday 14:00 to 20:00 in Toronto)
    o.at = *parse_rfc3339("2027-01-14T19:00:00Z");
    std::ostringstream out, err;
    const int rc = ctl::forecast(o, out, err);
    ::unsetenv("RAPPEL_REDIS_PORT");
    BOOST_TEST_MESSAGE(out.str());
    BOOST_CHECK_EQUAL(rc, 3);
    BOOST_CHECK_MESSAGE(err.str().empty(), err.str());
    BOOST_CHECK(contains(out.str(), "2 partition(s)"));
    BOOST_CHECK(contains(out.str(), "capacity 21"));
    BOOST_CHECK(contains(out.str(), "high                1              1              0"));
    BOOST_CHECK(contains(out.str(), "normal              5              5              0"));
    BOOST_CHECK(contains(out.str(), "bulk               30             15             15"));
}

BOOST_AUTO_TEST_SUITE_END()
