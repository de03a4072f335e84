#include "templates/escape.hpp"

#include "engine/base/text.hpp"

#include <cstdint>

namespace rappel::templates {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026

// Characters a value never carries into a message.
bool is_dropped(char32_t cp) {
    if (cp < 0x20U) return cp != '\n';
    if (cp < 0x7FU) return false;
    if (cp <= 0x9FU) return true;                         // DEL and C1 controls
    if (cp >= 0x202AU && cp <= 0x202EU) return true;      // bidi embeddings and overrides
    if (cp >= 0x2066U && cp <= 0x2069U) return true;      // bidi isolates
    return cp == 0x2028U || cp == 0x2029U || cp == 0xFFFEU || cp == 0xFFFFU;
}

// Code points that attach to the one before: a value is never cut just before one of them.
bool extends_previous(char32_t cp) {
    return (cp >= 0x0300U && cp <= 0x036FU) || (cp >= 0x1AB0U && cp <= 0x1AFFU) ||
           (cp >= 0x20D0U && cp <= 0x20FFU) || (cp >= 0xFE00U && cp <= 0xFE0FU) ||
           (cp >= 0xFE20U && cp <= 0xFE2FU) || cp == 0x200DU || (cp >= 0x1F3FBU && cp <= 0x1F3FFU) ||
           (cp >= 0xE0020U && cp <= 0xE007FU) || (cp >= 0xE0100U && cp <= 0xE01EFU);
}

std::size_t previous_start(std::string_view s, std::size_t i) {
    if (i == 0) return 0;
    --i;
    while (i > 0 && utf8::is_continuation(s[i])) --i;
    return i;
}

// Byte length of the part of `value` kept when it must be cut to max_chars characters, or
// npos when it fits.
std::size_t cut_position(std::string_view value, std::size_t max_chars) {
    std::size_t kept = 0;
    std::size_t cut = 0;
    std::size_t i = 0;
    while (i < value.size()) {
        const utf8::CodePoint d = utf8::decode(value, i);
        if (!d.valid || !is_dropped(d.value)) {
            if (kept == max_chars - 1) cut = i;
            if (++kept > max_chars) break;
        }
        i += d.length;
    }
    if (kept <= max_chars) return std::string_view::npos;
    // Not before a combining mark, variation selector or skin tone; not after a joiner.
    while (cut > 0) {
        const utf8::CodePoint at = utf8::decode(value, cut);
        const std::size_t before = previous_start(value, cut);
        const utf8::CodePoint prev = utf8::decode(value, before);
        if (!(at.valid && extends_previous(at.value)) && !(prev.valid && prev.value == 0x200DU)) break;
        cut = before;
    }
    return cut;
}

std::string_view entity_for(char c) {
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return {};
    }
}

void append_clean(std::string& out, std::string_view value, bool escape) {
    std::size_t start = 0;
    std::size_t i = 0;
    auto flush = [&](std::size_t end) {
        if (end > start) out.append(value.data() + start, end - start);
    };
    while (i < value.size()) {
        const auto b = static_cast<unsigned char>(value[i]);
        if (b >= 0x20U && b < 0x7FU) {
            if (escape) {
                const std::string_view entity = entity_for(value[i]);
                if (!entity.empty()) {
                    flush(i);
                    out.append(entity);
                    start = i + 1;
                }
            }
            ++i;
            continue;
        }
        if (b == '\n') {
            ++i;
            continue;
        }
        const utf8::CodePoint d = b < 0x80U ? utf8::CodePoint{b, 1, true} : utf8::decode(value, i);
        if (!d.valid) {
            flush(i);
            out.append(kReplacement);
            start = i + d.length;
        } else if (is_dropped(d.value)) {
            flush(i);
            start = i + d.length;
        }
        i += d.length;
    }
    flush(i);
}

bool is_ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Length of the web address starting at text[i], or 0.
std::size_t url_length(std::string_view text, std::size_t i) {
    const std::string_view rest = text.substr(i);
    std::size_t scheme = 0;
    if (rest.starts_with("https://")) {
        scheme = 8;
    } else if (rest.starts_with("http://")) {
        scheme = 7;
    } else {
        return 0;
    }
    if (i > 0 && (is_ascii_alnum(text[i - 1]) || text[i - 1] == '/' || text[i - 1] == '.')) return 0;
    std::size_t n = scheme;
    while (n < rest.size()) {
        const auto b = static_cast<unsigned char>(rest[n]);
        if (b <= 0x20U || b >= 0x7FU || rest[n] == '<' || rest[n] == '>' || rest[n] == '"' || rest[n] == '\'') break;
        ++n;
    }
    // Sentence punctuation after an address is not part of it.
    while (n > scheme && std::string_view(".,;:!?)]").find(rest[n - 1]) != std::string_view::npos) --n;
    return n > scheme ? n : 0;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

}  // namespace

void append_value(std::string& out, std::string_view value, Escape escape, std::size_t max_chars) {
    const bool escaped = escape != Escape::none;
    if (max_chars > 0 && value.size() > max_chars) {  // bytes >= characters: only then can it be too long
        const std::size_t cut = cut_position(value, max_chars);
        if (cut != std::string_view::npos) {
            append_clean(out, value.substr(0, cut), escaped);
            out.append(kEllipsis);
            return;
        }
    }
    append_clean(out, value, escaped);
}

void append_html_escaped(std::string& out, std::string_view text) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const std::string_view entity = entity_for(text[i]);
        if (entity.empty()) continue;
        out.append(text.substr(start, i - start));
        out.append(entity);
        start = i + 1;
    }
    out.append(text.substr(start));
}

void append_text_as_html(std::string& out, std::string_view text) {
    out.append("<p>");
    std::size_t start = 0;  // of the plain run not yet appended
    std::size_t i = 0;
    auto flush = [&](std::size_t end) {
        if (end > start) append_html_escaped(out, text.substr(start, end - start));
    };
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\n') {
            flush(i);
            // A run of line breaks, possibly with spaces on the lines between them.
            int newlines = 0;
            std::size_t j = i;
            while (j < text.size() && (text[j] == '\n' || is_space(text[j]))) {
                if (text[j] == '\n') ++newlines;
                ++j;
            }
            out.append(newlines >= 2 ? "</p>\n<p>" : "<br>\n");
            i = j;
            start = i;
            continue;
        }
        if (c == 'h') {
            if (const std::size_t n = url_length(text, i); n > 0) {
                flush(i);
                const std::string_view url = text.substr(i, n);
                out.append("<a href=\"");
                append_html_escaped(out, url);
                out.append("\">");
                append_html_escaped(out, url);
                out.append("</a>");
                i += n;
                start = i;
                continue;
            }
        }
        ++i;
    }
    flush(i);
    out.append("</p>");
}

}  // namespace rappel::templates
