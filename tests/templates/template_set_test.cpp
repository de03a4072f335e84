#include "templates/template_set.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono;
using rappel::ChannelKind;
using rappel::Language;
using namespace rappel::templates;
namespace config = rappel::config;
namespace fs = std::filesystem;

namespace {

using Data = std::vector<std::pair<std::string, std::string>>;

class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = fs::temp_directory_path() / ("rappel-templates-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }
    fs::path file(const std::string& name) const { return path_ / name; }
    void write(const std::string& name, const std::string& content) const {
        std::ofstream out(path_ / name, std::ios::binary);
        out << content;
        BOOST_REQUIRE(out.good());
    }

private:
    fs::path path_;
};

config::StageConfig stage(std::string id, int offset, std::vector<ChannelKind> channels, bool preference = false) {
    config::StageConfig s;
    s.id = std::move(id);
    s.offset_days = offset;
    s.channels = std::move(channels);
    s.preference = preference;
    return s;
}

config::ProgramConfig program(std::string id, const fs::path& dir, std::vector<config::StageConfig> stages) {
    config::ProgramConfig p;
    p.id = std::move(id);
    p.display_name = {{Language::en, "Test permit"}, {Language::fr, "Permis d'essai"}};
    p.templates_dir = dir;
    p.stages = std::move(stages);
    return p;
}

config::Config config_with(std::vector<config::ProgramConfig> programs) {
    config::Config cfg;
    cfg.source = "/etc/rappel/rappel.yaml";
    for (auto& p : programs) cfg.programs.emplace(p.id, std::move(p));
    return cfg;
}

// Writes all four default files, with the given SMS and email text.
void write_defaults(const TempDir& dir, const std::string& sms, const std::string& email) {
    for (const char* lang : {"en", "fr"}) {
        dir.write(std::string("default.sms.") + lang + ".txt", sms);
        dir.write(std::string("default.email.") + lang + ".txt", email);
    }
}

std::vector<std::string> load_problems(const config::Config& cfg) {
    try {
        (void)TemplateSet::load(cfg);
    } catch (const TemplateError& e) {
        BOOST_TEST(std::string(e.what()).find(e.problems().front()) != std::string::npos);
        return e.problems();
    }
    return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
    const bool found = haystack.find(needle) != std::string::npos;
    if (!found) BOOST_TEST_MESSAGE("'" << needle << "' not found in:\n" << haystack);
    return found;
}

std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) {
        if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++n;
    }
    return n;
}

RenderContext context(Language language, std::string_view name) {
    RenderContext ctx;
    ctx.language = language;
    ctx.name = name;
    ctx.due_date = year{2027} / February / 14;
    ctx.days_left = 7;
    return ctx;
}

const std::string kSms = "Hi {{name|there}}, {{program}} due {{due_date}}.\n";
const std::string kEmail = "Subject: Reminder for {{name}}\n\nHello {{name|there}},\n\n"
                           "Your {{program}} expires on {{due_date}}.\nRenew: {{data.renewal_url}}\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(template_set_load)

BOOST_AUTO_TEST_CASE(missing_french_file_is_named) {
    TempDir dir;
    dir.write("default.sms.en.txt", kSms);
    dir.write("default.email.en.txt", kEmail);
    dir.write("default.email.fr.txt", kEmail);
    const auto cfg = config_with({program("test-program", dir.path(),
                                          {stage("60d", -60, {ChannelKind::sms, ChannelKind::email}),
                                           stage("7d", -7, {ChannelKind::sms})})});
    const auto problems = load_problems(cfg);
    BOOST_REQUIRE_EQUAL(problems.size(), 1U);
    BOOST_TEST(contains(problems[0], dir.file("default.sms.fr.txt").string() + ":1:1: missing template file"));
    BOOST_TEST(contains(problems[0], "program 'test-program' stages 60d, 7d"));
    BOOST_TEST(contains(problems[0], "60d.sms.fr.txt"));
}

BOOST_AUTO_TEST_CASE(stage_file_alone_is_enough) {
    TempDir dir;
    dir.write("default.sms.en.txt", kSms);
    dir.write("7d.sms.fr.txt", kSms);
    const auto cfg = config_with({program("p", dir.path(), {stage("7d", -7, {ChannelKind::sms})})});
    BOOST_CHECK_NO_THROW((void)TemplateSet::load(cfg));
}

