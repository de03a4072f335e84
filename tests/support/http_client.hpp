#pragma once
// A blocking HTTP/1.1 GET for tests (Boost.Beast), with a deadline on the whole exchange.
#include <chrono>
#include <optional>
#include <string>

namespace rappel::testkit {

struct HttpReply {
    int status = 0;
    std::string content_type;
    std::string body;
};

// nullopt when the server cannot be reached or does not answer within `timeout`.
std::optional<HttpReply> http_get(const std::string& host, int port, const std::string& target,
                                  std::chrono::milliseconds timeout = std::chrono::seconds{5});

}  // namespace rappel::testkit
