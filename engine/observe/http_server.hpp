#pragma once
// A small HTTP/1.1 server (Boost.Beast) on the engine's io_context, for scrapes and probes.
// It never blocks the loop: every read and write is asynchronous with a deadline, requests
// are GET/HEAD only with a bounded header and no body, and connections beyond
// `max_connections` are closed at once. Handlers run on the io thread and must be quick.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace rappel::observe {

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

struct HttpServerOptions {
    std::string address = "127.0.0.1";
    int port = 0;                                    // 0: any free port (tests)
    std::size_t max_connections = 64;
    std::chrono::milliseconds timeout{10'000};       // per request: read it, then write the answer
    std::size_t max_header_bytes = 8192;
    int max_requests_per_connection = 100;
};

class HttpServer {
public:
    // `handler(target)` answers a GET of that path (query string removed).
    using Handler = std::function<HttpResponse(const std::string& path)>;
    HttpServer(boost::asio::io_context& io, HttpServerOptions options, Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts accepting; throws std::runtime_error when the address cannot be bound.
    void start();
    // Stops accepting and closes open connections.
    void stop();
    int port() const;  // the bound port, after start()

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace rappel::observe
