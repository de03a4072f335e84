#include "templates/sms_encoding.hpp"

#include "engine/base/text.hpp"

#include <cstdint>

namespace rappel::templates::sms {
namespace {

constexpr char32_t replacement_char = 0xFFFD;

using rappel::utf8::CodePoint;

// An ill-formed sequence is U+FFFD and consumes its maximal well-formed prefix.
CodePoint decode(std::string_view s, std::size_t i) noexcept { return rappel::utf8::decode(s, i); }
void append_utf8(std::string& out, char32_t cp) { rappel::utf8::append(out, cp); }

// Non-ASCII characters of the GSM 03.38 default alphabet (basic table).
constexpr char32_t gsm7_basic_non_ascii[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7,  // £ ¥ è é ù ì ò Ç
    0x00D8, 0x00F8, 0x00C5, 0x00E5,                                  // Ø ø Å å
    0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,  // Δ Φ Γ Λ Ω Π Ψ Σ
    0x0398, 0x039E,                                                  // Θ Ξ
    0x00C6, 0x00E6, 0x00DF, 0x00C9,                                  // Æ æ ß É
    0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,          // ¤ ¡ Ä Ö Ñ Ü §
    0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,                  // ¿ ä ö ñ ü à
};

bool is_surrogate_pair_char(char32_t cp) noexcept { return cp > 0xFFFF; }

// What `normalise` does with one code point.
enum class Action { keep, drop, replace };
struct Mapping {
    Action action = Action::keep;
    std::string_view replacement;
};

Mapping normalisation(char32_t cp) noexcept {
    switch (cp) {
    case 0x2018:  // ‘ left single quotation mark
    case 0x2019:  // ’ right single quotation mark (apostrophe)
    case 0x201A:  // ‚ single low-9 quotation mark
    case 0x201B:  // ‛ single high-reversed-9 quotation mark
        return {Action::replace, "'"};
    case 0x201C:  // “
    case 0x201D:  // ”
    case 0x201E:  // „
    case 0x201F:  // ‟
        return {Action::replace, "\""};
    case 0x2010:  // hyphen
    case 0x2011:  // non-breaking hyphen
    case 0x2012:  // figure dash
    case 0x2013:  // – en dash
    case 0x2014:  // — em dash
    case 0x2015:  // horizontal bar
    case 0x2212:  // − minus sign
        return {Action::replace, "-"};
    case 0x2026:  // … horizontal ellipsis
        return {Action::replace, "..."};
    case 0x00A0:  // no-break space
    case 0x202F:  // narrow no-break space (French typography before ; : ! ?)
    case 0x205F:  // medium mathematical space
        return {Action::replace, " "};
    case 0x00AD:  // soft hyphen
    case 0x200B:  // zero-width space
    case 0x200C:  // zero-width non-joiner
    case 0x200D:  // zero-width joiner (kept inside emoji sequences, see normalise)
    case 0x2060:  // word joiner
    case 0xFEFF:  // zero-width no-break space / BOM
        return {Action::drop, {}};
    default:
        break;
    }
    if (cp >= 0x2000 && cp <= 0x200A) return {Action::replace, " "};  // en quad .. hair space
    return {};
}

}  // namespace

int gsm7_septets(char32_t cp) noexcept {
    if (cp < 0x80) {
        switch (cp) {
        case '\n':
        case '\r': return 1;
        case '\f':
        case '^':
        case '{':
        case '}':
        case '\\':
        case '[':
        case ']':
        case '~':
        case '|': return 2;
        case '`': return 0;
        default: return (cp >= 0x20 && cp < 0x7F) ? 1 : 0;
        }
    }
    if (cp == 0x20AC) return 2;  // €
    for (char32_t c : gsm7_basic_non_ascii) {
        if (c == cp) return 1;
    }
    return 0;
}

Analysis analyse(std::string_view utf8) {
    Analysis a;
    if (utf8.empty()) return a;

    // First pass: GSM-7 septets, UTF-16 units, and the characters that force UCS-2.
    std::size_t septets = 0;
    std::size_t utf16 = 0;
    for (std::size_t i = 0; i < utf8.size();) {
        const CodePoint d = decode(utf8, i);
        const int s = gsm7_septets(d.value);
        if (s == 0) {
            std::string ch;
            append_utf8(ch, d.value);
            if (a.ucs2_forcers.find(ch) == std::string::npos) a.ucs2_forcers += ch;
        }
        septets += static_cast<std::size_t>(s);
        utf16 += is_surrogate_pair_char(d.value) ? 2 : 1;
        i += d.length;
    }
    a.encoding = a.ucs2_forcers.empty() ? Encoding::gsm7 : Encoding::ucs2;
    const bool gsm = a.encoding == Encoding::gsm7;
    a.units = gsm ? septets : utf16;
    if (a.units <= (gsm ? gsm7_single_segment : ucs2_single_segment)) {
        a.segments = 1;
        return a;
    }

    // Multipart: pack characters into parts, never splitting an escape pair (GSM-7) or a
    // surrogate pair (UCS-2) across two parts.
    const std::size_t part = gsm ? gsm7_part : ucs2_part;
    int parts = 1;
    std::size_t fill = 0;
    for (std::size_t i = 0; i < utf8.size();) {
        const CodePoint d = decode(utf8, i);
        const std::size_t cost = gsm ? static_cast<std::size_t>(gsm7_septets(d.value))
                                     : (is_surrogate_pair_char(d.value) ? 2u : 1u);
        if (fill + cost > part) {
            ++parts;
            fill = 0;
        }
        fill += cost;
        i += d.length;
    }
    a.segments = parts;
    return a;
}

std::string normalise(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
    char32_t previous = 0;
    for (std::size_t i = 0; i < utf8.size();) {
        const CodePoint d = decode(utf8, i);
        const Mapping m = normalisation(d.value);
        // A zero-width joiner after an emoji (or its variation selector) builds one emoji
        // out of several; the message is UCS-2 anyway, so removing it would only break it.
        const bool emoji_joiner =
            d.value == 0x200D && (previous > 0xFFFF || previous == 0xFE0F);
        if (m.action == Action::keep || emoji_joiner) {
            if (d.value == replacement_char) {
                append_utf8(out, d.value);
            } else {
                out.append(utf8.substr(i, d.length));
            }
        } else if (m.action == Action::replace) {
            out.append(m.replacement);
        }
        previous = d.value;
        i += d.length;
    }
    return out;
}

}  // namespace rappel::templates::sms
