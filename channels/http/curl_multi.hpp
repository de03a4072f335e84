#pragma once
// libcurl's multi_socket interface driven by a Boost.Asio io_context: curl tells us which
// sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake up (CURLMOPT_TIMERFUNCTION);
// asio waits and we hand the events back with curl_multi_socket_action(). One multi handle,
// so connections are cached and reused across transfers (HTTP keep-alive, SMTP sessions).
//
// Socket ownership: every transfer gets CURLOPT_OPENSOCKETFUNCTION/CLOSESOCKETFUNCTION, so
// connection sockets are created and closed here; asio only ever watches them through a
// stream_descriptor that is release()d before the fd is closed, never closing an fd itself.
// Other descriptors curl may ask us to watch (the threaded resolver's socketpair) are watched
// the same way and released on CURL_POLL_REMOVE.
//
// Threading: everything, including perform() and the destructor, runs on the io_context's
// one thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rappel::channels {

// Defaults keep a bounded set of keep-alive connections per provider host: transfers beyond
// the host limit queue inside curl and go out on a connection as it frees up, instead of each
// opening its own connection that the cache then has to close again.
struct CurlMultiOptions {
    long max_host_connections = 64;  // CURLMOPT_MAX_HOST_CONNECTIONS; 0 = no limit
    long max_total_connections = 0;  // CURLMOPT_MAX_TOTAL_CONNECTIONS; 0 = no limit
    // CURLMOPT_MAXCONNECTS (idle cache size); 0 = curl's default, which shrinks with the
    // number of transfers running and so closes idle connections after a burst.
    long max_connects = 256;
    // Transfers handed to curl at once, over all lanes; the others wait here, in order, and
    // start as running ones finish. libcurl 7.88 walks its list of transfers on every removal,
    // so thousands at once cost ~100 us of CPU per message instead of ~40 (bench/
    // dispatch_bench.cpp, --concurrency 1000). A transfer's own timeout starts when it is
    // handed over. 0: no cap.
    std::size_t max_running = 128;
    // Transfers of one lane (one provider, so one host) handed to curl at once. Beyond the
    // host's connection limit a transfer only waits inside curl, which retries its connection
    // set-up (URL parse, connection lookup) each time a connection frees up: ~8 us of CPU per
    // message at 1,000 in flight over 64 connections (rappel-bench-dispatch --concurrency
    // 1000 --connections 64 --max-running 128 vs 64). 0: max_host_connections (no cap when
    // that is 0 too).
    std::size_t max_running_per_lane = 0;
};

// Called with the transfer's result and the easy handle, which is no longer attached to the
// multi handle: the callee owns it again (clean it up or reuse it).
using CurlDone = std::function<void(CURLcode, CURL*)>;

class CurlMulti {
public:
    explicit CurlMulti(boost::asio::io_context& io, CurlMultiOptions options = {});
    // Aborts transfers still running: each one's `done` is called with
    // CURLE_ABORTED_BY_CALLBACK from the destructor; it must not call perform() again.
    ~CurlMulti();
    CurlMulti(const CurlMulti&) = delete;
    CurlMulti& operator=(const CurlMulti&) = delete;

    // Starts a configured easy handle. The caller keeps ownership of `easy` but must not touch
    // it until `done` runs; CurlMulti sets its open/close socket callbacks (don't override
    // them). `done` is called exactly once, on the io thread, never from inside perform().
    // `lane` names the caller's queue (an adapter passes itself): transfers of a lane start
    // in order, at most max_running_per_lane at once.
    void perform(CURL* easy, CurlDone done, const void* lane = nullptr);
    // The lane holds max_running_per_lane transfers (running or waiting) or more: a caller
    // may keep further sends to itself (no easy handle yet) and perform them as its own
    // transfers complete, which they all will.
    bool lane_full(const void* lane) const;

    // Transfers started and not yet completed.
    std::size_t active() const { return transfers_.size(); }
    // Connection sockets currently open (in use or idle in curl's cache). For tests.
    std::size_t open_sockets_for_test() const { return open_sockets_; }
    // Connection sockets opened since construction (new TCP connections attempted).
    std::size_t sockets_opened() const { return sockets_opened_; }

    boost::asio::io_context& io() { return io_; }

private:
    struct Watch;
    using WatchPtr = std::shared_ptr<Watch>;

    static int on_socket(CURL* easy, curl_socket_t fd, int what, void* clientp, void* socketp);
    static int on_timer(CURLM* multi, long timeout_ms, void* clientp);
    static curl_socket_t on_open_socket(void* clientp, curlsocktype purpose,
                                        curl_sockaddr* address);
    static int on_close_socket(void* clientp, curl_socket_t fd);

    void update_watch(curl_socket_t fd, int what);
    void arm(const WatchPtr& w, int direction);
    void disarm(Watch& w);
    void forget(curl_socket_t fd);
    void on_ready(const WatchPtr& w, int direction, bool error);
    void set_timer(long timeout_ms);
    void arm_timer(std::chrono::steady_clock::time_point expiry);
    void on_timer_expired();
    void kick();
    void drive(curl_socket_t fd, int events);
    void complete_finished();

    boost::asio::io_context& io_;
    CURLM* multi_ = nullptr;
    // curl's timeout as a deadline. The asio timer is only re-armed when the deadline moves
    // earlier than its expiry; when it fires early it re-arms once for the current deadline.
    // A zero timeout is a posted handler, not a timer.
    boost::asio::steady_timer timer_;
    unsigned timer_generation_ = 0;
    bool timer_armed_ = false;
    std::chrono::steady_clock::time_point timer_expiry_{};
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    bool kick_pending_ = false;
    std::shared_ptr<int> alive_;  // handlers hold a weak_ptr: expired once we are gone
    std::unordered_map<curl_socket_t, WatchPtr> watches_;
    struct Transfer {
        CurlDone done;
        const void* lane = nullptr;
        bool running = false;
    };
    struct Lane {
        std::size_t running = 0;
        std::deque<CURL*> waiting;
    };
    std::unordered_map<CURL*, Transfer> transfers_;  // running and waiting
    std::unordered_map<const void*, Lane> lanes_;
    std::size_t waiting_ = 0;
    std::size_t running_ = 0;
    std::size_t max_running_ = 0;
    std::size_t max_per_lane_ = 0;

    bool has_room(const Lane& lane) const;
    void start(CURL* easy, Transfer& t);
    void start_waiting();
    std::vector<std::pair<CURL*, CURLcode>> finished_;  // complete_finished's reused buffer
    std::size_t open_sockets_ = 0;
    std::size_t sockets_opened_ = 0;
};

}  // namespace rappel::channels
