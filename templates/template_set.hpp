#pragma once
// Every message template of every campaign, compiled once at load and looked up by program,
// stage, channel and language when a reminder goes out. Authors' guide:
// config/templates/README.md.
//
// Files, in each program's templates_dir:
//   <stage>.<channel>.<lang>.txt     for one stage, e.g. 7d.sms.fr.txt
//   default.<channel>.<lang>.txt     for the stages without their own file
//   layout.<lang>.html               email HTML layout; else ../layout.<lang>.html (shared by the
//                                    programs of one folder); else a plain built-in layout
//   data-fields.txt                  optional: the data fields events of the program may carry,
//                                    "KEY = longest plausible value" per line; when present, a
//                                    template using any other data field is an error
// SMS and voice: the whole file is the message (trailing newlines trimmed). Voice files are
// only needed by stages that use voice.
// Email: "Subject: <template>" on the first line, a blank line, then the text body. The HTML
// part is the layout with {{content}} = the rendered text as HTML (paragraphs on blank lines,
// <br> on single newlines, web addresses as links) and {{subject}} = the rendered subject.
//
// Output per channel (Rendered):
//   sms    text: values cut to 200 characters, then sms::normalise()d (typographic characters
//          that would force UCS-2 replaced; French letters kept)
//   email  subject (one line, values cut to 200), text (values cut to 1000, at most one blank
//          line in a row), html (everything escaped; values cut to 1000)
//   voice  text: TwiML, the message said twice:
//          <?xml version="1.0" encoding="UTF-8"?>
//          <Response><Say language="en-CA">…</Say><Pause length="1"/><Say language="en-CA">…</Say></Response>
//          XML-escaped, dates and amounts as they are read aloud, values cut to 200
#include "engine/base/channel_kind.hpp"
#include "engine/base/result.hpp"
#include "engine/config/config.hpp"
#include "templates/template.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::templates {

inline constexpr std::size_t kSmsValueMaxChars = 200;
inline constexpr std::size_t kEmailValueMaxChars = 1000;
inline constexpr std::size_t kSubjectValueMaxChars = 200;
inline constexpr std::size_t kVoiceValueMaxChars = 200;

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
    std::string text;     // SMS body, email text part, or voice TwiML
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

// The values render_longest_sample() uses: long but plausible.
inline constexpr std::string_view kSampleName = "Marie-Geneviève Côté-Lévesque-Tremblay";
inline constexpr int kSampleDaysLeft = 60;
inline constexpr std::string_view kSampleReminderId = "r0123456789abcdef01234567";
// A data key's sample when data-fields.txt gives none: renewal_url -> a long ontario.ca
// address, fee/amount/price/cost and money-formatted keys -> "120.00", plural-counted keys ->
// "60", keys only tested for truth -> "yes", anything else -> a 40-character text.
std::string sample_data_value(std::string_view key, const DataUse& use);

// The unsubscribe URL of the email provider in `cfg` with "{reminder_id}" replaced by the
// percent-encoded id (as the SMTP adapter does for List-Unsubscribe); empty when there is none.
std::string unsubscribe_url_for(const config::Config& cfg, std::string_view reminder_id);

// False when sms::normalise() would return valid UTF-8 `utf8` unchanged: no byte that starts
// U+00A0, U+00AD, U+2000..U+2FFF or U+F000..U+FFFF (a superset of what it replaces). Lets
// rendering skip the copy for most French SMS; a test checks it against sms::normalise().
bool sms_normalise_may_change(std::string_view utf8);

class TemplateSet {
public:
    TemplateSet();  // empty: every render() fails with "no-template"

    // Loads and compiles the templates of every program, stage, channel (those the stage can
    // use) and language, the email layouts, and checks every SMS template's longest plausible
    // rendering against the program's sms_max_segments. Throws TemplateError listing every
    // problem.
    static TemplateSet load(const config::Config& cfg);

    // Error code "no-template" when the set has no template for this combination.
    // ctx.program_name, when empty, is taken from the program's display name.
    Result<Rendered> render(std::string_view program, std::string_view stage, ChannelKind channel,
                            const RenderContext& ctx) const;
    // Same, into `out`, reusing its buffers.
    Result<void> render_into(std::string_view program, std::string_view stage, ChannelKind channel,
                             const RenderContext& ctx, Rendered& out) const;

    // The rendering that costs the most (SMS: segments, then units; others: characters) over
    // plausible long values: kSampleName, kSampleDaysLeft, every due date of 2027 (when the
    // template shows a date or weekday), the program's display name, the email provider's
    // unsubscribe URL for kSampleReminderId, and for each data field its sample value
    // (data-fields.txt, else sample_data_value()), present or absent in every combination the
    // template's sections distinguish.
    Result<Rendered> render_longest_sample(std::string_view program, std::string_view stage, ChannelKind channel,
                                           Language language) const;

    bool has(std::string_view program, std::string_view stage, ChannelKind channel, Language language) const;
    const std::vector<TemplateSource>& sources() const;

    struct Impl;

private:
    explicit TemplateSet(std::shared_ptr<const Impl> impl);
    // Immutable once loaded: copies share it and render() is safe from any number of threads.
    std::shared_ptr<const Impl> impl_;
};

}  // namespace rappel::templates
