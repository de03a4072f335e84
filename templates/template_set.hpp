#pragma once
// Every message template of every campaign, compiled once at load and looked up by program,
// stage, channel and language when a reminder goes out.
//
// Files, in each program's templates_dir:
//   <stage>.<channel>.<lang>.txt     for one stage, e.g. 7d.sms.fr.txt
//   default.<channel>.<lang>.txt     for the stages without their own file
// SMS: the whole file is the message (trailing newlines trimmed).
// Email: "Subject: <template>" on the first line, a blank line, then the text body. The HTML
// part is built from the text body: paragraphs on blank lines, <br> on single newlines.
#include "engine/base/channel_kind.hpp"
#include "engine/base/result.hpp"
#include "engine/config/config.hpp"
#include "templates/template.hpp"

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::templates {

// Thrown only by TemplateSet::load(); what() lists every problem, one per line, each as
// "<file>:<line>:<column>: <message>".
class TemplateError : public std::runtime_error {
public:
    explicit TemplateError(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::vector<std::string> problems_;
};

struct Rendered {
    std::string subject;  // email only; one line
    std::string text;     // SMS body or email text part
    std::string html;     // email only: a complete HTML document
};

// Which file serves a program/stage/channel/language (for validation and preview tools).
struct TemplateSource {
    std::string program;
    std::string stage;
    ChannelKind channel = ChannelKind::sms;
    Language language = Language::en;
    std::filesystem::path file;
};

class TemplateSet {
public:
    TemplateSet();  // empty: every render() fails with "no-template"

    // Loads and compiles the templates of every program, stage, channel (sms and email that the
    // stage can use) and language. Throws TemplateError listing every problem.
    static TemplateSet load(const config::Config& cfg);

    // Error code "no-template" when the set has no template for this combination.
    // ctx.program_name, when empty, is taken from the program's display name.
    Result<Rendered> render(std::string_view program, std::string_view stage, ChannelKind channel,
                            const RenderContext& ctx) const;
    // Same, into `out`, reusing its buffers: no allocation once they are large enough.
    Result<void> render_into(std::string_view program, std::string_view stage, ChannelKind channel,
                             const RenderContext& ctx, Rendered& out) const;

    bool has(std::string_view program, std::string_view stage, ChannelKind channel, Language language) const;
    const std::vector<TemplateSource>& sources() const;

    struct Impl;

private:
    explicit TemplateSet(std::shared_ptr<const Impl> impl);
    // Immutable once loaded: copies share it and render() is safe from any number of threads.
    std::shared_ptr<const Impl> impl_;
};

}  // namespace rappel::templates
