#define BOOST_TEST_MODULE sms
#include "templates/sms_encoding.hpp"

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <string>
#include <string_view>

using namespace rappel::templates::sms;

namespace {

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sms_analyse)

BOOST_AUTO_TEST_CASE(empty_text_has_no_segment) {
    const Analysis a = analyse("");
    BOOST_TEST((a.encoding == Encoding::gsm7));
    BOOST_TEST(a.units == 0u);
    BOOST_TEST(a.segments == 0);
    BOOST_TEST(a.ucs2_forcers.empty());
}

BOOST_AUTO_TEST_CASE(gsm7_single_segment_boundary_160_161) {
    const Analysis a160 = analyse(repeat("a", 160));
    BOOST_TEST((a160.encoding == Encoding::gsm7));
    BOOST_TEST(a160.units == 160u);
    BOOST_TEST(a160.segments == 1);

    const Analysis a161 = analyse(repeat("a", 161));
    BOOST_TEST((a161.encoding == Encoding::gsm7));
    BOOST_TEST(a161.units == 161u);
    BOOST_TEST(a161.segments == 2);
}

BOOST_AUTO_TEST_CASE(gsm7_multipart_boundary_306_307) {
    BOOST_TEST(analyse(repeat("a", 306)).segments == 2);  // 153 × 2
    BOOST_TEST(analyse(repeat("a", 307)).segments == 3);
    BOOST_TEST(analyse(repeat("a", 459)).segments == 3);  // 153 × 3
    BOOST_TEST(analyse(repeat("a", 460)).segments == 4);
}

BOOST_AUTO_TEST_CASE(ucs2_single_segment_boundary_70_71) {
    const Analysis a70 = analyse(repeat("ç", 70));
    BOOST_TEST((a70.encoding == Encoding::ucs2));
    BOOST_TEST(a70.units == 70u);
    BOOST_TEST(a70.segments == 1);

    const Analysis a71 = analyse(repeat("ç", 71));
    BOOST_TEST(a71.units == 71u);
    BOOST_TEST(a71.segments == 2);
}

BOOST_AUTO_TEST_CASE(ucs2_multipart_boundary_134_135) {
    // One forcing character, the rest ASCII: the whole message is UCS-2.
    const Analysis a134 = analyse("ç" + repeat("a", 133));
    BOOST_TEST((a134.encoding == Encoding::ucs2));
    BOOST_TEST(a134.units == 134u);
    BOOST_TEST(a134.segments == 2);  // 67 × 2

    const Analysis a135 = analyse("ç" + repeat("a", 134));
    BOOST_TEST(a135.units == 135u);
    BOOST_TEST(a135.segments == 3);
}

BOOST_AUTO_TEST_CASE(extension_characters_count_two_septets) {
    for (std::string_view ch : {"^", "{", "}", "\\", "[", "]", "~", "|", "€", "\f"}) {
        const Analysis a = analyse(ch);
        BOOST_TEST_CONTEXT("character " << ch) {
            BOOST_TEST((a.encoding == Encoding::gsm7));
            BOOST_TEST(a.units == 2u);
            BOOST_TEST(a.segments == 1);
        }
    }
    // 80 euro signs are 160 septets: one segment; one more septet makes two.
    BOOST_TEST(analyse(repeat("€", 80)).units == 160u);
    BOOST_TEST(analyse(repeat("€", 80)).segments == 1);
    BOOST_TEST(analyse(repeat("€", 80) + "a").segments == 2);
    // 159 plain + one extension char = 161 septets: no longer fits one segment.
    BOOST_TEST(analyse(repeat("a", 159) + "|").units == 161u);
    BOOST_TEST(analyse(repeat("a", 159) + "|").segments == 2);
}

BOOST_AUTO_TEST_CASE(escape_pair_is_not_split_at_a_part_boundary) {
    // 152 septets, then '{' would take septets 153 and 154: it moves whole to part 2, which
    // then holds 2 + 151 = 153, and the last 'b' needs a third part, although
    // ceil(306 / 153) would say 2.
    const std::string straddling = repeat("a", 152) + "{" + repeat("b", 152);
    const Analysis s = analyse(straddling);
    BOOST_TEST(s.units == 306u);
    BOOST_TEST(s.segments == 3);

    // Same length, with the escape pair ending exactly at septet 153: two parts.
    const Analysis fits = analyse(repeat("a", 151) + "{" + repeat("b", 153));
    BOOST_TEST(fits.units == 306u);
    BOOST_TEST(fits.segments == 2);

    // A plain 306-septet text for comparison.
    BOOST_TEST(analyse(repeat("a", 306)).segments == 2);
}

BOOST_AUTO_TEST_CASE(surrogate_pair_is_not_split_at_a_part_boundary) {
    // 66 units, an emoji (2 units) that would straddle unit 67, then 66 more: 134 units
    // but three parts.
    const Analysis a = analyse(repeat("ç", 66) + "😀" + repeat("ç", 66));
    BOOST_TEST(a.units == 134u);
    BOOST_TEST(a.segments == 3);
    const Analysis b = analyse(repeat("ç", 65) + "😀" + repeat("ç", 67));
    BOOST_TEST(b.units == 134u);
    BOOST_TEST(b.segments == 2);
}

BOOST_AUTO_TEST_CASE(e_acute_and_other_gsm_letters_stay_gsm7) {
    const Analysis a = analyse("Café à Montréal, è ù ì ò É Ç Ø å Ñ ü ß £ ¥ § ¿ ¡ @ $ _ Δ");
    BOOST_TEST((a.encoding == Encoding::gsm7));
    BOOST_TEST(a.ucs2_forcers.empty());
}

