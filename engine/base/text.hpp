#pragma once
// The one copy of each text utility: UTF-8 decoding (ICU's U8_NEXT), percent-encoding and
// base64 (OpenSSL). Dates live in engine/base/time_format.hpp.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rappel {
namespace utf8 {

constexpr char32_t kReplacement = 0xFFFD;

struct CodePoint {
    char32_t value = kReplacement;  // U+FFFD when !valid
    std::size_t length = 1;         // bytes consumed, >= 1
    bool valid = false;
};

// The code point starting at s[i] (i < s.size()). Well-formed means Unicode's definition: no
// overlong forms, surrogates or values above U+10FFFF. An ill-formed sequence consumes its
// maximal well-formed prefix (at least one byte), so decoding always advances and one
// broken sequence stands for one U+FFFD.
CodePoint decode(std::string_view s, std::size_t i) noexcept;

// Calls f(CodePoint, byte offset) for each code point (or ill-formed sequence) in order.
template <class F>
void for_each_code_point(std::string_view s, F&& f) {
    for (std::size_t i = 0; i < s.size();) {
        const CodePoint cp = decode(s, i);
        f(cp, i);
        i += cp.length;
    }
}

// Byte offset of the first ill-formed sequence, or npos.
std::size_t find_invalid(std::string_view s) noexcept;
inline bool is_valid(std::string_view s) noexcept { return find_invalid(s) == std::string_view::npos; }

// Code points, each ill-formed sequence counting as one.
std::size_t count_code_points(std::string_view s) noexcept;

// Appends the UTF-8 form of `cp`; a surrogate or a value above U+10FFFF appends U+FFFD.
void append(std::string& out, char32_t cp);

// A byte 10xxxxxx: never the start of a character.
constexpr bool is_continuation(char c) noexcept { return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U; }

// The largest offset <= i (and <= s.size()) that is not inside a character, for cutting.
std::size_t boundary_at_or_before(std::string_view s, std::size_t i) noexcept;

}  // namespace utf8

// RFC 3986 percent-encoding: unreserved ASCII (A-Z a-z 0-9 - . _ ~) kept, every other byte
// %XX in upper case. Safe for a URL path segment, a query value and an
// application/x-www-form-urlencoded value alike (a space is "%20", which forms accept).
std::string percent_encode(std::string_view bytes);
// The same, appended to `out` (for building a form body in place).
void append_percent_encoded(std::string& out, std::string_view bytes);

// Standard base64 alphabet (RFC 4648 section 4) with '=' padding, no line breaks.
std::string base64_encode(std::string_view bytes);
// Accepts padded or unpadded input (at most two trailing '='); nullopt for any character
// outside the alphabet (whitespace included), '=' before the end, or a length that no
// encoding has (4n + 1 characters).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace rappel
