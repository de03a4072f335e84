// Dispatch benchmark: the channel adapters against the same sinks as a raw libcurl multi loop,
// measured in the same run, so the adapter layer's cost shows as a ratio of what libcurl
// itself can do on this machine.
//   HTTP: nginx started here (generated config, keep-alive, `return 201` with a Twilio-shaped
//         Message JSON), a raw curl_multi_perform/poll loop with N reused easy handles, then
//         TwilioSms on CurlMulti/Asio with at most N messages in flight.
//   SMTP: scripts/smtp_sink.py (aiosmtpd), a raw libcurl SMTP loop, then SmtpEmail.
// CPU is getrusage(RUSAGE_SELF) of this process; the sinks' CPU comes from /proc/<pid>/stat so
// the reader sees whether the sink was the limit. New connections are counted after a warm-up
// (steady state) and in total.
#include "channels/email_smtp/smtp_email.hpp"
#include "channels/http/curl_multi.hpp"
#include "channels/sms_twilio/twilio_sms.hpp"
#include "engine/base/log.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace rappel;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
    int messages = 200000;
    int concurrency = 64;
    int smtp_messages = 6000;
    int smtp_concurrency = 8;
    int warmup = 2000;
    std::string only;  // run one part only (for profiling): raw-http, sms, raw-smtp, email
    int connections = 0;   // SMS adapter: CURLMOPT_MAX_HOST_CONNECTIONS (0: = concurrency)
    int max_running = -1;  // SMS adapter: CurlMultiOptions::max_running (-1: its default)
};

constexpr const char* kAccountSid = "AC0123456789abcdef0123456789abcdef";
constexpr const char* kAuthToken = "bench-auth-token-0123456789abcdef";
constexpr const char* kFrom = "+15145550000";
constexpr const char* kText =
    "Bonjour, votre permis de conduire expire le 14 fevrier 2027. Renouvelez-le en ligne: "
    "https://www.ontario.ca/renew";

std::string twilio_json() {
    return fmt::format(
        R"({{"account_sid":"{0}","api_version":"2010-04-01","body":"Bonjour, votre permis de conduire expire le 14 fevrier 2027.",)"
        R"("date_created":"Thu, 14 Jan 2027 15:00:01 +0000","date_sent":null,"date_updated":"Thu, 14 Jan 2027 15:00:01 +0000",)"
        R"("direction":"outbound-api","error_code":null,"error_message":null,"from":"+15145550000",)"
        R"("messaging_service_sid":null,"num_media":"0","num_segments":"1","price":null,"price_unit":"USD",)"
        R"("sid":"SM0123456789abcdef0123456789abcdef","status":"queued",)"
        R"("subresource_uris":{{"media":"/2010-04-01/Accounts/{0}/Messages/SM0123456789abcdef0123456789abcdef/Media.json"}},)"
        R"("to":"+15145550123","uri":"/2010-04-01/Accounts/{0}/Messages/SM0123456789abcdef0123456789abcdef.json"}})",
        kAccountSid);
}

