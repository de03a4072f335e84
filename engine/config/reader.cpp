#include "engine/config/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace rappel::config::detail {
namespace {

std::vector<std::string_view> split_choices(std::string_view choices) {
    std::vector<std::string_view> out;
    while (!choices.empty()) {
        auto bar = choices.find('|');
        out.push_back(choices.substr(0, bar));
        if (bar == std::string_view::npos) break;
        choices.remove_prefix(bar + 1);
    }
    return out;
}

std::string join(std::span<const std::string_view> items) {
    std::string out;
    for (auto item : items) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out;
}

std::string suggestion_suffix(std::string_view word, std::span<const std::string_view> choices) {
    if (auto near = closest_match(word, choices)) return fmt::format(" (did you mean '{}'?)", *near);
    return fmt::format(" (expected one of: {})", join(choices));
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Three rows of the optimal string alignment table.
    std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                cur[j] = std::min(cur[j], before[j - 2] + 1);
            }
        }
        before.swap(prev);
        prev.swap(cur);
    }
    return prev[b.size()];
}

std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates) {
    auto common_prefix = [&](std::string_view c) {
        std::size_t n = 0;
        while (n < word.size() && n < c.size() && word[n] == c[n]) ++n;
        return n;
    };
    std::optional<std::string_view> best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    std::size_t best_prefix = 0;
    for (auto candidate : candidates) {
        std::size_t d = edit_distance(word, candidate);
        std::size_t limit = std::max<std::size_t>(1, std::max(word.size(), candidate.size()) / 2);
        bool extends = word.size() >= 3 && candidate.starts_with(word);
        if (d > limit && !extends) continue;
        // Equally near: the one sharing the longer start wins ("retires": "retry", not "redis").
        std::size_t prefix = common_prefix(candidate);
        if (d < best_distance || (d == best_distance && prefix > best_prefix)) {
            best = candidate;
            best_distance = d;
            best_prefix = prefix;
        }
    }
    return best;
}

void Diagnostics::at(const YAML::Mark& mark, std::string_view path, std::string_view what) {
    int line = mark.is_null() ? 0 : mark.line;
    int column = mark.is_null() ? 0 : mark.column;
    std::string text = path.empty()
                           ? fmt::format("{}:{}:{}: {}", file_, line + 1, column + 1, what)
                           : fmt::format("{}:{}:{}: {}: {}", file_, line + 1, column + 1, path, what);
    items_.push_back(Item{line, column, std::move(text)});
}

void Diagnostics::outside(std::string_view where, std::string_view path, std::string_view what) {
    items_.push_back(Item{-1, -1, fmt::format("{}: {}: {}", where, path, what)});
}

std::string Diagnostics::report() const {
    std::vector<const Item*> sorted;
    for (const Item& item : items_) sorted.push_back(&item);
    std::stable_sort(sorted.begin(), sorted.end(), [](const Item* a, const Item* b) {
        auto key = [](const Item* i) {
            return std::pair{i->line < 0 ? std::numeric_limits<int>::max() : i->line, i->column};
        };
        return key(a) < key(b);
    });
    std::string out;
    for (const Item* item : sorted) {
        if (!out.empty()) out += '\n';
        out += item->text;
    }
    return out;
}

YAML::Mark Field::mark() const {
    if (value.IsNull() && !key.Mark().is_null()) return key.Mark();
    return value.Mark();
}

std::string join_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return fmt::format("{}.{}", parent, key);
}

std::string index_path(std::string_view parent, std::size_t index) {
    return fmt::format("{}[{}]", parent, index);
}

std::string describe(const YAML::Node& value) {
    if (value.IsMap()) return "a map";
    if (value.IsSequence()) return "a list";
    if (!value.IsScalar()) return "an empty value";
    const std::string& s = value.Scalar();
    if (s.size() > 40) return fmt::format("'{}...'", s.substr(0, 37));
    return fmt::format("'{}'", s);
}

std::optional<std::vector<Field>> read_entries(Diagnostics& diag, const Field& f) {
    std::vector<Field> out;
    if (f.value.IsNull()) return out;
    if (!f.value.IsMap()) {
        diag.at(f.mark(), f.path, fmt::format("expected a map, got {}", describe(f.value)));
        return std::nullopt;
    }
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
        YAML::Node key = it->first;  // a copy: `it->` points into a temporary
        if (!key.IsScalar() || key.Scalar().empty()) {
            diag.at(key.Mark(), f.path, fmt::format("expected a key name, got {}", describe(key)));
            continue;
        }
        auto first = std::find_if(out.begin(), out.end(),
                                  [&](const Field& seen) { return seen.key.Scalar() == key.Scalar(); });
        std::string path = join_path(f.path, key.Scalar());
        if (first != out.end()) {
            diag.at(key.Mark(), path,
                    fmt::format("duplicate key '{}' (first at line {})", key.Scalar(),
                                first->key.Mark().line + 1));
            continue;
        }
        out.push_back(Field{key, it->second, std::move(path)});
    }
    return out;
}

