#include "engine/base/text.hpp"

#include <openssl/evp.h>
#include <unicode/utf8.h>

#include <cstdint>

namespace rappel {
namespace utf8 {

CodePoint decode(std::string_view s, std::size_t i) noexcept {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(s.data());
    const std::size_t start = i;
    UChar32 c = 0;
    U8_NEXT(bytes, i, s.size(), c);
    if (c < 0) return {kReplacement, i - start, false};
    return {static_cast<char32_t>(c), i - start, true};
}

std::size_t find_invalid(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80U) {
            ++i;
            continue;
        }
        const CodePoint cp = decode(s, i);
        if (!cp.valid) return i;
        i += cp.length;
    }
    return std::string_view::npos;
}

std::size_t count_code_points(std::string_view s) noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++n) {
        i += static_cast<unsigned char>(s[i]) < 0x80U ? 1 : decode(s, i).length;
    }
    return n;
}

void append(std::string& out, char32_t cp) {
    const auto u = static_cast<std::uint32_t>(cp);
    const std::uint32_t c = (u > 0x10FFFFU || (u >= 0xD800U && u <= 0xDFFFU)) ? kReplacement : u;
    std::uint8_t buf[U8_MAX_LENGTH];
    std::size_t n = 0;
    U8_APPEND_UNSAFE(buf, n, c);
    out.append(reinterpret_cast<const char*>(buf), n);
}

std::size_t boundary_at_or_before(std::string_view s, std::size_t i) noexcept {
    if (i >= s.size()) return s.size();
    while (i > 0 && is_continuation(s[i])) --i;
    return i;
}

}  // namespace utf8

void append_percent_encoded(std::string& out, std::string_view bytes) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            const char escaped[3] = {'%', hex[u >> 4U], hex[u & 0x0FU]};
            out.append(escaped, 3);
        }
    }
}

std::string percent_encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 3);
    append_percent_encoded(out, bytes);
    return out;
}

std::string base64_encode(std::string_view bytes) {
    if (bytes.empty()) return {};
    std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');  // EVP_EncodeBlock writes a NUL
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

namespace {

bool in_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
    std::size_t padding = 0;
    while (padding < 2 && !text.empty() && text.back() == '=') {
        text.remove_suffix(1);
        ++padding;
    }
    for (const char c : text)
        if (!in_alphabet(c)) return std::nullopt;
    const std::size_t tail = text.size() % 4;
    if (tail == 1) return std::nullopt;
    const std::size_t length = text.size() / 4 * 3 + (tail == 0 ? 0 : tail - 1);
    if (length == 0) return std::string{};
    // EVP_DecodeBlock wants whole 4-character groups and would turn '=' into zero bytes it
    // still counts; 'A' (zero bits) fills the last group instead, and the result is cut to
    // the length the characters carry.
    std::string group{text};
    if (tail != 0) group.append(4 - tail, 'A');
    std::string out(group.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(group.data()), static_cast<int>(group.size()));
    if (n < 0 || static_cast<std::size_t>(n) < length) return std::nullopt;
    out.resize(length);
    return out;
}

}  // namespace rappel
