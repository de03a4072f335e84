#include "templates/template_set.hpp"

#include "engine/base/text.hpp"
#include "templates/date_format.hpp"
#include "templates/number_format.hpp"
#include "templates/sms_encoding.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace rappel::templates {

namespace fs = std::filesystem;

namespace {

constexpr std::array<ChannelKind, 3> kChannels{ChannelKind::sms, ChannelKind::email, ChannelKind::voice};
constexpr std::array<Language, 2> kLanguages{Language::en, Language::fr};
constexpr std::size_t kChannelCount = 3;
constexpr std::size_t kLanguageCount = 2;
constexpr std::string_view kSubjectPrefix = "subject:";
constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kDataFieldsFile = "data-fields.txt";
constexpr std::size_t kMaxSampleCombinations = 64;

std::size_t index_of(ChannelKind c) { return static_cast<std::size_t>(c); }
std::size_t index_of(Language l) { return static_cast<std::size_t>(l); }

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// One template file, compiled.
struct CompiledFile {
    fs::path file;
    ChannelKind channel = ChannelKind::sms;
    Template subject;  // email
    Template body;     // SMS text, email text part, or voice script
};
using CompiledPtr = std::shared_ptr<const CompiledFile>;

// An email HTML layout, compiled; `file` is empty for the built-in one.
struct Layout {
    fs::path file;
    Template html;
};
using LayoutPtr = std::shared_ptr<const Layout>;

// A program's data-fields.txt.
struct DataFields {
    fs::path file;
    std::vector<std::string> keys;
    std::vector<std::string> samples;  // same order; empty: no sample given
};
using DataFieldsPtr = std::shared_ptr<const DataFields>;

// Used when neither the program's folder nor its parent has layout.<lang>.html.
constexpr std::string_view kBuiltinLayoutEn =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{{subject}}</title></head>"
    "<body>{{content}}{{#unsubscribe_url}}<p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>"
    "{{/unsubscribe_url}}</body></html>";
constexpr std::string_view kBuiltinLayoutFr =
    "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{{subject}}</title></head>"
    "<body>{{content}}{{#unsubscribe_url}}<p><a href=\"{{unsubscribe_url}}\">Se désabonner</a></p>"
    "{{/unsubscribe_url}}</body></html>";

bool is_blank_line(std::string_view line) {
    return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals_prefix(std::string_view text, std::string_view lower_prefix) {
    if (text.size() < lower_prefix.size()) return false;
    for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
        if (ascii_lower(text[i]) != lower_prefix[i]) return false;
    }
    return true;
}

std::size_t ifind(std::string_view text, std::string_view lower_needle, std::size_t from = 0) {
    for (std::size_t i = from; i + lower_needle.size() <= text.size(); ++i) {
        if (iequals_prefix(text.substr(i), lower_needle)) return i;
    }
    return std::string_view::npos;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string_view trim_trailing_whitespace(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

SourcePosition position_of(std::string_view text, std::size_t offset) {
    SourcePosition pos;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b == '\n') {
            ++pos.line;
            pos.column = 1;
        } else if (!utf8::is_continuation(text[i])) {
            ++pos.column;
        }
    }
    return pos;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out.append(sep);
        out.append(item);
    }
    return out;
}

// "ôÊ" -> {"ô", "Ê"}
std::vector<std::string> split_characters(std::string_view s) {
    std::vector<std::string> out;
    utf8::for_each_code_point(s, [&](utf8::CodePoint cp, std::size_t i) { out.emplace_back(s.substr(i, cp.length)); });
    return out;
}

class Loader {
public:
    std::vector<std::string>& problems() { return problems_; }

    void problem(const fs::path& file, SourcePosition at, std::string_view message) {
        problems_.push_back(fmt::format("{}:{}:{}: {}", file.string(), at.line, at.column, message));
    }

    // Each file is compiled once, however many stages or programs use it. Null if it failed.
    CompiledPtr get(const fs::path& file, ChannelKind channel, const DataFieldsPtr& fields) {
        const auto key = std::make_tuple(file.lexically_normal().string(), channel, fields.get());
        if (auto it = cache_.find(key); it != cache_.end()) return it->second;
        CompiledPtr compiled = compile_file(file, channel, fields);
        cache_.emplace(key, compiled);
        return compiled;
    }