BOOST_AUTO_TEST_CASE(preference_stage_needs_sms_and_email) {
    TempDir dir;
    dir.write("default.sms.en.txt", kSms);
    dir.write("default.sms.fr.txt", kSms);
    const auto cfg = config_with({program("p", dir.path(), {stage("30d", -30, {}, true)})});
    const auto problems = load_problems(cfg);
    BOOST_REQUIRE_EQUAL(problems.size(), 2U);
    BOOST_TEST(contains(problems[0], "default.email.en.txt:1:1: missing template file"));
    BOOST_TEST(contains(problems[1], "default.email.fr.txt:1:1: missing template file"));
}

BOOST_AUTO_TEST_CASE(syntax_errors_point_into_the_file_and_all_are_listed) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.sms.en.txt", "Hi {{nam}}\n");
    dir.write("default.email.fr.txt", "Subject: Bonjour {{nme}}\n\nCorps\n\n{{data.url\n");
    // Two stages share each default file: each problem is reported once.
    const auto cfg = config_with({program("p", dir.path(),
                                          {stage("60d", -60, {ChannelKind::sms, ChannelKind::email}),
                                           stage("30d", -30, {ChannelKind::sms, ChannelKind::email})})});
    const auto problems = load_problems(cfg);
    BOOST_REQUIRE_EQUAL(problems.size(), 3U);
    const std::string sms = dir.file("default.sms.en.txt").string();
    const std::string email = dir.file("default.email.fr.txt").string();
    BOOST_TEST(contains(problems[0], sms + ":1:4: unknown placeholder 'nam'"));
    BOOST_TEST(contains(problems[1], email + ":1:18: unknown placeholder 'nme'"));
    BOOST_TEST(contains(problems[2], email + ":5:1: unclosed '{{'"));
}

BOOST_AUTO_TEST_CASE(email_layout_errors) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.email.en.txt", "Hello {{name}}\n\nBody\n");
    dir.write("default.email.fr.txt", "Subject: Objet\nCorps\n");
    const auto cfg = config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::email})})});
    const auto problems = load_problems(cfg);
    BOOST_REQUIRE_EQUAL(problems.size(), 2U);
    BOOST_TEST(contains(problems[0], "default.email.en.txt:1:1: an email template starts with a 'Subject: ...' line"));
    BOOST_TEST(contains(problems[1], "default.email.fr.txt:2:1: expected a blank line"));
}

BOOST_AUTO_TEST_CASE(empty_files_and_missing_directory) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.sms.fr.txt", "\n\n");
    dir.write("default.email.fr.txt", "Subject: Objet\n\n\n");
    const auto cfg = config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms, ChannelKind::email})}),
                                  program("q", dir.path() / "nope", {stage("60d", -60, {ChannelKind::sms})})});
    const auto problems = load_problems(cfg);
    BOOST_REQUIRE_EQUAL(problems.size(), 3U);
    BOOST_TEST(contains(problems[0], "default.sms.fr.txt:1:1: empty SMS template"));
    BOOST_TEST(contains(problems[1], "default.email.fr.txt:3:1: empty message body"));
    BOOST_TEST(contains(problems[2], (dir.path() / "nope").string() + ":1:1: templates directory of program 'q' does not exist"));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_reported_with_position) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.sms.fr.txt", "Bonjour\nll\xE9 {{name}}\n");  // Latin-1 'é'
    const auto cfg = config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms})})});
    const auto problems = load_problems(cfg);
    BOOST_REQUIRE_EQUAL(problems.size(), 1U);
    BOOST_TEST(contains(problems[0], "default.sms.fr.txt:2:3: invalid UTF-8"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(template_set_render)

BOOST_AUTO_TEST_CASE(email_text_and_accessible_html) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    const auto set = TemplateSet::load(
        config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms, ChannelKind::email})})}));
    const Data data{{"renewal_url", "https://x.test/?a=1&b=2"}};
    RenderContext ctx = context(Language::en, "<script>&\"'");
    ctx.data = &data;
    const auto r = set.render("p", "60d", ChannelKind::email, ctx);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->subject == "Reminder for <script>&\"'");
    BOOST_TEST(r->text == "Hello <script>&\"',\n\nYour Test permit expires on February 14, 2027.\n"
                          "Renew: https://x.test/?a=1&b=2");
    BOOST_TEST(r->html ==
               "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>Reminder for &lt;script&gt;&amp;&quot;&#39;</title></head><body>"
               "<p>Hello &lt;script&gt;&amp;&quot;&#39;,</p>\n"
               "<p>Your Test permit expires on February 14, 2027.<br>\nRenew: https://x.test/?a=1&amp;b=2</p>"
               "</body></html>");
}

