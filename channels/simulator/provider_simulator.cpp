#include "channels/simulator/provider_simulator.hpp"

#include "channels/simulator/twilio_format.hpp"
#include "templates/sms_encoding.hpp"
#include "engine/base/log.hpp"
#include "engine/base/result.hpp"
#include "engine/base/text.hpp"
#include "engine/base/time_format.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <deque>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace rappel::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr std::string_view kApiPrefix = "/2010-04-01/Accounts/";
constexpr std::string_view kServerName = "rappel-provider-sim";
constexpr std::string_view kGarbage = "\x01\x02 this is not HTTP \xff\xfe\r\n\r\n";
constexpr std::size_t kBodyLimit = 1U << 20;
constexpr std::size_t kMaxBodyChars = 1600;

std::string_view sv(beast::string_view s) {
    return {s.data(), s.size()};
}

std::string dump(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// What the connection does with one request.
struct Action {
    enum class Type { respond, hang, garbage, close };
    Type type = Type::respond;
    std::chrono::milliseconds delay{0};
    Response response;
};

nlohmann::json to_json(const RecordedRequest& r) {
    return {
        {"kind", r.kind},
        {"method", r.method},
        {"target", r.target},
        {"account_sid", r.account_sid},
        {"to", r.to},
        {"from", r.from},
        {"body", r.body},
        {"twiml", r.twiml},
        {"url", r.url},
        {"status_callback", r.status_callback},
        {"idempotency_key", r.idempotency_key},
        {"status", r.status},
        {"sid", r.sid},
        {"duplicate", r.duplicate},
        {"at", format_rfc3339(std::chrono::time_point_cast<Millis>(r.at))},
    };
}

nlohmann::json to_json(const Fault& f) {
    return {
        {"status", f.status},
        {"body", f.body},
        {"delay_ms", f.delay.count()},
        {"hang", f.hang},
        {"garbage", f.garbage},
        {"close", f.close},
        {"times", f.times},
        {"match_to", f.match_to},
        {"retry_after_seconds",
         f.retry_after_seconds ? nlohmann::json(*f.retry_after_seconds) : nlohmann::json(nullptr)},
    };
}

// Control-API input: explicit type checks, no exceptions.
Result<Fault> fault_from_json(const nlohmann::json& j) {
    if (!j.is_object()) return Error{"bad-request", "fault must be a JSON object"};
    Fault f;
    auto get_int = [&](const char* key, auto& out) -> bool {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return true;
        if (!it->is_number_integer()) return false;
        out = it->template get<std::int64_t>();
        return true;
    };
    auto get_bool = [&](const char* key, bool& out) -> bool {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return true;
        if (!it->is_boolean()) return false;
        out = it->get<bool>();
        return true;
    };
    auto get_string = [&](const char* key, std::string& out) -> bool {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return true;
        if (!it->is_string()) return false;
        out = it->get<std::string>();
        return true;
    };
    std::int64_t status = f.status;
    std::int64_t delay_ms = 0;
    std::int64_t times = f.times;
    std::int64_t retry_after = -1;
    if (!get_int("status", status)) return Error{"bad-request", "status must be an integer"};
    if (!get_int("delay_ms", delay_ms)) return Error{"bad-request", "delay_ms must be an integer"};
    if (!get_int("times", times)) return Error{"bad-request", "times must be an integer"};
    if (!get_int("retry_after_seconds", retry_after))
        return Error{"bad-request", "retry_after_seconds must be an integer"};
    if (!get_bool("hang", f.hang)) return Error{"bad-request", "hang must be a boolean"};
    if (!get_bool("garbage", f.garbage)) return Error{"bad-request", "garbage must be a boolean"};
    if (!get_bool("close", f.close)) return Error{"bad-request", "close must be a boolean"};
    if (!get_string("body", f.body)) return Error{"bad-request", "body must be a string"};
    if (!get_string("match_to", f.match_to)) return Error{"bad-request", "match_to must be a string"};
    if (status != 0 && (status < 200 || status > 599))
        return Error{"bad-request", "status must be 0 or 200..599"};
    if (delay_ms < 0) return Error{"bad-request", "delay_ms must be >= 0"};
    if (times == 0 || times < -1) return Error{"bad-request", "times must be -1 or >= 1"};
    f.status = static_cast<int>(status);
    f.delay = std::chrono::milliseconds{delay_ms};
    f.times = static_cast<int>(times);
    if (retry_after >= 0) f.retry_after_seconds = static_cast<int>(retry_after);
    return f;
}

// Everything the io thread and the API share. `mu` guards the recorded state; the io objects
// are touched by start()/stop() only while the io thread is not running.
struct Server {
    using Options = ProviderSimulator::Options;
    struct Stored {
        std::string sid;
        std::string body;
    };

    explicit Server(Options o) : options(std::move(o)) {
        std::random_device rd;
        sid_hi = (std::uint64_t{rd()} << 32) ^ rd();
    }

    Options options;

    mutable std::mutex mu;
    std::deque<RecordedRequest> records;
    std::size_t accepted = 0;
    std::deque<Fault> faults;
    std::unordered_map<std::string, Stored> idempotent;  // "kind:key" -> resource
    std::uint64_t sid_hi = 0;
    std::uint64_t sid_counter = 0;

    std::unique_ptr<asio::io_context> ioc;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unique_ptr<asio::steady_timer> accept_retry;
    std::thread thread;
    std::uint16_t bound_port = 0;

    void do_accept();
    Action handle(Request& req);
    Action handle_control(const Request& req, std::string_view path);
    Action handle_api(Request& req, std::string_view path);
    std::optional<Fault> take_fault(const std::string& to);

    Response make_response(const Request& req, int status, std::string body) const {
        Response res{static_cast<http::status>(status), req.version()};
        res.set(http::field::server, beast::string_view(kServerName.data(), kServerName.size()));
        res.set(http::field::content_type, "application/json; charset=utf-8");
        res.keep_alive(req.keep_alive());
        res.body() = std::move(body);
        res.prepare_payload();
        return res;
    }

    Action respond(const Request& req, int status, std::string body) const {
        Action a;
        a.response = make_response(req, status, std::move(body));
        return a;
    }

    Action twilio_error(const Request& req, int status, int code, std::string_view message) const {
        return respond(req, status, twilio_error_json(code, message, status));
    }

    std::string next_sid(std::string_view prefix) {
        // splitmix64 is a bijection, so the low half alone keeps sids unique.
        const std::uint64_t n = sid_counter++;
        return make_sid(prefix, splitmix64(sid_hi ^ n), splitmix64(n));
    }
};

// Appends `res` in wire format. Its fields already carry Content-Length and Connection.
void serialize(const Response& res, std::string& out) {
    out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(res.result_int());
    out += ' ';
    out += sv(res.reason());
    out += "\r\n";
    for (const auto& field : res) {
        out += sv(field.name_string());
        out += ": ";
        out += sv(field.value());
        out += "\r\n";
    }
    out += "\r\n";
    out += res.body();
}

// One connection. Requests already in the read buffer (pipelining) are answered together in
// one write; a read is only started when no complete request is buffered.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, Server& server)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server) {}

    void start() { pump(); }

private:
    enum class Then { read, pump, special, close };
    static constexpr std::size_t kFlushAt = 256 * 1024;

    void new_parser() {
        parser_.emplace();
        parser_->body_limit(kBodyLimit);
        parser_->eager(true);
        sent_continue_ = false;
    }

    // Feeds the buffered bytes to the parser. True when a whole request is parsed.
    bool parse_buffered(beast::error_code& ec) {
        while (buffer_.size() > 0 && !parser_->is_done()) {
            const std::size_t n = parser_->put(buffer_.data(), ec);
            buffer_.consume(n);
            if (ec == http::error::need_more) {
                ec = {};
                break;
            }
            if (ec) return false;
            if (n == 0) break;
        }
        return parser_->is_done();
    }

    // Answers every complete buffered request, then writes and reads on.
    void pump() {
        for (;;) {
            new_parser();
            beast::error_code ec;
            if (!parse_buffered(ec)) {
                if (ec) return flush(Then::close);
                return flush(Then::read);
            }
            if (!take(parser_->release())) return;
            if (out_.size() >= kFlushAt) return flush(Then::pump);
        }
    }

    // Handles one request. True if its answer is queued and the next request can follow.
    bool take(Request req) {
        Action action = server_.handle(req);
        if (action.type == Action::Type::respond && action.delay.count() == 0) {
            serialize(action.response, out_);
            if (action.response.need_eof()) {
                flush(Then::close);
                return false;
            }
            return true;
        }
        action_ = std::move(action);
        flush(Then::special);
        return false;
    }

    void flush(Then then) {
        if (out_.empty()) return proceed(then);
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this(), then](beast::error_code ec, std::size_t) {
                              self->out_.clear();
                              if (ec) return self->close(false);
                              self->proceed(then);
                          });
    }

    void proceed(Then then) {
        switch (then) {
            case Then::read:
                return read_header();
            case Then::pump:
                return pump();
            case Then::special:
                return special();
            case Then::close:
                return close(true);
        }
    }

    void read_header() {
        http::async_read_header(
            socket_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    void on_header(beast::error_code ec) {
        if (ec) return close(ec == http::error::end_of_stream);
        // libcurl waits up to a second for "100 Continue" before sending a larger body.
        const auto expect = parser_->get()[http::field::expect];
        if (!sent_continue_ && !parser_->is_done() && beast::iequals(expect, "100-continue")) {
            sent_continue_ = true;
            out_ = parser_->get().version() == 10 ? "HTTP/1.0 100 Continue\r\n\r\n"
                                                  : "HTTP/1.1 100 Continue\r\n\r\n";
            asio::async_write(socket_, asio::buffer(out_),
                              [self = shared_from_this()](beast::error_code wec, std::size_t) {
                                  self->out_.clear();
                                  if (wec) return self->close(false);
                                  self->read_body();
                              });
            return;
        }
        read_body();
    }

    void read_body() {
        http::async_read(socket_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return self->close(false);
                             if (self->take(self->parser_->release())) self->pump();
                         });
    }

    // A request whose answer is delayed, or a fault that is not an HTTP answer.
    void special() {
        if (action_.delay.count() > 0 && action_.type != Action::Type::hang) {
            timer_.expires_after(action_.delay);
            timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
                if (ec) return;
                self->action_.delay = {};
                self->special();
            });
            return;
        }
        switch (action_.type) {
            case Action::Type::respond:
                serialize(action_.response, out_);
                return flush(action_.response.need_eof() ? Then::close : Then::pump);
            case Action::Type::hang:
                return hang();
            case Action::Type::garbage:
                out_.assign(kGarbage.data(), kGarbage.size());
                return flush(Then::close);
            case Action::Type::close:
                return close(false);
        }
    }

    // Keeps the connection open and discards whatever arrives until the peer closes.
    void hang() {
        socket_.async_read_some(asio::buffer(discard_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->close(false);
                                    self->hang();
                                });
    }

    void close(bool graceful) {
        beast::error_code ignored;
        if (graceful) socket_.shutdown(tcp::socket::shutdown_send, ignored);
        socket_.close(ignored);
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    Server& server_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    bool sent_continue_ = false;
    std::string out_;
    Action action_;
    std::array<char, 4096> discard_{};
};

