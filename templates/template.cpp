#include "templates/template.hpp"

#include "engine/base/text.hpp"
#include "templates/date_format.hpp"
#include "templates/number_format.hpp"

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
constexpr std::string_view kPluralPrefix = "plural:";
constexpr std::size_t kMaxQuoted = 40;

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool all_spaces(std::string_view s) { return std::all_of(s.begin(), s.end(), is_space); }

bool is_data_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

// Shortened for messages, so a runaway placeholder does not flood the error list.
std::string quoted(std::string_view s) {
    if (s.size() <= kMaxQuoted) return fmt::format("'{}'", s);
    const std::size_t cut = utf8::boundary_at_or_before(s, kMaxQuoted);
    return fmt::format("'{}...'", s.substr(0, cut));
}

std::optional<Variable> builtin_variable(std::string_view name, bool layout) {
    if (name == "name") return Variable::name;
    if (name == "due_date") return Variable::due_date;
    if (name == "program") return Variable::program;
    if (name == "days_left") return Variable::days_left;
    if (name == "weekday") return Variable::weekday;
    if (name == "unsubscribe_url") return Variable::unsubscribe_url;
    if (layout && name == "subject") return Variable::subject;
    if (layout && name == "content") return Variable::content;
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
            } else if (!utf8::is_continuation(text_[i_])) {
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
    explicit Builder(bool markup) : markup_(markup) {}

    void literal(std::string_view text) { pending_.append(text); }

    // Drops `n` spaces or tabs at the end of the pending literal text (a standalone tag's indent).
    void drop_trailing(std::size_t n) {
        while (n > 0 && !pending_.empty() && is_space(pending_.back())) {
            pending_.pop_back();
            --n;
        }
    }

    std::size_t push(Segment segment) {
        flush();
        segments_.push_back(std::move(segment));
        return segments_.size() - 1;
    }

    // Index the next segment will have.
    std::uint32_t next_index() {
        flush();
        return static_cast<std::uint32_t>(segments_.size());
    }

    Segment& at(std::size_t i) { return segments_[i]; }

    std::vector<Segment> finish() {
        flush();
        return std::move(segments_);
    }

private:
    void flush() {
        if (pending_.empty()) return;
        Segment s;
        s.kind = markup_ ? Segment::Kind::markup : Segment::Kind::literal;
        s.text = std::move(pending_);
        segments_.push_back(std::move(s));
        pending_.clear();
    }

    bool markup_ = false;
    std::vector<Segment> segments_;
    std::string pending_;
};

void add_diagnostic(std::vector<Diagnostic>& out, SourcePosition at, std::string message) {
    out.push_back(Diagnostic{at.line, at.column, std::move(message)});
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out.append(", ");
        out.append(item);
    }
    return out;
}

struct OpenSection {
    std::string name;  // as written, without '?'
    SourcePosition at;
    std::size_t index = 0;
};

class Compiler {
public:
    Compiler(std::string_view text, std::vector<Diagnostic>& diagnostics, const CompileOptions& options)
        : text_(text), diagnostics_(diagnostics), options_(options), builder_(options.layout),
          cursor_(text, options.start) {}

    std::vector<Segment> run() {
        while (!cursor_.done()) {
            if (cursor_.starts_with(kEscapedOpen)) {
                builder_.literal(kOpen);
                cursor_.advance(kEscapedOpen.size());
                continue;
            }
            if (!cursor_.starts_with(kOpen)) {
                // Copy everything up to the next possible tag or escape in one go.
                const std::string_view rest = cursor_.rest();
                std::size_t n = rest.find_first_of("{\\", 1);
                if (n == std::string_view::npos) n = rest.size();
                builder_.literal(rest.substr(0, n));
                cursor_.advance(n);
                continue;
            }
            tag();
        }
        for (const OpenSection& open : open_) {
            error(open.at, fmt::format("unclosed section {}: expected '{{{{/{}}}}}' before the end of the template",
                                       quoted("{{#" + open.name + "}}"), open.name));
        }
        const auto end = builder_.next_index();
        for (const OpenSection& open : open_) builder_.at(open.index).end = end;
        return builder_.finish();
    }

private:
    void error(SourcePosition at, std::string message) { add_diagnostic(diagnostics_, at, std::move(message)); }

