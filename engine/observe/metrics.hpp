#pragma once
// A small metrics registry rendered in the Prometheus text exposition format 0.0.4.
//
// Families (a name, a help text, label names) are created at start-up; each labelled series
// is resolved once (`with`, a map lookup) and the caller keeps the returned reference, so the
// hot path is one relaxed atomic add on a known address: no string, no lookup, no lock.
// References stay valid for the registry's lifetime. Creating families and series is meant
// for the io thread at start-up (it takes a lock, rendering takes the same lock); increments
// may come from any thread.
//
// Label sets must stay bounded: values come from the configuration or from fixed enums,
// never from events (no contact, licence or reminder ids).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::observe {

class Counter {
public:
    void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    // For mirroring a monotonic count kept elsewhere (e.g. the engine's own stats) at scrape.
    void set(std::uint64_t total) { v_.store(total, std::memory_order_relaxed); }
    std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

class Gauge {
public:
    void set(double v) { v_.store(v, std::memory_order_relaxed); }
    void add(double d) {
        double cur = v_.load(std::memory_order_relaxed);
        while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
        }
    }
    double value() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> v_{0};
};

// Fixed upper bounds (ascending, in base units, e.g. seconds); +Inf is implicit.
class Histogram {
public:
    explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return *bounds_; }
    // Per bucket (not cumulative), the last one is +Inf.
    std::vector<std::uint64_t> counts() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
    std::shared_ptr<const std::vector<double>> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<double> sum_{0};
    std::atomic<std::uint64_t> count_{0};
};

enum class Kind { counter, gauge, histogram };

using Labels = std::vector<std::string>;

template <typename T>
class Family {
public:
    Family(std::string name, std::string help, Labels label_names, std::mutex& mu,
           std::function<std::unique_ptr<T>()> make)
        : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), mu_(mu),
          make_(std::move(make)) {}
    // The series with these label values (as many as label names; throws otherwise).
    T& with(const Labels& values);
    T& get() { return with({}); }

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const Labels& label_names() const { return label_names_; }
    // Sorted by label values; call under the registry lock.
    const std::map<Labels, std::unique_ptr<T>>& series() const { return series_; }

private:
    std::string name_, help_;
    Labels label_names_;
    std::mutex& mu_;
    std::function<std::unique_ptr<T>()> make_;
    std::map<Labels, std::unique_ptr<T>> series_;
};

class Registry {
public:
    // Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, be unique, and counters end in `_total`
    // (checked: throws std::invalid_argument, a programming error).
    Family<Counter>& counter(std::string name, std::string help, Labels label_names = {});
    Family<Gauge>& gauge(std::string name, std::string help, Labels label_names = {});
    Family<Histogram>& histogram(std::string name, std::string help, std::vector<double> bounds,
                                 Labels label_names = {});

    // Runs before each render, on the rendering thread: refresh gauges and mirrored counters.
    void on_collect(std::function<void()> f);

    // Text exposition format 0.0.4.
    std::string render();

    static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

private:
    void check_name(const std::string& name, Kind kind);

    std::mutex mu_;
    struct Entry {
        Kind kind;
        std::unique_ptr<Family<Counter>> counter;
        std::unique_ptr<Family<Gauge>> gauge;
        std::unique_ptr<Family<Histogram>> histogram;
    };
    std::vector<Entry> families_;  // registration order
    std::vector<std::function<void()>> collectors_;
};

// Exponential bucket bounds: start, start*factor, ... (count values).
std::vector<double> exponential_buckets(double start, double factor, int count);

// A label value or help text escaped for the text format.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// A sample value: integers exactly, +Inf/-Inf/NaN spelled as Prometheus reads them.
std::string format_value(double v);

template <typename T>
T& Family<T>::with(const Labels& values) {
    if (values.size() != label_names_.size())
        throw std::invalid_argument("metric " + name_ + ": wrong number of label values");
    std::lock_guard lock(mu_);
    auto it = series_.find(values);
    if (it == series_.end()) it = series_.emplace(values, make_()).first;
    return *it->second;
}

}  // namespace rappel::observe