void Server::do_accept() {
    acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
        if (ec) {
            // E.g. out of file descriptors: back off instead of spinning.
            accept_retry->expires_after(std::chrono::milliseconds{10});
            accept_retry->async_wait([this](beast::error_code tec) {
                if (!tec) do_accept();
            });
            return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(socket), *this)->start();
        do_accept();
    });
}

Action Server::handle(Request& req) {
    const std::string_view target = sv(req.target());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with("/_sim/")) return handle_control(req, path);
    return handle_api(req, path);
}

std::optional<Fault> Server::take_fault(const std::string& to) {
    for (auto it = faults.begin(); it != faults.end(); ++it) {
        if (!it->match_to.empty() && it->match_to != to) continue;
        Fault f = *it;
        if (it->times > 0 && --it->times == 0) faults.erase(it);
        return f;
    }
    return std::nullopt;
}

Action Server::handle_api(Request& req, std::string_view path) {
    RecordedRequest rec;
    rec.kind = "other";
    rec.method = std::string(sv(req.method_string()));
    rec.target = std::string(sv(req.target()));
    rec.at = std::chrono::system_clock::now();

    if (path.starts_with(kApiPrefix)) {
        const std::string_view rest = path.substr(kApiPrefix.size());
        const auto slash = rest.find('/');
        if (slash != std::string_view::npos) {
            rec.account_sid = std::string(rest.substr(0, slash));
            const std::string_view resource = rest.substr(slash + 1);
            if (resource == "Messages.json") rec.kind = "message";
            if (resource == "Calls.json") rec.kind = "call";
        }
    }

    const std::lock_guard lock(mu);
    auto finish = [&](Action a) {
        rec.status = a.type == Action::Type::respond ? a.response.result_int() : 0;
        records.push_back(std::move(rec));
        if (options.max_records > 0 && records.size() > options.max_records) records.pop_front();
        return a;
    };

    if (rec.kind == "other") {
        return finish(twilio_error(req, 404, 20404, "The requested resource was not found"));
    }
    if (req.method() != http::verb::post) {
        return finish(twilio_error(req, 405, 20004, "Method not allowed"));
    }

    const FormFields form = parse_form(req.body());
    rec.to = form_value(form, "To");
    rec.from = form_value(form, "From");
    rec.body = form_value(form, "Body");
    rec.twiml = form_value(form, "Twiml");
    rec.url = form_value(form, "Url");
    rec.status_callback = form_value(form, "StatusCallback");
    std::string_view key = sv(req["I-Twilio-Idempotency-Token"]);
    if (key.empty()) key = sv(req["Idempotency-Key"]);
    rec.idempotency_key = std::string(key);

    std::chrono::milliseconds extra_delay{0};
    if (auto fault = take_fault(rec.to)) {
        Action a;
        a.delay = fault->delay;
        if (fault->hang) {
            a.type = Action::Type::hang;
            return finish(std::move(a));
        }
        if (fault->garbage) {
            a.type = Action::Type::garbage;
            return finish(std::move(a));
        }
        if (fault->close) {
            a.type = Action::Type::close;
            return finish(std::move(a));
        }
        if (fault->status != 0) {
            std::string body = fault->body;
            if (body.empty() && fault->status >= 400) {
                const int code = twilio_code_for_status(fault->status);
                const std::string_view reason =
                    sv(http::obsolete_reason(static_cast<http::status>(fault->status)));
                body = twilio_error_json(code, reason.empty() ? "Error" : reason, fault->status);
            }
            a.response = make_response(req, fault->status, std::move(body));
            if (fault->retry_after_seconds) {
                a.response.set(http::field::retry_after, std::to_string(*fault->retry_after_seconds));
            }
            return finish(std::move(a));
        }
        extra_delay = fault->delay;  // status 0: latency only, then the normal answer
    }
    auto delayed = [&](Action a) {
        a.delay = extra_delay;
        return finish(std::move(a));
    };

    const auto credentials = parse_basic_auth(sv(req[http::field::authorization]));
    if (!credentials || credentials->first != options.account_sid ||
        credentials->second != options.auth_token) {
        Action a = twilio_error(req, 401, 20003, "Authenticate");
        a.response.set(http::field::www_authenticate, "Basic realm=\"Twilio API\"");
        return delayed(std::move(a));
    }
    if (rec.account_sid != options.account_sid) {
        return delayed(twilio_error(req, 404, 20404, "The requested resource was not found"));
    }

    const std::string store_key = rec.kind + ":" + rec.idempotency_key;
    if (!rec.idempotency_key.empty()) {
        auto it = idempotent.find(store_key);
        if (it != idempotent.end()) {
            rec.duplicate = true;
            rec.sid = it->second.sid;
            return delayed(respond(req, 201, it->second.body));
        }
    }

    const bool is_message = rec.kind == "message";
    const std::string messaging_service = form_value(form, "MessagingServiceSid");
    if (rec.to.empty()) {
        if (is_message) return delayed(twilio_error(req, 400, 21604, "A 'To' phone number is required."));
        return delayed(twilio_error(req, 400, 21201, "No 'To' number is specified"));
    }
    if (is_message) {
        if (rec.from.empty() && messaging_service.empty()) {
            return delayed(twilio_error(req, 400, 21603, "A 'From' phone number is required."));
        }
        if (rec.body.empty() && !form_has(form, "MediaUrl") && !form_has(form, "ContentSid")) {
            return delayed(twilio_error(req, 400, 21602, "Message body is required."));
        }
        if (utf8::count_code_points(rec.body) > kMaxBodyChars) {
            return delayed(twilio_error(req, 400, 21617,
                                        "The concatenated message body exceeds the 1600 character limit."));
        }
    } else {
        if (rec.from.empty()) {
            return delayed(twilio_error(req, 400, 21213, "No 'From' number is specified"));
        }
        if (rec.twiml.empty() && rec.url.empty() && !form_has(form, "ApplicationSid")) {
            return delayed(
                twilio_error(req, 400, 21205, "A 'Url', 'Twiml' or 'ApplicationSid' parameter is required."));
        }
    }

    // Keys in the order of the spec's examples (alphabetical).
    const std::string now = format_rfc5322(std::chrono::floor<std::chrono::seconds>(rec.at));
    const std::string base = std::string(kApiPrefix) + options.account_sid;
    std::string body;
    body.reserve(1024);
    JsonWriter j(body);
    if (is_message) {
        rec.sid = next_sid("SM");
        const std::string uri = base + "/Messages/" + rec.sid;
        std::string subresources;
        JsonWriter(subresources).str("media", uri + "/Media.json").close();
        j.str("account_sid", options.account_sid)
            .str("api_version", "2010-04-01")
            .str("body", rec.body)
            .str("date_created", now)
            .null("date_sent")
            .str("date_updated", now)
            .str("direction", "outbound-api")
            .null("error_code")
            .null("error_message")
            .str_or_null("from", rec.from)
            .str_or_null("messaging_service_sid", messaging_service)
            .str("num_media", "0")
            .str("num_segments", std::to_string(templates::sms::analyse(rec.body).segments))
            .null("price")
            .str("price_unit", "USD")
            .str("sid", rec.sid)
            .str("status", messaging_service.empty() ? "queued" : "accepted")
            .raw("subresource_uris", subresources)
            .str("to", rec.to)
            .str("uri", uri + ".json");
    } else {
        rec.sid = next_sid("CA");
        const std::string uri = base + "/Calls/" + rec.sid;
        std::string subresources;
        JsonWriter sub(subresources);
        for (const std::string_view name :
             {"Events", "Notifications", "Payments", "Recordings", "Siprec", "Streams", "Transcriptions"}) {
            std::string field(name);
            field[0] = static_cast<char>(field[0] - 'A' + 'a');
            sub.str(field, uri + "/" + std::string(name) + ".json");
        }
        sub.close();
        j.str("account_sid", options.account_sid)
            .null("annotation")
            .null("answered_by")
            .str("api_version", "2010-04-01")
            .null("caller_name")
            .str("date_created", now)
            .str("date_updated", now)
            .str("direction", "outbound-api")
            .null("duration")
            .null("end_time")
            .null("forwarded_from")
            .str("from", rec.from)
            .str("from_formatted", rec.from)
            .null("group_sid")
            .null("parent_call_sid")
            .null("phone_number_sid")
            .null("price")
            .str("price_unit", "USD")
            .str("queue_time", "0")
            .str("sid", rec.sid)
            .null("start_time")
            .str("status", "queued")
            .raw("subresource_uris", subresources)
            .str("to", rec.to)
            .str("to_formatted", rec.to)
            .null("trunk_sid")
            .str("uri", uri + ".json");
    }
    j.close();
    if (!rec.idempotency_key.empty()) idempotent[store_key] = Stored{rec.sid, body};
    ++accepted;
    return delayed(respond(req, 201, std::move(body)));
}

