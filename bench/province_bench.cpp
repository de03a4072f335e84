// Province benchmark: runs a real `rappeld` child process against the test kit's servers
// (librdkafka mock cluster, redis-server with AOF everysec) and HTTP sinks (nginx, and a
// Boost.Beast sink in this process that records arrivals), and prints one table of the
// engine's figures beside this machine's own limits measured in the same run:
//   1. ingest of pre-published events (4-stage SMS campaign) vs pipelined SET NX and a bare
//      Kafka reader; CPU per event of rappeld and redis-server;
//   2. dispatch of reminders all due at once to nginx vs a raw libcurl multi loop;
//   3. latency from the due instant to the sink at a steady due rate (simulated clock);
//   4. Redis bytes per pending reminder and rappeld RSS;
//   5. rebuild after FLUSHALL (re-consume from offset 0), and reminders sent twice.
// Not a test: nothing asserts timings. Exit status 0 when every phase ran to its end.
#include "engine/base/time_format.hpp"
#include "tests/support/stack/stack.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <curl/curl.h>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <ctime>
#include <sys/resource.h>
#include <unistd.h>

using namespace rappel;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

struct Options {
    long events = 1000000;       // pre-published ingest events (4 SMS reminders each)
    long dispatch = 100000;      // of those, how many have their first stage due at once
    int partitions = 16;
    double max_ingest_s = 600;   // cap of the ingest and rebuild phases
    int latency_rate = 5000;     // reminders falling due per second
    int latency_s = 10;          // duration of the steady phase (the full target: 600)
    double clock_speed = 600;    // simulated clock speed of the latency phase
    int poll_interval_ms = -1;   // engine.poll_interval_ms override (-1: the shipped config's)
    bool skip_rebuild = false;
    // Phases whose figures are measured and printed (empty: all). Ingest always runs, as the
    // set-up of the others; without "ingest" its limits are not measured and, unless --events
    // is given, only the dispatch events are produced.
    std::set<std::string> only;
    bool events_given = false;
    std::string rappeld;         // default: $RAPPEL_BINARY_DIR/engine/app/rappeld
};

double since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

std::int64_t unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// ---- the child process ----------------------------------------------------------------

// utime + stime of a process, in microseconds (clock ticks, so 10 ms resolution).
double proc_cpu_us(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string s((std::istreambuf_iterator<char>(in)), {});
    const auto close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(s.substr(close + 2));
    std::string field;
    double ut = 0, st = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) ut = std::stod(field);
        if (i == 15) st = std::stod(field);
    }
    return (ut + st) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double proc_rss_mib(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

// This process: the mock Kafka cluster's broker threads, the sinks and the bench's polls.
double self_cpu_us() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

double thread_cpu_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct Rss {
    double start = 0, end = 0, max = 0;
    Steady::time_point born = Steady::now();
    void sample(pid_t pid) {
        if (since(born) < 0.3) return;  // between fork and exec it is the bench's own
        const double v = proc_rss_mib(pid);
        if (v <= 0) return;
        if (start == 0) start = v;
        end = v;
        max = std::max(max, v);
    }
};

// ---- Redis (hiredis, blocking) --------------------------------------------------------

class Redis {
public:
    Redis(const std::string& host, int port) {
        c_ = redisConnect(host.c_str(), port);
        if (!c_ || c_->err) throw std::runtime_error("cannot connect to redis");
    }
    ~Redis() { redisFree(c_); }
    std::string str(const char* cmd) {
        auto* r = static_cast<redisReply*>(redisCommand(c_, cmd));
        std::string out = r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
                              ? std::string(r->str, r->len)
                              : std::string();
        if (r) freeReplyObject(r);
        return out;
    }
    double info_field(const char* section, const std::string& name) {
        const std::string text = str(fmt::format("INFO {}", section).c_str());
        const auto at = text.find(name + ":");
        return at == std::string::npos ? 0 : std::stod(text.substr(at + name.size() + 1));
    }
    double cpu_us() { return (info_field("cpu", "used_cpu_user") + info_field("cpu", "used_cpu_sys")) * 1e6; }
    double used_memory() { return info_field("memory", "used_memory"); }
    std::optional<long long> hget(const std::string& key, const std::string& field) {
        auto* r = static_cast<redisReply*>(redisCommand(c_, "HGET %s %s", key.c_str(), field.c_str()));
        std::optional<long long> out;
        if (r && r->type == REDIS_REPLY_STRING) out = std::atoll(r->str);
        if (r) freeReplyObject(r);
        return out;
    }
    // Pipelined SET key value NX, `window` commands in flight; returns ops/s.
    double set_nx(long n, int window = 1000) {
        const std::string value(100, 'x');
        const auto t0 = Steady::now();
        long sent = 0, got = 0;
        while (got < n) {
            while (sent < n && sent - got < window) {
                const std::string key = fmt::format("bench:nx:{}", sent++);
                redisAppendCommand(c_, "SET %b %b NX", key.data(), key.size(), value.data(), value.size());
            }
            void* reply = nullptr;
            if (redisGetReply(c_, &reply) != REDIS_OK) throw std::runtime_error("redis SET NX failed");
            freeReplyObject(reply);
            ++got;
        }
        return n / since(t0);
    }

private:
    redisContext* c_ = nullptr;
};

// ---- Kafka ----------------------------------------------------------------------------

void kset(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(fmt::format("kafka {}: {}", k, err));
}

// Batched, lz4-compressed producer: the mock keeps about 5 MiB or 100,000 batches per
// partition and silently drops older data, so 1 M events need compression and big batches.
class BulkProducer {
public:
    explicit BulkProducer(const std::string& bootstrap) {
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        kset(conf, "bootstrap.servers", bootstrap);
        kset(conf, "log_level", "3");
        kset(conf, "compression.type", "lz4");
        kset(conf, "linger.ms", "100");
        kset(conf, "batch.num.messages", "100000");
        kset(conf, "batch.size", "900000");
        kset(conf, "queue.buffering.max.messages", "2000000");
        kset(conf, "queue.buffering.max.kbytes", "2000000");
        rd_kafka_conf_set_opaque(conf, this);
        rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
            if (m->err) static_cast<BulkProducer*>(opaque)->failed_++;
        });
        char err[512];
        rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        if (!rk_) throw std::runtime_error(err);
    }
    ~BulkProducer() {
        rd_kafka_flush(rk_, 10000);
        rd_kafka_destroy(rk_);
    }
    void send(const std::string& topic, const std::string& key, const std::string& value) {
        for (;;) {
            const auto err = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
                                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                               RD_KAFKA_V_KEY(key.data(), key.size()),
                                               RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                               RD_KAFKA_V_END);
            if (!err) break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) throw std::runtime_error(rd_kafka_err2str(err));
            rd_kafka_poll(rk_, 50);
        }
        rd_kafka_poll(rk_, 0);
    }
    void flush() {
        if (rd_kafka_flush(rk_, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error("flush timed out");
        if (failed_ > 0) throw std::runtime_error(fmt::format("{} events failed to produce", failed_.load()));
    }
    // Sum over partitions of the high watermarks (what was produced); `low_nonzero` counts
    // partitions whose log start moved (data dropped by the mock), `available` gets the sum of
    // (high - low), what is still there to read.
    long long watermarks(const std::string& topic, int partitions, int* low_nonzero = nullptr,
                         std::vector<long long>* highs = nullptr, long long* available = nullptr) {
        long long total = 0;
        if (available) *available = 0;
        if (low_nonzero) *low_nonzero = 0;
        if (highs) highs->clear();
        for (int p = 0; p < partitions; ++p) {
            int64_t lo = 0, hi = 0;
            if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                throw std::runtime_error("watermarks of " + topic);
            if (lo != 0 && low_nonzero) ++*low_nonzero;
            if (highs) highs->push_back(hi);
            if (available) *available += hi - lo;
            total += hi;
        }
        return total;
    }

private:
    rd_kafka_t* rk_ = nullptr;
    std::atomic<int> failed_{0};
};

// Reads a topic from given offsets (plain assign) and hands each value to a callback.
class Reader {
public:
    Reader(const std::string& bootstrap, const std::string& topic, const std::vector<long long>& from) {
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        kset(conf, "bootstrap.servers", bootstrap);
        kset(conf, "group.id", testkit::unique_group("bench-reader"));
        kset(conf, "enable.auto.commit", "false");
        kset(conf, "log_level", "3");
        char err[512];
        rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
        if (!rk_) throw std::runtime_error(err);
        rd_kafka_poll_set_consumer(rk_);
        auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(from.size()));
        for (std::size_t p = 0; p < from.size(); ++p)
            rd_kafka_topic_partition_list_add(list, topic.c_str(), static_cast<int>(p))->offset = from[p];
        rd_kafka_assign(rk_, list);
        rd_kafka_topic_partition_list_destroy(list);
    }
    ~Reader() {
        rd_kafka_consumer_close(rk_);
        rd_kafka_destroy(rk_);
    }
    // Reads until `count` messages were seen in total or the timeout; returns the total.
    long read(long count, std::chrono::milliseconds timeout, const std::function<void(std::string_view)>& each) {
        const auto deadline = Steady::now() + timeout;
        while (seen_ < count && Steady::now() < deadline) {
            rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
            if (!m) continue;
            if (!m->err) {
                ++seen_;
                if (each) each(std::string_view(static_cast<const char*>(m->payload), m->len));
            }
            rd_kafka_message_destroy(m);
        }
        return seen_;
    }

private:
    rd_kafka_t* rk_ = nullptr;
    long seen_ = 0;
};

