#define BOOST_TEST_MODULE rappeld observed
// rappeld's HTTP listener on the real stack: a real Prometheus server scrapes it, promtool
// accepts the scrape and the shipped alert rules, the dashboard's queries run, /readyz
// follows Redis, and the engine's JSON log lines parse.
#include "tests/engine/engine_fixture.hpp"
#include "tests/support/http_client.hpp"

#include <cstdlib>
#include <cstdio>
#include <mutex>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <fstream>
#include <sstream>

using namespace rappel::enginetest;

namespace {

std::string url_encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out;
}

int shell(const std::string& cmd) {
    const int rc = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

struct Observed : Fixture {
    explicit Observed(int port)
        : Fixture([port] {
              auto o = test_options([port](YAML::Node& root) {
                  root["http"]["port"] = port;
                  root["http"]["probe_interval_ms"] = 200;
              });
              o.engine_args = {"--log-format", "json", "--log-module", "kafka=warn"};
              return o;
          }()),
          http_port(port) {}

    std::optional<HttpReply> get(const std::string& path) { return http_get("127.0.0.1", http_port, path); }
    int status(const std::string& path) {
        auto r = get(path);
        return r ? r->status : 0;
    }
    std::string metrics() {
        auto r = get("/metrics");
        return r ? r->body : std::string();
    }
    int http_port;
};

}  // namespace

