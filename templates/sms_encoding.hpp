#pragma once
// SMS text analysis: which encoding a carrier will use (GSM 03.38 7-bit default alphabet or
// UCS-2), how many units and segments a text costs, and a normaliser that replaces
// typographic characters which would needlessly force UCS-2.
//
// GSM-7: 160 septets in one segment, 153 per part when concatenated (the user data header
// takes 7). Characters of the extension table (form feed ^ { } \ [ ] ~ | €) take two septets
// (escape + char) and an escape pair is never split across two parts.
// UCS-2: 70 UTF-16 code units in one segment, 67 per part; characters outside the BMP
// (emoji) take two units (a surrogate pair, which carriers also keep in one part).
#include <cstddef>
#include <string>
#include <string_view>

namespace rappel::templates::sms {

enum class Encoding { gsm7, ucs2 };

struct Analysis {
    Encoding encoding = Encoding::gsm7;
    std::size_t units = 0;     // GSM-7 septets (extension chars count 2) or UTF-16 code units
    int segments = 0;          // 0 for empty text; 1 if units fit one segment (160 / 70);
                               // otherwise parts of 153 septets / 67 units, packed so that no
                               // escape pair or surrogate pair is split
    std::string ucs2_forcers;  // distinct characters (UTF-8, in order of first appearance)
                               // that force UCS-2; invalid UTF-8 appears as U+FFFD
};

inline constexpr std::size_t gsm7_single_segment = 160;
inline constexpr std::size_t gsm7_part = 153;
inline constexpr std::size_t ucs2_single_segment = 70;
inline constexpr std::size_t ucs2_part = 67;

// Analyses UTF-8 text. Invalid UTF-8 sequences count as U+FFFD (which forces UCS-2).
Analysis analyse(std::string_view utf8);

// Replaces what would needlessly force UCS-2 — curly quotes ‘’‚‛ -> ', “”„ -> ", en/em
// dashes, figure dash, horizontal bar and minus sign -> -, ellipsis -> ..., no-break / narrow
// no-break / thin and other fixed-width spaces -> space — and removes zero-width spaces,
// joiners, word joiner, BOM and soft hyphen. Every other character is kept as written
// (French letters ç â ê î ô û ë ï œ stay even though they force UCS-2). Invalid UTF-8 bytes
// are replaced by U+FFFD.
std::string normalise(std::string_view utf8);

// True if the code point is in the GSM 03.38 basic table (1 septet) or extension table (2).
// Returns the septet count, or 0 if the code point is not representable in GSM-7.
int gsm7_septets(char32_t cp) noexcept;

constexpr std::string_view to_string(Encoding e) {
    switch (e) {
    case Encoding::gsm7: return "gsm7";
    case Encoding::ucs2: return "ucs2";
    }
    return "?";
}

}  // namespace rappel::templates::sms
