#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace rappel::testkit {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

std::optional<HttpReply> http_get(const std::string& host, int port, const std::string& target,
                                  std::chrono::milliseconds timeout) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    std::optional<HttpReply> out;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    req.set(http::field::connection, "close");
    stream.expires_after(timeout);
    const asio::ip::tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
    stream.async_connect(ep, [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
            if (wec) return;
            http::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) {
                if (rec) return;
                out = HttpReply{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]),
                                res.body()};
            });
        });
    });
    io.run();
    return out;
}

}  // namespace rappel::testkit