double cpu_seconds_self() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// utime + stime of a process from /proc/<pid>/stat, in seconds; 0 when unreadable.
double cpu_seconds_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
    for (int i = 3; i <= 15 && fields >> f; ++i) {
        if (i == 14) utime = std::stoull(f);
        if (i == 15) stime = std::stoull(f);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

bool port_open(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// nginx on a free loopback port, one worker, answering POST .../Messages.json with 201.
class Nginx {
public:
    Nginx() : dir_("rappel-nginx"), port_(testkit::free_port()) {
        const std::string d = dir_.path();
        for (const char* sub : {"body", "proxy", "fastcgi", "uwsgi", "scgi"})
            std::filesystem::create_directories(d + "/" + sub);
        std::ofstream conf(d + "/nginx.conf");
        conf << "daemon off;\nmaster_process on;\nworker_processes 1;\n"
             << "pid " << d << "/nginx.pid;\nerror_log " << d << "/error.log warn;\n"
             << "events { worker_connections 4096; }\n"
             << "http {\n  access_log off;\n  keepalive_requests 1000000;\n  keepalive_timeout 300s;\n"
             << "  client_body_temp_path " << d << "/body;\n  proxy_temp_path " << d << "/proxy;\n"
             << "  fastcgi_temp_path " << d << "/fastcgi;\n  uwsgi_temp_path " << d << "/uwsgi;\n"
             << "  scgi_temp_path " << d << "/scgi;\n"
             << "  server {\n    listen 127.0.0.1:" << port_ << " backlog=4096;\n"
             << "    location ~ /Messages\\.json$ {\n      default_type application/json;\n"
             << "      return 201 '" << twilio_json() << "';\n    }\n"
             << "    location / { return 404; }\n  }\n}\n";
        conf.close();
        const std::string binary =
            std::filesystem::exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
        proc_.emplace(std::vector<std::string>{binary, "-p", d, "-e", d + "/error.log", "-c",
                                               d + "/nginx.conf"},
                      std::map<std::string, std::string>{}, d + "/stdout.log");
        if (!testkit::wait_until([&] { return port_open(port_); }, 10s))
            throw std::runtime_error("nginx did not start; see " + d + "/error.log");
        testkit::wait_until([&] { return (worker_ = find_worker()) > 0; }, 5s);
    }
    ~Nginx() { proc_->signal(SIGQUIT), proc_->wait(5s); }
    int port() const { return port_; }
    pid_t worker() const { return worker_; }

private:
    pid_t find_worker() const {
        const auto master = proc_->pid();
        std::ifstream in(fmt::format("/proc/{0}/task/{0}/children", master));
        pid_t child = 0;
        in >> child;
        return child;
    }
    testkit::TempDir dir_;
    int port_;
    std::optional<testkit::Process> proc_;
    pid_t worker_ = 0;
};

// scripts/smtp_sink.py on a free port; started here (not testkit::SmtpSink) to know its pid.
class PySmtpSink {
public:
    PySmtpSink() : dir_("rappel-bench-smtp"), port_(testkit::free_port()) {
        std::filesystem::create_directories(dir_.path() + "/out");
        proc_.emplace(std::vector<std::string>{"/usr/bin/python3",
                                               testkit::source_dir() + "/scripts/smtp_sink.py",
                                               "--host", "127.0.0.1", "--port",
                                               std::to_string(port_), "--out", dir_.path() + "/out"},
                      std::map<std::string, std::string>{{"PYTHONUNBUFFERED", "1"}},
                      dir_.path() + "/sink.log");
        if (!testkit::wait_until([&] { return port_open(port_); }, 20s))
            throw std::runtime_error("smtp_sink.py did not start");
    }
    ~PySmtpSink() { proc_->signal(SIGTERM), proc_->wait(5s); }
    std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
    pid_t pid() const { return proc_->pid(); }

private:
    testkit::TempDir dir_;
    int port_;
    std::optional<testkit::Process> proc_;
};

struct Figures {
    int messages = 0;
    int ok = 0;
    double seconds = 0;
    double cpu = 0;          // this process
    double sink_cpu = 0;     // the sink process
    long connections = 0;    // new connections during the measured part
    long total_connections = 0;
    double rate() const { return messages / seconds; }
    double cpu_us() const { return 1e6 * cpu / messages; }
    double per_1000() const { return 1000.0 * static_cast<double>(connections) / messages; }
};

// Measures `count` completions after `warmup` untimed ones; `run(n, on_phase)` drives the
// loop and calls `mark()` once the warm-up is done.
struct Meter {
    Meter(pid_t sink) : sink_pid(sink) {}
    void mark(long connections_so_far) {
        t0 = Steady::now();
        cpu0 = cpu_seconds_self();
        sink0 = cpu_seconds_of(sink_pid);
        conn0 = connections_so_far;
    }
    void finish(Figures& f, long connections_so_far) {
        f.seconds = std::chrono::duration<double>(Steady::now() - t0).count();
        f.cpu = cpu_seconds_self() - cpu0;
        f.sink_cpu = cpu_seconds_of(sink_pid) - sink0;
        f.connections = connections_so_far - conn0;
        f.total_connections = connections_so_far;
    }
    pid_t sink_pid;
    Steady::time_point t0;
    double cpu0 = 0, sink0 = 0;
    long conn0 = 0;
};

std::size_t keep_body(char* data, std::size_t size, std::size_t n, void* userp) {
    static_cast<std::string*>(userp)->append(data, size * n);
    return size * n;
}

// The raw loop: a fixed set of easy handles, each re-added as soon as it completes.
struct RawSlot {
    CURL* easy = nullptr;
    std::string body;
    std::string response;
    curl_slist* headers = nullptr;
    std::size_t offset = 0;  // SMTP upload position
};

std::size_t raw_read(char* buffer, std::size_t size, std::size_t count, void* userp) {
    auto* slot = static_cast<RawSlot*>(userp);
    const std::size_t n = std::min(size * count, slot->body.size() - slot->offset);
    std::memcpy(buffer, slot->body.data() + slot->offset, n);
    slot->offset += n;
    return n;
}

Figures raw_loop(int total, int warmup, int concurrency, pid_t sink,
                 const std::function<void(RawSlot&, int)>& prepare, long expect_status) {
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(concurrency));
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(concurrency));
    std::vector<RawSlot> slots(static_cast<std::size_t>(concurrency));
    Figures f;
    f.messages = total;
    Meter meter(sink);
    long connects = 0;
    int started = 0, completed = 0;
    const auto start = [&](RawSlot& s) {
        prepare(s, started++);
        curl_multi_add_handle(multi, s.easy);
    };
    for (auto& s : slots) {
        s.easy = curl_easy_init();
        curl_easy_setopt(s.easy, CURLOPT_PRIVATE, &s);
        if (started < total + warmup) start(s);
    }
    if (warmup == 0) meter.mark(0);
    int running = 0;
    while (completed < total + warmup) {
        curl_multi_perform(multi, &running);
        int queued = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL* e = m->easy_handle;
            const CURLcode code = m->data.result;
            long status = 0, n = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &n);
            connects += n;
            curl_multi_remove_handle(multi, e);
            ++completed;
            if (completed > warmup && code == CURLE_OK && status == expect_status) ++f.ok;
            if (completed == warmup) meter.mark(connects);
            RawSlot* s = nullptr;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, &s);
            if (started < total + warmup) start(*s);
        }
        if (completed < total + warmup) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    meter.finish(f, connects);
    for (auto& s : slots) {
        curl_easy_cleanup(s.easy);
        curl_slist_free_all(s.headers);
    }
    curl_multi_cleanup(multi);
    return f;
}

