#include "channels/http/curl_util.hpp"

#include <fmt/format.h>

namespace rappel::channels {

bool slist_append(SlistPtr& list, const std::string& line) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (grown == nullptr) return false;
    (void)list.release();
    list.reset(grown);
    return true;
}

std::string curl_failure_reason(CURLcode code) {
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_COULDNT_CONNECT: return "connect";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "resolve";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED: return "tls";
    case CURLE_RECV_ERROR: return "recv";
    case CURLE_SEND_ERROR: return "send";
    case CURLE_GOT_NOTHING: return "empty reply";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: return "garbage";
    case CURLE_PARTIAL_FILE: return "partial reply";
    case CURLE_WRITE_ERROR: return "reply too large";
    case CURLE_LOGIN_DENIED: return "login denied";
    case CURLE_ABORTED_BY_CALLBACK: return "aborted";
    case CURLE_OUT_OF_MEMORY: return "out of memory";
    default: return fmt::format("curl {}", static_cast<int>(code));
    }
}

std::string header_safe(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back((u < 0x20 && c != '\t') || u == 0x7f ? ' ' : c);
    }
    return out;
}

void set_transfer_defaults(CURL* easy, std::chrono::milliseconds timeout) {
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
}

}  // namespace rappel::channels