BOOST_AUTO_TEST_CASE(french_letters_force_ucs2_and_are_listed_once_in_order) {
    const Analysis a = analyse("Ça, ç ê œ ç ê — é");
    BOOST_TEST((a.encoding == Encoding::ucs2));
    // Ç is in the GSM basic table, lower-case ç is not; é is GSM.
    BOOST_TEST(a.ucs2_forcers == "çêœ—");
    BOOST_TEST(a.units == 17u);

    for (std::string_view ch : {"ç", "â", "ê", "î", "ô", "û", "ë", "ï", "œ"}) {
        BOOST_TEST_CONTEXT("character " << ch) {
            const Analysis f = analyse(std::string("Bonjour ") + std::string(ch));
            BOOST_TEST((f.encoding == Encoding::ucs2));
            BOOST_TEST(f.ucs2_forcers == ch);
        }
    }
}

BOOST_AUTO_TEST_CASE(emoji_counts_two_units) {
    const Analysis a = analyse("😀");
    BOOST_TEST((a.encoding == Encoding::ucs2));
    BOOST_TEST(a.units == 2u);
    BOOST_TEST(a.ucs2_forcers == "😀");
    BOOST_TEST(analyse(repeat("😀", 35)).segments == 1);  // 70 units
    BOOST_TEST(analyse(repeat("😀", 35) + "a").segments == 2);
}

BOOST_AUTO_TEST_CASE(ascii_outside_gsm_forces_ucs2) {
    BOOST_TEST(analyse("a`b").ucs2_forcers == "`");
    BOOST_TEST(analyse("a\tb").ucs2_forcers == "\t");
    BOOST_TEST((analyse("line\r\nnext").encoding == Encoding::gsm7));
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_ucs2_with_replacement_character) {
    const Analysis a = analyse("ab\xff" "c");
    BOOST_TEST((a.encoding == Encoding::ucs2));
    BOOST_TEST(a.units == 4u);
    BOOST_TEST(a.ucs2_forcers == "\xEF\xBF\xBD");
    // Truncated 3-byte sequence, overlong '/', encoded surrogate: each one U+FFFD per
    // maximal ill-formed subpart, and decoding always advances.
    BOOST_TEST(analyse("\xE2\x80").units == 1u);
    BOOST_TEST(analyse("\xC0\xAF").units == 2u);
    BOOST_TEST(analyse("\xED\xA0\x80").units == 3u);
}

BOOST_AUTO_TEST_CASE(encoding_names) {
    BOOST_TEST(to_string(Encoding::gsm7) == "gsm7");
    BOOST_TEST(to_string(Encoding::ucs2) == "ucs2");
    static_assert(to_string(Encoding::ucs2) == "ucs2");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sms_normalise)

BOOST_AUTO_TEST_CASE(curly_quotes_become_straight) {
    BOOST_TEST(normalise("‘a’ ‚b‛ “c” „d‟") == "'a' 'b' \"c\" \"d\"");
    BOOST_TEST(normalise("l’échéance") == "l'échéance");
}

BOOST_AUTO_TEST_CASE(dashes_and_minus_become_hyphen) {
    BOOST_TEST(normalise("a–b—c−d‐e‑f‒g―h") == "a-b-c-d-e-f-g-h");
}

BOOST_AUTO_TEST_CASE(ellipsis_becomes_three_dots) {
    BOOST_TEST(normalise("Attendez…") == "Attendez...");
}

BOOST_AUTO_TEST_CASE(fixed_width_spaces_become_space) {
    // NBSP, narrow NBSP (French "Date :"), thin space, em space, hair space.
    BOOST_TEST(normalise("1\u00A0000 Date\u202F: 2\u2009h\u2003x\u200Ay") ==
               "1 000 Date : 2 h x y");
}

BOOST_AUTO_TEST_CASE(zero_width_characters_and_soft_hyphen_are_removed) {
    BOOST_TEST(normalise("re\u200Bnew\u200C al\u200D\u2060\uFEFFs\u00ADoon") == "renew alsoon");
}

BOOST_AUTO_TEST_CASE(emoji_joiner_is_kept) {
    const std::string family = "👩\u200D👧";
    BOOST_TEST(normalise(family) == family);
}

BOOST_AUTO_TEST_CASE(keeps_french_letters_and_everything_else) {
    const std::string text = "Geneviève Côté, votre permis échoit le 1er mars. Œuvre, ça, "
                             "île, hôte, dû, Noël, naïf, cœur « guillemets » 😀 €";
    BOOST_TEST(normalise(text) == text);
    BOOST_TEST(normalise("") == "");
}

BOOST_AUTO_TEST_CASE(normalising_curly_quotes_makes_text_gsm7) {
    const std::string text = "Don’t forget: “renew” your licence – today…\u00A0Thanks";
    BOOST_TEST((analyse(text).encoding == Encoding::ucs2));
    const std::string n = normalise(text);
    BOOST_TEST(n == "Don't forget: \"renew\" your licence - today... Thanks");
    const Analysis a = analyse(n);
    BOOST_TEST((a.encoding == Encoding::gsm7));
    BOOST_TEST(a.ucs2_forcers.empty());
    BOOST_TEST(a.units == n.size());
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_replacement_character) {
    BOOST_TEST(normalise("a\xff" "b") == "a\xEF\xBF\xBD" "b");
}

BOOST_AUTO_TEST_SUITE_END()