Figures raw_http(const Options& opt, int port, pid_t sink) {
    const std::string url =
        fmt::format("http://127.0.0.1:{}/2010-04-01/Accounts/{}/Messages.json", port, kAccountSid);
    const std::string encoded_text = channels::form_encode(kText);
    const std::string encoded_from = channels::form_encode(kFrom);
    return raw_loop(
        opt.messages, opt.warmup, opt.concurrency, sink,
        [&](RawSlot& s, int i) {
            // Same work shape as a send: a fresh body and idempotency header per request.
            s.body = fmt::format("To=%2B1819{:07}&From={}&Body={}", i, encoded_from, encoded_text);
            s.response.clear();
            curl_slist_free_all(s.headers);
            s.headers = curl_slist_append(nullptr, fmt::format("I-Twilio-Idempotency-Token: rbench{:018}", i).c_str());
            s.headers = curl_slist_append(s.headers, "Accept: application/json");
            s.headers = curl_slist_append(s.headers, "Expect:");
            CURL* e = s.easy;
            curl_easy_setopt(e, CURLOPT_URL, url.c_str());
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, s.body.data());
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(s.body.size()));
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
            curl_easy_setopt(e, CURLOPT_USERNAME, kAccountSid);
            curl_easy_setopt(e, CURLOPT_PASSWORD, kAuthToken);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, s.headers);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &keep_body);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, &s.response);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        },
        201);
}

