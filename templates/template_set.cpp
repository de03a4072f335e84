#include "templates/template_set.hpp"

#include "templates/date_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace rappel::templates {

namespace fs = std::filesystem;

namespace {

constexpr std::array<ChannelKind, 2> kTextChannels{ChannelKind::sms, ChannelKind::email};
constexpr std::array<Language, 2> kLanguages{Language::en, Language::fr};
constexpr std::size_t kChannelCount = 3;
constexpr std::size_t kLanguageCount = 2;
constexpr std::string_view kSubjectPrefix = "subject:";
constexpr std::string_view kBom = "\xEF\xBB\xBF";

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
    Template subject;    // email
    Template body;       // SMS text or email text part
    Template html_body;  // email: body as <p> paragraphs
};
using CompiledPtr = std::shared_ptr<const CompiledFile>;

bool is_blank_line(std::string_view line) {
    return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

bool iequals_prefix(std::string_view text, std::string_view lower_prefix) {
    if (text.size() < lower_prefix.size()) return false;
    for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower_prefix[i]) return false;
    }
    return true;
}

std::string_view trim_trailing_whitespace(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Position of the first invalid UTF-8 sequence, or npos.
std::size_t find_invalid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (b < 0x80U) {
            ++i;
            continue;
        }
        if (b >= 0xC2U && b <= 0xDFU) {
            len = 2;
            cp = b & 0x1FU;
        } else if (b >= 0xE0U && b <= 0xEFU) {
            len = 3;
            cp = b & 0x0FU;
        } else if (b >= 0xF0U && b <= 0xF4U) {
            len = 4;
            cp = b & 0x07U;
        } else {
            return i;
        }
        if (i + len > s.size()) return i;
        for (std::size_t k = 1; k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0U) != 0x80U) return i;
            cp = (cp << 6U) | (c & 0x3FU);
        }
        const bool overlong = (len == 3 && cp < 0x800U) || (len == 4 && cp < 0x10000U);
        if (overlong || cp > 0x10FFFFU || (cp >= 0xD800U && cp <= 0xDFFFU)) return i;
        i += len;
    }
    return std::string_view::npos;
}

SourcePosition position_of(std::string_view text, std::size_t offset) {
    SourcePosition pos;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b == '\n') {
            ++pos.line;
            pos.column = 1;
        } else if ((b & 0xC0U) != 0x80U) {
            ++pos.column;
        }
    }
    return pos;
}

class Loader {
public:
    std::vector<std::string>& problems() { return problems_; }

    void problem(const fs::path& file, SourcePosition at, std::string_view message) {
        problems_.push_back(fmt::format("{}:{}:{}: {}", file.string(), at.line, at.column, message));
    }

    // Each file is compiled once, however many stages or programs use it. Null if it failed.
    CompiledPtr get(const fs::path& file, ChannelKind channel) {
        const auto key = std::make_pair(file.lexically_normal().string(), channel);
        if (auto it = cache_.find(key); it != cache_.end()) return it->second;
        CompiledPtr compiled = compile_file(file, channel);
        cache_.emplace(key, compiled);
        return compiled;
    }

private:
    CompiledPtr compile_file(const fs::path& file, ChannelKind channel) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream buffer;
        if (in) buffer << in.rdbuf();
        if (!in || in.bad()) {
            problem(file, {}, "cannot read the template file");
            return nullptr;
        }
        std::string content = std::move(buffer).str();
        if (std::string_view(content).starts_with(kBom)) content.erase(0, kBom.size());
        // CRLF files read like LF files; line and column numbers stay the same.
        std::erase_if(content, [](char c) { return c == '\r'; });
        if (const auto bad = find_invalid_utf8(content); bad != std::string_view::npos) {
            problem(file, position_of(content, bad), "invalid UTF-8");
            return nullptr;
        }

