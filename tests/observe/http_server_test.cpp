#define BOOST_TEST_MODULE observe http server
#include "engine/observe/http_server.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

using namespace rappel;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// The server on its own io thread, as in rappeld (one thread runs the loop).
struct Served {
    explicit Served(observe::HttpServerOptions o = {}) {
        server = std::make_unique<observe::HttpServer>(io, o, [this](const std::string& path) {
            ++handled;
            if (path == "/hello") return observe::HttpResponse{200, "text/plain", "hi\n"};
            return observe::HttpResponse{404, "text/plain", "no\n"};
        });
        server->start();
        thread = std::thread([this] { io.run(); });
    }
    ~Served() {
        asio::post(io, [this] { server->stop(); });
        work.reset();
        io.stop();
        thread.join();
    }
    int port() const { return server->port(); }

    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{asio::make_work_guard(io)};
    std::unique_ptr<observe::HttpServer> server;
    std::atomic<int> handled{0};
    std::thread thread;
};

// Raw request bytes in, everything the server sends until it closes (or 3 s) out.
std::string raw_exchange(int port, const std::string& bytes) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    asio::write(s, asio::buffer(bytes));
    std::string out;
    char buf[4096];
    boost::system::error_code ec;
    struct timeval tv{3, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        const auto n = s.read_some(asio::buffer(buf), ec);
        if (ec || n == 0) break;
        out.append(buf, n);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(answers_get_with_the_handlers_response_and_strips_the_query) {
    Served s;
    auto r = testkit::http_get("127.0.0.1", s.port(), "/hello?x=1");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == 200);
    BOOST_TEST(r->body == "hi\n");
    BOOST_TEST(r->content_type == "text/plain");
    auto missing = testkit::http_get("127.0.0.1", s.port(), "/nope");
    BOOST_REQUIRE(missing);
    BOOST_TEST(missing->status == 404);
}

BOOST_AUTO_TEST_CASE(refuses_other_methods_and_oversized_requests) {
    observe::HttpServerOptions o;
    o.max_header_bytes = 1024;
    Served s(o);
    const auto post = raw_exchange(s.port(), "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    BOOST_TEST(post.starts_with("HTTP/1.1 405"));
    const auto big = raw_exchange(s.port(), "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    BOOST_TEST(big.starts_with("HTTP/1.1 431"));
    const auto body = raw_exchange(s.port(), "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    BOOST_TEST(body.starts_with("HTTP/1.1 431"));
    BOOST_TEST(s.handled == 0);
}

BOOST_AUTO_TEST_CASE(keeps_a_connection_alive_for_several_requests) {
    Served s;
    const auto out = raw_exchange(s.port(),
                                  "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    BOOST_TEST(out.find("HTTP/1.1 200") != out.rfind("HTTP/1.1 200"));
    BOOST_TEST(s.handled == 2);
}

BOOST_AUTO_TEST_CASE(closes_a_silent_connection_after_the_timeout) {
    observe::HttpServerOptions o;
    o.timeout = 200ms;
    Served s(o);
    const auto t0 = std::chrono::steady_clock::now();
    const auto out = raw_exchange(s.port(), "GET /hel");  // never finished
    const auto took = std::chrono::steady_clock::now() - t0;
    BOOST_TEST(out.empty());
    BOOST_TEST(took < 2500ms);  // closed by the server, not by the client's 3 s read timeout
}

BOOST_AUTO_TEST_CASE(serves_many_concurrent_scrapes_and_caps_open_connections) {
    observe::HttpServerOptions o;
    o.max_connections = 8;
    o.timeout = 2s;
    Served s(o);
    // Idle connections beyond the cap are closed at once; the first eight stay open.
    asio::io_context io;
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> idle;
    for (int i = 0; i < 8; ++i) {
        idle.push_back(std::make_unique<asio::ip::tcp::socket>(io));
        idle.back()->connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(s.port())});
    }
    BOOST_TEST(raw_exchange(s.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").empty());
    idle.clear();
    // Once they are gone, concurrent clients are all answered.
    BOOST_REQUIRE(testkit::wait_until([&] { return testkit::http_get("127.0.0.1", s.port(), "/hello").has_value(); }, 5s));
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 6; ++i)
        clients.emplace_back([&] {
            for (int k = 0; k < 20; ++k) {
                auto r = testkit::http_get("127.0.0.1", s.port(), "/hello");
                if (r && r->status == 200) ++ok;
            }
        });
    for (auto& c : clients) c.join();
    BOOST_TEST(ok == 120);
}

BOOST_AUTO_TEST_CASE(a_taken_port_is_a_clear_start_up_error) {
    Served s;
    asio::io_context io;
    observe::HttpServerOptions o;
    o.port = s.port();
    observe::HttpServer second(io, o, [](const std::string&) { return observe::HttpResponse{}; });
    BOOST_CHECK_EXCEPTION(second.start(), std::runtime_error, [](const std::runtime_error& e) {
        return std::string(e.what()).find("cannot listen on 127.0.0.1:") != std::string::npos;
    });
}