std::vector<channels::Message> email_messages(int n);

// The same bytes the adapter sends for a message (built once here), so the sink does the same
// work per message in both loops: libcurl waits for the final reply of each message blocking
// (smtp_done), so the sink's time per message is in both figures.
const std::string& smtp_payload() {
    static const std::string payload = [] {
        const auto m = email_messages(1).at(0);
        channels::mime::MailInput in;
        in.from = *channels::mime::parse_mailbox("Service Ontario <noreply@example.org>");
        in.to = m.to;
        in.subject = m.subject;
        in.text = m.text;
        in.html = m.html;
        in.message_id = channels::mime::message_id_for(m.reminder_id);
        in.date = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
        in.language = m.language;
        return channels::mime::build_message(in);
    }();
    return payload;
}

Figures raw_smtp(const Options& opt, const std::string& url, pid_t sink) {
    return raw_loop(
        opt.smtp_messages, opt.smtp_concurrency, opt.smtp_concurrency, sink,
        [&](RawSlot& s, int) {
            s.body = smtp_payload();
            s.offset = 0;
            if (s.headers == nullptr) s.headers = curl_slist_append(nullptr, "<holder0@example.org>");
            CURL* e = s.easy;
            curl_easy_setopt(e, CURLOPT_URL, url.c_str());
            curl_easy_setopt(e, CURLOPT_MAIL_FROM, "<noreply@example.org>");
            curl_easy_setopt(e, CURLOPT_MAIL_RCPT, s.headers);
            curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(s.body.size()));
            curl_easy_setopt(e, CURLOPT_READFUNCTION, &raw_read);
            curl_easy_setopt(e, CURLOPT_READDATA, &s);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        },
        250);
}

// Drives a channel with at most `window` messages in flight.
Figures adapter_loop(boost::asio::io_context& io, channels::CurlMulti& curl, channels::Channel& channel,
                     const std::vector<channels::Message>& messages, int warmup, int window, pid_t sink) {
    Figures f;
    const int total = static_cast<int>(messages.size());
    f.messages = total - warmup;
    Meter meter(sink);
    int next = 0, done = 0;
    std::function<void()> launch = [&] {
        while (next < total && next - done < window) {
            channel.send(messages[static_cast<std::size_t>(next++)], [&](channels::SendResult r) {
                ++done;
                if (done > warmup && r.status == channels::SendStatus::accepted) ++f.ok;
                if (done == warmup) meter.mark(static_cast<long>(curl.sockets_opened()));
                launch();
            });
        }
    };
    if (warmup == 0) meter.mark(0);
    launch();
    while (done < total) io.run_one_for(100ms);
    meter.finish(f, static_cast<long>(curl.sockets_opened()));
    return f;
}

std::vector<channels::Message> sms_messages(int n) {
    std::vector<channels::Message> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        auto& m = out[static_cast<std::size_t>(i)];
        m.reminder_id = fmt::format("r{:024x}", i);
        m.channel = ChannelKind::sms;
        m.to = fmt::format("+1819{:07}", i);
        m.text = kText;
    }
    return out;
}

std::vector<channels::Message> email_messages(int n) {
    std::vector<channels::Message> out(static_cast<std::size_t>(n));
    std::string text, html = "<html><body>";
    for (int i = 0; i < 10; ++i) text += std::string(kText) + "\n";
    for (int i = 0; i < 10; ++i) html += "<p>" + std::string(kText) + "</p>";
    html += "</body></html>";
    for (int i = 0; i < n; ++i) {
        auto& m = out[static_cast<std::size_t>(i)];
        m.reminder_id = fmt::format("r{:024x}", i);
        m.channel = ChannelKind::email;
        m.language = Language::fr;
        m.to = fmt::format("holder{}@example.org", i);
        m.subject = "Renouvellement de votre permis";
        m.text = text;
        m.html = html;
    }
    return out;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one;
    in >> one;
    return one;
}

void check(const char* what, const Figures& f) {
    if (f.ok != f.messages)
        std::cerr << fmt::format("warning: {}: only {} of {} accepted\n", what, f.ok, f.messages);
}