    void tag() {
        const SourcePosition at = cursor_.position();
        const std::size_t tag_start = cursor_.index();
        const std::string_view after_open = cursor_.rest().substr(kOpen.size());
        const std::size_t close = after_open.find(kClose);
        const std::size_t line_end = after_open.find('\n');
        const std::size_t reopen = after_open.find(kOpen);
        if (close == std::string_view::npos || (line_end != std::string_view::npos && line_end < close) ||
            (reopen != std::string_view::npos && reopen < close)) {
            error(at, "unclosed '{{': expected '}}' before the end of the line");
            // Resume at the next "{{" on this line, or at the next line.
            std::size_t resume = std::min(line_end, reopen);
            if (resume == std::string_view::npos) resume = after_open.size();
            cursor_.advance(kOpen.size() + resume);
            return;
        }
        const std::string_view inner = after_open.substr(0, close);
        const std::size_t tag_end = tag_start + kOpen.size() + close + kClose.size();
        const std::string_view trimmed = trim(inner);
        if (!trimmed.empty() && (trimmed.front() == '#' || trimmed.front() == '^' || trimmed.front() == '/')) {
            // A section tag alone on its line (spaces around it allowed) takes the whole line.
            const std::size_t line_start = tag_start == 0 ? 0 : text_.rfind('\n', tag_start - 1) + 1;
            std::size_t eol = text_.find('\n', tag_end);
            if (eol == std::string_view::npos) eol = text_.size();
            const bool standalone = all_spaces(text_.substr(line_start, tag_start - line_start)) &&
                                    all_spaces(text_.substr(tag_end, eol - tag_end));
            if (standalone) builder_.drop_trailing(tag_start - line_start);
            section_tag(trimmed, at);
            cursor_.advance((standalone ? std::min(eol + 1, text_.size()) : tag_end) - tag_start);
            return;
        }
        if (auto segment = placeholder(inner, at)) builder_.push(std::move(*segment));
        cursor_.advance(tag_end - tag_start);
    }

    struct Name {
        Variable variable = Variable::name;
        std::string key;  // data key
    };

    // A placeholder or section name; reports the problem and returns nullopt if invalid.
    std::optional<Name> resolve(std::string_view name, SourcePosition at) {
        if (name.empty()) {
            error(at, "empty placeholder '{{}}'");
            return std::nullopt;
        }
        if (const auto builtin = builtin_variable(name, options_.layout)) return Name{*builtin, {}};
        if (name.starts_with(kDataPrefix)) {
            const std::string_view key = name.substr(kDataPrefix.size());
            bool valid = !key.empty();
            for (const char c : key) valid = valid && is_data_key_char(c);
            if (!valid) {
                error(at, fmt::format("invalid data key {} in placeholder: use letters, digits, '_' "
                                      "and '-', e.g. {{{{data.renewal_url}}}}",
                                      quoted(key)));
                return std::nullopt;
            }
            if (options_.data_fields != nullptr &&
                std::find(options_.data_fields->begin(), options_.data_fields->end(), key) ==
                    options_.data_fields->end()) {
                error(at, fmt::format("unknown data field {}: the campaign declares {}{}", quoted(key),
                                      options_.data_fields->empty() ? "none" : join(*options_.data_fields),
                                      options_.data_fields_origin.empty()
                                          ? std::string()
                                          : fmt::format(" (in {})", options_.data_fields_origin)));
                return std::nullopt;
            }
            return Name{Variable::data, std::string(key)};
        }
        error(at, fmt::format("unknown placeholder {}: expected name, due_date, weekday, days_left, program, "
                              "unsubscribe_url{} or data.KEY",
                              quoted(name), options_.layout ? ", subject, content" : ""));
        return std::nullopt;
    }