        auto compiled = std::make_shared<CompiledFile>();
        compiled->file = file;
        compiled->channel = channel;
        std::vector<Diagnostic> diagnostics;
        const std::string_view text = content;
        bool ok = channel == ChannelKind::email ? parse_email(file, text, *compiled, diagnostics)
                                                : parse_sms(file, text, *compiled, diagnostics);
        for (const auto& d : diagnostics) problem(file, {d.line, d.column}, d.message);
        if (!ok || !diagnostics.empty()) return nullptr;
        return compiled;
    }

    bool parse_sms(const fs::path& file, std::string_view text, CompiledFile& out,
                   std::vector<Diagnostic>& diagnostics) {
        const std::string_view body = trim_trailing_whitespace(text);
        if (body.find_first_not_of(" \t\n") == std::string_view::npos) {
            problem(file, {}, "empty SMS template");
            return false;
        }
        out.body = Template::compile(body, diagnostics);
        return true;
    }

    bool parse_email(const fs::path& file, std::string_view text, CompiledFile& out,
                     std::vector<Diagnostic>& diagnostics) {
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
            out.subject = Template::compile(subject, diagnostics, {1, static_cast<int>(subject_start) + 1});
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
        out.body = Template::compile(body, diagnostics, {line, 1});
        out.html_body = out.body.to_html_paragraphs();
        return ok;
    }

    std::vector<std::string> problems_;
    std::map<std::pair<std::string, ChannelKind>, CompiledPtr> cache_;
};

// The channels a stage can send text on, without duplicates, in a fixed order.
std::vector<ChannelKind> text_channels_of(const config::StageConfig& stage) {
    std::vector<ChannelKind> out;
    for (const ChannelKind c : kTextChannels) {
        const bool listed = std::find(stage.channels.begin(), stage.channels.end(), c) != stage.channels.end();
        if (listed || stage.preference) out.push_back(c);
    }
    return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out.append(sep);
        out.append(item);
    }
    return out;
}

constexpr std::string_view kHtmlHead = "<!DOCTYPE html><html lang=\"";
constexpr std::string_view kHtmlTitle = "\"><head><meta charset=\"utf-8\"><title>";
constexpr std::string_view kHtmlBody = "</title></head><body>";
constexpr std::string_view kHtmlEnd = "</body></html>";

}  // namespace

struct TemplateSet::Impl {
    struct Stage {
        std::array<std::array<CompiledPtr, kLanguageCount>, kChannelCount> files;
    };
    struct Program {
        std::array<std::string, kLanguageCount> display_name;
        StringMap<Stage> stages;
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
};

TemplateError::TemplateError(std::vector<std::string> problems)
    : std::runtime_error(join(problems, "\n")), problems_(std::move(problems)) {}

TemplateSet::TemplateSet() : impl_(std::make_shared<const Impl>()) {}

TemplateSet::TemplateSet(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

TemplateSet TemplateSet::load(const config::Config& cfg) {
    Loader loader;
    auto impl = std::make_shared<Impl>();
    if (!date_formatting_available()) {
        loader.problems().push_back(
            "ICU: cannot create the en_CA and fr_CA date formatters (is the ICU data installed?)");
    }
    for (const auto& [program_id, program] : cfg.programs) {
        Impl::Program& compiled_program = impl->programs[program_id];
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
        // Missing files, grouped by the default file that would have served them.
        std::map<fs::path, std::vector<std::string>> missing;
        for (const auto& stage : program.stages) {
            Impl::Stage& compiled_stage = compiled_program.stages[stage.id];
            for (const ChannelKind channel : text_channels_of(stage)) {
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
                    compiled_stage.files[index_of(channel)][index_of(language)] = loader.get(chosen, channel);
                    impl->sources.push_back(TemplateSource{program_id, stage.id, channel, language, chosen});
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
    if (channel == ChannelKind::email) {
        file->subject.render(c, out.subject, Escape::none);
        std::replace(out.subject.begin(), out.subject.end(), '\n', ' ');  // one header line
        file->body.render(c, out.text, Escape::none);
        out.html.append(kHtmlHead);
        out.html.append(to_string(ctx.language));
        out.html.append(kHtmlTitle);
        append_html_escaped(out.html, out.subject);
        out.html.append(kHtmlBody);
        file->html_body.render(c, out.html, Escape::html);
        out.html.append(kHtmlEnd);
    } else {
        file->body.render(c, out.text, Escape::none);
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

bool TemplateSet::has(std::string_view program, std::string_view stage, ChannelKind channel,
                      Language language) const {
    return impl_->find(program, stage, channel, language) != nullptr;
}

const std::vector<TemplateSource>& TemplateSet::sources() const { return impl_->sources; }

}  // namespace rappel::templates