void print_row(const std::string& figure, const std::string& value, const std::string& limit,
               const std::string& ratio) {
    std::cout << fmt::format("{:<40} {:>14} {:>14} {:>8}\n", figure, value, limit, ratio);
}

std::string num(double v, int decimals = 0) { return fmt::format("{:.{}f}", v, decimals); }

// Rows of one adapter next to its raw loop; a part that did not run (--only) prints "-".
void print_pair(const std::string& name, const Figures& adapter, const Figures& raw) {
    const bool a = adapter.seconds > 0, r = raw.seconds > 0;
    const auto v = [](bool ran, const std::string& text) { return ran ? text : std::string("-"); };
    print_row(name + " messages/s", v(a, num(adapter.rate())), v(r, num(raw.rate())),
              v(a && r, num(adapter.rate() / raw.rate(), 2)));
    print_row(name + " CPU us/message", v(a, num(adapter.cpu_us(), 1)), v(r, num(raw.cpu_us(), 1)),
              v(a && r, num(raw.cpu_us() / adapter.cpu_us(), 2)));
    print_row(name + " msg/s on 1 core (1e6/CPU us)", v(a, num(1e6 / adapter.cpu_us())),
              v(r, num(1e6 / raw.cpu_us())), "");
    print_row(name + " new conns /1000 (steady)", v(a, num(adapter.per_1000(), 2)), v(r, num(raw.per_1000(), 2)), "");
    print_row(name + " new conns, whole run", v(a, std::to_string(adapter.total_connections)),
              v(r, std::to_string(raw.total_connections)), "");
}

std::string share(const Figures& f) {
    return f.seconds > 0 ? num(100 * f.sink_cpu / f.seconds, 0) + "%" : std::string("-");
}