    void section_tag(std::string_view trimmed, SourcePosition at) {
        const char sigil = trimmed.front();
        std::string_view name = trim(trimmed.substr(1));
        const bool truthy = name.ends_with('?');
        if (truthy) name = trim(name.substr(0, name.size() - 1));
        if (sigil == '/') {
            close_section(name, at);
            return;
        }
        if (name.find('|') != std::string_view::npos) {
            error(at, fmt::format("a section tests a name without filter or default: {}",
                                  quoted(std::string(1, sigil) + std::string(name))));
            return;
        }
        const auto resolved = resolve(name, at);
        // An invalid name still opens a section, so its close tag matches and errors stay few.
        Segment segment;
        segment.kind = Segment::Kind::section;
        segment.inverted = sigil == '^';
        segment.truthy = truthy;
        if (resolved) {
            if (resolved->variable == Variable::subject || resolved->variable == Variable::content) {
                error(at, fmt::format("'{{{{{}{}}}}}' cannot be tested in a section", sigil, name));
            }
            segment.variable = resolved->variable;
            segment.text = resolved->key;
        }
        const std::size_t index = builder_.push(std::move(segment));
        open_.push_back(OpenSection{std::string(name), at, index});
    }

    void close_section(std::string_view name, SourcePosition at) {
        if (open_.empty()) {
            error(at, fmt::format("'{{{{/{}}}}}' closes no open section", name));
            return;
        }
        const OpenSection open = open_.back();
        open_.pop_back();
        if (open.name != name) {
            error(at, fmt::format("'{{{{/{}}}}}' does not close the open section '{{{{#{}}}}}' of {}:{}: "
                                  "expected '{{{{/{}}}}}'",
                                  name, open.name, open.at.line, open.at.column, open.name));
        }
        builder_.at(open.index).end = builder_.next_index();
    }

    // Parses what is between "{{" and "}}" of a placeholder.
    std::optional<Segment> placeholder(std::string_view inner, SourcePosition at) {
        Segment segment;
        segment.kind = Segment::Kind::variable;
        std::size_t bar = inner.find('|');
        const std::string_view name = trim(inner.substr(0, bar));
        if (name.ends_with('?')) {
            error(at, fmt::format("{}: a truth test ('?') is only for sections, e.g. {{{{#{}}}}}...{{{{/{}}}}}",
                                  quoted(name), name, name));
            return std::nullopt;
        }
        const auto resolved = resolve(name, at);
        if (!resolved) return std::nullopt;
        segment.variable = resolved->variable;
        segment.text = resolved->key;
        bool ok = true;
        // Filters, then at most one default: the first part that is not a filter is the
        // default, taken verbatim up to the closing braces.
        while (bar != std::string_view::npos) {
            const std::size_t part_start = bar + 1;
            const std::size_t next = inner.find('|', part_start);
            const std::string_view part = trim(inner.substr(part_start, next == std::string_view::npos
                                                                            ? std::string_view::npos
                                                                            : next - part_start));
            const bool money = part == "money";
            const bool plural = part.starts_with(kPluralPrefix);
            if (!money && !plural) {
                segment.has_default = true;
                segment.fallback = std::string(inner.substr(part_start));
                break;
            }
            if (segment.filter != Filter::none) {
                error(at, fmt::format("only one filter per placeholder: {}", quoted(trim(inner))));
                ok = false;
            } else if (money) {
                segment.filter = Filter::money;
                if (segment.variable != Variable::data) {
                    error(at, fmt::format("'money' formats data values, e.g. {{{{data.fee|money}}}}, not {}",
                                          quoted(name)));
                    ok = false;
                }
            } else {
                segment.filter = Filter::plural;
                ok = plural_forms(part.substr(kPluralPrefix.size()), segment, at) && ok;
                if (segment.variable != Variable::days_left && segment.variable != Variable::data) {
                    error(at, fmt::format("'plural' counts days_left or a data value, e.g. "
                                          "{{{{days_left|plural:day:days}}}}, not {}",
                                          quoted(name)));
                    ok = false;
                }
            }
            bar = next;
        }
        if (!ok) return std::nullopt;
        return segment;
    }

