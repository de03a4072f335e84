// Cleaning, cutting and escaping of inserted values; plain text as HTML.
#include "templates/escape.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace rappel::templates;

namespace {

std::string value(std::string_view v, Escape escape = Escape::none, std::size_t max = 0) {
    std::string out;
    append_value(out, v, escape, max);
    return out;
}

std::string html(std::string_view text) {
    std::string out;
    append_text_as_html(out, text);
    return out;
}

std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(escape)

BOOST_AUTO_TEST_CASE(controls_bidi_overrides_and_noncharacters_are_dropped) {
    // C0 (tab too), DEL, C1 (U+0085), RLO U+202E, LRI U+2066, PDI U+2069, U+2028, U+FFFF.
    BOOST_TEST(value("a\x01\tb\x7F\xC2\x85" "c\xE2\x80\xAE" "d\xE2\x81\xA6" "e\xE2\x81\xA9\xE2\x80\xA8\xEF\xBF\xBF" "f") ==
               "abcdef");
    BOOST_TEST(value("line\nnext") == "line\nnext");
    // Right-to-left text itself stays as written.
    BOOST_TEST(value("שלום עולם مرحبا") == "שלום עולם مرحبا");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_replacement_characters) {
    BOOST_TEST(value("a\xC3(b\xFF" "c\xE2\x82") == "a\xEF\xBF\xBD(b\xEF\xBF\xBD" "c\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_CASE(escaping_for_markup) {
    BOOST_TEST(value("<script>&\"']]>{{", Escape::html) == "&lt;script&gt;&amp;&quot;&#39;]]&gt;{{");
    BOOST_TEST(value("<script>&\"']]>{{", Escape::xml) == "&lt;script&gt;&amp;&quot;&#39;]]&gt;{{");
    BOOST_TEST(value("<script>&\"']]>{{", Escape::none) == "<script>&\"']]>{{");
}

BOOST_AUTO_TEST_CASE(long_values_are_cut_with_an_ellipsis) {
    BOOST_TEST(value("abcdef", Escape::none, 6) == "abcdef");
    BOOST_TEST(value("abcdefg", Escape::none, 6) == "abcde…");
    // Characters, not bytes: 6 accented letters fit in 6.
    BOOST_TEST(value("éééééé", Escape::none, 6) == "éééééé");
    BOOST_TEST(value("ééééééé", Escape::none, 6) == "ééééé…");
    // Dropped characters do not count.
    BOOST_TEST(value("ab\x01\x02\x03\x04\x05" "cdef", Escape::none, 6) == "abcdef");
    // Escaping comes after cutting: the limit is on the value, never a broken entity.
    BOOST_TEST(value("&&&&&&&", Escape::html, 4) == "&amp;&amp;&amp;…");
    const std::string huge(10000, 'x');
    const std::string cut = value(huge, Escape::none, 200);
    BOOST_TEST(code_points(cut) == 200U);
    BOOST_TEST(cut.ends_with("x…"));
}

BOOST_AUTO_TEST_CASE(cuts_never_split_a_character_or_cluster) {
    // Emoji (4 bytes each) are whole characters.
    BOOST_TEST(value("😀😀😀😀", Escape::none, 3) == "😀😀…");
    // e + combining acute: the cut moves before the base letter.
    BOOST_TEST(value("abe\xCC\x81" "fg", Escape::none, 4) == "ab…");
    // A zero-width-joiner sequence (👩‍💻) is not left dangling.
    BOOST_TEST(value("a👩\xE2\x80\x8D💻bc", Escape::none, 4) == "a…");
}

BOOST_AUTO_TEST_CASE(text_as_html_paragraphs_breaks_and_links) {
    BOOST_TEST(html("Hello <A & B>,\n\nLine one\nline two.\n  \n\nEnd") ==
               "<p>Hello &lt;A &amp; B&gt;,</p>\n<p>Line one<br>\nline two.</p>\n<p>End</p>");
    BOOST_TEST(html("Renew at https://x.test/a?b=1&c=2. Or http://y.test.") ==
               "<p>Renew at <a href=\"https://x.test/a?b=1&amp;c=2\">https://x.test/a?b=1&amp;c=2</a>. "
               "Or <a href=\"http://y.test\">http://y.test</a>.</p>");
    // Quotes and angle brackets end an address; nothing but http(s) becomes a link.
    BOOST_TEST(html("https://x.test/\"onmouseover=\"alert(1) javascript:alert(1) xhttps://no") ==
               "<p><a href=\"https://x.test/\">https://x.test/</a>&quot;onmouseover=&quot;alert(1) "
               "javascript:alert(1) xhttps://no</p>");
    BOOST_TEST(html("https://") == "<p>https://</p>");
}

BOOST_AUTO_TEST_SUITE_END()
