#include "engine/base/text.hpp"
#include "templates/sms_encoding.hpp"
#include "templates/template_set.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
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
               "<p>Your Test permit expires on February 14, 2027.<br>\nRenew: "
               "<a href=\"https://x.test/?a=1&amp;b=2\">https://x.test/?a=1&amp;b=2</a></p>"
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

BOOST_AUTO_TEST_SUITE(template_set_channels)

BOOST_AUTO_TEST_CASE(voice_is_twiml_said_twice_and_xml_escaped) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    for (const char* lang : {"en", "fr"}) {
        dir.write(std::string("default.voice.") + lang + ".txt",
                  "Hello {{name}}.\nYour {{program}} expires on {{due_date}}.\n{{#data.fee}}Fee: {{data.fee|money}}.{{/data.fee}}\n");
    }
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::voice})})}));
    const Data data{{"fee", "90.50"}};
    RenderContext ctx = context(Language::fr, "A&B <x> ]]>");
    ctx.due_date = year{2027} / March / 1;
    ctx.data = &data;
    const auto r = set.render("p", "60d", ChannelKind::voice, ctx);
    BOOST_REQUIRE(r.ok());
    const std::string said =
        "Hello A&amp;B &lt;x&gt; ]]&gt;. Your Permis d&#39;essai expires on premier mars 2027. Fee: 90 dollars et 50 cents.";
    BOOST_TEST(r->text == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Say language=\"fr-CA\">" + said +
                              "</Say><Pause length=\"1\"/><Say language=\"fr-CA\">" + said + "</Say></Response>");
    BOOST_TEST(r->subject.empty());
    BOOST_TEST(r->html.empty());
    // Voice files are needed only by stages that use voice: the sms/email stage above did not.
    BOOST_TEST(set.has("p", "60d", ChannelKind::voice, Language::en));
}

BOOST_AUTO_TEST_CASE(missing_voice_file_is_reported_when_a_stage_uses_voice) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    const auto problems = load_problems(
        config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms, ChannelKind::voice})})}));
    BOOST_REQUIRE_EQUAL(problems.size(), 2U);
    BOOST_TEST(contains(problems[0], "default.voice.en.txt:1:1: missing template file"));
    BOOST_TEST(contains(problems[1], "default.voice.fr.txt:1:1: missing template file"));
}

BOOST_AUTO_TEST_CASE(sms_is_normalised_and_values_are_cut) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.sms.fr.txt", "Bonjour {{name}} – «{{data.fee|money}}»…\n");
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms})})}));
    const Data data{{"fee", "90"}};
    const std::string huge(10000, 'x');
    RenderContext ctx = context(Language::fr, huge);
    ctx.data = &data;
    const auto r = set.render("p", "60d", ChannelKind::sms, ctx);
    BOOST_REQUIRE(r.ok());
    // En dash and ellipsis made GSM-7 friendly; the no-break space of "90,00 $" a plain space;
    // the name cut to 200 characters, its last one an ellipsis (then normalised to "...").
    BOOST_TEST(r->text == "Bonjour " + std::string(199, 'x') + "... - «90,00 $»...");
}

BOOST_AUTO_TEST_CASE(email_text_keeps_at_most_one_blank_line) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.email.en.txt",
              "Subject: S\n\nHello,\n\n{{#data.fee}}\nFee: {{data.fee|money}}.\n{{/data.fee}}\n\n{{data.note}}\n\nBye\n");
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::email})})}));
    const auto r = set.render("p", "60d", ChannelKind::email, context(Language::en, "A"));
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->text == "Hello,\n\nBye");
    BOOST_TEST(contains(r->html, "<body><p>Hello,</p>\n<p>Bye</p>"));
}

BOOST_AUTO_TEST_CASE(layouts_from_the_program_folder_then_its_parent) {
    TempDir root;
    const fs::path dir = root.path() / "prog";
    fs::create_directories(dir);
    for (const char* lang : {"en", "fr"}) {
        std::ofstream(dir / (std::string("default.email.") + lang + ".txt")) << kEmail;
    }
    root.write("layout.en.html", "<html lang=\"en-CA\"><title>{{subject}}</title>{{content}}"
                                 "{{#unsubscribe_url}}<a href=\"{{unsubscribe_url}}\">stop</a>{{/unsubscribe_url}}</html>\n");
    std::ofstream(dir / "layout.fr.html") << "<html lang=\"fr\">{{content}}<a href=\"{{unsubscribe_url}}\">arrêt</a>"
                                             "<i>{{program}}</i></html>";
    auto cfg = config_with({program("p", dir, {stage("60d", -60, {ChannelKind::email})})});
    const auto set = TemplateSet::load(cfg);
    RenderContext ctx = context(Language::en, "A");
    ctx.unsubscribe_url = "https://u.test/?r=1&x=\"2\"";
    auto r = set.render("p", "60d", ChannelKind::email, ctx);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->html ==
               "<html lang=\"en-CA\"><title>Reminder for A</title><p>Hello A,</p>\n"
               "<p>Your Test permit expires on February 14, 2027.<br>\nRenew:</p>"
               "<a href=\"https://u.test/?r=1&amp;x=&quot;2&quot;\">stop</a></html>\n");
    ctx.language = Language::fr;
    ctx.unsubscribe_url = "";
    r = set.render("p", "60d", ChannelKind::email, ctx);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->html ==
               "<html lang=\"fr\"><p>Hello A,</p>\n<p>Your Permis d&#39;essai expires on 14 février 2027.<br>\n"
               "Renew:</p><a href=\"\">arrêt</a><i>Permis d&#39;essai</i></html>");
}

