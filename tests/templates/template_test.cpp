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

Template compiled(std::string_view text) {
    auto t = Template::parse(text);
    BOOST_REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.error().message));
    return std::move(t).value();
}

std::string render(std::string_view text, const RenderContext& ctx, Escape escape = Escape::none) {
    std::string out;
    compiled(text).render(ctx, out, escape);
    return out;
}

std::vector<Diagnostic> errors_of(std::string_view text, SourcePosition start = {}) {
    std::vector<Diagnostic> d;
    (void)Template::compile(text, d, start);
    return d;
}

RenderContext english() {
    RenderContext ctx;
    ctx.language = Language::en;
    ctx.name = "Sam Tremblay";
    ctx.due_date = year{2027} / February / 14;
    ctx.days_left = 60;
    ctx.program_name = "Driver's licence";
    return ctx;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(template_compile)

BOOST_AUTO_TEST_CASE(unknown_placeholder_has_line_and_column) {
    const auto d = errors_of("Hello,\n  see {{nme}} soon");
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(d[0].line == 2);
    BOOST_TEST(d[0].column == 7);
    BOOST_TEST(d[0].message.find("unknown placeholder 'nme'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(columns_count_characters_not_bytes) {
    const auto d = errors_of("Él à {{nom}}");
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(d[0].line == 1);
    BOOST_TEST(d[0].column == 6);
}

BOOST_AUTO_TEST_CASE(unclosed_braces) {
    const auto d = errors_of("Hi {{name");
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(d[0].line == 1);
    BOOST_TEST(d[0].column == 4);
    BOOST_TEST(d[0].message.find("unclosed '{{'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(placeholder_must_close_on_its_line_and_parsing_goes_on) {
    const auto d = errors_of("a {{name\nb }} {{bad}} {{x {{due_date}}");
    BOOST_REQUIRE_EQUAL(d.size(), 3U);
    BOOST_TEST((d[0].line == 1 && d[0].column == 3));
    BOOST_TEST(d[0].message.find("unclosed") != std::string::npos);
    BOOST_TEST((d[1].line == 2 && d[1].column == 6));
    BOOST_TEST(d[1].message.find("unknown placeholder 'bad'") != std::string::npos);
    BOOST_TEST((d[2].line == 2 && d[2].column == 14));
    BOOST_TEST(d[2].message.find("unclosed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_and_bad_data_keys) {
    const auto d = errors_of("{{}} {{ }} {{data.}} {{data.a b}} {{data.ok_key-1}}");
    BOOST_REQUIRE_EQUAL(d.size(), 4U);
    BOOST_TEST(d[0].message.find("empty placeholder") != std::string::npos);
    BOOST_TEST(d[1].message.find("empty placeholder") != std::string::npos);
    BOOST_TEST(d[2].message.find("invalid data key") != std::string::npos);
    BOOST_TEST(d[3].message.find("invalid data key 'a b'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(start_position_shifts_diagnostics) {
    const auto d = errors_of("x\n{{oops}}", SourcePosition{5, 10});
    BOOST_REQUIRE_EQUAL(d.size(), 1U);
    BOOST_TEST(d[0].line == 6);
    BOOST_TEST(d[0].column == 1);
    const auto first = errors_of("{{oops}}", SourcePosition{1, 10});
    BOOST_REQUIRE_EQUAL(first.size(), 1U);
    BOOST_TEST(first[0].column == 10);
}

BOOST_AUTO_TEST_CASE(parse_reports_every_problem_as_line_colon_column) {
    auto t = Template::parse("{{a}}\n{{b");
    BOOST_REQUIRE(!t.ok());
    BOOST_TEST(t.error().code == "template-syntax");
    BOOST_TEST(t.error().message ==
               "1:1: unknown placeholder 'a': expected name, due_date, weekday, days_left, program, "
               "unsubscribe_url or data.KEY\n"
               "2:1: unclosed '{{': expected '}}' before the end of the line");
}

BOOST_AUTO_TEST_CASE(segments_are_compiled_once) {
    const Template t = compiled("Hi {{name|there}}, \\{{ {{data.renewal_url}}!");
    const auto& s = t.segments();
    BOOST_REQUIRE_EQUAL(s.size(), 5U);
    BOOST_TEST((s[0].kind == Segment::Kind::literal && s[0].text == "Hi "));
    BOOST_TEST((s[1].kind == Segment::Kind::variable && s[1].variable == Variable::name));
    BOOST_TEST((s[1].has_default && s[1].fallback == "there"));
    BOOST_TEST((s[2].kind == Segment::Kind::literal && s[2].text == ", {{ "));  // merged with escape
    BOOST_TEST((s[3].variable == Variable::data && s[3].text == "renewal_url" && !s[3].has_default));
    BOOST_TEST(s[4].text == "!");
    BOOST_TEST(t.uses(Variable::data));
    BOOST_TEST(!t.uses(Variable::due_date));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(template_render)

BOOST_AUTO_TEST_CASE(all_placeholders) {
    const Data data{{"fee", "90"}, {"renewal_url", "https://www.ontario.ca/renew"}};
    RenderContext ctx = english();
    ctx.data = &data;
    BOOST_TEST(render("Hello {{name}}, your {{program}} expires on {{due_date}} ({{days_left}} days). "
                      "Renew: {{data.renewal_url}}",
                      ctx) ==
               "Hello Sam Tremblay, your Driver's licence expires on February 14, 2027 (60 days). "
               "Renew: https://www.ontario.ca/renew");
}

BOOST_AUTO_TEST_CASE(french_context_formats_the_date_in_french) {
    RenderContext ctx = english();
    ctx.language = Language::fr;
    ctx.due_date = year{2027} / March / 1;
    BOOST_TEST(render("le {{due_date}}", ctx) == "le 1er mars 2027");
}

BOOST_AUTO_TEST_CASE(days_left_renders_absolute_value) {
    RenderContext ctx = english();
    ctx.days_left = -1;
    BOOST_TEST(render("{{days_left}}", ctx) == "1");
    ctx.days_left = 0;
    BOOST_TEST(render("{{days_left}}", ctx) == "0");
}

BOOST_AUTO_TEST_CASE(spaces_around_the_name_are_ignored) {
    BOOST_TEST(render("{{ name }}|{{ name | x}}", english()) == "Sam Tremblay|Sam Tremblay");
}

BOOST_AUTO_TEST_CASE(default_when_value_empty_or_absent) {
    RenderContext ctx = english();
    ctx.name = "";
    ctx.program_name = "";
    BOOST_TEST(render("Hello {{name|there}}!", ctx) == "Hello there!");
    BOOST_TEST(render("Bonjour {{name|}}!", ctx) == "Bonjour !");
    BOOST_TEST(render("[{{name}}]", ctx) == "[]");
    BOOST_TEST(render("{{program|ServiceOntario}}", ctx) == "ServiceOntario");
    ctx.name = "  \t";
    BOOST_TEST(render("Hello {{name|there}}", ctx) == "Hello there");
    ctx.due_date = year_month_day{};
    BOOST_TEST(render("{{due_date|soon}}", ctx) == "soon");
}

BOOST_AUTO_TEST_CASE(data_missing_uses_default) {
    RenderContext ctx = english();
    BOOST_TEST(render("{{data.renewal_url|https://www.ontario.ca}}", ctx) == "https://www.ontario.ca");
    const Data data{{"other", "x"}, {"renewal_url", ""}};
    ctx.data = &data;
    BOOST_TEST(render("{{data.renewal_url|fallback}}", ctx) == "fallback");
    BOOST_TEST(render("{{data.missing}}", ctx).empty());
    BOOST_TEST(render("{{data.other|y}}", ctx) == "x");
}

BOOST_AUTO_TEST_CASE(backslash_escapes_open_braces) {
    BOOST_TEST(render("\\{{name}} is {{name}}", english()) == "{{name}} is Sam Tremblay");
    BOOST_TEST(render("a\\b {c} }}", english()) == "a\\b {c} }}");
}

BOOST_AUTO_TEST_CASE(values_are_never_re_expanded) {
    RenderContext ctx = english();
    ctx.name = "{{name}} {{due_date}} \\{{";
    BOOST_TEST(render("Hi {{name}}", ctx) == "Hi {{name}} {{due_date}} \\{{");
    const Data data{{"renewal_url", "{{data.renewal_url}}"}};
    ctx.data = &data;
    BOOST_TEST(render("{{data.renewal_url}}", ctx) == "{{data.renewal_url}}");
}

BOOST_AUTO_TEST_CASE(html_escaping_of_values_and_literals) {
    RenderContext ctx = english();
    ctx.name = "<script>&\"'";
    BOOST_TEST(render("<b>{{name}}</b>", ctx, Escape::html) == "&lt;b&gt;&lt;script&gt;&amp;&quot;&#39;&lt;/b&gt;");
    BOOST_TEST(render("{{name}}", ctx, Escape::none) == "<script>&\"'");
    ctx.name = "";
    BOOST_TEST(render("{{name|<you>}}", ctx, Escape::html) == "&lt;you&gt;");
}

BOOST_AUTO_TEST_CASE(control_characters_dropped_from_values) {
    RenderContext ctx = english();
    const std::string name = std::string("An\x01n\x1b[1m\te\r\nB\x7F\xC2\x85") + "é\xC2\xA0" + "x";
    ctx.name = name;
    BOOST_TEST(render("{{name}}", ctx) == "Ann[1me\nBé\xC2\xA0x");
    BOOST_TEST(render("{{name}}", ctx, Escape::html) == "Ann[1me\nBé\xC2\xA0x");
    // Template text itself is kept as written.
    BOOST_TEST(render("a\tb", ctx) == "a\tb");
}

BOOST_AUTO_TEST_CASE(unicode_names_are_kept) {
    RenderContext ctx = english();
    ctx.name = "Geneviève Côté";
    BOOST_TEST(render("Bonjour {{name}},", ctx) == "Bonjour Geneviève Côté,");
}

BOOST_AUTO_TEST_CASE(render_appends_to_the_output) {
    std::string out = "x:";
    compiled("{{days_left}}").render(english(), out, Escape::none);
    BOOST_TEST(out == "x:60");
}

BOOST_AUTO_TEST_SUITE_END()
