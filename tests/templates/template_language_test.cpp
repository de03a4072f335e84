// The template language beyond plain placeholders: weekday, money, plurals, sections, and the
// compile errors that come with them.
#include "templates/template.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono;
using rappel::Language;
using namespace rappel::templates;

namespace {

using Data = std::vector<std::pair<std::string, std::string>>;

const std::string kNbsp = "\xC2\xA0";

Template compiled(std::string_view text, const CompileOptions& options = {}) {
    auto t = Template::parse(text, options);
    BOOST_REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.error().message));
    return std::move(t).value();
}

std::string render(std::string_view text, const RenderContext& ctx, const RenderOptions& options = {}) {
    std::string out;
    compiled(text).render(ctx, out, options);
    return out;
}

std::vector<Diagnostic> errors_of(std::string_view text, const CompileOptions& options = {}) {
    std::vector<Diagnostic> d;
    (void)Template::compile(text, d, options);
    return d;
}

RenderContext context(Language language, const Data* data = nullptr) {
    RenderContext ctx;
    ctx.language = language;
    ctx.name = "Sam";
    ctx.due_date = year{2027} / February / 14;  // a Sunday
    ctx.days_left = 7;
    ctx.program_name = "P";
    ctx.data = data;
    return ctx;
}

RenderOptions spoken() {
    RenderOptions o;
    o.spoken = true;
    return o;
}

