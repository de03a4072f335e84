#pragma once
// Template files whose names match no stage, channel or language of their program. They
// would be silently ignored (the default template used instead), so `rappeld --check` and
// `rappelctl validate` report them. Accepted in a program's folder: `<stage>.<channel>.<lang>.txt`
// and `default.<channel>.<lang>.txt` (channel sms, email or voice; language en or fr),
// `layout.<lang>.html`, `data-fields.txt`, Markdown notes (`*.md`) and hidden files.
#include "engine/config/config.hpp"

#include <string>
#include <vector>

namespace rappel::templates {

struct StrayFile {
    std::string message;  // "<file>:1:1: <why>"
    // A channel, language or shape that can never match: an error. A well-formed name for a
    // stage the program does not have (a stage taken out of the campaign, or a typo such as
    // `3Od`) is a warning: reported, but the check still passes.
    bool error = true;
};

// In file name order, per program.
std::vector<StrayFile> stray_template_files(const config::Config& cfg);

}  // namespace rappel::templates