BOOST_AUTO_TEST_CASE(layout_problems_are_listed_with_positions) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("layout.en.html", "<html>\n<body>{{content}} {{contnet}}</body></html>");
    dir.write("layout.fr.html", "<html lang=\"en\"><body>{{#unsubscribe_url}}{{unsubscribe_url}}</body></html>");
    const auto problems =
        load_problems(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::email})})}));
    // Syntax errors only: a layout that does not compile is not checked further.
    BOOST_REQUIRE_EQUAL(problems.size(), 2U);
    BOOST_TEST(contains(problems[0], "layout.en.html:2:19: unknown placeholder 'contnet'"));
    BOOST_TEST(contains(problems[1], "layout.fr.html:1:23: unclosed section '{{#unsubscribe_url}}'"));
}

BOOST_AUTO_TEST_CASE(layout_needs_content_unsubscribe_and_lang) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("layout.en.html", "<!DOCTYPE html>\n<html lang=\"fr\"><body>hello</body></html>");
    dir.write("layout.fr.html", "<html lang=\"fr\">{{content}}{{content}}<a href=\"{{unsubscribe_url}}\">x</a></html>");
    const auto problems =
        load_problems(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::email})})}));
    BOOST_REQUIRE_EQUAL(problems.size(), 4U);
    BOOST_TEST(contains(problems[0], "layout.en.html:1:1: the layout has no {{content}} placeholder"));
    BOOST_TEST(contains(problems[1], "layout.en.html:1:1: the layout has no unsubscribe link"));
    BOOST_TEST(contains(problems[2], "layout.en.html:2:1: the <html> element of a en layout needs lang=\"en\""));
    BOOST_TEST(contains(problems[3], "layout.fr.html:1:1: the layout has {{content}} more than once"));
}

BOOST_AUTO_TEST_CASE(declared_data_fields) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("data-fields.txt", "# fields\n\nrenewal_url = https://x.test/a-long-plausible-url\n  fee\nbad key = 1\nfee = 2\n");
    dir.write("default.sms.fr.txt", "Bonjour {{name}}\n{{data.fee|money}} {{data.renwal_url}}\n");
    const auto problems = load_problems(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms})})}));
    BOOST_REQUIRE_EQUAL(problems.size(), 3U);
    BOOST_TEST(contains(problems[0], "data-fields.txt:5:1: expected 'KEY = longest plausible value'"));
    BOOST_TEST(contains(problems[1], "data-fields.txt:6:1: data field 'fee' is declared twice"));
    BOOST_TEST(contains(problems[2], "default.sms.fr.txt:2:20: unknown data field 'renwal_url': the campaign "
                                     "declares renewal_url, fee (in data-fields.txt)"));
}

BOOST_AUTO_TEST_CASE(sms_over_budget_says_segments_and_ucs2_characters) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    // 155 GSM-7 characters of text plus the 38-character sample name, which forces UCS-2 (ô);
    // 104 plus a 40-character sample data value after a 'ç'.
    dir.write("default.sms.en.txt", "Hi {{name}}. " + std::string(150, 'a') + "\n");
    dir.write("default.sms.fr.txt", "ça {{data.code}} " + std::string(100, 'b') + "\n");
    auto cfg = config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms})})});
    cfg.programs.at("p").sms_max_segments = 2;
    const auto problems = load_problems(cfg);
    BOOST_REQUIRE_EQUAL(problems.size(), 2U);
    BOOST_TEST(contains(problems[0], "default.sms.en.txt:1:1: SMS too long: its longest plausible rendering needs 3 "
                                     "segments (UCS-2, 193 UTF-16 units), more than the 2 allowed by program 'p' "
                                     "(sms_max_segments); characters that force UCS-2 (70 per segment, 67 when "
                                     "split): ô in sample values"));
    BOOST_TEST(contains(problems[1], "default.sms.fr.txt:1:1: SMS too long: its longest plausible rendering needs 3 "
                                     "segments (UCS-2, 144 UTF-16 units)"));
    BOOST_TEST(contains(problems[1], "characters that force UCS-2 (70 per segment, 67 when split): ç in the template"));
    // The same texts fit a budget of 3.
    cfg.programs.at("p").sms_max_segments = 3;
    BOOST_CHECK_NO_THROW((void)TemplateSet::load(cfg));
}