    LayoutPtr layout(const fs::path& file, Language language, const DataFieldsPtr& fields) {
        const auto key = std::make_tuple(file.lexically_normal().string(), language, fields.get());
        if (auto it = layouts_.find(key); it != layouts_.end()) return it->second;
        LayoutPtr compiled = compile_layout(file, language, fields);
        layouts_.emplace(key, compiled);
        return compiled;
    }

    static LayoutPtr builtin_layout(Language language) {
        std::vector<Diagnostic> diagnostics;
        CompileOptions options;
        options.layout = true;
        auto layout = std::make_shared<Layout>();
        layout->html = Template::compile(language == Language::fr ? kBuiltinLayoutFr : kBuiltinLayoutEn,
                                         diagnostics, options);
        return layout;
    }

    // Null when the file does not exist; problems reported when it is malformed.
    DataFieldsPtr data_fields(const fs::path& dir) {
        const fs::path file = dir / kDataFieldsFile;
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) return nullptr;
        auto content = read(file);
        if (!content) return nullptr;
        auto fields = std::make_shared<DataFields>();
        fields->file = file;
        std::string_view rest = *content;
        int line_no = 0;
        while (!rest.empty()) {
            ++line_no;
            const std::size_t end = std::min(rest.find('\n'), rest.size());
            const std::string_view raw = rest.substr(0, end);
            rest.remove_prefix(std::min(end + 1, rest.size()));
            const std::string_view line = trim(raw);
            if (line.empty() || line.front() == '#') continue;
            const int column = static_cast<int>(raw.find_first_not_of(" \t")) + 1;
            const std::size_t eq = line.find('=');
            const std::string_view key = trim(line.substr(0, eq));
            const std::string_view sample = eq == std::string_view::npos ? std::string_view{} : trim(line.substr(eq + 1));
            const bool valid = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                       c == '-';
            });
            if (!valid) {
                problem(file, {line_no, column},
                        "expected 'KEY = longest plausible value', KEY made of letters, digits, '_' and '-'");
                continue;
            }
            if (std::find(fields->keys.begin(), fields->keys.end(), key) != fields->keys.end()) {
                problem(file, {line_no, column}, fmt::format("data field '{}' is declared twice", key));
                continue;
            }
            fields->keys.emplace_back(key);
            fields->samples.emplace_back(sample);
        }
        return fields;
    }