    bool plural_forms(std::string_view forms, Segment& segment, SourcePosition at) {
        const std::size_t colon = forms.find(':');
        const std::string_view one = trim(forms.substr(0, colon));
        const std::string_view other =
            colon == std::string_view::npos ? std::string_view{} : trim(forms.substr(colon + 1));
        if (one.empty() || other.empty() || other.find(':') != std::string_view::npos) {
            error(at, fmt::format("'plural' takes two forms, singular then plural: plural:day:days or "
                                  "plural:jour:jours, not {}",
                                  quoted(std::string(kPluralPrefix) + std::string(forms))));
            return false;
        }
        segment.one = std::string(one);
        segment.other = std::string(other);
        return true;
    }

    std::string_view text_;
    std::vector<Diagnostic>& diagnostics_;
    const CompileOptions& options_;
    Builder builder_;
    Cursor cursor_;
    std::vector<OpenSection> open_;
};

void append_int(std::string& out, long long n) {
    std::array<char, 24> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), n);
    if (ec == std::errc{}) out.append(buf.data(), end);
}

std::string_view data_value(const RenderContext& ctx, std::string_view key) {
    if (ctx.data == nullptr) return {};
    for (const auto& [k, v] : *ctx.data) {
        if (k == key) return v;
    }
    return {};
}

// The text value of a variable that has one (not the dates, days_left or content).
std::string_view text_value(const Segment& s, const RenderContext& ctx, const RenderOptions& options) {
    switch (s.variable) {
    case Variable::name: return ctx.name;
    case Variable::program: return ctx.program_name;
    case Variable::data: return data_value(ctx, s.text);
    case Variable::unsubscribe_url: return ctx.unsubscribe_url;
    case Variable::subject: return options.subject;
    case Variable::content: return options.content;
    case Variable::due_date:
    case Variable::weekday:
    case Variable::days_left: break;
    }
    return {};
}

void append_template_text(std::string& out, std::string_view text, Escape escape) {
    if (escape == Escape::none) {
        out.append(text);
    } else {
        append_html_escaped(out, text);
    }
}

void append_fallback(std::string& out, const Segment& segment, const RenderOptions& options) {
    if (segment.has_default) append_value(out, segment.fallback, options.escape);
}

void append_counted(std::string& out, long long n, const Segment& segment, Language language, Escape escape) {
    append_int(out, n);
    out.push_back(' ');
    append_template_text(out, plural_is_one(n, language) ? segment.one : segment.other, escape);
}

void render_variable(const Segment& s, const RenderContext& ctx, std::string& out, const RenderOptions& options) {
    switch (s.variable) {
    case Variable::due_date:
    case Variable::weekday:
        // Month, weekday names and digits only: nothing to escape.
        if (ctx.due_date.ok()) {
            const DateStyle style = s.variable == Variable::weekday ? DateStyle::weekday
                                    : options.spoken                ? DateStyle::spoken
                                                                    : DateStyle::written;
            append_date(out, ctx.due_date, ctx.language, style);
        } else {
            append_fallback(out, s, options);
        }
        return;
    case Variable::days_left: {
        const long long days = std::llabs(static_cast<long long>(ctx.days_left));
        if (s.filter == Filter::plural) {
            append_counted(out, days, s, ctx.language, options.escape);
        } else {
            append_int(out, days);
        }
        return;
    }
    case Variable::content: out.append(options.content); return;
    case Variable::name:
    case Variable::program:
    case Variable::data:
    case Variable::unsubscribe_url:
    case Variable::subject: break;
    }
    const std::string_view value = text_value(s, ctx, options);
    if (is_blank(value)) {
        append_fallback(out, s, options);
        return;
    }
    if (s.filter == Filter::money) {
        if (const auto cents = parse_amount_cents(value)) {
            append_money(out, *cents, ctx.language, options.spoken);  // digits, $, spaces: nothing to escape
            return;
        }
    } else if (s.filter == Filter::plural) {
        if (const auto n = parse_integer(value)) {
            append_counted(out, *n, s, ctx.language, options.escape);
            return;
        }
        append_value(out, value, options.escape, options.max_value_chars);
        out.push_back(' ');
        append_template_text(out, s.other, options.escape);
        return;
    }
    append_value(out, value, options.escape, options.max_value_chars);
}

