#define BOOST_TEST_MODULE observe metrics
#include "engine/observe/engine_metrics.hpp"
#include "engine/observe/metrics.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

using namespace rappel::observe;

BOOST_AUTO_TEST_CASE(counters_and_gauges_render_in_text_format_0_0_4) {
    Registry r;
    auto& sends = r.counter("rappel_sends_total", "Send attempts.", {"provider", "result"});
    auto& up = r.gauge("rappel_redis_up", "Redis answered.");
    sends.with({"twilio", "accepted"}).inc(3);
    sends.with({"smtp", "retry"}).inc();
    up.get().set(1);
    const auto text = r.render();
    BOOST_TEST(text == "# HELP rappel_sends_total Send attempts.\n"
                       "# TYPE rappel_sends_total counter\n"
                       "rappel_sends_total{provider=\"smtp\",result=\"retry\"} 1\n"
                       "rappel_sends_total{provider=\"twilio\",result=\"accepted\"} 3\n"
                       "# HELP rappel_redis_up Redis answered.\n"
                       "# TYPE rappel_redis_up gauge\n"
                       "rappel_redis_up 1\n");
}

BOOST_AUTO_TEST_CASE(a_series_handle_is_resolved_once_and_stays_valid) {
    Registry r;
    auto& f = r.counter("x_total", "x", {"a"});
    Counter& first = f.with({"1"});
    for (int i = 0; i < 100; ++i) f.with({std::to_string(i)});
    first.inc();
    BOOST_TEST(&first == &f.with({"1"}));
    BOOST_TEST(f.with({"1"}).value() == 1u);
}

BOOST_AUTO_TEST_CASE(histograms_render_cumulative_buckets_sum_and_count) {
    Registry r;
    auto& h = r.histogram("rappel_send_duration_seconds", "Latency.", {0.1, 0.5, 1}, {"provider"}).with({"p"});
    h.observe(0.05);
    h.observe(0.1);  // an upper bound is inclusive (le)
    h.observe(0.7);
    h.observe(3);
    const auto text = r.render();
    BOOST_TEST(text.find("rappel_send_duration_seconds_bucket{provider=\"p\",le=\"0.1\"} 2\n") != std::string::npos);
    BOOST_TEST(text.find("rappel_send_duration_seconds_bucket{provider=\"p\",le=\"0.5\"} 2\n") != std::string::npos);
    BOOST_TEST(text.find("rappel_send_duration_seconds_bucket{provider=\"p\",le=\"1\"} 3\n") != std::string::npos);
    BOOST_TEST(text.find("rappel_send_duration_seconds_bucket{provider=\"p\",le=\"+Inf\"} 4\n") != std::string::npos);
    BOOST_TEST(text.find("rappel_send_duration_seconds_sum{provider=\"p\"} 3.85\n") != std::string::npos);
    BOOST_TEST(text.find("rappel_send_duration_seconds_count{provider=\"p\"} 4\n") != std::string::npos);
    BOOST_TEST(text.find("# TYPE rappel_send_duration_seconds histogram\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(label_values_and_help_are_escaped) {
    Registry r;
    r.gauge("g", "line one\nback\\slash", {"l"}).with({"a\"b\\c\nd"}).set(0.25);
    const auto text = r.render();
    BOOST_TEST(text.find("# HELP g line one\\nback\\\\slash\n") != std::string::npos);
    BOOST_TEST(text.find("g{l=\"a\\\"b\\\\c\\nd\"} 0.25\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_names_duplicates_and_label_counts_are_refused) {
    Registry r;
    BOOST_CHECK_THROW(r.counter("sends", "no _total"), std::invalid_argument);
    BOOST_CHECK_THROW(r.gauge("9lives", "bad start"), std::invalid_argument);
    BOOST_CHECK_THROW(r.gauge("ok", "bad label", {"le"}), std::invalid_argument);
    BOOST_CHECK_THROW(r.histogram("h", "unsorted", {1, 0.5}), std::invalid_argument);
    auto& g = r.gauge("ok", "fine", {"a"});
    BOOST_CHECK_THROW(r.gauge("ok", "twice"), std::invalid_argument);
    BOOST_CHECK_THROW(g.with({"1", "2"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(collectors_run_before_each_render) {
    Registry r;
    auto& g = r.gauge("depth", "d").get();
    int calls = 0;
    r.on_collect([&] { g.set(++calls); });
    BOOST_TEST(r.render().find("depth 1\n") != std::string::npos);
    BOOST_TEST(r.render().find("depth 2\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(values_are_formatted_as_prometheus_reads_them) {
    BOOST_TEST(format_value(3) == "3");
    BOOST_TEST(format_value(0.005) == "0.005");
    BOOST_TEST(format_value(1e-4) == "0.0001");
    BOOST_TEST(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    BOOST_TEST(format_value(std::nan("")) == "NaN");
}

BOOST_AUTO_TEST_CASE(counters_are_safe_from_many_threads) {
    Counter c;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < 100000; ++i) c.inc();
        });
    for (auto& t : ts) t.join();
    BOOST_TEST(c.value() == 400000u);
}

// Not a benchmark: a guard that the hot path stays a plain atomic add on a resolved series,
// far cheaper than resolving it by label values (a map lookup). Relative, so it holds in
// debug and sanitizer builds too; release figures are in docs/operations.md.
BOOST_AUTO_TEST_CASE(an_increment_is_far_cheaper_than_a_lookup_by_label) {
    Registry r;
    auto& family = r.counter("hot_total", "h", {"provider", "result"});
    for (int i = 0; i < 20; ++i) family.with({"provider-" + std::to_string(i), "accepted"});
    Counter& c = family.with({"provider-7", "accepted"});
    const Labels labels{"provider-7", "accepted"};
    auto per_op = [](auto&& op, int n) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) op();
        return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
    };
    const double inc = per_op([&] { c.inc(); }, 1'000'000);
    const double lookup = per_op([&] { family.with(labels).inc(); }, 200'000);
    BOOST_TEST_MESSAGE("ns per increment: " << inc << ", per lookup and increment: " << lookup);
    BOOST_TEST(c.value() == 1'200'000u);
    BOOST_TEST(inc * 3 < lookup);
}

BOOST_AUTO_TEST_CASE(outcome_labels_are_read_from_the_outcome_json) {
    EngineMetrics::OutcomeLabels l;
    const std::string sent =
        R"({"schema":"notification-outcome/1","event_id":"e1","reminder_id":"r1","program":"drivers-licence",)"
        R"("licence_id":"L","stage":"30d","channel":"sms","provider":"twilio","status":"sent","attempt":1})";
    BOOST_REQUIRE(EngineMetrics::parse_outcome_labels(sent, l));
    BOOST_TEST(l.program == "drivers-licence");
    BOOST_TEST(l.channel == "sms");
    BOOST_TEST(l.status == "sent");
    const std::string invalid =
        R"({"schema":"notification-outcome/1","event_id":"e2","reminder_id":"","program":"","licence_id":"",)"
        R"("stage":"","channel":"","provider":"","status":"invalid","attempt":0})";
    BOOST_REQUIRE(EngineMetrics::parse_outcome_labels(invalid, l));
    BOOST_TEST(l.program == "");
    BOOST_TEST(l.channel == "");
    BOOST_TEST(l.status == "invalid");
    BOOST_TEST(!EngineMetrics::parse_outcome_labels("{}", l));
}