// ---- HTTP sinks -----------------------------------------------------------------------

// Twilio-shaped sink in this process: answers every request 201 with a Messages JSON body
// and records (arrival time, I-Twilio-Idempotency-Token).
class BeastSink {
public:
    struct Hit {
        std::int64_t at_us;
        std::string token;
    };
    BeastSink() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        port_ = acceptor_.local_endpoint().port();
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~BeastSink() {
        io_.stop();
        thread_.join();
    }
    int port() const { return port_; }
    long count() const { return count_.load(); }
    long connections() const { return connections_.load(); }
    std::vector<Hit> hits() {
        std::lock_guard lock(mu_);
        return hits_;
    }

private:
    struct Session : std::enable_shared_from_this<Session> {
        Session(asio::ip::tcp::socket s, BeastSink& k) : sock(std::move(s)), sink(k) {}
        asio::ip::tcp::socket sock;
        BeastSink& sink;
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::response<http::string_body> res;
        void read() {
            req = {};
            http::async_read(sock, buf, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec) self->answer();
            });
        }
        void answer() {
            const auto at = unix_us();
            const long n = sink.count_.fetch_add(1) + 1;
            {
                std::lock_guard lock(sink.mu_);
                sink.hits_.push_back({at, std::string(req["I-Twilio-Idempotency-Token"])});
            }
            res = {http::status::created, req.version()};
            res.set(http::field::content_type, "application/json");
            res.keep_alive(req.keep_alive());
            res.body() = fmt::format(R"({{"sid":"SM{:032x}","status":"queued","num_segments":"1"}})", n);
            res.prepare_payload();
            http::async_write(sock, res, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) return;
                if (!self->res.keep_alive()) {
                    beast::error_code ignored;
                    self->sock.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                    return;
                }
                self->read();
            });
        }
    };
    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, asio::ip::tcp::socket s) {
            if (!ec) {
                ++connections_;
                std::make_shared<Session>(std::move(s), *this)->read();
            }
            accept();
        });
    }

    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    int port_ = 0;
    std::thread thread_;
    std::atomic<long> count_{0};
    std::atomic<long> connections_{0};
    std::mutex mu_;
    std::vector<Hit> hits_;
};

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

std::string http_get(const std::string& url) {
    std::string body;
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* u) {
        static_cast<std::string*>(u)->append(d, s * n);
        return s * n;
    });
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_perform(e);
    curl_easy_cleanup(e);
    return body;
}