private:
    std::optional<std::string> read(const fs::path& file) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream buffer;
        if (in) buffer << in.rdbuf();
        if (!in || in.bad()) {
            problem(file, {}, "cannot read the file");
            return std::nullopt;
        }
        std::string content = std::move(buffer).str();
        if (std::string_view(content).starts_with(kBom)) content.erase(0, kBom.size());
        // CRLF files read like LF files; line and column numbers stay the same.
        std::erase_if(content, [](char c) { return c == '\r'; });
        if (const auto bad = utf8::find_invalid(content); bad != std::string_view::npos) {
            problem(file, position_of(content, bad), "invalid UTF-8");
            return std::nullopt;
        }
        return content;
    }

    static CompileOptions options_for(const DataFieldsPtr& fields) {
        CompileOptions options;
        if (fields) {
            options.data_fields = &fields->keys;
            options.data_fields_origin = kDataFieldsFile;
        }
        return options;
    }

    CompiledPtr compile_file(const fs::path& file, ChannelKind channel, const DataFieldsPtr& fields) {
        auto content = read(file);
        if (!content) return nullptr;
        auto compiled = std::make_shared<CompiledFile>();
        compiled->file = file;
        compiled->channel = channel;
        std::vector<Diagnostic> diagnostics;
        const std::string_view text = *content;
        const CompileOptions options = options_for(fields);
        const bool ok = channel == ChannelKind::email ? parse_email(file, text, *compiled, diagnostics, options)
                                                      : parse_whole(file, text, *compiled, diagnostics, options);
        for (const auto& d : diagnostics) problem(file, {d.line, d.column}, d.message);
        if (!ok || !diagnostics.empty()) return nullptr;
        return compiled;
    }

    LayoutPtr compile_layout(const fs::path& file, Language language, const DataFieldsPtr& fields) {
        auto content = read(file);
        if (!content) return nullptr;
        CompileOptions options = options_for(fields);
        options.layout = true;
        std::vector<Diagnostic> diagnostics;
        auto layout = std::make_shared<Layout>();
        layout->file = file;
        layout->html = Template::compile(*content, diagnostics, options);
        for (const auto& d : diagnostics) problem(file, {d.line, d.column}, d.message);
        if (!diagnostics.empty()) return nullptr;
        bool ok = true;
        const auto& segments = layout->html.segments();
        const auto contents = std::count_if(segments.begin(), segments.end(), [](const Segment& s) {
            return s.kind == Segment::Kind::variable && s.variable == Variable::content;
        });
        if (contents != 1) {
            problem(file, {},
                    contents == 0 ? "the layout has no {{content}} placeholder: where does the message go?"
                                  : "the layout has {{content}} more than once");
            ok = false;
        }
        if (!layout->html.uses(Variable::unsubscribe_url)) {
            problem(file, {},
                    "the layout has no unsubscribe link: add e.g. {{#unsubscribe_url}}<a "
                    "href=\"{{unsubscribe_url}}\">...</a>{{/unsubscribe_url}}");
            ok = false;
        }
        ok = check_lang(file, *content, language) && ok;
        return ok ? layout : nullptr;
    }

    // The <html> element must say which language the document is in.
    bool check_lang(const fs::path& file, std::string_view content, Language language) {
        const std::size_t html = ifind(content, "<html");
        const std::string expected = fmt::format("lang=\"{}\"", to_string(language));
        if (html == std::string_view::npos) {
            problem(file, {}, fmt::format("the layout has no <html {}> element", expected));
            return false;
        }
        const std::size_t tag_end = content.find('>', html);
        const std::string_view tag = content.substr(html, tag_end == std::string_view::npos ? tag_end : tag_end - html);
        const std::size_t lang = ifind(tag, " lang=");
        bool ok = false;
        if (lang != std::string_view::npos) {
            std::string_view value = tag.substr(lang + 6);
            if (!value.empty() && (value.front() == '"' || value.front() == '\'')) value.remove_prefix(1);
            const std::string_view code = to_string(language);
            ok = iequals_prefix(value, code) &&
                 (value.size() == code.size() || value[code.size()] == '"' || value[code.size()] == '\'' ||
                  value[code.size()] == '-');
        }
        if (!ok) {
            problem(file, position_of(content, html),
                    fmt::format("the <html> element of a {} layout needs {} (or {}-CA)", to_string(language), expected,
                                to_string(language)));
        }
        return ok;
    }

    bool parse_whole(const fs::path& file, std::string_view text, CompiledFile& out,
                     std::vector<Diagnostic>& diagnostics, const CompileOptions& options) {
        const std::string_view body = trim_trailing_whitespace(text);
        if (body.find_first_not_of(" \t\n") == std::string_view::npos) {
            problem(file, {}, fmt::format("empty {} template", out.channel == ChannelKind::voice ? "voice" : "SMS"));
            return false;
        }
        out.body = Template::compile(body, diagnostics, options);
        return true;
    }

    bool parse_email(const fs::path& file, std::string_view text, CompiledFile& out,
                     std::vector<Diagnostic>& diagnostics, const CompileOptions& base) {
        const std::size_t first_end = std::min(text.find('\n'), text.size());
        const std::string_view first = text.substr(0, first_end);
        if (!iequals_prefix(first, kSubjectPrefix)) {
            problem(file, {}, "an email template starts with a 'Subject: ...' line");
            return false;
        }
        std::size_t subject_start = kSubjectPrefix.size();
        while (subject_start < first.size() && (first[subject_start] == ' ' || first[subject_start] == '\t')) {
            ++subject_start;
        }
        const std::string_view subject = trim_trailing_whitespace(first.substr(subject_start));
        bool ok = true;
        if (subject.empty()) {
            problem(file, {1, static_cast<int>(subject_start) + 1}, "empty subject");
            ok = false;
        } else {
            CompileOptions options = base;
            options.start = {1, static_cast<int>(subject_start) + 1};
            out.subject = Template::compile(subject, diagnostics, options);
        }

        if (first_end >= text.size()) {
            problem(file, {2, 1}, "expected a blank line, then the message body, after the subject");
            return false;
        }
        const std::string_view after_subject = text.substr(first_end + 1);
        const std::size_t second_end = std::min(after_subject.find('\n'), after_subject.size());
        if (!is_blank_line(after_subject.substr(0, second_end))) {
            problem(file, {2, 1}, "expected a blank line between the subject and the message body");
            return false;
        }
        // Body: from line 3, leading blank lines and trailing whitespace dropped.
        std::string_view body =
            second_end < after_subject.size() ? after_subject.substr(second_end + 1) : std::string_view{};
        int line = 3;
        while (true) {
            const std::size_t end = body.find('\n');
            if (end == std::string_view::npos || !is_blank_line(body.substr(0, end))) break;
            body.remove_prefix(end + 1);
            ++line;
        }
        body = trim_trailing_whitespace(body);
        if (body.find_first_not_of(" \t\n") == std::string_view::npos) {
            problem(file, {3, 1}, "empty message body");
            return false;
        }
        CompileOptions options = base;
        options.start = {line, 1};
        out.body = Template::compile(body, diagnostics, options);
        return ok;
    }

    std::vector<std::string> problems_;
    std::map<std::tuple<std::string, ChannelKind, const DataFields*>, CompiledPtr> cache_;
    std::map<std::tuple<std::string, Language, const DataFields*>, LayoutPtr> layouts_;
};