Action Server::handle_control(const Request& req, std::string_view path) {
    const auto method = req.method();
    const std::lock_guard lock(mu);
    if (path == "/_sim/health") {
        if (method != http::verb::get) return respond(req, 405, R"({"error":"method not allowed"})");
        return respond(req, 200,
                       dump({{"status", "ok"}, {"accepted", accepted}, {"requests", records.size()}}));
    }
    if (path == "/_sim/requests") {
        if (method == http::verb::get) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& r : records) arr.push_back(to_json(r));
            return respond(req, 200, dump(arr));
        }
        if (method == http::verb::delete_) {
            const std::size_t n = records.size();
            records.clear();
            accepted = 0;
            return respond(req, 200, dump({{"cleared", n}}));
        }
        return respond(req, 405, R"({"error":"method not allowed"})");
    }
    if (path == "/_sim/faults") {
        if (method == http::verb::get) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& f : faults) arr.push_back(to_json(f));
            return respond(req, 200, dump(arr));
        }
        if (method == http::verb::post) {
            const auto parsed = nlohmann::json::parse(req.body(), nullptr, false);
            if (parsed.is_discarded()) return respond(req, 400, R"({"error":"invalid JSON"})");
            auto fault = fault_from_json(parsed);
            if (!fault) return respond(req, 400, dump({{"error", fault.error().message}}));
            faults.push_back(std::move(fault.value()));
            return respond(req, 201, dump({{"faults", faults.size()}}));
        }
        if (method == http::verb::delete_) {
            const std::size_t n = faults.size();
            faults.clear();
            return respond(req, 200, dump({{"cleared", n}}));
        }
        return respond(req, 405, R"({"error":"method not allowed"})");
    }
    return respond(req, 404, R"({"error":"not found"})");
}

}  // namespace