bool section_shown(const Segment& s, const RenderContext& ctx, const RenderOptions& options) {
    bool shown = false;
    switch (s.variable) {
    case Variable::due_date:
    case Variable::weekday: shown = !s.truthy && ctx.due_date.ok(); break;
    case Variable::days_left: shown = !s.truthy || std::llabs(static_cast<long long>(ctx.days_left)) == 1; break;
    case Variable::name:
    case Variable::program:
    case Variable::data:
    case Variable::unsubscribe_url:
    case Variable::subject:
    case Variable::content: {
        const std::string_view value = text_value(s, ctx, options);
        shown = s.truthy ? is_truthy(value) : !is_blank(value);
        break;
    }
    }
    return s.inverted ? !shown : shown;
}

bool iequals(std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i]) return false;
    }
    return true;
}

}  // namespace

bool is_truthy(std::string_view value) {
    value = trim(value);
    for (const std::string_view yes : {"yes", "true", "oui", "vrai", "1"}) {
        if (iequals(value, yes)) return true;
    }
    return false;
}

Template Template::compile(std::string_view text, std::vector<Diagnostic>& diagnostics,
                           const CompileOptions& options) {
    Template t;
    t.segments_ = Compiler(text, diagnostics, options).run();
    return t;
}

Template Template::compile(std::string_view text, std::vector<Diagnostic>& diagnostics, SourcePosition start) {
    CompileOptions options;
    options.start = start;
    return compile(text, diagnostics, options);
}

Result<Template> Template::parse(std::string_view text, const CompileOptions& options) {
    std::vector<Diagnostic> diagnostics;
    Template t = compile(text, diagnostics, options);
    if (diagnostics.empty()) return t;
    std::string message;
    for (const auto& d : diagnostics) {
        if (!message.empty()) message.push_back('\n');
        fmt::format_to(std::back_inserter(message), "{}:{}: {}", d.line, d.column, d.message);
    }
    return Error{"template-syntax", std::move(message)};
}

void Template::render(const RenderContext& ctx, std::string& out, const RenderOptions& options) const {
    const std::size_t n = segments_.size();
    std::size_t i = 0;
    while (i < n) {
        const Segment& segment = segments_[i];
        switch (segment.kind) {
        case Segment::Kind::literal: append_template_text(out, segment.text, options.escape); break;
        case Segment::Kind::markup: out.append(segment.text); break;
        case Segment::Kind::variable: render_variable(segment, ctx, out, options); break;
        case Segment::Kind::section:
            if (!section_shown(segment, ctx, options)) {
                i = segment.end;
                continue;
            }
            break;
        }
        ++i;
    }
}

void Template::render(const RenderContext& ctx, std::string& out, Escape escape) const {
    RenderOptions options;
    options.escape = escape;
    render(ctx, out, options);
}

bool Template::uses(Variable v) const {
    return std::any_of(segments_.begin(), segments_.end(), [v](const Segment& s) {
        return (s.kind == Segment::Kind::variable || s.kind == Segment::Kind::section) && s.variable == v;
    });
}

std::vector<DataUse> Template::data_uses() const {
    std::vector<DataUse> uses;
    for (const Segment& s : segments_) {
        if ((s.kind != Segment::Kind::variable && s.kind != Segment::Kind::section) || s.variable != Variable::data) {
            continue;
        }
        auto it = std::find_if(uses.begin(), uses.end(), [&s](const DataUse& u) { return u.key == s.text; });
        if (it == uses.end()) {
            uses.push_back(DataUse{s.text});
            it = std::prev(uses.end());
        }
        if (s.kind == Segment::Kind::section) {
            (s.truthy ? it->truthy : it->tested) = true;
        } else if (s.filter == Filter::money) {
            it->money = true;
        } else if (s.filter == Filter::plural) {
            it->number = true;
        } else {
            it->inserted = true;
        }
    }
    return uses;
}

}  // namespace rappel::templates