// The channels a stage needs templates for, without duplicates, in a fixed order. A
// preference stage may pick any channel that has a provider.
std::vector<ChannelKind> channels_of(const config::StageConfig& stage, const config::Config& cfg) {
    std::vector<ChannelKind> out;
    for (const ChannelKind c : kChannels) {
        const bool listed = std::find(stage.channels.begin(), stage.channels.end(), c) != stage.channels.end();
        const bool preferable =
            stage.preference && (c != ChannelKind::voice || cfg.channel_provider.contains(ChannelKind::voice));
        if (listed || preferable) out.push_back(c);
    }
    return out;
}

// Email text: no spaces at line ends, at most one blank line in a row, none at either end
// (a section left out must not leave a hole).
void tidy_text(std::string& text) {
    std::size_t w = 0;
    int pending_newlines = 0;
    std::size_t r = 0;
    const std::size_t n = text.size();
    while (r < n) {
        std::size_t end = text.find('\n', r);
        if (end == std::string::npos) end = n;
        std::size_t stop = end;
        while (stop > r && (text[stop - 1] == ' ' || text[stop - 1] == '\t')) --stop;
        if (stop == r) {
            if (w > 0) ++pending_newlines;  // blank line
        } else {
            if (w > 0) {
                const int newlines = std::min(pending_newlines + 1, 2);
                for (int k = 0; k < newlines; ++k) text[w++] = '\n';
            }
            pending_newlines = 0;
            for (std::size_t k = r; k < stop; ++k) text[w++] = text[k];
        }
        r = end + 1;
    }
    text.resize(w);
}

// Voice: every run of whitespace (line breaks included) becomes one space.
void collapse_spaces(std::string& text) {
    std::size_t w = 0;
    bool space = false;
    for (const char c : text) {
        if (c == ' ' || c == '\t' || c == '\n') {
            space = w > 0;
            continue;
        }
        if (space) text[w++] = ' ';
        space = false;
        text[w++] = c;
    }
    text.resize(w);
}

struct SmsCost {
    int segments = 0;
    std::size_t units = 0;
    auto operator<=>(const SmsCost&) const = default;
};

}  // namespace

bool sms_normalise_may_change(std::string_view utf8) {
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        const auto b = static_cast<unsigned char>(utf8[i]);
        if (b == 0xE2U || b == 0xEFU) return true;  // U+2000..U+2FFF, U+F000..U+FFFF
        if (b == 0xC2U && i + 1 < utf8.size()) {
            const auto next = static_cast<unsigned char>(utf8[i + 1]);
            if (next == 0xA0U || next == 0xADU) return true;  // no-break space, soft hyphen
        }
    }
    return false;
}

std::string sample_data_value(std::string_view key, const DataUse& use) {
    if (key == "renewal_url") return "https://www.ontario.ca/page/renew-drivers-licence-online";
    if (use.money || key == "fee" || key == "amount" || key == "price" || key == "cost") return "120.00";
    if (use.number) return "60";
    if (use.truthy && !use.inserted && !use.tested) return "yes";
    return "Sample value, of a plausible length (40)";
}

