#pragma once
// Loading a configuration for a check rather than for running (rappeld --check --no-secrets,
// rappelctl validate --no-secrets): secrets are checked for form only (an environment
// variable name, a file path), never read, so a CI pipeline can check config and templates
// without them. The resolved secret fields then hold a placeholder.
#include "engine/config/config.hpp"

namespace rappel::config {

struct LoadOptions {
    bool resolve_secrets = true;
};

inline constexpr std::string_view kUnresolvedSecret = "<secret not read: --no-secrets>";

Config load_config(const std::filesystem::path& file, const LoadOptions& options);
Config load_config_text(const std::string& text, const std::string& name, const std::filesystem::path& base_dir,
                        const LoadOptions& options);

// Exit status shared by `rappeld --check` and `rappelctl validate`.
enum class CheckExit { ok = 0, problems = 1, usage = 2 };

}  // namespace rappel::config