std::optional<std::string> read_string(Diagnostics& diag, const Field& f) {
    if (!f.value.IsScalar()) {
        diag.at(f.mark(), f.path, fmt::format("expected a string, got {}", describe(f.value)));
        return std::nullopt;
    }
    if (f.value.Scalar().empty()) {
        diag.at(f.mark(), f.path, "expected a non-empty string");
        return std::nullopt;
    }
    return f.value.Scalar();
}

std::optional<std::int64_t> read_integer(Diagnostics& diag, const Field& f, std::int64_t min,
                                         std::int64_t max) {
    auto fail = [&] {
        diag.at(f.mark(), f.path,
                fmt::format("expected an integer {}..{}, got {}", min, max, describe(f.value)));
        return std::nullopt;
    };
    if (!f.value.IsScalar()) return fail();
    std::string_view text = f.value.Scalar();
    if (text.starts_with('+')) text.remove_prefix(1);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return fail();
    if (v < min || v > max) return fail();
    return v;
}

std::optional<std::size_t> read_choice(Diagnostics& diag, const Field& f, std::string_view choices) {
    auto options = split_choices(choices);
    if (f.value.IsScalar()) {
        auto it = std::find(options.begin(), options.end(), f.value.Scalar());
        if (it != options.end()) return static_cast<std::size_t>(it - options.begin());
        auto near = closest_match(f.value.Scalar(), options);
        std::string hint = near ? fmt::format(" (did you mean '{}'?)", *near) : "";
        diag.at(f.mark(), f.path,
                fmt::format("expected one of {}, got {}{}", join(options), describe(f.value), hint));
        return std::nullopt;
    }
    diag.at(f.mark(), f.path, fmt::format("expected one of {}, got {}", join(options), describe(f.value)));
    return std::nullopt;
}

MapReader::MapReader(Diagnostics& diag, const Field& field, const SectionSpec& spec)
    : diag_(diag),
      spec_(spec),
      path_(field.path),
      anchor_(field.key.Mark().is_null() ? field.value.Mark() : field.key.Mark()) {
    auto entries = read_entries(diag, field);
    if (!entries) return;
    is_map_ = true;
    std::vector<std::string_view> names;
    for (const KeySpec& k : spec.keys) names.push_back(k.name);
    for (Field& f : *entries) {
        const std::string& name = f.key.Scalar();
        if (spec.find(name) != nullptr) {
            fields_.push_back(std::move(f));
            continue;
        }
        std::string env_key = name + "_env";
        if (spec.find(env_key) != nullptr) {
            diag.at(f.key.Mark(), f.path,
                    fmt::format("secrets come from the environment or files: use {}_env or "
                                "{}_file",
                                name, name));
            continue;
        }
        diag.at(f.key.Mark(), f.path,
                fmt::format("unknown key '{}'{}", name, suggestion_suffix(name, names)));
    }
}

const KeySpec& MapReader::spec_of(std::string_view key) const {
    const KeySpec* k = spec_.find(key);
    if (k == nullptr) {
        throw std::logic_error(fmt::format("config section '{}' has no key '{}'", spec_.id, key));
    }
    return *k;
}

const Field* MapReader::find(std::string_view key) {
    const KeySpec& k = spec_of(key);
    for (const Field& f : fields_) {
        if (f.key.Scalar() == key) return &f;
    }
    if (is_map_ && k.required &&
        std::find(reported_missing_.begin(), reported_missing_.end(), key) == reported_missing_.end()) {
        reported_missing_.emplace_back(key);
        diag_.at(anchor_, join_path(path_, key),
                 fmt::format("required key '{}' is missing ({})", key, type_text(k)));
    }
    return nullptr;
}

bool MapReader::get(std::string_view key, std::string& out) {
    const Field* f = find(key);
    if (f == nullptr) return false;
    auto v = read_string(diag_, *f);
    if (!v) return false;
    out = std::move(*v);
    return true;
}

bool MapReader::get(std::string_view key, int& out) {
    const KeySpec& k = spec_of(key);
    if (k.kind != KeyKind::integer) {
        throw std::logic_error(fmt::format("config key '{}' is not an integer", key));
    }
    const Field* f = find(key);
    if (f == nullptr) return false;
    auto v = read_integer(diag_, *f, k.min, k.max);
    if (!v) return false;
    out = static_cast<int>(*v);
    return true;
}

std::optional<std::size_t> MapReader::choice(std::string_view key) {
    const KeySpec& k = spec_of(key);
    const Field* f = find(key);
    if (f == nullptr) return std::nullopt;
    return read_choice(diag_, *f, k.choices);
}

void MapReader::error(std::string_view key, std::string_view what) {
    for (const Field& f : fields_) {
        if (f.key.Scalar() == key) {
            diag_.at(f.mark(), f.path, what);
            return;
        }
    }
    diag_.at(anchor_, join_path(path_, key), what);
}

}  // namespace rappel::config::detail
