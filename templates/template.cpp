#include "templates/template.hpp"

#include "templates/date_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <iterator>
#include <optional>

namespace rappel::templates {
namespace {

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";
constexpr std::string_view kEscapedOpen = "\\{{";
constexpr std::string_view kDataPrefix = "data.";
constexpr std::size_t kMaxQuoted = 40;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_data_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

// Shortened for messages, so a runaway placeholder does not flood the error list.
std::string quoted(std::string_view s) {
    if (s.size() <= kMaxQuoted) return fmt::format("'{}'", s);
    std::size_t cut = kMaxQuoted;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U) --cut;  // UTF-8 boundary
    return fmt::format("'{}...'", s.substr(0, cut));
}

std::optional<Variable> builtin_variable(std::string_view name) {
    if (name == "name") return Variable::name;
    if (name == "due_date") return Variable::due_date;
    if (name == "program") return Variable::program;
    if (name == "days_left") return Variable::days_left;
    return std::nullopt;
}

// Empty, or nothing but spaces and control characters: the default applies.
bool is_blank(std::string_view value) {
    for (const char c : value) {
        const auto b = static_cast<unsigned char>(c);
        if (b > 0x20U && b != 0x7FU) return false;
    }
    return true;
}

std::string_view html_entity(char c) {
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return {};
    }
}

// Walks the source text keeping a 1-based line and a column counted in characters.
class Cursor {
public:
    Cursor(std::string_view text, SourcePosition start) : text_(text), pos_(start) {}

    bool done() const { return i_ >= text_.size(); }
    std::size_t index() const { return i_; }
    SourcePosition position() const { return pos_; }
    std::string_view rest() const { return text_.substr(i_); }
    bool starts_with(std::string_view s) const { return rest().starts_with(s); }

    void advance(std::size_t bytes) {
        const std::size_t end = std::min(text_.size(), i_ + bytes);
        for (; i_ < end; ++i_) {
            const auto b = static_cast<unsigned char>(text_[i_]);
            if (b == '\n') {
                ++pos_.line;
                pos_.column = 1;
            } else if ((b & 0xC0U) != 0x80U) {  // not a UTF-8 continuation byte
                ++pos_.column;
            }
        }
    }

private:
    std::string_view text_;
    SourcePosition pos_;
    std::size_t i_ = 0;
};

class Builder {
public:
    void literal(std::string_view text) { pending_.append(text); }

    void variable(Segment segment) {
        flush();
        segments_.push_back(std::move(segment));
    }

    std::vector<Segment> finish() {
        flush();
        return std::move(segments_);
    }

private:
    void flush() {
        if (pending_.empty()) return;
        Segment s;
        s.kind = Segment::Kind::literal;
        s.text = std::move(pending_);
        segments_.push_back(std::move(s));
        pending_.clear();
    }

    std::vector<Segment> segments_;
    std::string pending_;
};

void add_diagnostic(std::vector<Diagnostic>& out, SourcePosition at, std::string message) {
    out.push_back(Diagnostic{at.line, at.column, std::move(message)});
}

// Parses what is between "{{" and "}}".
std::optional<Segment> parse_placeholder(std::string_view inner, SourcePosition at,
                                         std::vector<Diagnostic>& diagnostics) {
    Segment segment;
    segment.kind = Segment::Kind::variable;
    std::string_view name_part = inner;
    if (const auto bar = inner.find('|'); bar != std::string_view::npos) {
        name_part = inner.substr(0, bar);
        segment.has_default = true;
        segment.fallback = std::string(inner.substr(bar + 1));
    }
    const std::string_view name = trim(name_part);
    if (name.empty()) {
        add_diagnostic(diagnostics, at, "empty placeholder '{{}}'");
        return std::nullopt;
    }
    if (const auto builtin = builtin_variable(name)) {
        segment.variable = *builtin;
        return segment;
    }
    if (name.starts_with(kDataPrefix)) {
        const std::string_view key = name.substr(kDataPrefix.size());
        bool valid = !key.empty();
        for (const char c : key) valid = valid && is_data_key_char(c);
        if (!valid) {
            add_diagnostic(diagnostics, at,
                           fmt::format("invalid data key {} in placeholder: use letters, digits, '_' "
                                       "and '-', e.g. {{{{data.renewal_url}}}}",
                                       quoted(key)));
            return std::nullopt;
        }
        segment.variable = Variable::data;
        segment.text = std::string(key);
        return segment;
    }
    add_diagnostic(diagnostics, at,
                   fmt::format("unknown placeholder {}: expected name, due_date, program, days_left "
                               "or data.KEY",
                               quoted(name)));
    return std::nullopt;
}

