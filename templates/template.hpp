#pragma once
// One message template, compiled once into a flat list of segments and rendered many times
// without re-parsing.
//
// Syntax (UTF-8 text):
//   literal text           copied as is
//   {{name}}               holder's name
//   {{due_date}}           due date, spelled out in the message language ("1er mars 2027")
//   {{program}}            program display name in the message language
//   {{days_left}}          days between the stage's local date and the due date (absolute value)
//   {{data.KEY}}           value of the event's `data` entry KEY
//   {{name|there}}         text after '|' is used when the value is empty or absent
//   \{{                    a literal "{{"
// Spaces around the placeholder name are ignored (`{{ name }}`); the default after '|' is
// taken verbatim. A placeholder must close on the line where it opens. Inserted values are
// never interpreted as template syntax.
#include "engine/base/channel_kind.hpp"
#include "engine/base/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rappel::templates {

enum class Escape {
    none,  // values verbatim (control characters other than newline dropped)
    html,  // literals and values HTML-escaped: & < > " '
};

enum class Variable : std::uint8_t { name, due_date, program, days_left, data };

struct RenderContext {
    Language language = Language::en;
    std::string_view name;
    std::chrono::year_month_day due_date{};
    int days_left = 0;
    std::string_view program_name;
    const std::vector<std::pair<std::string, std::string>>* data = nullptr;
};

struct Segment {
    enum class Kind : std::uint8_t {
        literal,   // template text; HTML-escaped when rendering with Escape::html
        markup,    // already HTML (paragraph tags); inserted verbatim in every mode
        variable,  // a placeholder
    };
    Kind kind = Kind::literal;
    Variable variable = Variable::name;  // kind == variable
    bool has_default = false;            // kind == variable
    std::string text;                    // literal/markup text, or the data key
    std::string fallback;                // default value, when has_default
};

// A problem found while compiling, at a 1-based line and column (columns count characters).
struct Diagnostic {
    int line = 1;
    int column = 1;
    std::string message;
};

// Where a template's first character sits in its file, so diagnostics point into the file.
struct SourcePosition {
    int line = 1;
    int column = 1;
};

class Template {
public:
    Template() = default;

    // Compiles `text`, appending every problem found to `diagnostics`. The returned template
    // is usable only if nothing was appended.
    static Template compile(std::string_view text, std::vector<Diagnostic>& diagnostics,
                            SourcePosition start = {});
    // Convenience: error code "template-syntax", message "<line>:<col>: <msg>" per problem,
    // one per line.
    static Result<Template> parse(std::string_view text);

    // Appends the rendering to `out`. Never fails; allocates only by growing `out`.
    void render(const RenderContext& ctx, std::string& out, Escape escape) const;

    // The same template as an HTML fragment: literal text escaped, split into <p> paragraphs
    // on blank lines, single newlines turned into <br>. Render the result with Escape::html.
    Template to_html_paragraphs() const;

    const std::vector<Segment>& segments() const { return segments_; }
    bool uses(Variable v) const;
    bool empty() const { return segments_.empty(); }

private:
    std::vector<Segment> segments_;
};

// Appends a value as inserted by render(): control characters other than newline dropped,
// HTML-escaped with Escape::html.
void append_value(std::string& out, std::string_view value, Escape escape);

// Appends `text` with & < > " ' replaced by HTML entities.
void append_html_escaped(std::string& out, std::string_view text);

}  // namespace rappel::templates