// nginx from Debian answering `return 201` with a Twilio-shaped body; its access log has
// one line per request: "$connection $request_uri $http_i_twilio_idempotency_token".
class Nginx {
public:
    Nginx() : dir_("rappel-nginx") {
        port_ = testkit::free_port();
        const std::string d = dir_.path();
        std::ofstream conf(d + "/nginx.conf");
        conf << fmt::format(R"(worker_processes 1;
daemon off;
master_process on;
pid {0}/nginx.pid;
error_log {0}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  log_format bench '$connection $request_uri $http_i_twilio_idempotency_token';
  access_log {0}/access.log bench buffer=256k flush=100ms;
  client_body_temp_path {0}/body; proxy_temp_path {0}/proxy; fastcgi_temp_path {0}/fcgi;
  uwsgi_temp_path {0}/uwsgi; scgi_temp_path {0}/scgi;
  keepalive_requests 10000000; keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{1} backlog=4096;
    location = /nginx_status {{ stub_status; access_log off; }}
    location / {{
      default_type application/json;
      return 201 '{{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","num_segments":"1"}}';
    }}
  }}
}}
)",
                            d, port_);
        conf.close();
        proc_ = std::make_unique<testkit::Process>(
            std::vector<std::string>{"nginx", "-p", d, "-c", d + "/nginx.conf", "-e", d + "/error.log"},
            std::map<std::string, std::string>{}, d + "/stdout.log");
        if (!testkit::wait_until([&] { return requests() >= 0 || !proc_->running(); }, 10s) || !proc_->running()) {
            stop();
            throw std::runtime_error("nginx did not start (scripts/setup.sh installs it); see " + d);
        }
    }
    ~Nginx() { stop(); }
    // The master and its worker: the Process is its own process group (setpgid).
    void stop() {
        const pid_t group = proc_->pid();
        ::kill(-group, SIGQUIT);
        if (!proc_->wait(5s)) proc_->kill_hard();
        ::kill(-group, SIGKILL);
    }
    std::string base_url() const { return fmt::format("http://127.0.0.1:{}", port_); }
    // Requests handled so far other than our own stub_status polls, or -1 if it does not
    // answer (stub_status counts the request reading it).
    long requests() {
        const std::string s = http_get(base_url() + "/nginx_status");
        const auto at = s.find("\n ");  // "server accepts handled requests\n A H R"
        if (at == std::string::npos) return -1;
        std::istringstream in(s.substr(at));
        long a = 0, h = 0, r = -1;
        in >> a >> h >> r;
        if (r < 0) return r;
        return r - ++status_calls_;
    }
    std::vector<std::string> log_lines() const {
        std::ifstream in(dir_.path() + "/access.log");
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    }

private:
    testkit::TempDir dir_;
    int port_ = 0;
    long status_calls_ = 0;
    std::unique_ptr<testkit::Process> proc_;
};

// Raw libcurl multi loop: `conns` keep-alive connections posting a Twilio-shaped form.
struct RawResult {
    double rate = 0, cpu_us_per_msg = 0;
    long ok = 0;
};
RawResult raw_curl(const std::string& base, long n, int conns) {
    const std::string url = base + "/raw/2010-04-01/Accounts/ACbench/Messages.json";
    const std::string form =
        "To=%2B16135550142&From=%2B16135550100&Body=Hello%2C%20your%20driver%27s%20licence%20expires%20on%20"
        "February%2014%2C%202027.%20Renew%3A%20https%3A%2F%2Fwww.ontario.ca%2Frenew%0AServiceOntario.";
    curl_slist* headers = curl_slist_append(nullptr, "I-Twilio-Idempotency-Token: raw");
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    CURLM* m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(conns));
    std::vector<CURL*> easies;
    long started = 0, done = 0;
    RawResult res;
    const auto cpu0 = thread_cpu_us();
    const auto t0 = Steady::now();
    for (int i = 0; i < conns && started < n; ++i, ++started) {
        CURL* e = curl_easy_init();
        curl_easy_setopt(e, CURLOPT_URL, url.c_str());
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, form.c_str());
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_USERNAME, "ACbench");
        curl_easy_setopt(e, CURLOPT_PASSWORD, "secret");
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
        easies.push_back(e);
        curl_multi_add_handle(m, e);
    }
    while (done < n) {
        int running = 0;
        curl_multi_perform(m, &running);
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
            if (msg->msg != CURLMSG_DONE) continue;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            res.ok += msg->data.result == CURLE_OK && status == 201;
            ++done;
            curl_multi_remove_handle(m, msg->easy_handle);
            if (started < n) {
                ++started;
                curl_multi_add_handle(m, msg->easy_handle);
            }
        }
        if (done < n) curl_multi_poll(m, nullptr, 0, 100, nullptr);
    }
    res.rate = n / since(t0);
    res.cpu_us_per_msg = (thread_cpu_us() - cpu0) / static_cast<double>(n);
    for (CURL* e : easies) curl_easy_cleanup(e);
    curl_multi_cleanup(m);
    curl_slist_free_all(headers);
    return res;
}

// ---- workload -------------------------------------------------------------------------

constexpr const char* kIngestClock = "2026-12-01T00:00:00Z";
// Dispatch events are due 2027-03-01: their 60d stage is 2026-12-31 10:00 Toronto (EST).
constexpr const char* kDispatchDue = "2027-03-01";
constexpr const char* kDispatchInstant = "2026-12-31T15:00:00Z";
// Latency events are due 2027-01-01; stage k fires at 10:00 Toronto + k minutes.
constexpr const char* kLatencyDue = "2027-01-01";
constexpr const char* kLatencyFirst = "2027-01-01T15:00:00Z";
constexpr const char* kLatencyProgram = "latency-bench";

std::string event_json(const std::string& program, const std::string& lic, long i, const std::string& due) {
    return fmt::format(
        R"({{"schema":"renewal-event/1","event_id":"e{0}","type":"due","program":"{1}","licence_id":"{2}",)"
        R"("version":1,"occurred_at":"2026-11-20T15:04:05Z","due_date":"{3}","holder":{{"name":"Holder {0}",)"
        R"("language":"{4}","contacts":{{"sms":"+1613{5:07}"}},"channels":["sms"]}},)"
        R"("data":{{"renewal_url":"https://www.ontario.ca/renew"}}}})",
        i, program, lic, due, i % 2 ? "fr" : "en", i % 10000000);
}

std::string ingest_due(long i, long dispatch) {
    if (i < dispatch) return kDispatchDue;
    // Far enough that every stage is in the future on every clock used here.
    const int day = 1 + static_cast<int>(i % 28), month = 5 + static_cast<int>((i / 28) % 6);
    return fmt::format("2028-{:02}-{:02}", month, day);
}