int run(const Options& opt) {
    log::set_level(log::Level::warn);
    ::signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const auto t_start = Steady::now();
    std::cout << fmt::format(
        "rappel dispatch benchmark: {} SMS at concurrency {}, {} emails at concurrency {}, "
        "warm-up {}, {} cores (load average {}), {}\n",
        opt.messages, opt.concurrency, opt.smtp_messages, opt.smtp_concurrency, opt.warmup,
        std::thread::hardware_concurrency(), load_average(), curl_version());

    const auto want = [&](std::string_view part) { return opt.only.empty() || opt.only == part; };
    Nginx nginx;
    Figures raw, sms, raw_mail, mail;
    if (want("raw-http")) {
        raw = raw_http(opt, nginx.port(), nginx.worker());
        check("raw http", raw);
    }
    if (want("sms")) {
        boost::asio::io_context io;
        channels::CurlMultiOptions co;
        co.max_host_connections = opt.connections > 0 ? opt.connections : opt.concurrency;
        if (opt.max_running >= 0) co.max_running = static_cast<std::size_t>(opt.max_running);
        channels::CurlMulti curl(io, co);
        config::ProviderConfig p;
        p.name = "bench-twilio";
        p.type = config::ProviderType::twilio_sms;
        p.base_url = fmt::format("http://127.0.0.1:{}", nginx.port());
        p.account_sid = kAccountSid;
        p.auth_token = kAuthToken;
        p.from = kFrom;
        channels::TwilioSms channel(p, curl);
        const auto messages = sms_messages(opt.messages + opt.warmup);
        sms = adapter_loop(io, curl, channel, messages, opt.warmup, opt.concurrency, nginx.worker());
        check("twilio adapter", sms);
    }

    std::optional<PySmtpSink> smtp_sink;
    if (want("raw-smtp") || want("email")) smtp_sink.emplace();
    const int smtp_warmup = opt.smtp_concurrency;
    if (want("raw-smtp")) {
        raw_mail = raw_smtp(opt, smtp_sink->url(), smtp_sink->pid());
        check("raw smtp", raw_mail);
    }
    if (want("email")) {
        boost::asio::io_context io;
        channels::CurlMultiOptions co;
        co.max_host_connections = opt.smtp_concurrency;
        channels::CurlMulti curl(io, co);
        config::ProviderConfig p;
        p.name = "bench-smtp";
        p.type = config::ProviderType::smtp;
        p.url = smtp_sink->url();
        p.from = "Service Ontario <noreply@example.org>";
        p.starttls = config::StartTls::none;
        channels::SmtpEmail channel(p, curl);
        const auto messages = email_messages(opt.smtp_messages + smtp_warmup);
        mail = adapter_loop(io, curl, channel, messages, smtp_warmup, opt.smtp_concurrency, smtp_sink->pid());
        check("smtp adapter", mail);
    }

    std::cout << "\n";
    print_row("figure", "adapter", "raw libcurl", "ratio");
    print_row(std::string(40, '-'), std::string(14, '-'), std::string(14, '-'), std::string(8, '-'));
    print_pair("SMS", sms, raw);
    print_row("nginx worker CPU, share of wall time", share(sms), share(raw), "");
    print_pair("email", mail, raw_mail);
    const double mail_sink_share = mail.seconds > 0 ? mail.sink_cpu / mail.seconds : 0;
    const double raw_sink_share = raw_mail.seconds > 0 ? raw_mail.sink_cpu / raw_mail.seconds : 0;
    print_row("smtp_sink.py CPU, share of wall time", share(mail), share(raw_mail), "");
    std::cout << "\nSMS: TwilioSms on CurlMulti/Asio -> nginx; email: SmtpEmail -> scripts/smtp_sink.py.\n"
                 "ratio: messages/s adapter / raw; CPU: raw / adapter (1.00 = as cheap as raw). CPU is\n"
                 "getrusage of this process over the measured part; connections are counted after the warm-up.\n";
    if (raw_sink_share > 0.85 || mail_sink_share > 0.85)
        std::cout << "note: the Python SMTP sink is the bottleneck (about one core busy); email rates are its "
                     "limit, compare CPU us/message instead.\n";
    if ((sms.seconds > 0 && sms.sink_cpu / sms.seconds > 0.85) || (raw.seconds > 0 && raw.sink_cpu / raw.seconds > 0.85))
        std::cout << "note: the nginx worker is near one core: HTTP rates are bounded by the sink.\n";
    std::cout << fmt::format("total run time {:.1f} s; load average at the end {} on {} cores "
                             "(when other work shares the cores, wall-time rates drop; CPU us/message "
                             "and the 1-core rate do not)\n",
                             std::chrono::duration<double>(Steady::now() - t_start).count(),
                             load_average(), std::thread::hardware_concurrency());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto value = [&]() -> int {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return std::stoi(argv[++i]);
        };
        if (a == "--quick") {
            opt.messages = 20000;
            opt.smtp_messages = 400;
            opt.warmup = 1000;
        } else if (a == "--messages") {
            opt.messages = value();
        } else if (a == "--concurrency") {
            opt.concurrency = value();
        } else if (a == "--connections") {
            opt.connections = value();
        } else if (a == "--max-running") {
            opt.max_running = value();
        } else if (a == "--smtp-messages") {
            opt.smtp_messages = value();
        } else if (a == "--smtp-concurrency") {
            opt.smtp_concurrency = value();
        } else if (a == "--only") {
            if (i + 1 >= argc) throw std::invalid_argument("--only needs a value");
            opt.only = argv[++i];
        } else if (a == "--help") {
            std::cout << "rappel-bench-dispatch [--quick] [--messages N] [--concurrency N] "
                         "[--smtp-messages N] [--smtp-concurrency N]\n"
                         "  [--connections N] [--max-running N]  SMS adapter: connections to nginx (default:\n"
                         "  the concurrency) and transfers handed to curl at once (default: CurlMulti's)\n"
                         "  [--only raw-http|sms|raw-smtp|email]  one part only, for a profiler\n";
            return 0;
        } else {
            std::cerr << "unknown option " << a << "\n";
            return 2;
        }
    }
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "rappel-bench-dispatch: " << e.what() << "\n";
        return 1;
    }
}