bool mentions(const Diagnostic& d, const std::string& text) {
    const bool found = d.message.find(text) != std::string::npos;
    if (!found) BOOST_TEST_MESSAGE("'" << text << "' not in: " << d.message);
    return found;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(template_formatting)

BOOST_AUTO_TEST_CASE(weekday_in_each_language) {
    BOOST_TEST(render("{{weekday}} {{due_date}}", context(Language::en)) == "Sunday February 14, 2027");
    BOOST_TEST(render("{{weekday}} le {{due_date}}", context(Language::fr)) == "dimanche le 14 février 2027");
    RenderContext ctx = context(Language::fr);
    ctx.due_date = year{2027} / March / 1;
    BOOST_TEST(render("{{weekday}} {{due_date}}", ctx) == "lundi 1er mars 2027");
    ctx.due_date = year_month_day{};
    BOOST_TEST(render("[{{weekday|bientôt}}]", ctx) == "[bientôt]");
}

BOOST_AUTO_TEST_CASE(money_written_per_language) {
    const Data data{{"fee", "90"}, {"big", "1234.5"}, {"cents", "0.05"}, {"exact", "120.00"}};
    BOOST_TEST(render("{{data.fee|money}} {{data.big|money}} {{data.cents|money}} {{data.exact|money}}",
                      context(Language::en, &data)) == "$90.00 $1,234.50 $0.05 $120.00");
    BOOST_TEST(render("{{data.fee|money}} / {{data.big|money}}", context(Language::fr, &data)) ==
               "90,00" + kNbsp + "$ / 1" + kNbsp + "234,50" + kNbsp + "$");
}

BOOST_AUTO_TEST_CASE(money_spoken_per_language) {
    const Data data{{"fee", "90"}, {"odd", "120.50"}, {"one", "1.01"}, {"cents", "0.75"}};
    const auto en = context(Language::en, &data);
    BOOST_TEST(render("{{data.fee|money}}", en, spoken()) == "90 dollars");
    BOOST_TEST(render("{{data.odd|money}}", en, spoken()) == "120 dollars and 50 cents");
    BOOST_TEST(render("{{data.one|money}}", en, spoken()) == "1 dollar and 1 cent");
    BOOST_TEST(render("{{data.cents|money}}", en, spoken()) == "75 cents");
    const auto fr = context(Language::fr, &data);
    BOOST_TEST(render("{{data.odd|money}}", fr, spoken()) == "120 dollars et 50 cents");
    BOOST_TEST(render("{{data.one|money}}", fr, spoken()) == "1 dollar et 1 cent");
}

BOOST_AUTO_TEST_CASE(money_that_is_not_an_amount_is_shown_as_written) {
    const Data data{{"a", "ninety"}, {"b", "9e1"}, {"c", "-5"}, {"d", "1.005"}, {"e", ""}};
    const auto ctx = context(Language::en, &data);
    BOOST_TEST(render("{{data.a|money}}|{{data.b|money}}|{{data.c|money}}|{{data.d|money}}", ctx) ==
               "ninety|9e1|-5|1.005");
    BOOST_TEST(render("{{data.e|money|free}} {{data.missing|money|free}}", ctx) == "free free");
}

BOOST_AUTO_TEST_CASE(plural_of_days_left_follows_icu_rules) {
    RenderContext en = context(Language::en);
    RenderContext fr = context(Language::fr);
    const std::string en_t = "{{days_left|plural:day:days}}";
    const std::string fr_t = "{{days_left|plural:jour:jours}}";
    for (const auto& [days, english, french] : std::vector<std::tuple<int, std::string, std::string>>{
             {0, "0 days", "0 jour"}, {1, "1 day", "1 jour"}, {-1, "1 day", "1 jour"},
             {2, "2 days", "2 jours"}, {7, "7 days", "7 jours"}, {60, "60 days", "60 jours"}}) {
        en.days_left = days;
        fr.days_left = days;
        BOOST_TEST(render(en_t, en) == english);
        BOOST_TEST(render(fr_t, fr) == french);
    }
}

BOOST_AUTO_TEST_CASE(plural_of_a_data_value) {
    const Data data{{"n", "1"}, {"m", "12"}, {"x", "a few"}, {"big", "1000000"}};
    const auto fr = context(Language::fr, &data);
    BOOST_TEST(render("{{data.n|plural:visite:visites}}, {{data.m|plural:visite:visites}}", fr) ==
               "1 visite, 12 visites");
    BOOST_TEST(render("{{data.x|plural:visite:visites}}", fr) == "a few visites");
    BOOST_TEST(render("{{data.big|plural:visite:visites}}", fr) == "1000000 visites");  // CLDR "many"
    BOOST_TEST(render("{{data.none|plural:visite:visites|aucune visite}}", fr) == "aucune visite");
}

BOOST_AUTO_TEST_CASE(voice_dates_are_spoken) {
    RenderContext fr = context(Language::fr);
    fr.due_date = year{2027} / March / 1;
    BOOST_TEST(render("le {{due_date}}", fr, spoken()) == "le premier mars 2027");
    BOOST_TEST(render("le {{due_date}}", fr) == "le 1er mars 2027");
    fr.due_date = year{2027} / March / 2;
    BOOST_TEST(render("le {{due_date}}", fr, spoken()) == "le 2 mars 2027");
    BOOST_TEST(render("{{due_date}}", context(Language::en), spoken()) == "February 14, 2027");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(template_sections)

BOOST_AUTO_TEST_CASE(present_and_absent) {
    const std::string t = "A{{#data.url}} Renew online at {{data.url}}.{{/data.url}}{{^data.url}} Renew in person."
                          "{{/data.url}}";
    const Data with{{"url", "https://x.test"}};
    const Data blank{{"url", " \t"}};
    BOOST_TEST(render(t, context(Language::en, &with)) == "A Renew online at https://x.test.");
    BOOST_TEST(render(t, context(Language::en, &blank)) == "A Renew in person.");
    BOOST_TEST(render(t, context(Language::en)) == "A Renew in person.");
}

BOOST_AUTO_TEST_CASE(truthy_values) {
    const std::string t = "{{#data.online?}}online{{/data.online?}}{{^data.online?}}offline{{/data.online}}";
    for (const char* yes : {"yes", "YES", "true", "True", "oui", "OUI", "vrai", "Vrai", "1", " yes "}) {
        const Data data{{"online", yes}};
        BOOST_TEST(render(t, context(Language::en, &data)) == "online", "value '" << yes << "'");
    }
    for (const char* no : {"no", "false", "non", "faux", "0", "", "yes please", "2"}) {
        const Data data{{"online", no}};
        BOOST_TEST(render(t, context(Language::en, &data)) == "offline", "value '" << no << "'");
    }
    BOOST_TEST(render(t, context(Language::en)) == "offline");
}

BOOST_AUTO_TEST_CASE(sections_nest_and_test_builtins) {
    const std::string t = "{{#name}}Hi {{name}}{{#data.url}} ({{data.url}}){{/data.url}}{{/name}}"
                          "{{^name}}Hello{{/name}}.";
    const Data data{{"url", "u"}};
    RenderContext ctx = context(Language::en, &data);
    BOOST_TEST(render(t, ctx) == "Hi Sam (u).");
    ctx.data = nullptr;
    BOOST_TEST(render(t, ctx) == "Hi Sam.");
    ctx.name = "";
    ctx.data = &data;
    BOOST_TEST(render(t, ctx) == "Hello.");
    ctx.unsubscribe_url = "https://u.test/x";
    BOOST_TEST(render("{{#unsubscribe_url}}<{{unsubscribe_url}}>{{/unsubscribe_url}}", ctx) == "<https://u.test/x>");
    ctx.unsubscribe_url = "";
    BOOST_TEST(render("{{#unsubscribe_url}}<{{unsubscribe_url}}>{{/unsubscribe_url}}", ctx).empty());
    ctx.due_date = year_month_day{};
    BOOST_TEST(render("{{#due_date}}on {{due_date}}{{/due_date}}{{^due_date}}soon{{/due_date}}", ctx) == "soon");
}

BOOST_AUTO_TEST_CASE(a_section_tag_alone_on_its_line_takes_the_line) {
    const std::string t = "Hello,\n  {{#data.url}}  \nRenew at {{data.url}}.\n{{/data.url}}\nBye";
    const Data data{{"url", "u"}};
    BOOST_TEST(render(t, context(Language::en, &data)) == "Hello,\nRenew at u.\nBye");
    BOOST_TEST(render(t, context(Language::en)) == "Hello,\nBye");
    // Not alone: the line stays.
    BOOST_TEST(render("a {{#data.url}}b{{/data.url}}\nc", context(Language::en)) == "a \nc");
    // At the very end, without a final line break.
    BOOST_TEST(render("a\n{{#data.url}}\nb\n{{/data.url}}", context(Language::en)) == "a\n");
}

BOOST_AUTO_TEST_CASE(segments_jump_over_hidden_sections) {
    const Template t = compiled("a{{#name}}b{{^data.x?}}c{{/data.x?}}{{/name}}d");
    const auto& s = t.segments();
    BOOST_REQUIRE_EQUAL(s.size(), 6U);
    BOOST_TEST((s[1].kind == Segment::Kind::section && s[1].variable == Variable::name && s[1].end == 5U));
    BOOST_TEST((s[3].kind == Segment::Kind::section && s[3].inverted && s[3].truthy && s[3].text == "x"));
    BOOST_TEST(s[3].end == 5U);
    BOOST_TEST(s[5].text == "d");
    const auto uses = t.data_uses();
    BOOST_REQUIRE_EQUAL(uses.size(), 1U);
    BOOST_TEST((uses[0].key == "x" && uses[0].truthy && !uses[0].inserted));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(template_language_errors)

BOOST_AUTO_TEST_CASE(unbalanced_sections_have_line_and_column) {
    auto d = errors_of("Hi\n  {{#data.url}}x");
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST((d[0].line == 2 && d[0].column == 3));
    BOOST_TEST(mentions(d[0], "unclosed section '{{#data.url}}': expected '{{/data.url}}'"));

    d = errors_of("a {{/name}} b");
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST((d[0].line == 1 && d[0].column == 3));
    BOOST_TEST(mentions(d[0], "'{{/name}}' closes no open section"));

    d = errors_of("{{#name}}\n{{#data.a}} {{/name}}\n{{/data.a}}");
    BOOST_REQUIRE_EQUAL(d.size(), 2U);
    BOOST_TEST((d[0].line == 2 && d[0].column == 13));
    BOOST_TEST(mentions(d[0], "'{{/name}}' does not close the open section '{{#data.a}}' of 2:1"));
    BOOST_TEST((d[1].line == 3 && d[1].column == 1));
    BOOST_TEST(mentions(d[1], "'{{/data.a}}' does not close the open section '{{#name}}' of 1:1"));
}

BOOST_AUTO_TEST_CASE(unknown_names_in_sections_and_filters) {
    const auto d = errors_of("{{#nom}}x{{/nom}} {{name|money}} {{due_date|plural:a:b}} {{days_left|plural:day}} "
                             "{{data.x?}} {{data.f|money|plural:a:b}} {{content}}");
    BOOST_REQUIRE_EQUAL(d.size(), 7U);
    BOOST_TEST(mentions(d[0], "unknown placeholder 'nom'"));
    BOOST_TEST(mentions(d[1], "'money' formats data values"));
    BOOST_TEST(mentions(d[2], "'plural' counts days_left or a data value"));
    BOOST_TEST(mentions(d[3], "'plural' takes two forms"));
    BOOST_TEST(mentions(d[4], "a truth test ('?') is only for sections"));
    BOOST_TEST(mentions(d[5], "only one filter per placeholder"));
    BOOST_TEST(mentions(d[6], "unknown placeholder 'content'"));  // layouts only
}

BOOST_AUTO_TEST_CASE(declared_data_fields_are_enforced) {
    const std::vector<std::string> fields{"renewal_url", "fee"};
    CompileOptions options;
    options.data_fields = &fields;
    options.data_fields_origin = "data-fields.txt";
    BOOST_TEST(errors_of("{{data.renewal_url}} {{#data.fee}}{{data.fee|money}}{{/data.fee}}", options).empty());
    const auto d = errors_of("x\n {{data.renewal_ur}}", options);
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST((d[0].line == 2 && d[0].column == 2));
    BOOST_TEST(d[0].message ==
               "unknown data field 'renewal_ur': the campaign declares renewal_url, fee (in data-fields.txt)");
}

BOOST_AUTO_TEST_CASE(layout_only_names) {
    CompileOptions layout;
    layout.layout = true;
    const Template t = compiled("<title>{{subject}}</title><b>{{content}}</b>", layout);
    BOOST_TEST((t.segments().front().kind == Segment::Kind::markup));
    RenderOptions o;
    o.escape = Escape::html;
    o.subject = "A & B";
    o.content = "<p>x</p>";
    std::string out;
    t.render(context(Language::en), out, o);
    BOOST_TEST(out == "<title>A &amp; B</title><b><p>x</p></b>");
}

BOOST_AUTO_TEST_SUITE_END()
