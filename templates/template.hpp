#pragma once
// One message template, compiled once into a flat list of segments and rendered many times
// without re-parsing. The language is documented for template authors in
// config/templates/README.md; in short (UTF-8 text):
//   literal text                copied as is
//   {{name}}                    holder's name
//   {{due_date}}                due date in the message language ("1er mars 2027")
//   {{weekday}}                 weekday of the due date ("Monday", "lundi")
//   {{days_left}}               days between the stage's local date and the due date (absolute)
//   {{program}}                 program display name in the message language
//   {{unsubscribe_url}}         email: the provider's unsubscribe address for this reminder
//   {{data.KEY}}                value of the event's `data` entry KEY
//   {{x|text}}                  `text` (verbatim) when the value is empty or absent
//   {{data.KEY|money}}          a numeric value as Canadian dollars ("$90.00", "90,00 $")
//   {{days_left|plural:day:days}}  "1 day", "7 days" (ICU plural rules: fr "0 jour", "1 jour")
//   {{#x}}...{{/x}}             shown when x is present and not blank
//   {{#x?}}...{{/x?}}           shown when x is true: yes, true, oui, vrai or 1 (any case)
//   {{^x}}...{{/x}} {{^x?}}...{{/x?}}  the opposite; sections nest
//   \{{                         a literal "{{"
// A filter comes before a default: {{data.fee|money|free}}. Spaces around names are ignored.
// A tag must close on the line where it opens; a section tag alone on its line takes the
// whole line (and its line break) with it. Inserted values are never read as template syntax.
// Layouts (email HTML) also have {{subject}} and {{content}}, and their text is markup.
#include "engine/base/channel_kind.hpp"
#include "engine/base/result.hpp"
#include "templates/escape.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rappel::templates {

enum class Variable : std::uint8_t {
    name,
    due_date,
    program,
    days_left,
    data,
    weekday,
    unsubscribe_url,
    subject,  // layouts only
    content,  // layouts only
};

enum class Filter : std::uint8_t {
    none,
    money,   // data values: "120.5" -> "$120.50" / "120,50 $" (spoken: "120 dollars and 50 cents")
    plural,  // days_left or integer data values: "<n> <one|other form>"
};

struct RenderContext {
    Language language = Language::en;
    std::string_view name;
    std::chrono::year_month_day due_date{};
    int days_left = 0;
    std::string_view program_name;
    const std::vector<std::pair<std::string, std::string>>* data = nullptr;
    // Email: the provider's unsubscribe URL with this reminder's id filled in (empty: none).
    std::string_view unsubscribe_url;
};

struct RenderOptions {
    Escape escape = Escape::none;
    bool spoken = false;              // voice: dates and amounts as they are read aloud
    std::size_t max_value_chars = 0;  // each inserted value cut to this many characters (0: no limit)
    std::string_view subject;         // layouts: {{subject}}, escaped like any value
    std::string_view content;         // layouts: {{content}}, inserted verbatim (already HTML)
};

struct Segment {
    enum class Kind : std::uint8_t {
        literal,   // template text; escaped when rendering with Escape::html or xml
        markup,    // layout text (HTML): inserted verbatim in every mode
        variable,  // a placeholder
        section,   // {{#x}} / {{^x}}: segments up to `end` are rendered only if the test passes
    };
    Kind kind = Kind::literal;
    Variable variable = Variable::name;  // variable, section
    Filter filter = Filter::none;        // variable
    bool has_default = false;            // variable
    bool inverted = false;               // section: {{^x}}
    bool truthy = false;                 // section: {{#x?}} tests yes/true/oui/vrai/1
    std::uint32_t end = 0;               // section: index of the first segment after it
    std::string text;                    // literal/markup text, or the data key
    std::string fallback;                // default value, when has_default
    std::string one;                     // plural: form for ICU's "one" category
    std::string other;                   // plural: form for every other category
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

struct CompileOptions {
    SourcePosition start{};
    bool layout = false;  // literal text is HTML markup; {{subject}} and {{content}} allowed
    // The data keys the campaign accepts; null accepts any well-formed key.
    const std::vector<std::string>* data_fields = nullptr;
    std::string_view data_fields_origin;  // named in "unknown data field" messages
};

// How a template uses one data key (for sample values and validation tools).
struct DataUse {
    std::string key;
    bool inserted = false;  // {{data.KEY}} without filter
    bool money = false;     // {{data.KEY|money}}
    bool number = false;    // {{data.KEY|plural:...}}
    bool tested = false;    // {{#data.KEY}} / {{^data.KEY}}
    bool truthy = false;    // {{#data.KEY?}} / {{^data.KEY?}}
};

class Template {
public:
    Template() = default;

    // Compiles `text`, appending every problem found to `diagnostics`. The returned template
    // is usable only if nothing was appended.
    static Template compile(std::string_view text, std::vector<Diagnostic>& diagnostics,
                            const CompileOptions& options);
    static Template compile(std::string_view text, std::vector<Diagnostic>& diagnostics,
                            SourcePosition start = {});
    // Convenience: error code "template-syntax", message "<line>:<col>: <msg>" per problem,
    // one per line.
    static Result<Template> parse(std::string_view text, const CompileOptions& options = {});

    // Appends the rendering to `out`. Never fails; allocates only by growing `out`.
    void render(const RenderContext& ctx, std::string& out, const RenderOptions& options) const;
    void render(const RenderContext& ctx, std::string& out, Escape escape) const;

    const std::vector<Segment>& segments() const { return segments_; }
    bool uses(Variable v) const;
    // Every data key the template refers to, in order of first appearance, with how.
    std::vector<DataUse> data_uses() const;
    bool empty() const { return segments_.empty(); }

private:
    std::vector<Segment> segments_;
};

// True for the values {{#x?}} accepts: yes, true, oui, vrai, 1 (any case, spaces around).
bool is_truthy(std::string_view value);

}  // namespace rappel::templates
