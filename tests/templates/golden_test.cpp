// Golden tests of the shipped templates (config/templates): every channel, both languages,
// every template file, plus hostile and absent values. Each output is compared with a file in
// tests/templates/golden/, written by hand after checking the output by eye. On a mismatch the
// actual output is written to $RAPPEL_BINARY_DIR/golden-actual/ to compare; never copy it
// over the golden file without reading it.
// Every output is also checked structurally: HTML and TwiML tags balanced and from a known
// set, entities well formed, no control characters, SMS within the segment budget.
#include "templates/sms_encoding.hpp"
#include "templates/template_set.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
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

fs::path source_dir() {
    const char* dir = std::getenv("RAPPEL_SOURCE_DIR");
    BOOST_REQUIRE_MESSAGE(dir != nullptr, "RAPPEL_SOURCE_DIR is not set (run through ctest)");
    return dir;
}

fs::path actual_dir() {
    const char* dir = std::getenv("RAPPEL_BINARY_DIR");
    return (dir != nullptr ? fs::path(dir) : fs::temp_directory_path()) / "golden-actual";
}

const std::vector<ChannelKind> kAll{ChannelKind::sms, ChannelKind::email, ChannelKind::voice};

config::StageConfig stage(std::string id, int offset) {
    config::StageConfig s;
    s.id = std::move(id);
    s.offset_days = offset;
    s.channels = kAll;
    return s;
}

// The shipped programs as config/rappel.yaml declares them, every stage on every channel.
config::Config shipped_config() {
    const fs::path root = source_dir() / "config" / "templates";
    config::Config cfg;
    cfg.source = source_dir() / "config" / "rappel.yaml";
    config::ProviderConfig smtp;
    smtp.name = "smtp-local";
    smtp.type = config::ProviderType::smtp;
    smtp.unsubscribe_url = "https://example.ca/unsubscribe?r={reminder_id}";
    cfg.providers.push_back(smtp);
    cfg.channel_provider[ChannelKind::email] = "smtp-local";
    const std::vector<config::StageConfig> stages{stage("60d", -60), stage("30d", -30), stage("7d", -7),
                                                  stage("1d-after", 1)};
    config::ProgramConfig drivers;
    drivers.id = "drivers-licence";
    drivers.display_name = {{Language::en, "driver's licence"}, {Language::fr, "permis de conduire"}};
    drivers.templates_dir = root / "drivers-licence";
    drivers.stages = stages;
    config::ProgramConfig health = drivers;
    health.id = "health-card";
    health.display_name = {{Language::en, "health card"}, {Language::fr, "carte Santé"}};
    health.templates_dir = root / "health-card";
    cfg.programs.emplace(drivers.id, drivers);
    cfg.programs.emplace(health.id, health);
    return cfg;
}

const TemplateSet& shipped() {
    static const TemplateSet set = TemplateSet::load(shipped_config());
    return set;
}