BOOST_AUTO_TEST_CASE(french_email_uses_french_lang_and_display_name) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::email})})}));
    RenderContext ctx = context(Language::fr, "Geneviève Côté");
    ctx.due_date = year{2027} / March / 1;
    const auto r = set.render("p", "60d", ChannelKind::email, ctx);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->subject == "Reminder for Geneviève Côté");
    BOOST_TEST(contains(r->text, "Your Permis d'essai expires on 1er mars 2027."));
    BOOST_TEST(contains(r->html, "<html lang=\"fr\">"));
    BOOST_TEST(contains(r->html, "Permis d&#39;essai"));
    // An explicit program name wins over the configured display name.
    ctx.program_name = "Autre";
    BOOST_TEST(contains(set.render("p", "60d", ChannelKind::email, ctx)->text, "Your Autre expires"));
}

BOOST_AUTO_TEST_CASE(subject_stays_on_one_line) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::email})})}));
    const auto r = set.render("p", "60d", ChannelKind::email, context(Language::en, "A\r\nBcc: x@example.com"));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->subject == "Reminder for A Bcc: x@example.com");
}

BOOST_AUTO_TEST_CASE(sms_keeps_text_and_drops_control_characters) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms})})}));
    const auto r = set.render("p", "60d", ChannelKind::sms, context(Language::en, "<b>Jo\x07\x1b\tё&</b>"));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->text == "Hi <b>Joё&</b>, Test permit due February 14, 2027.");  // trailing newline trimmed
    BOOST_TEST(r->subject.empty());
    BOOST_TEST(r->html.empty());
}

BOOST_AUTO_TEST_CASE(crlf_and_bom_files_read_like_plain_ones) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.email.en.txt", "\xEF\xBB\xBFSubject: S {{name}}\r\n\r\nA\r\nB\r\n");
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::email})})}));
    const auto r = set.render("p", "60d", ChannelKind::email, context(Language::en, "Al"));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->subject == "S Al");
    BOOST_TEST(r->text == "A\nB");
}

BOOST_AUTO_TEST_CASE(stage_file_overrides_default) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("7d.sms.en.txt", "Only {{days_left}} days left!\n");
    const auto set = TemplateSet::load(config_with({program(
        "p", dir.path(), {stage("60d", -60, {ChannelKind::sms}), stage("7d", -7, {ChannelKind::sms})})}));
    BOOST_TEST(set.render("p", "7d", ChannelKind::sms, context(Language::en, "A"))->text == "Only 7 days left!");
    BOOST_TEST(set.render("p", "7d", ChannelKind::sms, context(Language::fr, "A"))->text ==
               "Hi A, Permis d'essai due 14 février 2027.");
    BOOST_TEST(set.render("p", "60d", ChannelKind::sms, context(Language::en, "A"))->text ==
               "Hi A, Test permit due February 14, 2027.");
    bool found = false;
    for (const auto& s : set.sources()) {
        if (s.stage == "7d" && s.channel == ChannelKind::sms && s.language == Language::en) {
            found = true;
            BOOST_TEST(s.file == dir.file("7d.sms.en.txt"));
        }
    }
    BOOST_TEST(found);
    BOOST_TEST(set.sources().size() == 4U);
}

BOOST_AUTO_TEST_CASE(no_template_is_an_error_value) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms})})}));
    const auto ctx = context(Language::en, "A");
    for (const auto& r : {set.render("q", "60d", ChannelKind::sms, ctx), set.render("p", "1d", ChannelKind::sms, ctx),
                          set.render("p", "60d", ChannelKind::email, ctx), set.render("p", "60d", ChannelKind::voice, ctx)}) {
        BOOST_REQUIRE(!r.ok());
        BOOST_TEST(r.error().code == "no-template");
    }
    BOOST_TEST(set.has("p", "60d", ChannelKind::sms, Language::fr));
    BOOST_TEST(!set.has("p", "60d", ChannelKind::email, Language::fr));
    BOOST_TEST(!TemplateSet{}.render("p", "60d", ChannelKind::sms, ctx).ok());
}