std::string unsubscribe_url_for(const config::Config& cfg, std::string_view reminder_id) {
    const auto channel = cfg.channel_provider.find(ChannelKind::email);
    if (channel == cfg.channel_provider.end()) return {};
    const auto provider = std::find_if(cfg.providers.begin(), cfg.providers.end(),
                                       [&](const config::ProviderConfig& p) { return p.name == channel->second; });
    if (provider == cfg.providers.end()) return {};
    static constexpr std::string_view placeholder = "{reminder_id}";
    std::string url = provider->unsubscribe_url;
    const std::string id = percent_encode(reminder_id);
    for (std::size_t pos = url.find(placeholder); pos != std::string::npos; pos = url.find(placeholder, pos + id.size())) {
        url.replace(pos, placeholder.size(), id);
    }
    return url;
}

struct TemplateSet::Impl {
    struct Stage {
        std::array<std::array<CompiledPtr, kLanguageCount>, kChannelCount> files;
    };
    struct Program {
        std::array<std::string, kLanguageCount> display_name;
        StringMap<Stage> stages;
        std::array<LayoutPtr, kLanguageCount> layouts;
        DataFieldsPtr data_fields;
        int sms_max_segments = 3;
    };

    const CompiledFile* find(std::string_view program, std::string_view stage, ChannelKind channel,
                             Language language, const Program** program_out = nullptr) const {
        const auto p = programs.find(program);
        if (p == programs.end()) return nullptr;
        const auto s = p->second.stages.find(stage);
        if (s == p->second.stages.end()) return nullptr;
        if (program_out != nullptr) *program_out = &p->second;
        return s->second.files[index_of(channel)][index_of(language)].get();
    }

    StringMap<Program> programs;
    std::vector<TemplateSource> sources;
    std::string sample_unsubscribe_url;
};

TemplateError::TemplateError(std::vector<std::string> problems)
    : std::runtime_error(join(problems, "\n")), problems_(std::move(problems)) {}

TemplateSet::TemplateSet() : impl_(std::make_shared<const Impl>()) {}

