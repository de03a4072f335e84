#pragma once
// A Twilio-compatible provider simulator: an HTTP/1.1 server (Boost.Beast, one io_context on
// its own thread) that speaks the 2010-04-01 Messages and Calls APIs, records every request,
// honours idempotency keys and injects programmable faults. Used by integration tests, the
// demo and the benchmarks, in-process or as the `rappel-provider-sim` binary.
//
// Control API over HTTP (no auth):
//   GET    /_sim/health     -> {"status":"ok","accepted":N,"requests":N}
//   GET    /_sim/requests   -> JSON array of recorded requests
//   DELETE /_sim/requests   -> clears the recorded requests and the accepted count
//   GET    /_sim/faults     -> JSON array of pending faults
//   POST   /_sim/faults     -> adds one fault: {status, body, delay_ms, hang, garbage, close,
//                              times, match_to, retry_after_seconds}; all fields optional
//   DELETE /_sim/faults     -> clears the pending faults
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rappel::sim {

inline constexpr const char* kDefaultAccountSid = "AC0123456789abcdef0123456789abcdef";
inline constexpr const char* kDefaultAuthToken = "test-token";

struct RecordedRequest {
    std::string kind;  // "message" | "call" | "other"
    std::string method;
    std::string target;
    std::string account_sid;  // from the path
    std::string to;
    std::string from;
    std::string body;
    std::string twiml;
    std::string idempotency_key;
    int status = 0;          // status sent; 0 when the fault sent no HTTP status (hang, garbage, close)
    std::string sid;         // resource sid for 2xx answers
    bool duplicate = false;  // answered from the idempotency store
    std::chrono::system_clock::time_point at;
    std::string url;              // calls: Url
    std::string status_callback;  // StatusCallback
};

// Faults are taken in FIFO order by POSTs to Messages.json and Calls.json whose To matches,
// before authentication, validation and the idempotency store are consulted.
struct Fault {
    // HTTP status to answer with. 0 = no fault status: after `delay`, handle the request
    // normally (latency injection).
    int status = 503;
    std::string body;  // empty and status >= 400: a Twilio error JSON
    std::chrono::milliseconds delay{0};
    bool hang = false;                       // never answer, keep the connection open
    bool garbage = false;                    // send bytes that are not HTTP, then close
    bool close = false;                      // close the connection without answering
    int times = 1;                           // how many matching requests it applies to; -1 = until cleared
    std::string match_to;                    // only requests whose To equals this; empty = any
    std::optional<int> retry_after_seconds;  // adds a Retry-After header
};

class ProviderSimulator {
public:
    struct Options {
        std::string account_sid = kDefaultAccountSid;
        std::string auth_token = kDefaultAuthToken;
        std::string host = "127.0.0.1";
        std::uint16_t port = 0;  // 0 = pick a free port
        // Keep at most this many recorded requests, dropping the oldest (0 = no limit).
        // accepted_count() is not affected. For long benchmarks.
        std::size_t max_records = 0;
    };

    explicit ProviderSimulator(Options options);
    ~ProviderSimulator();  // stops
    ProviderSimulator(const ProviderSimulator&) = delete;
    ProviderSimulator& operator=(const ProviderSimulator&) = delete;

    // Binds and listens (throws std::system_error if it cannot), then serves on its own thread.
    void start();
    // Closes every connection and joins the thread. Idempotent.
    void stop();
    std::uint16_t port() const;
    std::string base_url() const;  // http://127.0.0.1:PORT
    const Options& options() const;

    // All thread-safe.
    std::vector<RecordedRequest> requests() const;
    std::size_t accepted_count() const;  // 2xx, non-duplicate messages and calls
    void add_fault(Fault fault);
    void clear_faults();
    // Clears the recorded requests and the accepted count. Resources already created stay
    // known to the idempotency store.
    void clear_requests();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rappel::sim