int days_left_of(const std::string& stage_id) {
    if (stage_id == "60d") return 60;
    if (stage_id == "30d") return 30;
    if (stage_id == "7d") return 7;
    return -1;
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// What is compared: the email parts one after the other, or the SMS / voice text.
std::string golden_text(ChannelKind channel, const Rendered& r) {
    if (channel != ChannelKind::email) return r.text + "\n";
    return "Subject: " + r.subject + "\n--- text ---\n" + r.text + "\n--- html ---\n" + r.html + "\n";
}

void check_golden(const std::string& name, const std::string& actual) {
    const fs::path golden = source_dir() / "tests" / "templates" / "golden" / name;
    const bool exists = fs::exists(golden);
    const std::string expected = exists ? read_file(golden) : std::string();
    if (exists && expected == actual) {
        BOOST_TEST(true);
        return;
    }
    fs::create_directories(actual_dir());
    std::ofstream(actual_dir() / name, std::ios::binary) << actual;
    BOOST_ERROR((exists ? "differs from " : "no golden file ") << golden.string() << "; actual output in "
                                                               << (actual_dir() / name).string());
}

// ---- structure checks ----

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Checks that tags balance and come from `allowed` (void ones never closed), that attribute
// values are quoted, and that every '&' starts a known entity. Returns the problems found.
std::vector<std::string> markup_problems(const std::string& doc, const std::set<std::string>& allowed,
                                         const std::set<std::string>& void_tags) {
    std::vector<std::string> problems;
    std::vector<std::string> open;
    std::size_t i = 0;
    while (i < doc.size()) {
        const char c = doc[i];
        if (c == '&') {
            bool known = false;
            for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"}) {
                known = known || doc.compare(i, std::string_view(e).size(), e) == 0;
            }
            if (!known) problems.push_back("bad entity at " + std::to_string(i));
            ++i;
            continue;
        }
        if (c == '>') {
            problems.push_back("stray '>' at " + std::to_string(i));
            ++i;
            continue;
        }
        if (c != '<') {
            ++i;
            continue;
        }
        if (doc.compare(i, 2, "<!") == 0 || doc.compare(i, 2, "<?") == 0) {  // doctype, XML declaration
            const std::size_t end = doc.find('>', i);
            if (end == std::string::npos) {
                problems.push_back("unterminated declaration");
                break;
            }
            i = end + 1;
            continue;
        }
        const bool closing = doc.compare(i, 2, "</") == 0;
        std::size_t j = i + (closing ? 2 : 1);
        const std::size_t name_start = j;
        while (j < doc.size() && is_name_char(doc[j])) ++j;
        const std::string name = doc.substr(name_start, j - name_start);
        // Attributes: name="value" pairs, values in double quotes without '<'.
        bool self_closing = false;
        while (j < doc.size() && doc[j] != '>') {
            if (doc[j] == '"') {
                const std::size_t end = doc.find('"', j + 1);
                if (end == std::string::npos || doc.find('<', j + 1) < end) {
                    problems.push_back("bad attribute in <" + name + ">");
                    return problems;
                }
                j = end + 1;
                continue;
            }
            if (doc[j] == '<' || doc[j] == '\'') problems.push_back("bad character in <" + name + ">");
            if (doc[j] == '/' && j + 1 < doc.size() && doc[j + 1] == '>') self_closing = true;
            ++j;
        }
        if (j >= doc.size()) {
            problems.push_back("unterminated tag <" + name);
            break;
        }
        if (!allowed.contains(name)) problems.push_back("unexpected tag <" + name + ">");
        if (closing) {
            if (open.empty() || open.back() != name) {
                problems.push_back("</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">"));
            } else {
                open.pop_back();
            }
        } else if (!self_closing && !void_tags.contains(name)) {
            open.push_back(name);
        }
        i = j + 1;
    }
    for (const auto& name : open) problems.push_back("<" + name + "> never closed");
    return problems;
}

bool has_control_characters(const std::string& s) {
    for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if ((b < 0x20U && c != '\n') || b == 0x7FU) return true;
    }
    return false;
}

