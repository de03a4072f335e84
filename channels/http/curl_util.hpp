#pragma once
// Small pieces shared by the libcurl-based adapters.
#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::channels {

struct EasyDeleter {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// Appends a copy of `line`; false when out of memory (the list is unchanged then).
bool slist_append(SlistPtr& list, const std::string& line);

// A short, stable reason for a transport-level failure, free of contact data: "timeout",
// "connect", "resolve", "tls", "recv", "send", "empty reply", "garbage", ... or "curl <code>".
std::string curl_failure_reason(CURLcode code);

// `value` made safe to put inside one header line: CR and LF (and every other control
// character but TAB) become a space, so a value can never start a header of its own.
std::string header_safe(std::string_view value);

// Options every adapter sets on its transfers: overall and connect timeout, no signals
// (multi-threaded resolver safety), TCP keep-alive on reused connections.
void set_transfer_defaults(CURL* easy, std::chrono::milliseconds timeout);

// An adapter's idle transfers (an easy handle with its fixed options set once, and the
// buffers of one send) kept for the next send, up to `max_idle`.
template <typename Transfer>
class TransferPool {
public:
    explicit TransferPool(std::size_t max_idle) : max_idle_(max_idle) {}
    // An idle transfer, or nullptr when there is none.
    std::unique_ptr<Transfer> take() {
        if (idle_.empty()) return nullptr;
        auto t = std::move(idle_.back());
        idle_.pop_back();
        return t;
    }
    void give_back(std::unique_ptr<Transfer> t) {
        if (idle_.size() < max_idle_) idle_.push_back(std::move(t));
    }
    std::size_t idle() const { return idle_.size(); }

private:
    std::size_t max_idle_;
    std::vector<std::unique_ptr<Transfer>> idle_;
};

// The transfer a finished easy handle carries in CURLOPT_PRIVATE, owned again by the caller.
template <typename Transfer>
std::unique_ptr<Transfer> transfer_of(CURL* easy) {
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
    return std::unique_ptr<Transfer>{raw};
}

}  // namespace rappel::channels