TemplateSet::TemplateSet(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

namespace {

// The SMS files of one program, each once, with a stage and language it serves.
struct SmsUse {
    const CompiledFile* file = nullptr;
    std::string stage;
    Language language = Language::en;
};

std::string sms_budget_problem(const TemplateSet& set, const std::string& program_id, const SmsUse& use,
                               int budget) {
    const auto sample = set.render_longest_sample(program_id, use.stage, ChannelKind::sms, use.language);
    if (!sample) return {};
    const sms::Analysis a = sms::analyse(sample->text);
    if (a.segments <= budget) return {};
    std::string message = fmt::format(
        "SMS too long: its longest plausible rendering needs {} segments ({}, {} {}), more than the {} "
        "allowed by program '{}' (sms_max_segments)",
        a.segments, a.encoding == sms::Encoding::gsm7 ? "GSM-7" : "UCS-2", a.units,
        a.encoding == sms::Encoding::gsm7 ? "septets" : "UTF-16 units", budget, program_id);
    if (a.encoding == sms::Encoding::ucs2) {
        // Which of them the template's own text brings, and which come from the sample values.
        std::string literal;
        for (const Segment& s : use.file->body.segments()) {
            if (s.kind == Segment::Kind::literal) literal.append(s.text);
            if (s.kind == Segment::Kind::variable && s.has_default) literal.append(s.fallback);
        }
        const sms::Analysis own = sms::analyse(sms::normalise(literal));
        std::vector<std::string> from_text;
        std::vector<std::string> from_values;
        for (auto& c : split_characters(a.ucs2_forcers)) {
            (own.ucs2_forcers.find(c) != std::string::npos ? from_text : from_values).push_back(std::move(c));
        }
        message += "; characters that force UCS-2 (70 per segment, 67 when split):";
        if (!from_text.empty()) message += fmt::format(" {} in the template", join(from_text, " "));
        if (!from_values.empty()) {
            message += fmt::format("{} {} in sample values (e.g. the name \"{}\")", from_text.empty() ? "" : ",",
                                   join(from_values, " "), kSampleName);
        }
    }
    message += fmt::format("; sample: \"{}\"", sample->text);
    return message;
}

}  // namespace

TemplateSet TemplateSet::load(const config::Config& cfg) {
    Loader loader;
    auto impl = std::make_shared<Impl>();
    impl->sample_unsubscribe_url = unsubscribe_url_for(cfg, kSampleReminderId);
    if (!date_formatting_available()) {
        loader.problems().push_back(
            "ICU: cannot create the en_CA and fr_CA date formatters (is the ICU data installed?)");
    }
    if (!number_formatting_available()) {
        loader.problems().push_back(
            "ICU: cannot create the en_CA and fr_CA money formatters and plural rules (is the ICU data installed?)");
    }
    std::map<std::string, std::vector<SmsUse>> sms_uses;
    for (const auto& [program_id, program] : cfg.programs) {
        Impl::Program& compiled_program = impl->programs[program_id];
        compiled_program.sms_max_segments = program.sms_max_segments;
        for (const auto& [language, display] : program.display_name) {
            compiled_program.display_name[index_of(language)] = display;
        }
        const fs::path& dir = program.templates_dir;
        std::error_code ec;
        if (dir.empty() || !fs::is_directory(dir, ec)) {
            loader.problem(dir.empty() ? (cfg.source.empty() ? fs::path("<config>") : cfg.source) : dir, {},
                           fmt::format("templates directory of program '{}' {}", program_id,
                                       dir.empty() ? "is not set" : "does not exist"));
            continue;
        }
        const DataFieldsPtr fields = loader.data_fields(dir);
        compiled_program.data_fields = fields;
        bool uses_email = false;
        // Missing files, grouped by the default file that would have served them.
        std::map<fs::path, std::vector<std::string>> missing;
        for (const auto& stage : program.stages) {
            Impl::Stage& compiled_stage = compiled_program.stages[stage.id];
            for (const ChannelKind channel : channels_of(stage, cfg)) {
                uses_email = uses_email || channel == ChannelKind::email;
                for (const Language language : kLanguages) {
                    const fs::path specific =
                        dir / fmt::format("{}.{}.{}.txt", stage.id, to_string(channel), to_string(language));
                    const fs::path fallback =
                        dir / fmt::format("default.{}.{}.txt", to_string(channel), to_string(language));
                    fs::path chosen;
                    if (fs::is_regular_file(specific, ec)) {
                        chosen = specific;
                    } else if (fs::is_regular_file(fallback, ec)) {
                        chosen = fallback;
                    } else {
                        missing[fallback].push_back(stage.id);
                        continue;
                    }
                    CompiledPtr compiled = loader.get(chosen, channel, fields);
                    compiled_stage.files[index_of(channel)][index_of(language)] = compiled;
                    impl->sources.push_back(TemplateSource{program_id, stage.id, channel, language, chosen});
                    if (channel == ChannelKind::sms && compiled) {
                        auto& uses = sms_uses[program_id];
                        const bool seen = std::any_of(uses.begin(), uses.end(),
                                                      [&](const SmsUse& u) { return u.file == compiled.get(); });
                        if (!seen) uses.push_back(SmsUse{compiled.get(), stage.id, language});
                    }
                }
            }
        }
        for (const auto& [fallback, stages] : missing) {
            const std::string example = fallback.filename().string().replace(0, 7, stages.front());
            loader.problem(fallback, {},
                           fmt::format("missing template file, needed by program '{}' stage{} {}; add it, "
                                       "or a file per stage such as {}",
                                       program_id, stages.size() > 1 ? "s" : "", join(stages, ", "), example));
        }
        if (uses_email) {
            for (const Language language : kLanguages) {
                const std::string name = fmt::format("layout.{}.html", to_string(language));
                LayoutPtr layout;
                if (fs::is_regular_file(dir / name, ec)) {
                    layout = loader.layout(dir / name, language, fields);
                } else if (fs::is_regular_file(dir.parent_path() / name, ec)) {
                    layout = loader.layout(dir.parent_path() / name, language, fields);
                } else {
                    layout = Loader::builtin_layout(language);
                }
                compiled_program.layouts[index_of(language)] = layout;
            }
        }
        if (program.sms_max_segments < 1) {
            loader.problem(cfg.source.empty() ? fs::path("<config>") : cfg.source, {},
                           fmt::format("program '{}': sms_max_segments must be at least 1", program_id));
        }
    }
    // SMS budgets, once every template is in place (a file that failed is reported already).
    const TemplateSet set(impl);
    for (const auto& [program_id, uses] : sms_uses) {
        const int budget = impl->programs.find(program_id)->second.sms_max_segments;
        for (const SmsUse& use : uses) {
            std::string message = sms_budget_problem(set, program_id, use, budget);
            if (!message.empty()) loader.problem(use.file->file, {}, message);
        }
    }
    if (!loader.problems().empty()) throw TemplateError(std::move(loader.problems()));
    return TemplateSet(std::move(impl));
}

Result<void> TemplateSet::render_into(std::string_view program, std::string_view stage, ChannelKind channel,
                                      const RenderContext& ctx, Rendered& out) const {
    const Impl::Program* program_entry = nullptr;
    const CompiledFile* file = impl_->find(program, stage, channel, ctx.language, &program_entry);
    if (file == nullptr) {
        return Error{"no-template", fmt::format("no {} template in {} for program '{}' stage '{}'",
                                                to_string(channel), to_string(ctx.language), program, stage)};
    }
    RenderContext c = ctx;
    if (c.program_name.empty()) c.program_name = program_entry->display_name[index_of(ctx.language)];

    out.subject.clear();
    out.text.clear();
    out.html.clear();
    RenderOptions options;
    switch (channel) {
    case ChannelKind::sms:
        options.max_value_chars = kSmsValueMaxChars;
        file->body.render(c, out.text, options);
        if (sms_normalise_may_change(out.text)) out.text = sms::normalise(out.text);
        break;
    case ChannelKind::email: {
        const Layout* layout = program_entry->layouts[index_of(ctx.language)].get();
        if (layout == nullptr) {
            return Error{"no-template", fmt::format("no email layout in {} for program '{}'", to_string(ctx.language),
                                                    program)};
        }
        options.max_value_chars = kSubjectValueMaxChars;
        file->subject.render(c, out.subject, options);
        std::replace(out.subject.begin(), out.subject.end(), '\n', ' ');  // one header line
        out.subject = std::string(trim(out.subject));
        options.max_value_chars = kEmailValueMaxChars;
        file->body.render(c, out.text, options);
        tidy_text(out.text);
        thread_local std::string content;
        content.clear();
        append_text_as_html(content, out.text);
        RenderOptions html;
        html.escape = Escape::html;
        html.max_value_chars = kEmailValueMaxChars;
        html.subject = out.subject;
        html.content = content;
        layout->html.render(c, out.html, html);
        break;
    }
    case ChannelKind::voice: {
        options.escape = Escape::xml;
        options.spoken = true;
        options.max_value_chars = kVoiceValueMaxChars;
        thread_local std::string said;
        said.clear();
        file->body.render(c, said, options);
        collapse_spaces(said);
        const std::string_view language = ctx.language == Language::fr ? "fr-CA" : "en-CA";
        out.text.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Say language=\"");
        out.text.append(language);
        out.text.append("\">");
        out.text.append(said);
        out.text.append("</Say><Pause length=\"1\"/><Say language=\"");
        out.text.append(language);
        out.text.append("\">");
        out.text.append(said);
        out.text.append("</Say></Response>");
        break;
    }
    }
    return {};
}