void check_structure(ChannelKind channel, Language language, const Rendered& r) {
    BOOST_TEST(!has_control_characters(r.text));
    switch (channel) {
    case ChannelKind::sms: {
        BOOST_TEST(r.subject.empty());
        BOOST_TEST(r.html.empty());
        const auto a = rappel::templates::sms::analyse(r.text);
        BOOST_TEST(a.segments >= 1);
        BOOST_TEST(r.text.find("\xC2\xA0") == std::string::npos);  // no-break spaces normalised away
        break;
    }
    case ChannelKind::email: {
        BOOST_TEST(!r.subject.empty());
        BOOST_TEST(r.subject.find('\n') == std::string::npos);
        BOOST_TEST(!has_control_characters(r.subject));
        BOOST_TEST(!has_control_characters(r.html));
        BOOST_TEST(r.text.find("\n\n\n") == std::string::npos);
        const auto problems =
            markup_problems(r.html, {"html", "head", "meta", "title", "body", "div", "p", "br", "hr", "a"},
                            {"meta", "br", "hr"});
        BOOST_TEST(problems.empty(), "HTML: " << (problems.empty() ? "" : problems.front()));
        BOOST_TEST(r.html.find(std::string("<html lang=\"") + std::string(to_string(language)) + "\">") !=
                   std::string::npos);
        BOOST_TEST(r.html.find("https://example.ca/unsubscribe?r=") != std::string::npos);
        break;
    }
    case ChannelKind::voice: {
        BOOST_TEST(r.subject.empty());
        BOOST_TEST(r.html.empty());
        const auto problems = markup_problems(r.text, {"Response", "Say", "Pause"}, {});
        BOOST_TEST(problems.empty(), "TwiML: " << (problems.empty() ? "" : problems.front()));
        const std::string say = std::string("<Say language=\"") + (language == Language::fr ? "fr-CA" : "en-CA") + "\">";
        const std::size_t first = r.text.find(say);
        BOOST_REQUIRE(first != std::string::npos);
        const std::size_t second = r.text.find(say, first + 1);
        BOOST_REQUIRE(second != std::string::npos);
        // Said twice, the same words.
        const std::string one = r.text.substr(first, r.text.find("</Say>", first) - first);
        const std::string two = r.text.substr(second, r.text.find("</Say>", second) - second);
        BOOST_TEST(one == two);
        BOOST_TEST(r.text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>"));
        BOOST_TEST(r.text.find("<Pause length=\"1\"/>") != std::string::npos);
        break;
    }
    }
}

// ---- contexts ----

struct Case {
    std::string name;  // in the golden file name
    Language language = Language::en;
    std::string holder;
    year_month_day due{};
    Data data;
};

const std::string kHostileName = std::string("<script>alert(\"x\")</script> & {{name}} \\{{ ]]> O'Brien\x07\x1b[1m\x7f") +
                                 "\xE2\x80\xAE" + "😀 שלום";

Case typical(const std::string& program, Language language) {
    Case c;
    c.name = "typical";
    c.language = language;
    const bool fr = language == Language::fr;
    c.holder = fr ? "Geneviève Côté" : "Liam O'Brien-Tremblay";
    c.due = fr ? year{2027} / March / 1 : year{2027} / February / 14;
    if (program == "drivers-licence") {
        c.data = {{"renewal_url", "https://www.ontario.ca/page/renew-drivers-licence"},
                  {"fee", fr ? "90.00" : "120.5"},
                  {"licence_class", "G"}};
    } else {
        c.data = {{"renewal_url", "https://www.ontario.ca/page/renew-ontario-health-card"}};
    }
    return c;
}

Case hostile(Language language) {
    Case c;
    c.name = "hostile";
    c.language = language;
    c.holder = kHostileName;
    c.due = year{2027} / December / 31;
    c.data = {{"renewal_url", "https://www.ontario.ca/?a=1&b=<2>\"x'"}, {"fee", "{{data.fee}} ]]>"}};
    return c;
}

Case absent(Language language) {
    Case c;
    c.name = "absent";
    c.language = language;
    c.due = year{2027} / August / 1;
    return c;
}

Rendered render_case(const std::string& program, const std::string& stage_id, ChannelKind channel, const Case& c,
                     const std::string& unsubscribe) {
    RenderContext ctx;
    ctx.language = c.language;
    ctx.name = c.holder;
    ctx.due_date = c.due;
    ctx.days_left = days_left_of(stage_id);
    ctx.data = &c.data;
    ctx.unsubscribe_url = unsubscribe;
    auto r = shipped().render(program, stage_id, channel, ctx);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
    return std::move(r).value();
}

void run_case(const std::string& program, const std::string& stage_id, ChannelKind channel, const Case& c) {
    const std::string unsubscribe = unsubscribe_url_for(shipped_config(), "r00c0ffee00c0ffee00c0ffee");
    const Rendered r = render_case(program, stage_id, channel, c, unsubscribe);
    const std::string name = program + "." + stage_id + "." + std::string(to_string(channel)) + "." +
                             std::string(to_string(c.language)) + "." + c.name + ".txt";
    BOOST_TEST_CONTEXT(name) {
        check_structure(channel, c.language, r);
        check_golden(name, golden_text(channel, r));
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(golden)

BOOST_AUTO_TEST_CASE(every_shipped_template_in_both_languages) {
    for (const std::string program : {"drivers-licence", "health-card"}) {
        for (const std::string stage_id : {"60d", "7d", "1d-after"}) {
            for (const ChannelKind channel : kAll) {
                for (const Language language : {Language::en, Language::fr}) {
                    run_case(program, stage_id, channel, typical(program, language));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(hostile_values_are_escaped_stripped_or_kept_per_channel) {
    for (const ChannelKind channel : kAll) {
        for (const Language language : {Language::en, Language::fr}) {
            run_case("drivers-licence", "60d", channel, hostile(language));
        }
    }
}

BOOST_AUTO_TEST_CASE(absent_name_and_data_use_defaults_and_sections) {
    for (const ChannelKind channel : kAll) {
        for (const Language language : {Language::en, Language::fr}) {
            run_case("drivers-licence", "60d", channel, absent(language));
        }
    }
}

BOOST_AUTO_TEST_CASE(ten_thousand_character_values_are_cut_per_channel) {
    Case c = typical("drivers-licence", Language::fr);
    std::string huge;
    while (huge.size() < 10000) huge += "Côté<&> ";
    c.holder = huge;
    c.data[0].second = "https://www.ontario.ca/" + std::string(10000, 'a');
    const std::string unsubscribe = unsubscribe_url_for(shipped_config(), "r1");
    for (const ChannelKind channel : kAll) {
        const Rendered r = render_case("drivers-licence", "60d", channel, c, unsubscribe);
        BOOST_TEST_CONTEXT(to_string(channel)) {
            check_structure(channel, Language::fr, r);
            // Cut values end with an ellipsis, which SMS normalisation writes as "...".
            BOOST_TEST(r.text.find(channel == ChannelKind::sms ? "..." : "…") != std::string::npos);
            if (channel == ChannelKind::sms) {
                // Two values of at most 200 characters each, plus the template's own text.
                BOOST_TEST(r.text.size() < 1000U);
                BOOST_TEST(r.text.find("Côté<&>") != std::string::npos);
            } else if (channel == ChannelKind::email) {
                BOOST_TEST(r.subject.size() < 400U);
                BOOST_TEST(r.text.size() < 5000U);
                BOOST_TEST(r.html.find("Côté&lt;&amp;&gt;") != std::string::npos);
                BOOST_TEST(r.html.find("Côté<") == std::string::npos);
            } else {
                BOOST_TEST(r.text.size() < 3000U);
                BOOST_TEST(r.text.find("Côté&lt;&amp;&gt;") != std::string::npos);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(shipped_sms_fit_the_default_budget_with_the_longest_sample) {
    const TemplateSet& set = shipped();
    int checked = 0;
    for (const auto& source : set.sources()) {
        if (source.channel != ChannelKind::sms) continue;
        const auto sample = set.render_longest_sample(source.program, source.stage, source.channel, source.language);
        BOOST_REQUIRE(sample.ok());
        const auto a = rappel::templates::sms::analyse(sample->text);
        BOOST_TEST(a.segments <= 3, source.file.string() << ": " << a.segments << " segments");
        ++checked;
    }
    BOOST_TEST(checked == 2 * 4 * 2);
}

BOOST_AUTO_TEST_SUITE_END()