BOOST_AUTO_TEST_CASE(longest_sample_uses_long_values_and_every_section_branch) {
    TempDir dir;
    write_defaults(dir, kSms, kEmail);
    dir.write("default.sms.en.txt",
              "{{name}} {{due_date}} {{days_left|plural:day:days}}"
              "{{#data.url}} {{data.url}}{{/data.url}}{{^data.url}} no url, so this branch is the longer one by far{{/data.url}}"
              "{{#data.extra?}} +{{/data.extra?}}\n");
    const auto set = TemplateSet::load(config_with({program("p", dir.path(), {stage("60d", -60, {ChannelKind::sms})})}));
    const auto r = set.render_longest_sample("p", "60d", ChannelKind::sms, Language::en);
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r->text == "Marie-Geneviève Côté-Lévesque-Tremblay September 10, 2027 60 days no url, so this "
                          "branch is the longer one by far +");
    BOOST_TEST(!set.render_longest_sample("p", "60d", ChannelKind::email, Language::en).ok());
}

BOOST_AUTO_TEST_CASE(unsubscribe_url_of_the_email_provider) {
    config::Config cfg;
    BOOST_TEST(unsubscribe_url_for(cfg, "r1").empty());
    config::ProviderConfig smtp;
    smtp.name = "mail";
    smtp.type = config::ProviderType::smtp;
    smtp.unsubscribe_url = "https://x.test/u/{reminder_id}?again={reminder_id}";
    cfg.providers.push_back(smtp);
    cfg.channel_provider[ChannelKind::email] = "mail";
    BOOST_TEST(unsubscribe_url_for(cfg, "r1a/b") == "https://x.test/u/r1a%2Fb?again=r1a%2Fb");
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
                const bool french = source.language == Language::fr;
                const bool expired = source.stage == "1d-after";
                BOOST_TEST(r->text.find("{{") == std::string::npos);
                BOOST_TEST(contains(r->text, "https://www.ontario.ca/renew"));
                BOOST_TEST(contains(r->text, french ? "14 février 2027" : "February 14, 2027"));
                if (expired) {
                    BOOST_TEST(contains(r->text, french ? "a expiré le " : "expired on "));
                }
                if (source.channel == ChannelKind::sms) {
                    // SMS: the name, except after expiry where the warning takes its room.
                    if (!expired) BOOST_TEST(contains(r->text, name.empty() ? (french ? "Bonjour," : "Hello,")
                                                                            : "Geneviève Côté,"));
                    BOOST_TEST(contains(r->text, "ServiceOntario"));
                    BOOST_TEST(contains(r->text, french ? "ARRÊT" : "STOP"));
                } else {
                    BOOST_TEST(contains(r->text, name.empty() ? (french ? "Bonjour à vous," : "Hello there,")
                                                              : (french ? "Bonjour Geneviève Côté," : "Hello Geneviève Côté,")));
                    BOOST_TEST(!r->subject.empty());
                    BOOST_TEST(r->subject.find("{{") == std::string::npos);
                    BOOST_TEST(r->html.starts_with(std::string("<!DOCTYPE html>\n<html lang=\"") + (french ? "fr" : "en") + "\">"));
                    BOOST_TEST(r->html.ends_with("</body>\n</html>\n"));
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
               "Geneviève Côté, votre permis de conduire expire le 1er mars 2027. "
               "Renouvelez : https://www.ontario.ca/renew\n"
               "ServiceOntario. ARRÊT pour arrêter.");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sms_normalise_shortcut)

// Rendering skips sms::normalise() when sms_normalise_may_change() says no: that must hold for
// every code point, alone and between French letters.
BOOST_AUTO_TEST_CASE(skipping_normalisation_never_changes_the_text) {
    auto utf8 = [](char32_t cp) {
        std::string out;
        rappel::utf8::append(out, cp);
        return out;
    };
    int skipped = 0;
    for (char32_t cp = 1; cp <= 0x10FFFF; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        const std::string text = "é" + utf8(cp) + "ô";
        if (sms_normalise_may_change(text)) continue;
        ++skipped;
        if (rappel::templates::sms::normalise(text) != text) {
            BOOST_ERROR("sms::normalise changes U+" << std::hex << static_cast<std::uint32_t>(cp));
        }
    }
    BOOST_TEST(skipped > 1000000);
    BOOST_TEST(sms_normalise_may_change("90,00\xC2\xA0$"));
    BOOST_TEST(!sms_normalise_may_change("Geneviève Côté, ARRÊT 😀"));
}

BOOST_AUTO_TEST_SUITE_END()