Result<Rendered> TemplateSet::render(std::string_view program, std::string_view stage, ChannelKind channel,
                                     const RenderContext& ctx) const {
    Rendered out;
    auto r = render_into(program, stage, channel, ctx, out);
    if (!r) return r.error();
    return out;
}

Result<Rendered> TemplateSet::render_longest_sample(std::string_view program, std::string_view stage,
                                                    ChannelKind channel, Language language) const {
    const Impl::Program* program_entry = nullptr;
    const CompiledFile* file = impl_->find(program, stage, channel, language, &program_entry);
    if (file == nullptr) {
        return Error{"no-template", fmt::format("no {} template in {} for program '{}' stage '{}'",
                                                to_string(channel), to_string(language), program, stage)};
    }
    std::vector<const Template*> parts{&file->subject, &file->body};
    if (channel == ChannelKind::email) {
        if (const Layout* layout = program_entry->layouts[index_of(language)].get()) parts.push_back(&layout->html);
    }

    // Data values: every key any part uses, with its sample; the keys sections test vary.
    std::vector<DataUse> uses;
    for (const Template* t : parts) {
        for (DataUse& u : t->data_uses()) {
            auto it = std::find_if(uses.begin(), uses.end(), [&u](const DataUse& x) { return x.key == u.key; });
            if (it == uses.end()) {
                uses.push_back(std::move(u));
            } else {
                it->inserted = it->inserted || u.inserted;
                it->money = it->money || u.money;
                it->number = it->number || u.number;
                it->tested = it->tested || u.tested;
                it->truthy = it->truthy || u.truthy;
            }
        }
    }
    std::vector<std::pair<std::string, std::string>> data;
    std::vector<std::vector<std::string>> states;  // per key: the values to try
    std::size_t combinations = 1;
    for (const DataUse& u : uses) {
        std::string sample;
        bool declared = false;
        if (const DataFields* fields = program_entry->data_fields.get()) {
            const auto it = std::find(fields->keys.begin(), fields->keys.end(), u.key);
            if (it != fields->keys.end()) {
                sample = fields->samples[static_cast<std::size_t>(it - fields->keys.begin())];
                declared = !sample.empty();
            }
        }
        if (!declared) sample = sample_data_value(u.key, u);
        std::vector<std::string> values{sample};
        if (u.tested || u.truthy) values.emplace_back();
        if (u.truthy && !is_truthy(sample)) values.emplace_back("yes");
        data.emplace_back(u.key, sample);
        if (combinations <= kMaxSampleCombinations) combinations *= values.size();
        states.push_back(std::move(values));
    }
    // Too many combinations: every key in its first, then second, ... state together.
    const bool exhaustive = combinations <= kMaxSampleCombinations;
    std::size_t widest = 1;
    for (const auto& s : states) widest = std::max(widest, s.size());
    const std::size_t rounds = exhaustive ? combinations : widest;

    const bool dated = std::any_of(parts.begin(), parts.end(), [](const Template* t) {
        return t->uses(Variable::due_date) || t->uses(Variable::weekday);
    });
    const std::chrono::sys_days first{std::chrono::year{2027} / std::chrono::January / 1};
    const std::chrono::sys_days last{std::chrono::year{2027} / std::chrono::December / 31};
    const std::chrono::sys_days fixed{std::chrono::year{2027} / std::chrono::September / 30};

    RenderContext ctx;
    ctx.language = language;
    ctx.name = kSampleName;
    ctx.days_left = kSampleDaysLeft;
    ctx.data = &data;
    ctx.unsubscribe_url = impl_->sample_unsubscribe_url;

    Rendered best;
    Rendered candidate;
    SmsCost best_cost{-1, 0};
    for (std::size_t round = 0; round < rounds; ++round) {
        std::size_t code = round;
        for (std::size_t k = 0; k < states.size(); ++k) {
            const auto& values = states[k];
            std::size_t pick = 0;
            if (exhaustive) {
                pick = code % values.size();
                code /= values.size();
            } else {
                pick = std::min(round, values.size() - 1);
            }
            data[k].second = values[pick];
        }
        for (std::chrono::sys_days day = dated ? first : fixed; day <= (dated ? last : fixed); day += std::chrono::days{1}) {
            ctx.due_date = std::chrono::year_month_day{day};
            auto r = render_into(program, stage, channel, ctx, candidate);
            if (!r) return r.error();
            SmsCost cost;
            if (channel == ChannelKind::sms) {
                const sms::Analysis a = sms::analyse(candidate.text);
                cost = SmsCost{a.segments, a.units};
            } else {
                cost = SmsCost{0, utf8::count_code_points(candidate.subject) + utf8::count_code_points(candidate.text)};
            }
            if (cost > best_cost) {
                best_cost = cost;
                best = candidate;
            }
        }
    }
    return best;
}

bool TemplateSet::has(std::string_view program, std::string_view stage, ChannelKind channel,
                      Language language) const {
    return impl_->find(program, stage, channel, language) != nullptr;
}

const std::vector<TemplateSource>& TemplateSet::sources() const { return impl_->sources; }

}  // namespace rappel::templates