YAML::Node sms_stage(const std::string& id, int offset_days, int minute_of_day) {
    YAML::Node s;
    s["id"] = id;
    s["offset_days"] = offset_days;
    s["send_at"] = fmt::format("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60);
    s["channels"].push_back("sms");
    return s;
}

struct Row {
    std::string figure, engine, limit, ratio, target;
};

std::string num(double v, int prec = 0) { return fmt::format("{:.{}f}", v, prec); }
std::string ratio(double a, double b) { return b > 0 ? fmt::format("{:.2f}x", a / b) : "-"; }

class Bench {
public:
    explicit Bench(Options o) : opt_(o) {}
    int run();

private:
    void write_config(const std::string& path, const std::string& sms_base_url);
    std::unique_ptr<testkit::Process> start_rappeld(const std::string& config, const std::string& clock_start,
                                                    double speed, std::int64_t anchor_ms, const std::string& tag,
                                                    const std::string& log_level = "warn");
    void stop(std::unique_ptr<testkit::Process>& p) {
        p->signal(SIGTERM);
        if (!p->wait(60s)) {
            std::cerr << "rappeld did not stop in 60 s; killed\n";
            p->kill_hard();
        }
        p.reset();
    }
    long long outcomes_hw() { return producer_->watermarks(stack_->outcomes_topic(), opt_.partitions); }
    // Layout 2 (scheduler/keys.hpp): HASH <prefix>:{pN}:O, field topic -> next offset to consume,
    // so the sum over partitions is the count of events applied from offset 0.
    long long stored_offsets(Redis& r) {
        long long sum = 0;
        for (int p = 0; p < opt_.partitions; ++p)
            sum += r.hget(fmt::format("{}:{{p{}}}:O", key_prefix_, p), stack_->events_topic()).value_or(0);
        return sum;
    }
    void note(const std::string& s) { std::cerr << "[" << num(since(t_start_), 1) << " s] " << s << "\n"; }

    Options opt_;
    Steady::time_point t_start_ = Steady::now();
    std::unique_ptr<testkit::Stack> stack_;
    std::unique_ptr<BulkProducer> producer_;
    std::string key_prefix_ = "rp";
    int latency_stages_ = 0;
    long latency_events_ = 0;
    std::vector<Row> rows_;
    std::vector<std::string> notes_;
};

void Bench::write_config(const std::string& path, const std::string& sms_base_url) {
    YAML::Node root = YAML::LoadFile(stack_->config_path());
    if (opt_.poll_interval_ms > 0) root["engine"]["poll_interval_ms"] = opt_.poll_interval_ms;
    if (root["redis"]["key_prefix"]) key_prefix_ = root["redis"]["key_prefix"].as<std::string>();
    for (auto it = root["providers"].begin(); it != root["providers"].end(); ++it)
        if (it->second["type"].as<std::string>() == "twilio-sms") it->second["base_url"] = sms_base_url;
    // 4-stage SMS campaign.
    YAML::Node stages(YAML::NodeType::Sequence);
    stages.push_back(sms_stage("60d", -60, 600));
    stages.push_back(sms_stage("30d", -30, 600));
    stages.push_back(sms_stage("7d", -7, 600));
    stages.push_back(sms_stage("1d-after", 1, 570));
    root["programs"]["drivers-licence"]["stages"] = stages;
    // Latency campaign: one stage per simulated minute from 10:00 on the due date.
    YAML::Node lat;
    lat["name"]["en"] = "bench licence";
    lat["name"]["fr"] = "permis de banc";
    lat["templates"] = root["programs"]["drivers-licence"]["templates"];
    lat["catch_up"]["policy"] = "latest";
    lat["catch_up"]["grace_days"] = 3;
    // Its stages fire every minute of the day from New Year's Day on: no send window.
    lat["windows"]["sms"]["weekdays"] = "00:00-24:00";
    lat["windows"]["sms"]["weekends"] = "00:00-24:00";
    lat["windows"]["sms"]["skip_holidays"] = "false";
    YAML::Node ls(YAML::NodeType::Sequence);
    for (int k = 0; k < latency_stages_; ++k) ls.push_back(sms_stage(fmt::format("m{:05}", k), (600 + k) / 1440, (600 + k) % 1440));
    lat["stages"] = ls;
    root["programs"][kLatencyProgram] = lat;
    std::ofstream out(path);
    out << YAML::Dump(root) << "\n";
}

std::unique_ptr<testkit::Process> Bench::start_rappeld(const std::string& config, const std::string& clock_start,
                                                       double speed, std::int64_t anchor_ms, const std::string& tag,
                                                       const std::string& log_level) {
    std::vector<std::string> argv{opt_.rappeld.empty() ? testkit::binary_dir() + "/engine/app/rappeld" : opt_.rappeld,
                                  "--config", config,
                                  "--clock-start", clock_start, "--clock-speed", fmt::format("{}", speed),
                                  "--clock-anchor", std::to_string(anchor_ms), "--instance-id", "bench-" + tag,
                                  "--log-level", log_level};
    return std::make_unique<testkit::Process>(
        argv, std::map<std::string, std::string>{{"RAPPEL_TWILIO_AUTH_TOKEN", stack_->sim().options().auth_token}},
        stack_->dir() + "/rappeld-" + tag + ".log");
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int Bench::run() {
    const double per_slot = opt_.latency_rate * 60.0 / opt_.clock_speed;  // reminders per simulated minute
    latency_events_ = std::max<long>(1, std::lround(per_slot));
    latency_stages_ = std::max(1, static_cast<int>(std::ceil(opt_.latency_s * opt_.clock_speed / 60.0)));
    const long reminders = opt_.events * 4;
    bool complete = true;
    auto measured = [&](const char* phase) { return opt_.only.empty() || opt_.only.count(phase) > 0; };
    const bool do_ingest = measured("ingest"), do_dispatch = measured("dispatch"), do_latency = measured("latency");
    if (!measured("rebuild")) opt_.skip_rebuild = true;

    testkit::StackOptions so;
    so.partitions = opt_.partitions;
    so.log_level = "warn";
    stack_ = std::make_unique<testkit::Stack>(so);
    producer_ = std::make_unique<BulkProducer>(stack_->kafka().bootstrap());
    Nginx nginx;
    BeastSink sink;
    Redis redis(stack_->redis().host(), stack_->redis().port());
    const std::string cfg_nginx = stack_->dir() + "/bench-nginx.yaml";
    const std::string cfg_sink = stack_->dir() + "/bench-sink.yaml";
    write_config(cfg_nginx, nginx.base_url());
    write_config(cfg_sink, fmt::format("http://127.0.0.1:{}", sink.port()));

    // Limit: pipelined SET NX on the same Redis, and its CPU per op.
    double setnx = 0, setnx_cpu = 0;
    if (do_ingest) {
        note(fmt::format("redis limit: {} pipelined SET NX", opt_.events));
        const double rcpu0 = redis.cpu_us();
        setnx = redis.set_nx(opt_.events);
        setnx_cpu = (redis.cpu_us() - rcpu0) / static_cast<double>(opt_.events);
    }
    redis.str("FLUSHALL");
    const double mem_base = redis.used_memory();

    // Pre-publish the ingest events; check that the mock kept them all.
    note(fmt::format("producing {} events over {} partitions (lz4)", opt_.events, opt_.partitions));
    auto tp = Steady::now();
    for (long i = 0; i < opt_.events; ++i) {
        const std::string lic = fmt::format("B{:09}", i);
        producer_->send(stack_->events_topic(), "drivers-licence/" + lic,
                        event_json("drivers-licence", lic, i, ingest_due(i, do_dispatch ? opt_.dispatch : 0)));
    }
    producer_->flush();
    const double produce_s = since(tp);
    int dropped = 0;
    const long long in_topic = producer_->watermarks(stack_->events_topic(), opt_.partitions, &dropped);
    note(fmt::format("produced in {:.1f} s; topic holds {} (partitions with data dropped: {})", produce_s, in_topic, dropped));
    if (in_topic != opt_.events || dropped) {
        std::cerr << "the mock cluster did not keep every event: lower --events\n";
        return 1;
    }

    // Limit: a bare consumer reading the same events.
    double kafka_rate = 0;
    if (do_ingest) {
        Reader reader(stack_->kafka().bootstrap(), stack_->events_topic(), std::vector<long long>(opt_.partitions, RD_KAFKA_OFFSET_BEGINNING));
        const auto t0 = Steady::now();
        const long got = reader.read(opt_.events, 300s, {});
        kafka_rate = got / since(t0);
    }

    // 1. Ingest.
    note("ingest: starting rappeld");
    Rss rss_ingest;  // reset at each start below
    double ingest_rate = 0, relayed_rate = 0, ingest_cpu = 0, redis_ingest_cpu = 0, kafka_ingest_cpu = 0, ingest_s = 0;
    long long relayed = 0, applied = 0;
    {
        rss_ingest = Rss{};
        auto proc = start_rappeld(cfg_nginx, kIngestClock, 1, now_ms(), "ingest");
        const pid_t pid = proc->pid();
        const auto started = Steady::now();
        Steady::time_point t_first{};
        double cpu_first = 0, rcpu_first = 0, kcpu_first = 0;
        const long long hw0 = outcomes_hw();
        for (;;) {
            rss_ingest.sample(pid);
            relayed = outcomes_hw() - hw0;
            applied = stored_offsets(redis);
            if (t_first == Steady::time_point{} && (relayed > 0 || applied > 0)) {
                t_first = Steady::now();
                cpu_first = proc_cpu_us(pid);
                rcpu_first = redis.cpu_us();
                kcpu_first = self_cpu_us();
            }
            if ((applied >= opt_.events && relayed >= reminders) || !proc->running()) break;
            if (since(started) > opt_.max_ingest_s) {
                complete = false;
                notes_.push_back(fmt::format("ingest capped at {:.0f} s: {} of {} events applied, {} of {} outcomes relayed",
                                             opt_.max_ingest_s, applied, opt_.events, relayed, reminders));
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
        if (t_first == Steady::time_point{}) t_first = started;
        ingest_s = since(t_first);
        const long long done = applied;
        ingest_rate = done / ingest_s;
        relayed_rate = relayed / ingest_s;
        ingest_cpu = (proc_cpu_us(pid) - cpu_first) / std::max<long long>(1, done);
        redis_ingest_cpu = (redis.cpu_us() - rcpu_first) / std::max<long long>(1, done);
        kafka_ingest_cpu = (self_cpu_us() - kcpu_first) / std::max<long long>(1, done);
        note(fmt::format("ingest: {} applied, {} outcomes relayed in {:.1f} s after the first (join: {:.1f} s)", applied,
                         relayed, ingest_s, std::chrono::duration<double>(t_first - started).count()));
        stop(proc);
    }
    const double mem_per = (redis.used_memory() - mem_base) / static_cast<double>(applied * 4 > 0 ? applied * 4 : 1);

    // 2. Dispatch: the 60d stage of the first `dispatch` events is due at one instant.
    note(fmt::format("dispatch: {} reminders due at once -> nginx", opt_.dispatch));
    double dispatch_rate = 0, dispatch_cpu = 0;
    Rss rss_dispatch;
    const long nginx0 = nginx.requests();
    RawResult raw;
    std::unordered_set<std::string> sent_before;
    double conn_engine = 0, conn_raw = 0;
    long dispatch_dupes = 0;
    if (do_dispatch) {
        const TimePoint at = *parse_rfc3339(kDispatchInstant) + std::chrono::seconds{1};
        const long long out0 = outcomes_hw();
        rss_dispatch = Rss{};
        auto proc = start_rappeld(cfg_nginx, format_rfc3339(at), 1, now_ms(), "dispatch");
        const pid_t pid = proc->pid();
        const auto started = Steady::now();
        Steady::time_point t_first{};
        double cpu_first = 0;
        long got = 0;
        while (got < opt_.dispatch && proc->running() && since(started) < opt_.max_ingest_s) {
            got = nginx.requests() - nginx0;
            rss_dispatch.sample(pid);
            if (got > 0 && t_first == Steady::time_point{}) {
                t_first = Steady::now();
                cpu_first = proc_cpu_us(pid);
            }
            std::this_thread::sleep_for(2ms);
        }
        if (t_first == Steady::time_point{}) t_first = started;
        dispatch_rate = got / since(t_first);
        dispatch_cpu = (proc_cpu_us(pid) - cpu_first) / std::max<long>(1, got);
        if (got < opt_.dispatch) {
            complete = false;
            notes_.push_back(fmt::format("dispatch: only {} of {} requests reached nginx", got, opt_.dispatch));
        }
        note(fmt::format("dispatch: {} requests in {:.2f} s", got, since(t_first)));
        // Let the results reach Redis and the outcomes topic (one `sent` each) before stopping.
        testkit::wait_until([&] { return outcomes_hw() - out0 >= opt_.dispatch; }, 30s, 50ms);
        stop(proc);
    }
    if (do_dispatch) {
    note("dispatch limit: raw libcurl multi, 64 keep-alive connections");
    raw = raw_curl(nginx.base_url(), opt_.dispatch, 64);
    // nginx access log: connections used by rappeld and by the raw loop; tokens sent.
    std::set<long> conns_engine, conns_raw;
    long engine_lines = 0, raw_lines = 0;
    testkit::wait_until([&] { return static_cast<long>(nginx.log_lines().size()) >= nginx.requests(); }, 10s, 100ms);
    for (const auto& l : nginx.log_lines()) {
        std::istringstream in(l);
        long conn = 0;
        std::string uri, token;
        in >> conn >> uri >> token;
        if (uri.rfind("/raw/", 0) == 0) {
            conns_raw.insert(conn);
            ++raw_lines;
        } else {
            conns_engine.insert(conn);
            ++engine_lines;
            sent_before.insert(token);
        }
    }
    conn_engine = engine_lines ? 1000.0 * conns_engine.size() / engine_lines : 0;
    conn_raw = raw_lines ? 1000.0 * conns_raw.size() / raw_lines : 0;
    dispatch_dupes = engine_lines - static_cast<long>(sent_before.size());
    }

    // 3. Latency: `latency_events_` events with one stage per simulated minute.
    std::vector<double> lat_ms;
    double latency_cpu = 0;
    Rss rss_latency;
    const double lead_s = 8;  // real seconds between the start and the first due instant
    const TimePoint first_due = *parse_rfc3339(kLatencyFirst);
    if (do_latency) {
    note(fmt::format("latency: {} events x {} stages, clock speed {}", latency_events_, latency_stages_, opt_.clock_speed));
    std::vector<long long> out_from;
    producer_->watermarks(stack_->outcomes_topic(), opt_.partitions, nullptr, &out_from);
    for (long i = 0; i < latency_events_; ++i) {
        const std::string lic = fmt::format("L{:09}", i);
        producer_->send(stack_->events_topic(), std::string(kLatencyProgram) + "/" + lic,
                        event_json(kLatencyProgram, lic, opt_.events + i, kLatencyDue));
    }
    producer_->flush();
    const long lat_total = latency_events_ * latency_stages_;
    std::vector<BeastSink::Hit> lat_hits;
    std::int64_t anchor = 0;
    const TimePoint lat_start = first_due - std::chrono::milliseconds{std::llround(lead_s * 1000 * opt_.clock_speed)};
    bool ready_in_time = false;
    {
        // Schedule them (and whatever ingest left) first, so that the phase measures firing.
        auto proc = start_rappeld(cfg_sink, format_rfc3339(first_due - std::chrono::hours{24}), 1, now_ms(), "latency-ingest");
        const auto started = Steady::now();
        while (proc->running() && since(started) < opt_.max_ingest_s && stored_offsets(redis) < opt_.events + latency_events_)
            std::this_thread::sleep_for(50ms);
        ready_in_time = stored_offsets(redis) >= opt_.events + latency_events_;
        note(fmt::format("latency: events stored after {:.1f} s: {}", since(started), ready_in_time ? "all" : "not all"));
        stop(proc);
    }
    const auto sink0 = sink.count();
    {
        rss_latency = Rss{};
        anchor = now_ms();
        auto proc = start_rappeld(cfg_sink, format_rfc3339(lat_start), opt_.clock_speed, anchor, "latency");
        const pid_t pid = proc->pid();
        const double cpu0 = proc_cpu_us(pid);
        const auto deadline = Steady::now() + std::chrono::seconds{static_cast<long>(lead_s + opt_.latency_s + 60)};
        while (sink.count() - sink0 < lat_total && proc->running() && Steady::now() < deadline) {
            rss_latency.sample(pid);
            std::this_thread::sleep_for(20ms);
        }
        latency_cpu = (proc_cpu_us(pid) - cpu0) / std::max<long>(1, sink.count() - sink0);
        stop(proc);
    }
    {
        auto all = sink.hits();
        lat_hits.assign(all.begin() + sink0, all.end());
    }
    // reminder_id -> stage index, from the `scheduled` outcomes of the latency events.
    std::unordered_map<std::string, int> stage_of;
    {
        Reader reader(stack_->kafka().bootstrap(), stack_->outcomes_topic(), out_from);
        const long long expect = outcomes_hw() - std::accumulate(out_from.begin(), out_from.end(), 0LL);
        reader.read(static_cast<long>(expect), 60s, [&](std::string_view v) {
            if (v.find(kLatencyProgram) == std::string_view::npos) return;
            const auto j = nlohmann::json::parse(v, nullptr, false);
            if (j.is_discarded() || j.value("status", "") != "scheduled") return;
            const auto stage = j.value("stage", "");
            if (stage.size() > 1 && stage[0] == 'm') stage_of[j.value("reminder_id", "")] = std::stoi(stage.substr(1));
        });
    }
    const std::int64_t first_due_real_us = anchor * 1000 + static_cast<std::int64_t>(lead_s * 1e6);
    for (const auto& h : lat_hits) {
        const auto it = stage_of.find(h.token);
        if (it == stage_of.end()) continue;
        const double due_us = first_due_real_us + it->second * 60e6 / opt_.clock_speed;
        lat_ms.push_back((h.at_us - due_us) / 1000.0);
        sent_before.insert(h.token);
    }
    std::sort(lat_ms.begin(), lat_ms.end());
    if (static_cast<long>(lat_ms.size()) < lat_total) {
        complete = false;
        notes_.push_back(fmt::format("latency: {} of {} reminders reached the sink with a known due instant", lat_ms.size(),
                                     lat_total));
    }
    if (!ready_in_time)
        notes_.push_back("latency: the latency events were not all stored before the latency run (capped)");
    }
    auto pct = [&](double q) {
        return lat_ms.empty() ? 0.0 : lat_ms[std::min(lat_ms.size() - 1, static_cast<std::size_t>(q * lat_ms.size()))];
    };

    // 5. Rebuild: Redis loses everything; rappeld re-consumes the topic from offset 0.
    double rebuild_s = 0, rebuild_rate = 0;
    // From rappeld's start: the group join and the restore of the done markers from the
    // outcomes topic (which precede the first apply), then the whole rebuild.
    double rebuild_first_apply_s = 0, rebuild_whole_s = 0;
    long long rebuild_outcomes = 0, rebuild_stored = 0, restore_read = 0;
    double restore_ms = 0;
    long resent = 0, resent_dupes = 0;
    Rss rss_rebuild;
    const long long total_events = opt_.events + (do_latency ? latency_events_ : 0);
    if (!opt_.skip_rebuild) {
        note("rebuild: FLUSHALL, then rappeld re-consumes from the beginning");
        redis.str("FLUSHALL");
        const auto sink1 = sink.count();
        // What the restore has to read: high - low watermarks (the mock keeps a bounded log per
        // partition and drops its oldest messages, as a short retention would).
        int outcomes_dropped = 0;
        const long long produced =
            producer_->watermarks(stack_->outcomes_topic(), opt_.partitions, &outcomes_dropped, nullptr, &rebuild_outcomes);
        if (outcomes_dropped > 0)
            notes_.push_back(fmt::format("rebuild: the mock dropped the oldest outcomes of {} partitions; {} of {} are left "
                                         "for the restore", outcomes_dropped, rebuild_outcomes, produced));
        // After the latency stages, within the 3-day catch-up grace of the dispatch stage.
        const TimePoint at = first_due + std::chrono::minutes{latency_stages_ + 30};
        rss_rebuild = Rss{};
        // At info: its restore line says how long reading the outcomes topic took.
        auto proc = start_rappeld(cfg_sink, format_rfc3339(at), 1, now_ms(), "rebuild", "info");
        const pid_t pid = proc->pid();
        const auto started = Steady::now();
        Steady::time_point t_first{};
        long long stored = 0;
        while (proc->running() && since(started) < opt_.max_ingest_s) {
            stored = stored_offsets(redis);
            rss_rebuild.sample(pid);
            if (stored > 0 && t_first == Steady::time_point{}) {
                t_first = Steady::now();
                rebuild_first_apply_s = since(started);
            }
            if (stored >= total_events) break;
            std::this_thread::sleep_for(20ms);
        }
        rebuild_whole_s = since(started);
        rebuild_stored = stored;
        {
            // "restore: read N outcomes of <topic> in M ms (...)" (engine/core/restore.cpp)
            std::ifstream log(stack_->dir() + "/rappeld-rebuild.log");
            std::string line;
            while (std::getline(log, line)) {
                const auto at_read = line.find("restore: read ");
                const auto at_in = line.find(" in ", at_read == std::string::npos ? 0 : at_read);
                if (at_read == std::string::npos || at_in == std::string::npos) continue;
                restore_ms += std::atof(line.c_str() + at_in + 4);
                restore_read += std::atoll(line.c_str() + at_read + 14);
            }
        }
        if (t_first == Steady::time_point{}) t_first = started;
        rebuild_s = since(t_first);
        rebuild_rate = stored / rebuild_s;
        if (stored < total_events) {
            complete = false;
            notes_.push_back(fmt::format("rebuild: {} of {} events re-applied in {:.0f} s", stored, total_events, rebuild_s));
        }
        // Wait until the sink has been quiet for 3 s: whatever is resent has arrived.
        long last = -1;
        auto quiet_since = Steady::now();
        while (since(quiet_since) < 3 && since(started) < opt_.max_ingest_s + 60) {
            const long c = sink.count();
            if (c != last) {
                last = c;
                quiet_since = Steady::now();
            }
            std::this_thread::sleep_for(100ms);
        }
        stop(proc);
        const auto all = sink.hits();
        for (std::size_t i = static_cast<std::size_t>(sink1); i < all.size(); ++i) {
            ++resent;
            resent_dupes += sent_before.count(all[i].token) > 0;
        }
    }

    // ---- the table ----
    auto& R = rows_;
    if (do_ingest) {
    R.push_back({"ingest: events applied /s", num(ingest_rate), "SET NX/s " + num(setnx), ratio(ingest_rate, setnx),
                 ">= 100000/s and >= 0.50x"});
    R.push_back({"ingest: events applied /s", num(ingest_rate), "Kafka read/s " + num(kafka_rate),
                 ratio(ingest_rate, kafka_rate), "-"});
    R.push_back({"ingest: outcomes relayed /s", num(relayed_rate), "4 x applied/s " + num(4 * ingest_rate),
                 ratio(relayed_rate, 4 * ingest_rate), "1.00x"});
    R.push_back({"ingest: rappeld CPU us/event", num(ingest_cpu, 1), "-", "-", "<= 8"});
    R.push_back({"ingest: redis CPU us/event", num(redis_ingest_cpu, 1), "SET NX us/op " + num(setnx_cpu, 2),
                 ratio(redis_ingest_cpu, setnx_cpu), "<= 5"});
    // The machine's ceiling for this pipeline: everything shares the 2 cores, so at full load
    // events/s cannot exceed (cores x 1e6 us) / (CPU us per event of all the processes).
    const double all_cpu = ingest_cpu + redis_ingest_cpu + kafka_ingest_cpu;
    const double cores = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    R.push_back({"ingest: mock Kafka + bench CPU us/event", num(kafka_ingest_cpu, 1), "-", "-", "-"});
    R.push_back({"ingest: all processes CPU us/event", num(all_cpu, 1),
                 fmt::format("ceiling/s {} on {} cores", num(cores * 1e6 / std::max(all_cpu, 0.001)), cores),
                 ratio(ingest_rate, cores * 1e6 / std::max(all_cpu, 0.001)), "-"});
    R.push_back({"ingest: scheduled outcomes relayed", fmt::format("{}", relayed), fmt::format("expected {}", reminders),
                 ratio(static_cast<double>(relayed), static_cast<double>(reminders)), "1.00x"});
    }
    if (do_dispatch) {
    R.push_back({"dispatch: messages /s", num(dispatch_rate), "raw libcurl/s " + num(raw.rate),
                 ratio(dispatch_rate, raw.rate), ">= 30000/s (PRODUCT)"});
    R.push_back({"dispatch: rappeld CPU us/msg", num(dispatch_cpu, 1), "raw libcurl " + num(raw.cpu_us_per_msg, 1),
                 ratio(dispatch_cpu, raw.cpu_us_per_msg), "-"});
    R.push_back({"dispatch: new TCP conns /1000 msgs", num(conn_engine, 2), "raw libcurl " + num(conn_raw, 2),
                 ratio(conn_engine, conn_raw), "-"});
    R.push_back({"dispatch: same token twice at nginx", fmt::format("{}", dispatch_dupes), "-", "-", "0"});
    }
    if (do_latency) {
    R.push_back({"latency: due -> sink p50 ms", num(pct(0.50), 1), "-", "-", "-"});
    R.push_back({"latency: due -> sink p99 ms", num(pct(0.99), 1), "-", "-", "<= 50"});
    R.push_back({"latency: due -> sink max ms", num(lat_ms.empty() ? 0 : lat_ms.back(), 1), "-", "-", "-"});
    R.push_back({"latency: rappeld CPU us/msg", num(latency_cpu, 1), "-", "-", "-"});
    }
    if (do_ingest) {
    R.push_back({"memory: redis bytes/pending reminder", num(mem_per), fmt::format("{} pending", applied * 4), "-",
                 "<= 150 (PRODUCT)"});
    R.push_back({"memory: rappeld RSS MiB ingest", fmt::format("{:.0f}/{:.0f}/{:.0f}", rss_ingest.start, rss_ingest.end, rss_ingest.max),
                 "start/end/max", "-", "-"});
    }
    if (do_dispatch)
    R.push_back({"memory: rappeld RSS MiB dispatch", fmt::format("{:.0f}/{:.0f}/{:.0f}", rss_dispatch.start, rss_dispatch.end, rss_dispatch.max),
                 "start/end/max", "-", "-"});
    if (do_latency)
    R.push_back({fmt::format("memory: rappeld RSS MiB latency {}s", opt_.latency_s),
                 fmt::format("{:.0f}/{:.0f}/{:.0f}", rss_latency.start, rss_latency.end, rss_latency.max), "start/end/max",
                 "-", "-"});
    if (!opt_.skip_rebuild) {
        R.push_back({"rebuild: events re-applied /s", num(rebuild_rate), "ingest/s " + num(ingest_rate),
                     ratio(rebuild_rate, ingest_rate), "-"});
        R.push_back({"rebuild: time s", num(rebuild_s, 1), fmt::format("{} events", total_events), "-", "-"});
        R.push_back({"rebuild: start to first apply s", num(rebuild_first_apply_s, 1),
                     fmt::format("{} outcomes in topic", rebuild_outcomes), "-", "-"});
        R.push_back({"rebuild: restore of done markers s", num(restore_ms / 1000, 2),
                     fmt::format("{} outcomes read", restore_read), "-", "-"});
        const double whole_rate = rebuild_whole_s > 0 ? static_cast<double>(rebuild_stored) / rebuild_whole_s : 0;
        R.push_back({"rebuild: events /s from start", num(whole_rate), "ingest/s " + num(ingest_rate),
                     ratio(whole_rate, ingest_rate), "-"});
        R.push_back({"rebuild: sent again (already sent)", fmt::format("{}", resent_dupes),
                     fmt::format("{} sent before", sent_before.size()), "-", "0"});
        R.push_back({"rebuild: requests during rebuild", fmt::format("{}", resent), "-", "-", "-"});
        R.push_back({"memory: rappeld RSS MiB rebuild", fmt::format("{:.0f}/{:.0f}/{:.0f}", rss_rebuild.start, rss_rebuild.end, rss_rebuild.max),
                     "start/end/max", "-", "-"});
    }
    std::size_t w[4] = {6, 6, 5, 5};
    for (const auto& r : R) {
        w[0] = std::max(w[0], r.figure.size());
        w[1] = std::max(w[1], r.engine.size());
        w[2] = std::max(w[2], r.limit.size());
        w[3] = std::max(w[3], r.ratio.size());
    }
    YAML::Node cfg = YAML::LoadFile(cfg_nginx);
    std::cout << fmt::format(
        "\nrappel province benchmark: {} events ({} due at once), {} partitions, {} cores; latency {} reminders/s for {} s "
        "(clock x{}); engine: poll_interval_ms {}, claim_batch {}, ingest_batch {}, max_in_flight {}\n\n",
        opt_.events, opt_.dispatch, opt_.partitions, std::thread::hardware_concurrency(), opt_.latency_rate, opt_.latency_s,
        opt_.clock_speed, cfg["engine"]["poll_interval_ms"].as<std::string>(""), cfg["engine"]["claim_batch"].as<std::string>(""),
        cfg["engine"]["ingest_batch"].as<std::string>(""), cfg["engine"]["max_in_flight"].as<std::string>(""));
    std::cout << fmt::format("| {:<{}} | {:>{}} | {:<{}} | {:>{}} | {} |\n", "figure", w[0], "engine", w[1], "limit", w[2],
                             "ratio", w[3], "target");
    std::cout << fmt::format("|{:-<{}}|{:-<{}}|{:-<{}}|{:-<{}}|---|\n", "", w[0] + 2, "", w[1] + 2, "", w[2] + 2, "", w[3] + 2);
    for (const auto& r : R)
        std::cout << fmt::format("| {:<{}} | {:>{}} | {:<{}} | {:>{}} | {} |\n", r.figure, w[0], r.engine, w[1], r.limit,
                                 w[2], r.ratio, w[3], r.target);
    std::cout << fmt::format("\nproduced {} events in {:.1f} s (lz4; nothing dropped by the mock); ingest measured over "
                             "{:.1f} s from the first applied batch\n",
                             opt_.events, produce_s, ingest_s);
    for (const auto& n : notes_) std::cout << "note: " << n << "\n";
    return complete ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    const std::string usage =
        "usage: rappel-bench-province [--quick] [--events N] [--dispatch N] [--partitions P] [--max-seconds S]\n"
        "       [--latency-rate R] [--latency-seconds S] [--clock-speed X] [--poll-interval-ms MS] [--skip-rebuild]\n"
        "       [--only ingest,dispatch,latency,rebuild] [--rappeld PATH]\n";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> double {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return std::stod(argv[++i]);
        };
        try {
            if (a == "--quick") {
                opt.events = 100000;
                opt.dispatch = 20000;
                opt.max_ingest_s = 30;
            } else if (a == "--events") {
                opt.events = static_cast<long>(value());
                opt.events_given = true;
            } else if (a == "--only") {
                if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
                std::istringstream list(argv[++i]);
                for (std::string phase; std::getline(list, phase, ',');) {
                    if (phase != "ingest" && phase != "dispatch" && phase != "latency" && phase != "rebuild")
                        throw std::invalid_argument("--only: unknown phase " + phase);
                    opt.only.insert(phase);
                }
            }
            else if (a == "--dispatch") opt.dispatch = static_cast<long>(value());
            else if (a == "--partitions") opt.partitions = static_cast<int>(value());
            else if (a == "--max-seconds") opt.max_ingest_s = value();
            else if (a == "--latency-rate") opt.latency_rate = static_cast<int>(value());
            else if (a == "--latency-seconds") opt.latency_s = static_cast<int>(value());
            else if (a == "--clock-speed") opt.clock_speed = value();
            else if (a == "--poll-interval-ms") opt.poll_interval_ms = static_cast<int>(value());
            else if (a == "--skip-rebuild") opt.skip_rebuild = true;
            else if (a == "--rappeld") {
                if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
                opt.rappeld = argv[++i];
            }
            else if (a == "--help" || a == "-h") {
                std::cout << usage;
                return 0;
            } else throw std::invalid_argument("unknown option " + a);
        } catch (const std::exception& e) {
            std::cerr << "rappel-bench-province: " << e.what() << "\n" << usage;
            return 2;
        }
    }
    // Without dispatch, no event is due at the dispatch instant: the latency run would send them
    // (within their catch-up grace) along with its own.
    if (!opt.only.empty() && !opt.only.count("ingest") && !opt.events_given)
        opt.events = opt.only.count("dispatch") ? opt.dispatch : 1000;
    opt.dispatch = std::min(opt.dispatch, opt.events);
    try {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return Bench(opt).run();
    } catch (const std::exception& e) {
        std::cerr << "rappel-bench-province: " << e.what() << "\n";
        return 1;
    }
}
