#pragma once
// rappelctl: operator commands on a configuration and its templates, without any server.
//   validate CONFIG   every config/template problem (TemplateSet::load also checks each SMS
//                     budget), or a table of every template with its SMS encoding and the
//                     segments of its longest plausible rendering
//   preview CONFIG    renders one stage in both languages for a sample or given event
#include "engine/base/channel_kind.hpp"
#include "engine/base/result.hpp"
#include "templates/sms_encoding.hpp"
#include "templates/template.hpp"
#include "templates/template_set.hpp"

#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rappel::ctl {

using Data = std::vector<std::pair<std::string, std::string>>;

// Values to render a template with, owning the strings a RenderContext points to.
struct SampleValues {
    Language language = Language::en;
    std::string name;
    std::chrono::year_month_day due_date{};
    int days_left = 0;
    Data data;
    std::string unsubscribe_url;

    // program_name is left empty: TemplateSet::render uses the program's display name.
    // The context points into this object: keep it alive and unmoved while rendering.
    templates::RenderContext context() const;
};

// The SMS rendering of one template source that costs the most segments (then units), as
// TemplateSet::render_longest_sample() finds it (a 38-character accented name, every due date
// of 2027, long data values), with its encoding and segment count.
struct SmsEstimate {
    std::string text;
    templates::sms::Analysis analysis;
};
Result<SmsEstimate> longest_sms(const templates::TemplateSet& set, const templates::TemplateSource& source);

// Sample data for a preview: every data key the files use, with templates::sample_data_value().
Data sample_data(const std::vector<std::filesystem::path>& template_files);

// `validate`: prints problems (config or templates, each "file:line:col: message", SMS budget
// overflows included) to `err`, or the table to `out`. Returns the exit status: 0 all good, 1
// problems.
// `resolve_secrets` false (--no-secrets): secrets are checked for form only, not read.
int validate(const std::filesystem::path& config_file, std::ostream& out, std::ostream& err,
             bool resolve_secrets = true);

struct PreviewOptions {
    std::filesystem::path config_file;
    std::string program;                      // empty: the event's program
    std::string stage;
    std::optional<std::filesystem::path> event_file;  // renewal-event/1 JSON (first event of a .jsonl)
    std::filesystem::path out_dir = ".";
    bool wav = false;                         // also write WAV files with espeak-ng, if installed
};

// `preview`: returns the exit status (0 ok, 1 error).
int preview(const PreviewOptions& options, std::ostream& out, std::ostream& err);

// The full path of `program` found in PATH, if it is there and executable.
std::optional<std::filesystem::path> find_in_path(std::string_view program);

}  // namespace rappel::ctl
