#pragma once
// Internal to the config loader: error collection and table-driven reading of YAML maps.
#include "engine/config/schema.hpp"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::config::detail {

// Optimal string alignment distance (insertions, deletions, substitutions, transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word` if it is near enough to be a likely typo.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

// Collects every problem; report() sorts them by position.
class Diagnostics {
public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}
    // At a position of the file (yaml-cpp marks are 0-based; printed 1-based).
    void at(const YAML::Mark& mark, std::string_view path, std::string_view what);
    // Not from the file, e.g. an environment variable: "<where>: <path>: <what>".
    void outside(std::string_view where, std::string_view path, std::string_view what);
    bool ok() const { return items_.empty(); }
    std::size_t count() const { return items_.size(); }
    const std::string& file() const { return file_; }
    std::string report() const;

private:
    struct Item {
        int line;  // 0-based, -1 when not in the file
        int column;
        std::string text;
    };
    std::string file_;
    std::vector<Item> items_;
};

// One entry of a map: the key node, its value and the dotted path of the value.
struct Field {
    YAML::Node key;
    YAML::Node value;
    std::string path;
    // Where to point at for a problem with the value: the value, or its key when the value
    // is empty (yaml-cpp places an empty value at the start of the next line).
    YAML::Mark mark() const;
};

std::string join_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);
// Short description of a value for messages: "a map", "a list", "an empty value" or the
// scalar in quotes (shortened).
std::string describe(const YAML::Node& value);

// The entries of a map value, first occurrence of each key; reports a value that is not a
// map (an empty value is an empty map), keys that are not scalars and duplicate keys.
std::optional<std::vector<Field>> read_entries(Diagnostics& diag, const Field& f);

// Scalar readers: report a problem and return nullopt when the value does not fit.
std::optional<std::string> read_string(Diagnostics& diag, const Field& f);  // non-empty
std::optional<std::int64_t> read_integer(Diagnostics& diag, const Field& f, std::int64_t min,
                                         std::int64_t max);
// Index of the value among `choices` ('|'-separated).
std::optional<std::size_t> read_choice(Diagnostics& diag, const Field& f, std::string_view choices);

// A YAML map read through its section table. Construction reports a value that is not a
// map, keys the table does not list (with a suggestion) and duplicate keys. A key the
// table lists as `<k>_env` makes a literal `<k>` a secret-in-file error.
class MapReader {
public:
    MapReader(Diagnostics& diag, const Field& field, const SectionSpec& spec);

    bool is_map() const { return is_map_; }
    const std::string& path() const { return path_; }
    const YAML::Mark& anchor() const { return anchor_; }
    const std::vector<Field>& fields() const { return fields_; }
    Diagnostics& diag() { return diag_; }

    // The field, or nullptr when absent (a required key then reports itself missing, once).
    // Throws std::logic_error for a key the table does not list.
    const Field* find(std::string_view key);
    // Typed reads by the table's kind and range; true when present and valid.
    bool get(std::string_view key, std::string& out);
    bool get(std::string_view key, int& out);
    std::optional<std::size_t> choice(std::string_view key);
    // Reports `what` against the key (for cross-field checks).
    void error(std::string_view key, std::string_view what);

private:
    const KeySpec& spec_of(std::string_view key) const;

    Diagnostics& diag_;
    const SectionSpec& spec_;
    std::string path_;
    YAML::Mark anchor_;
    bool is_map_ = false;
    std::vector<Field> fields_;
    std::vector<std::string> reported_missing_;
};

}  // namespace rappel::config::detail