BOOST_AUTO_TEST_CASE(prometheus_scrapes_rappeld_and_promtool_accepts_scrape_and_rules) {
    Observed f(free_port());
    f.start();
    BOOST_REQUIRE_MESSAGE(wait_until([&] { return f.status("/readyz") == 200; }, 20s),
                          "not ready: " << (f.get("/readyz") ? f.get("/readyz")->body : "no answer"));
    BOOST_TEST(f.status("/healthz") == 200);
    BOOST_TEST(f.status("/nope") == 404);

    f.stack.publish_raw("drivers-licence/BROKEN", "{not json");
    // Due in 35 days: its 30-day SMS goes out within a few real seconds.
    f.stack.publish(due_event("soon", "SOON-1", 1, ymd_text(f.stack.sim_now() + std::chrono::days{35}),
                              Holder{"S", "fr", "+16135550199", "", {"sms"}}));
    f.stack.flush();
    BOOST_REQUIRE_MESSAGE(wait_until([&] {
                              const auto m = f.metrics();
                              return m.find("rappel_sends_total{provider=\"twilio-sim\",result=\"accepted\"} 1\n") !=
                                         std::string::npos &&
                                     m.find("rappel_send_duration_seconds_count{provider=\"twilio-sim\"} 1\n") !=
                                         std::string::npos &&
                                     m.find("channel=\"sms\",status=\"sent\"} 1\n") != std::string::npos;
                          }, 60s),
                          "the send was not counted:\n" << f.metrics());
    BOOST_REQUIRE_MESSAGE(wait_until([&] {
                              const auto m = f.metrics();
                              return m.find("rappel_events_dead_lettered_total{reason=\"invalid-json\"} 1\n") !=
                                         std::string::npos &&
                                     m.find("status=\"invalid\"} 1\n") != std::string::npos;
                          }, 30s),
                          "no dead letter counted:\n" << f.metrics());
    const auto scrape = f.get("/metrics");
    BOOST_REQUIRE(scrape);
    BOOST_TEST(scrape->content_type == "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = scrape->body;
    for (const char* expected : {"rappel_build_info{version=\"", "rappel_events_consumed_total ",
                                 "rappel_outcomes_total{program=\"drivers-licence\",channel=\"sms\",status=\"scheduled\"} ",
                                 "rappel_outcomes_total{program=\"none\",channel=\"none\",status=\"invalid\"} 1\n",
                                 "rappel_partitions_owned 4\n", "rappel_redis_up 1\n", "rappel_ready 1\n",
                                 "rappel_redis_rtt_seconds_count ", "rappel_sends_total{provider=\"",
                                 "rappel_config_reloads_total{result=\"failure\"} 0\n", "rappel_schedule_licences ", "rappel_schedule_overdue ", "rappel_consumer_lag_events "})
        BOOST_TEST(text.find(expected) != std::string::npos, "missing " << expected);
    BOOST_TEST(text.find("WARM-UP") == std::string::npos);  // never a licence id

    {
        std::istringstream lines(text);
        std::size_t n = 0;
        for (std::string line; std::getline(lines, line); ++n)
            if (line.starts_with("rappel_outcomes_total") || line.starts_with("rappel_sends_total") ||
                line.starts_with("rappel_redis_rtt_seconds_count") || line.starts_with("rappel_build_info"))
                BOOST_TEST_MESSAGE("scrape: " << line);
        BOOST_TEST_MESSAGE("scrape: " << n << " lines, " << text.size() << " bytes");
    }
    const std::string scrape_file = f.stack.dir() + "/scrape.txt";
    std::ofstream(scrape_file) << text;
    BOOST_TEST(shell("promtool check metrics < " + scrape_file + " > " + scrape_file + ".out 2>&1") == 0,
               read_all(scrape_file + ".out"));
    const std::string rules = source_dir() + "/docs/monitoring/rappel-alerts.yml";
    BOOST_TEST(shell("promtool check rules " + rules + " > " + f.stack.dir() + "/rules.out 2>&1") == 0,
               read_all(f.stack.dir() + "/rules.out"));

    // A real Prometheus, with the shipped rules loaded.
    const int prom_port = free_port();
    const std::string prom_dir = f.stack.dir() + "/prometheus";
    std::filesystem::create_directories(prom_dir + "/data");
    std::ofstream(prom_dir + "/prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "rule_files:\n  - " << rules << "\n"
        << "scrape_configs:\n  - job_name: rappel\n    static_configs:\n      - targets: ['127.0.0.1:" << f.http_port
        << "']\n";
    Process prom({"prometheus", "--config.file=" + prom_dir + "/prometheus.yml", "--storage.tsdb.path=" + prom_dir + "/data",
                  "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                 {}, prom_dir + "/prometheus.log");
    auto query = [&](const std::string& q) {
        auto r = http_get("127.0.0.1", prom_port, "/api/v1/query?query=" + url_encode(q));
        return r && r->status == 200 ? Json::parse(r->body, nullptr, false) : Json();
    };
    const bool scraped = wait_until(
        [&] {
            auto j = query("rappel_partitions_owned{job=\"rappel\"}");
            return j.is_object() && j["status"] == "success" && !j["data"]["result"].empty();
        },
        60s, 200ms);
    BOOST_REQUIRE_MESSAGE(scraped, "Prometheus shows no rappel series; its log:\n" << read_all(prom_dir + "/prometheus.log"));
    auto up = query("up{job=\"rappel\"}");
    BOOST_TEST(up["data"]["result"][0]["value"][1] == "1");
    auto loaded = http_get("127.0.0.1", prom_port, "/api/v1/rules");
    BOOST_REQUIRE(loaded);
    BOOST_TEST(loaded->body.find("RappelProviderFailing") != std::string::npos);

    // Every dashboard query is valid PromQL on these series.
    const auto dash = Json::parse(read_all(source_dir() + "/docs/monitoring/rappel-dashboard.json"));
    int checked = 0;
    for (const auto& panel : dash["panels"]) {
        for (const auto& t : panel["targets"]) {
            std::string expr = t["expr"];
            for (auto at = expr.find("$instance"); at != std::string::npos; at = expr.find("$instance"))
                expr.replace(at, 9, ".*");
            auto j = query(expr);
            BOOST_TEST((j.is_object() && j["status"] == "success"), "dashboard query failed: " << expr);
            ++checked;
        }
    }
    BOOST_TEST(checked > 10);
    prom.signal(SIGTERM);
    prom.wait(10s);

    // The engine's log: one JSON object per line with the stable fields.
    f.engine->signal(SIGTERM);
    BOOST_TEST(f.engine->wait(30s).value_or(-1) == 0);
    std::istringstream log(read_all(f.stack.engine_log()));
    int lines = 0;
    std::set<std::string> modules;
    for (std::string line; std::getline(log, line);) {
        if (line.empty()) continue;
        const auto j = Json::parse(line, nullptr, false);
        BOOST_REQUIRE_MESSAGE(j.is_object(), "not a JSON line: " << line);
        for (const char* key : {"ts", "level", "module", "msg"})
            BOOST_TEST(j.contains(key), "no " << key << " in " << line);
        BOOST_TEST(j.value("ts", "").size() == 24u);
        if (j.value("module", "") == "kafka") BOOST_TEST(j.value("level", "") != "info");  // --log-module kafka=warn
        modules.insert(j.value("module", ""));
        ++lines;
    }
    BOOST_TEST(lines > 3);
    BOOST_TEST(modules.count("engine") == 1u);
    BOOST_TEST(modules.count("http") == 1u);
}

BOOST_AUTO_TEST_CASE(readyz_is_503_while_redis_is_down_and_200_once_it_is_back) {
    Observed f(free_port());
    f.start();
    BOOST_REQUIRE(wait_until([&] { return f.status("/readyz") == 200; }, 20s));
    f.stack.redis().stop();
    BOOST_REQUIRE_MESSAGE(wait_until([&] { return f.status("/readyz") == 503; }, 10s), "still ready with Redis stopped");
    const auto why = f.get("/readyz");
    BOOST_REQUIRE(why);
    BOOST_TEST(why->body.find("redis") != std::string::npos, why->body);
    BOOST_TEST(f.status("/healthz") == 200);  // alive, only not ready
    BOOST_TEST(f.metrics().find("rappel_ready 0\n") != std::string::npos);
    f.stack.redis().start();
    BOOST_REQUIRE_MESSAGE(wait_until([&] { return f.status("/readyz") == 200; }, 30s),
                          "not ready again: " << (f.get("/readyz") ? f.get("/readyz")->body : "no answer"));
}

// systemd's side of Type=notify: a datagram socket in NOTIFY_SOCKET receives READY=1 once the
// engine started, WATCHDOG=1 pings at half of WATCHDOG_USEC, and STOPPING=1 on SIGTERM.
BOOST_AUTO_TEST_CASE(tells_systemd_it_is_ready_alive_and_stopping) {
    TempDir dir("rappel-notify");
    const std::string path = dir.path() + "/notify.sock";
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // Read all the time, as systemd does: a full datagram queue would block the sender.
    std::mutex mu;
    std::vector<std::string> got;
    std::atomic<bool> done{false};
    std::thread reader([&] {
        char buf[512];
        while (!done) {
            const auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) continue;
            std::lock_guard lock(mu);
            got.emplace_back(buf, static_cast<std::size_t>(n));
        }
    });
    auto seen = [&](const std::string& what) {
        std::lock_guard lock(mu);
        return std::count_if(got.begin(), got.end(), [&](const std::string& m) { return m.find(what) != std::string::npos; });
    };
    auto o = test_options();
    o.engine_env = {{"NOTIFY_SOCKET", path}, {"WATCHDOG_USEC", "400000"}};
    Fixture f(o);
    f.engine = f.stack.start_engine();
    BOOST_REQUIRE_MESSAGE(wait_until([&] { return seen("READY=1") == 1 || !f.engine->running(); }, 30s) &&
                              f.engine->running(),
                          "no READY=1; log:\n" << log_text(f.stack.engine_log()));
    BOOST_TEST(wait_until([&] { return seen("WATCHDOG=1") >= 3; }, 10s));
    BOOST_TEST(seen("STOPPING=1") == 0);
    f.engine->signal(SIGTERM);
    BOOST_TEST(wait_until([&] { return seen("STOPPING=1") == 1; }, 10s));
    BOOST_TEST(f.engine->wait(30s).value_or(-1) == 0);
    done = true;
    reader.join();
    ::close(fd);
}