BOOST_AUTO_TEST_CASE(render_into_reuses_buffers) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms, ChannelKind::email})})}));
    Rendered out;
    BOOST_REQUIRE(set.render_into("p", "60d", ChannelKind::email, context(Language::en, "A"), out).ok());
    BOOST_REQUIRE(set.render_into("p", "60d", ChannelKind::sms, context(Language::en, "B"), out).ok());
    BOOST_TEST(out.text == "Hi B, Test permit due February 14, 2027.");
    BOOST_TEST(out.subject.empty());
    BOOST_TEST(out.html.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shipped_templates)

BOOST_AUTO_TEST_CASE(real_config_tree_loads_and_renders_both_languages) {
    const char* source_dir = std::getenv("RAPPEL_SOURCE_DIR");
    BOOST_REQUIRE_MESSAGE(source_dir != nullptr, "RAPPEL_SOURCE_DIR is not set (run through ctest)");
    const fs::path root = fs::path(source_dir) / "config" / "templates";
    const std::vector<ChannelKind> both{ChannelKind::sms, ChannelKind::email};
    const std::vector<config::StageConfig> stages{stage("60d", -60, both), stage("30d", -30, both),
                                                  stage("7d", -7, both), stage("1d-after", 1, both)};
    auto drivers = program("drivers-licence", root / "drivers-licence", stages);
    drivers.display_name = {{Language::en, "driver's licence"}, {Language::fr, "permis de conduire"}};
    auto health = program("health-card", root / "health-card", stages);
    health.display_name = {{Language::en, "health card"}, {Language::fr, "carte Santé"}};
    const auto set = TemplateSet::load(config_with({drivers, health}));
    BOOST_TEST(set.sources().size() == 2U * 4U * 2U * 2U);

    const Data data{{"renewal_url", "https://www.ontario.ca/renew"}};
    for (const auto& source : set.sources()) {
        for (const std::string_view name : {std::string_view("Geneviève Côté"), std::string_view()}) {
            RenderContext ctx = context(source.language, name);
            ctx.data = &data;
            ctx.days_left = source.stage == "1d-after" ? -1 : 7;
            const auto r = set.render(source.program, source.stage, source.channel, ctx);
            BOOST_REQUIRE(r.ok());
            BOOST_TEST_CONTEXT(source.file.string()) {
                BOOST_TEST(r->text.find("{{") == std::string::npos);
                BOOST_TEST(contains(r->text, "https://www.ontario.ca/renew"));
                BOOST_TEST(contains(r->text, source.language == Language::fr ? "14 février 2027" : "February 14, 2027"));
                const bool french = source.language == Language::fr;
                if (name.empty()) {
                    BOOST_TEST(contains(r->text, french ? "Bonjour à vous," : "Hello there,"));
                } else {
                    BOOST_TEST(contains(r->text, french ? "Bonjour Geneviève Côté," : "Hello Geneviève Côté,"));
                }
                if (source.stage == "1d-after") {
                    BOOST_TEST(contains(r->text, french ? "a expiré le 14 février 2027" : "expired on February 14, 2027"));
                }
                if (source.channel == ChannelKind::sms) {
                    BOOST_TEST(code_points(r->text) <= 300U);
                    BOOST_TEST(contains(r->text, french ? "ARRÊT" : "STOP"));
                } else {
                    BOOST_TEST(!r->subject.empty());
                    BOOST_TEST(r->subject.find("{{") == std::string::npos);
                    BOOST_TEST(r->html.starts_with(std::string("<!DOCTYPE html><html lang=\"") +
                                                   (french ? "fr" : "en") + "\">"));
                    BOOST_TEST(r->html.ends_with("</p></body></html>"));
                    if (!name.empty()) BOOST_TEST(contains(r->html, "Geneviève Côté"));
                }
            }
        }
    }

    RenderContext ctx = context(Language::fr, "Geneviève Côté");
    ctx.due_date = year{2027} / March / 1;
    ctx.data = &data;
    const auto sms = set.render("drivers-licence", "60d", ChannelKind::sms, ctx);
    BOOST_REQUIRE(sms.ok());
    BOOST_TEST(sms->text ==
               "Bonjour Geneviève Côté, ici ServiceOntario. Votre permis de conduire expire le 1er mars 2027. "
               "Renouvelez-le en ligne : https://www.ontario.ca/renew\n"
               "Répondez ARRÊT pour ne plus recevoir ces textos.");
}

BOOST_AUTO_TEST_SUITE_END()
