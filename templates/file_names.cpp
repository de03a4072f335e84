#include "templates/file_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <set>
#include <string_view>

namespace rappel::templates {
namespace {

constexpr std::array<std::string_view, 3> kChannels = {"sms", "email", "voice"};
constexpr std::array<std::string_view, 2> kLanguages = {"en", "fr"};

template <typename C>
bool one_of(const C& names, std::string_view v) {
    return std::find(names.begin(), names.end(), v) != names.end();
}

std::vector<std::string_view> split_dots(std::string_view s) {
    std::vector<std::string_view> out;
    for (;;) {
        const auto dot = s.find('.');
        out.push_back(s.substr(0, dot));
        if (dot == std::string_view::npos) return out;
        s = s.substr(dot + 1);
    }
}

// Why this name is not a template file of a program with these stages; empty when it is.
// `error` is cleared when only the stage is unknown.
std::string why_stray(std::string_view name, const std::set<std::string, std::less<>>& stages, bool& error) {
    error = true;
    if (name.starts_with('.') || name.ends_with(".md") || name == "data-fields.txt") return {};
    const auto parts = split_dots(name);
    if (parts.size() == 3 && parts[0] == "layout" && parts[2] == "html")
        return one_of(kLanguages, parts[1]) ? std::string{} : fmt::format("language '{}' is not en or fr", parts[1]);
    if (parts.size() != 4 || parts[3] != "txt")
        return "expected <stage>.<channel>.<lang>.txt, default.<channel>.<lang>.txt or layout.<lang>.html";
    error = !one_of(kChannels, parts[1]) || !one_of(kLanguages, parts[2]);
    std::vector<std::string> why;
    if (parts[0] != "default" && !stages.count(parts[0])) {
        std::string known;
        for (const auto& s : stages) known += (known.empty() ? "" : ", ") + s;
        why.push_back(fmt::format("stage '{}' is not a stage of the program ({}, or default)", parts[0], known));
    }
    if (!one_of(kChannels, parts[1])) why.push_back(fmt::format("channel '{}' is not sms, email or voice", parts[1]));
    if (!one_of(kLanguages, parts[2])) why.push_back(fmt::format("language '{}' is not en or fr", parts[2]));
    std::string out;
    for (const auto& w : why) out += (out.empty() ? "" : "; ") + w;
    return out;
}

}  // namespace

std::vector<StrayFile> stray_template_files(const config::Config& cfg) {
    std::vector<StrayFile> out;
    for (const auto& [id, program] : cfg.programs) {
        std::set<std::string, std::less<>> stages;
        for (const auto& s : program.stages) stages.insert(s.id);
        std::error_code ec;
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(program.templates_dir, ec))
            if (entry.is_regular_file(ec)) files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            bool error = true;
            const auto why = why_stray(f.filename().string(), stages, error);
            if (!why.empty())
                out.push_back(StrayFile{fmt::format("{}:1:1: {}not a template file of program '{}', so it is ignored: {}",
                                                    f.string(), error ? "" : "warning: ", id, why),
                                        error});
        }
    }
    return out;
}

}  // namespace rappel::templates