struct ProviderSimulator::Impl : Server {
    using Server::Server;
};

ProviderSimulator::ProviderSimulator(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

ProviderSimulator::~ProviderSimulator() {
    stop();
}

void ProviderSimulator::start() {
    if (impl_->thread.joinable()) return;
    auto& im = *impl_;
    im.ioc = std::make_unique<asio::io_context>(1);
    im.acceptor = std::make_unique<tcp::acceptor>(*im.ioc);
    im.accept_retry = std::make_unique<asio::steady_timer>(*im.ioc);
    const tcp::endpoint endpoint{asio::ip::make_address(im.options.host), im.options.port};
    im.acceptor->open(endpoint.protocol());
    im.acceptor->set_option(asio::socket_base::reuse_address(true));
    im.acceptor->bind(endpoint);
    im.acceptor->listen(asio::socket_base::max_listen_connections);
    im.bound_port = im.acceptor->local_endpoint().port();
    im.do_accept();
    im.thread = std::thread([&im] {
        for (;;) {
            try {
                im.ioc->run();
                return;
            } catch (const std::exception& e) {
                log::error("provider-sim", "handler failed: {}", e.what());
            }
        }
    });
}

void ProviderSimulator::stop() {
    auto& im = *impl_;
    if (!im.thread.joinable()) return;
    im.ioc->stop();
    im.thread.join();
    // Destroying the io_context destroys every pending handler and with them the sessions
    // and their sockets, hung connections included.
    im.accept_retry.reset();
    im.acceptor.reset();
    im.ioc.reset();
}

std::uint16_t ProviderSimulator::port() const {
    return impl_->bound_port;
}

std::string ProviderSimulator::base_url() const {
    std::string host = impl_->options.host;
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(impl_->bound_port);
}

const ProviderSimulator::Options& ProviderSimulator::options() const {
    return impl_->options;
}

std::vector<RecordedRequest> ProviderSimulator::requests() const {
    const std::lock_guard lock(impl_->mu);
    return {impl_->records.begin(), impl_->records.end()};
}

std::size_t ProviderSimulator::accepted_count() const {
    const std::lock_guard lock(impl_->mu);
    return impl_->accepted;
}

void ProviderSimulator::add_fault(Fault fault) {
    const std::lock_guard lock(impl_->mu);
    impl_->faults.push_back(std::move(fault));
}

void ProviderSimulator::clear_faults() {
    const std::lock_guard lock(impl_->mu);
    impl_->faults.clear();
}

void ProviderSimulator::clear_requests() {
    const std::lock_guard lock(impl_->mu);
    impl_->records.clear();
    impl_->accepted = 0;
}

}  // namespace rappel::sim