void append_days(std::string& out, int days) {
    const long long magnitude = std::llabs(static_cast<long long>(days));
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), magnitude);
    if (ec == std::errc{}) out.append(buf.data(), end);
}

std::string_view data_value(const RenderContext& ctx, std::string_view key) {
    if (ctx.data == nullptr) return {};
    for (const auto& [k, v] : *ctx.data) {
        if (k == key) return v;
    }
    return {};
}

void append_fallback(std::string& out, const Segment& segment, Escape escape) {
    if (segment.has_default) append_value(out, segment.fallback, escape);
}

void append_or_default(std::string& out, const Segment& segment, std::string_view value, Escape escape) {
    if (is_blank(value)) {
        append_fallback(out, segment, escape);
    } else {
        append_value(out, value, escape);
    }
}

// Literal text as HTML: escaped, blank lines end a paragraph, single newlines become <br>.
std::string literal_to_html(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '\n') {
            const std::string_view entity = html_entity(text[i]);
            if (entity.empty()) {
                out.push_back(text[i]);
            } else {
                out.append(entity);
            }
            ++i;
            continue;
        }
        // A run of newlines, possibly with spaces on the lines between them.
        int newlines = 0;
        std::size_t j = i;
        while (j < text.size() && (text[j] == '\n' || is_space(text[j]))) {
            if (text[j] == '\n') ++newlines;
            ++j;
        }
        out.append(newlines >= 2 ? "</p>\n<p>" : "<br>\n");
        i = j;
    }
    return out;
}

}  // namespace

Template Template::compile(std::string_view text, std::vector<Diagnostic>& diagnostics, SourcePosition start) {
    Builder builder;
    Cursor cursor(text, start);
    while (!cursor.done()) {
        if (cursor.starts_with(kEscapedOpen)) {
            builder.literal(kOpen);
            cursor.advance(kEscapedOpen.size());
            continue;
        }
        if (!cursor.starts_with(kOpen)) {
            // Copy everything up to the next possible placeholder or escape in one go.
            const std::string_view rest = cursor.rest();
            std::size_t n = rest.find_first_of("{\\", 1);
            if (n == std::string_view::npos) n = rest.size();
            builder.literal(rest.substr(0, n));
            cursor.advance(n);
            continue;
        }
        const SourcePosition at = cursor.position();
        const std::string_view after_open = cursor.rest().substr(kOpen.size());
        const std::size_t close = after_open.find(kClose);
        const std::size_t line_end = after_open.find('\n');
        const std::size_t reopen = after_open.find(kOpen);
        if (close == std::string_view::npos || (line_end != std::string_view::npos && line_end < close) ||
            (reopen != std::string_view::npos && reopen < close)) {
            add_diagnostic(diagnostics, at, "unclosed '{{': expected '}}' before the end of the line");
            // Resume at the next "{{" on this line, or at the next line.
            std::size_t resume = std::min(line_end, reopen);
            if (resume == std::string_view::npos) resume = after_open.size();
            cursor.advance(kOpen.size() + resume);
            continue;
        }
        if (auto segment = parse_placeholder(after_open.substr(0, close), at, diagnostics)) {
            builder.variable(std::move(*segment));
        }
        cursor.advance(kOpen.size() + close + kClose.size());
    }
    Template t;
    t.segments_ = builder.finish();
    return t;
}

