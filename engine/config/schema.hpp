#pragma once
// The configuration keys, one table per section. The loader reads keys through these tables
// (unknown keys, required keys, integer ranges and choices come from here) and
// docs/configuration.md embeds the tables rendered by schema_markdown(), so the documentation
// and the code cannot drift apart (a unit test compares them).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rappel::config {

enum class KeyKind {
    string,     // a scalar
    integer,    // a whole number within [min, max]
    choice,     // one of `choices` ('|'-separated)
    env_name,   // the name of an environment variable holding a secret
    file_path,  // a path, relative to the config file's directory
    map,        // a nested section or a map of names
    list,       // a sequence
};

struct KeySpec {
    std::string_view name;
    KeyKind kind = KeyKind::string;
    bool required = false;
    std::string_view default_value;  // as documented; empty: none
    std::string_view description;
    std::int64_t min = 0;  // integer only
    std::int64_t max = 0;
    std::string_view choices;    // choice only, e.g. "none|full"
    std::string_view type_text;  // documented type for map/list/string keys with a format
};

struct SectionSpec {
    std::string_view id;     // internal name, e.g. "kafka", "provider.smtp", "program.stage"
    std::string_view title;  // documented location, e.g. "providers.<name> (type: smtp)"
    std::string_view summary;
    std::span<const KeySpec> keys;

    const KeySpec* find(std::string_view key) const;
};

// Every section, in documentation order.
std::span<const SectionSpec> schema();
// The section with this id; throws std::logic_error if there is none (a programming error).
const SectionSpec& section(std::string_view id);
// The documented type of a key, e.g. "integer 1..20" or "`none` or `full`".
std::string type_text(const KeySpec& key);
// All tables as Markdown, as embedded in docs/configuration.md.
std::string schema_markdown();

}  // namespace rappel::config
