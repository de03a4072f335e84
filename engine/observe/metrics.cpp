#include "engine/observe/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace rappel::observe {

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_->size() + 1]) {
    for (std::size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
    const auto& b = *bounds_;
    // A handful of bounds: a linear scan beats a binary search.
    std::size_t i = 0;
    while (i < b.size() && v > b[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    double cur = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
    count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::counts() const {
    std::vector<std::uint64_t> out(bounds_->size() + 1);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
    return out;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
    std::vector<double> out;
    double v = start;
    for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
    return out;
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) return fmt::format("{}", static_cast<long long>(v));
    return fmt::format("{}", v);
}

namespace {

bool valid_name(std::string_view n, bool label) {
    if (n.empty()) return false;
    auto first = [label](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    };
    if (!first(n[0])) return false;
    return std::all_of(n.begin() + 1, n.end(), [&](char c) { return first(c) || (c >= '0' && c <= '9'); });
}

void append_labels(std::string& out, const Labels& names, const Labels& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
    if (names.empty() && extra_name.empty()) return;
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!first) out += ',';
        first = false;
        out += names[i];
        out += "=\"";
        out += escape_label_value(values[i]);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!first) out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
}

template <typename T>
void header(std::string& out, const Family<T>& f, std::string_view type) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name(), escape_help(f.help()), f.name(), type);
}

}  // namespace

void Registry::check_name(const std::string& name, Kind kind) {
    if (!valid_name(name, false)) throw std::invalid_argument("invalid metric name '" + name + "'");
    if (kind == Kind::counter && !name.ends_with("_total"))
        throw std::invalid_argument("counter '" + name + "' must end in _total");
    for (const auto& e : families_) {
        const std::string& other = e.counter ? e.counter->name() : e.gauge ? e.gauge->name() : e.histogram->name();
        if (other == name) throw std::invalid_argument("metric '" + name + "' registered twice");
    }
}

namespace {
void check_labels(const std::string& metric, const Labels& names) {
    for (const auto& n : names)
        if (!valid_name(n, true) || n.starts_with("__") || n == "le")
            throw std::invalid_argument("metric " + metric + ": invalid label name '" + n + "'");
}
}  // namespace

Family<Counter>& Registry::counter(std::string name, std::string help, Labels label_names) {
    std::lock_guard lock(mu_);
    check_name(name, Kind::counter);
    check_labels(name, label_names);
    Entry e{Kind::counter, {}, {}, {}};
    e.counter = std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(label_names), mu_,
                                                  [] { return std::make_unique<Counter>(); });
    families_.push_back(std::move(e));
    return *families_.back().counter;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, Labels label_names) {
    std::lock_guard lock(mu_);
    check_name(name, Kind::gauge);
    check_labels(name, label_names);
    Entry e{Kind::gauge, {}, {}, {}};
    e.gauge = std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(label_names), mu_,
                                              [] { return std::make_unique<Gauge>(); });
    families_.push_back(std::move(e));
    return *families_.back().gauge;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<double> bounds,
                                       Labels label_names) {
    std::lock_guard lock(mu_);
    check_name(name, Kind::histogram);
    check_labels(name, label_names);
    if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
        std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end())
        throw std::invalid_argument("histogram " + name + ": bounds must be ascending and distinct");
    auto shared = std::make_shared<const std::vector<double>>(std::move(bounds));
    Entry e{Kind::histogram, {}, {}, {}};
    e.histogram = std::make_unique<Family<Histogram>>(std::move(name), std::move(help), std::move(label_names), mu_,
                                                      [shared] { return std::make_unique<Histogram>(shared); });
    families_.push_back(std::move(e));
    return *families_.back().histogram;
}

void Registry::on_collect(std::function<void()> f) {
    std::lock_guard lock(mu_);
    collectors_.push_back(std::move(f));
}

std::string Registry::render() {
    std::vector<std::function<void()>> collectors;
    {
        std::lock_guard lock(mu_);
        collectors = collectors_;
    }
    // Collectors may create series (`with`), which takes the lock: run them outside it.
    for (auto& c : collectors) c();
    std::lock_guard lock(mu_);
    std::string out;
    out.reserve(8192);
    for (const auto& e : families_) {
        switch (e.kind) {
        case Kind::counter: {
            const auto& f = *e.counter;
            header(out, f, "counter");
            for (const auto& [values, c] : f.series()) {
                out += f.name();
                append_labels(out, f.label_names(), values);
                out += fmt::format(" {}\n", c->value());
            }
            break;
        }
        case Kind::gauge: {
            const auto& f = *e.gauge;
            header(out, f, "gauge");
            for (const auto& [values, g] : f.series()) {
                out += f.name();
                append_labels(out, f.label_names(), values);
                out += ' ';
                out += format_value(g->value());
                out += '\n';
            }
            break;
        }
        case Kind::histogram: {
            const auto& f = *e.histogram;
            header(out, f, "histogram");
            for (const auto& [values, h] : f.series()) {
                const auto counts = h->counts();
                const auto& bounds = h->bounds();
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i <= bounds.size(); ++i) {
                    cumulative += counts[i];
                    out += f.name();
                    out += "_bucket";
                    append_labels(out, f.label_names(), values, "le",
                                  i < bounds.size() ? format_value(bounds[i]) : std::string("+Inf"));
                    out += fmt::format(" {}\n", cumulative);
                }
                // _count is the +Inf bucket, so the two always agree within one scrape.
                out += f.name() + "_sum";
                append_labels(out, f.label_names(), values);
                out += ' ' + format_value(h->sum()) + '\n';
                out += f.name() + "_count";
                append_labels(out, f.label_names(), values);
                out += fmt::format(" {}\n", cumulative);
            }
            break;
        }
        }
    }
    return out;
}

}  // namespace rappel::observe