Result<Template> Template::parse(std::string_view text) {
    std::vector<Diagnostic> diagnostics;
    Template t = compile(text, diagnostics);
    if (diagnostics.empty()) return t;
    std::string message;
    for (const auto& d : diagnostics) {
        if (!message.empty()) message.push_back('\n');
        fmt::format_to(std::back_inserter(message), "{}:{}: {}", d.line, d.column, d.message);
    }
    return Error{"template-syntax", std::move(message)};
}

void Template::render(const RenderContext& ctx, std::string& out, Escape escape) const {
    for (const Segment& segment : segments_) {
        switch (segment.kind) {
        case Segment::Kind::literal:
            if (escape == Escape::html) {
                append_html_escaped(out, segment.text);
            } else {
                out.append(segment.text);
            }
            break;
        case Segment::Kind::markup:
            out.append(segment.text);
            break;
        case Segment::Kind::variable:
            switch (segment.variable) {
            case Variable::name: append_or_default(out, segment, ctx.name, escape); break;
            case Variable::program: append_or_default(out, segment, ctx.program_name, escape); break;
            case Variable::data:
                append_or_default(out, segment, data_value(ctx, segment.text), escape);
                break;
            case Variable::due_date:
                // Month names and digits only: nothing to escape.
                if (ctx.due_date.ok()) {
                    append_date(out, ctx.due_date, ctx.language);
                } else {
                    append_fallback(out, segment, escape);
                }
                break;
            case Variable::days_left: append_days(out, ctx.days_left); break;
            }
            break;
        }
    }
}

Template Template::to_html_paragraphs() const {
    Template html;
    auto add_markup = [&html](std::string text) {
        if (!html.segments_.empty() && html.segments_.back().kind == Segment::Kind::markup) {
            html.segments_.back().text.append(text);
            return;
        }
        Segment s;
        s.kind = Segment::Kind::markup;
        s.text = std::move(text);
        html.segments_.push_back(std::move(s));
    };
    add_markup("<p>");
    for (const Segment& segment : segments_) {
        switch (segment.kind) {
        case Segment::Kind::literal: add_markup(literal_to_html(segment.text)); break;
        case Segment::Kind::markup: add_markup(segment.text); break;
        case Segment::Kind::variable: html.segments_.push_back(segment); break;
        }
    }
    add_markup("</p>");
    return html;
}

bool Template::uses(Variable v) const {
    for (const Segment& s : segments_) {
        if (s.kind == Segment::Kind::variable && s.variable == v) return true;
    }
    return false;
}

void append_html_escaped(std::string& out, std::string_view text) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const std::string_view entity = html_entity(text[i]);
        if (entity.empty()) continue;
        out.append(text.substr(start, i - start));
        out.append(entity);
        start = i + 1;
    }
    out.append(text.substr(start));
}

void append_value(std::string& out, std::string_view value, Escape escape) {
    std::size_t start = 0;
    std::size_t i = 0;
    auto flush = [&](std::size_t end) {
        if (end > start) out.append(value.substr(start, end - start));
    };
    while (i < value.size()) {
        const auto b = static_cast<unsigned char>(value[i]);
        std::size_t drop = 0;
        if ((b < 0x20U && b != '\n') || b == 0x7FU) {
            drop = 1;  // C0 control or DEL
        } else if (b == 0xC2U && i + 1 < value.size()) {
            const auto next = static_cast<unsigned char>(value[i + 1]);
            if (next >= 0x80U && next <= 0x9FU) drop = 2;  // C1 control, U+0080..U+009F
        }
        if (drop > 0) {
            flush(i);
            i += drop;
            start = i;
            continue;
        }
        if (escape == Escape::html) {
            const std::string_view entity = html_entity(value[i]);
            if (!entity.empty()) {
                flush(i);
                out.append(entity);
                start = i + 1;
            }
        }
        ++i;
    }
    flush(i);
}

}  // namespace rappel::templates
