#include "engine/observe/http_server.hpp"

#include "engine/base/log.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <list>
#include <optional>
#include <stdexcept>
#include <vector>

namespace rappel::observe {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr std::string_view kLog = "http";

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, const HttpServerOptions& opts, std::shared_ptr<const HttpServer::Handler> handler,
            std::function<void()> on_close)
        : stream_(std::move(socket)), opts_(opts), handler_(std::move(handler)), on_close_(std::move(on_close)) {}
    ~Session() {
        if (on_close_) on_close_();
    }

    void start() { read(); }
    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

private:
    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
        parser_->body_limit(0);
        stream_.expires_after(opts_.timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream) return close();
        if (ec) {
            // Oversized or malformed requests get an answer when the stream still works.
            if (ec == http::error::header_limit || ec == http::error::body_limit)
                return answer(431, "request too large\n", false);
            if (ec != beast::error::timeout && ec != asio::error::operation_aborted)
                log::debug(kLog, "request read failed: {}", ec.message());
            return close();
        }
        const auto& req = parser_->get();
        ++served_;
        const bool keep = req.keep_alive() && served_ < opts_.max_requests_per_connection;
        if (req.method() != http::verb::get && req.method() != http::verb::head)
            return answer(405, "only GET and HEAD\n", keep, req.method() == http::verb::head);
        std::string path(req.target());
        if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
        HttpResponse r;
        try {
            r = (*handler_)(path);
        } catch (const std::exception& e) {
            log::error(kLog, "handler for {} failed: {}", path, e.what());
            r = HttpResponse{500, "text/plain; charset=utf-8", "internal error\n"};
        }
        respond(std::move(r), keep, req.method() == http::verb::head);
    }

    void answer(int status, std::string body, bool keep, bool head = false) {
        respond(HttpResponse{status, "text/plain; charset=utf-8", std::move(body)}, keep, head);
    }

    void respond(HttpResponse r, bool keep, bool head) {
        auto res = std::make_shared<http::response<http::string_body>>();
        res->result(static_cast<unsigned>(r.status));
        res->version(11);
        res->set(http::field::server, "rappeld");
        res->set(http::field::content_type, r.content_type);
        res->set(http::field::cache_control, "no-store");
        res->keep_alive(keep);
        res->body() = std::move(r.body);
        res->prepare_payload();
        if (head) res->body().clear();
        stream_.expires_after(opts_.timeout);
        if (head) {
            auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
            http::async_write_header(stream_, *sr,
                                     [self = shared_from_this(), res, sr, keep](beast::error_code ec, std::size_t) {
                                         self->on_written(ec, keep);
                                     });
            return;
        }
        http::async_write(stream_, *res, [self = shared_from_this(), res, keep](beast::error_code ec, std::size_t) {
            self->on_written(ec, keep);
        });
    }

    void on_written(beast::error_code ec, bool keep) {
        if (ec || !keep) return close();
        read();
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> parser_;
    const HttpServerOptions opts_;
    std::shared_ptr<const HttpServer::Handler> handler_;
    std::function<void()> on_close_;
    int served_ = 0;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io_, HttpServerOptions o, Handler h)
        : io(io_), opts(std::move(o)), handler(std::make_shared<const Handler>(std::move(h))), acceptor(io_) {}

    void accept() {
        acceptor.async_accept([w = weak_from_this()](beast::error_code ec, tcp::socket s) {
            auto self = w.lock();
            if (!self || !self->acceptor.is_open()) return;
            if (!ec) self->admit(std::move(s));
            else if (ec != asio::error::operation_aborted) log::warn(kLog, "accept failed: {}", ec.message());
            self->accept();
        });
    }

    void admit(tcp::socket s) {
        if (sessions.size() >= opts.max_connections) {
            if (!warned_full) log::warn(kLog, "{} connections open: refusing more", sessions.size());
            warned_full = true;
            beast::error_code ec;
            s.close(ec);
            return;
        }
        warned_full = false;
        auto it = sessions.emplace(sessions.end());
        auto session = std::make_shared<Session>(std::move(s), opts, handler,
                                                 [w = weak_from_this(), it] {
                                                     if (auto self = w.lock()) self->sessions.erase(it);
                                                 });
        *it = session;
        session->start();
    }

    asio::io_context& io;
    HttpServerOptions opts;
    std::shared_ptr<const Handler> handler;
    tcp::acceptor acceptor;
    std::list<std::weak_ptr<Session>> sessions;
    bool warned_full = false;
};

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
    auto& i = *impl_;
    beast::error_code ec;
    const auto addr = asio::ip::make_address(i.opts.address, ec);
    if (ec) throw std::runtime_error("http: invalid address '" + i.opts.address + "'");
    const tcp::endpoint ep(addr, static_cast<unsigned short>(i.opts.port));
    i.acceptor.open(ep.protocol(), ec);
    if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) i.acceptor.bind(ep, ec);
    if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("http: cannot listen on " + i.opts.address + ":" + std::to_string(i.opts.port) +
                                 ": " + ec.message());
    log::info(kLog, "listening on {}:{}", i.opts.address, port());
    i.accept();
}

void HttpServer::stop() {
    auto& i = *impl_;
    beast::error_code ec;
    if (i.acceptor.is_open()) i.acceptor.close(ec);
    // Closing may end a session, which erases itself from the list: close from a copy.
    std::vector<std::shared_ptr<Session>> open;
    for (auto& w : i.sessions)
        if (auto s = w.lock()) open.push_back(std::move(s));
    for (auto& s : open) s->close();
}

int HttpServer::port() const {
    beast::error_code ec;
    auto ep = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : ep.port();
}

}  // namespace rappel::observe
