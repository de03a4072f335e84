#include "channels/http/curl_multi.hpp"

#include "engine/base/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

namespace rappel::channels {

namespace {

constexpr int kRead = 0;
constexpr int kWrite = 1;

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            throw std::runtime_error("curl_global_init failed");
    });
}

}  // namespace

// One descriptor curl asked us to watch. `generation` tells a stale completion (from a wait
// cancelled or superseded since) from the current one.
struct CurlMulti::Watch {
    Watch(boost::asio::io_context& io, curl_socket_t s, bool own)
        : descriptor(io), fd(s), owned(own) {}

    boost::asio::posix::stream_descriptor descriptor;
    curl_socket_t fd;
    bool owned;         // created by on_open_socket; closed by on_close_socket
    bool gone = false;  // released; completions must ignore it
    int want = 0;       // CURL_POLL_IN / CURL_POLL_OUT bits
    std::array<bool, 2> pending{false, false};
    std::array<unsigned, 2> generation{0, 0};
};

CurlMulti::CurlMulti(boost::asio::io_context& io, CurlMultiOptions options)
    : io_(io),
      timer_(io),
      alive_(std::make_shared<int>(0)),
      max_running_(options.max_running),
      max_per_lane_(options.max_running_per_lane > 0
                        ? options.max_running_per_lane
                        : static_cast<std::size_t>(std::max(0L, options.max_host_connections))) {
    global_init_once();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    if (options.max_host_connections > 0)
        curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    if (options.max_total_connections > 0)
        curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
    if (options.max_connects > 0)
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options.max_connects);
}

CurlMulti::~CurlMulti() {
    alive_.reset();
    std::vector<std::pair<CURL*, CurlDone>> aborted;
    aborted.reserve(transfers_.size());
    for (auto& [easy, t] : transfers_) {
        if (t.running) curl_multi_remove_handle(multi_, easy);
        aborted.emplace_back(easy, std::move(t.done));
    }
    transfers_.clear();
    lanes_.clear();
    // Closes cached connections through on_close_socket, so the watches must still exist.
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
    for (auto& [fd, w] : watches_) {
        w->gone = true;
        boost::system::error_code ec;
        w->descriptor.cancel(ec);
        w->descriptor.release();
        if (w->owned) ::close(fd);
    }
    watches_.clear();
    timer_.cancel();
    for (auto& [easy, done] : aborted) done(CURLE_ABORTED_BY_CALLBACK, easy);
}

void CurlMulti::perform(CURL* easy, CurlDone done, const void* lane) {
    if (easy == nullptr || transfers_.contains(easy)) {
        log::error("curl", "perform: null or already running easy handle");
        boost::asio::post(io_, [done = std::move(done), easy] {
            if (done) done(CURLE_BAD_FUNCTION_ARGUMENT, easy);
        });
        return;
    }
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlMulti::on_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlMulti::on_close_socket);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
    auto& t = transfers_.emplace(easy, Transfer{std::move(done), lane, false}).first->second;
    Lane& l = lanes_[lane];
    if (!l.waiting.empty() || !has_room(l)) {
        l.waiting.push_back(easy);
        ++waiting_;
        return;
    }
    start(easy, t);
}

bool CurlMulti::lane_full(const void* lane) const {
    if (max_per_lane_ == 0) return false;
    auto it = lanes_.find(lane);
    return it != lanes_.end() && it->second.running + it->second.waiting.size() >= max_per_lane_;
}

bool CurlMulti::has_room(const Lane& lane) const {
    return (max_running_ == 0 || running_ < max_running_) && (max_per_lane_ == 0 || lane.running < max_per_lane_);
}

void CurlMulti::start(CURL* easy, Transfer& t) {
    // Adding only schedules work (through the timer callback); nothing completes in here.
    const CURLMcode rc = curl_multi_add_handle(multi_, easy);
    if (rc == CURLM_OK) {
        t.running = true;
        ++running_;
        ++lanes_[t.lane].running;
        return;
    }
    log::error("curl", "curl_multi_add_handle: {}", curl_multi_strerror(rc));
    CurlDone failed = std::move(t.done);
    transfers_.erase(easy);
    boost::asio::post(io_, [failed = std::move(failed), easy] {
        if (failed) failed(CURLE_FAILED_INIT, easy);
    });
}

// Each lane's waiting transfers in order, while the caps allow. Lanes are few (one per
// provider), so walking them all is cheap.
void CurlMulti::start_waiting() {
    if (waiting_ == 0) return;
    for (auto& [key, lane] : lanes_) {
        while (!lane.waiting.empty() && has_room(lane)) {
            CURL* easy = lane.waiting.front();
            lane.waiting.pop_front();
            --waiting_;
            auto it = transfers_.find(easy);
            if (it != transfers_.end()) start(easy, it->second);
        }
        if (max_running_ > 0 && running_ >= max_running_) return;
    }
}

int CurlMulti::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* clientp,
                         void* /*socketp*/) {
    auto* self = static_cast<CurlMulti*>(clientp);
    self->update_watch(fd, what);
    return 0;
}

int CurlMulti::on_timer(CURLM* /*multi*/, long timeout_ms, void* clientp) {
    static_cast<CurlMulti*>(clientp)->set_timer(timeout_ms);
    return 0;
}

curl_socket_t CurlMulti::on_open_socket(void* clientp, curlsocktype purpose,
                                        curl_sockaddr* address) {
    auto* self = static_cast<CurlMulti*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    // CLOEXEC: child processes (tests spawn servers) must not keep our connections open.
    const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    // A descriptor curl closed itself without CURL_POLL_REMOVE may have left a watch on
    // this recycled number.
    self->forget(fd);
    auto w = std::make_shared<Watch>(self->io_, fd, true);
    boost::system::error_code ec;
    w->descriptor.assign(fd, ec);
    if (ec) {
        log::error("curl", "cannot watch socket: {}", ec.message());
        ::close(fd);
        return CURL_SOCKET_BAD;
    }
    self->watches_.emplace(fd, std::move(w));
    ++self->open_sockets_;
    ++self->sockets_opened_;
    return fd;
}

int CurlMulti::on_close_socket(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<CurlMulti*>(clientp);
    auto it = self->watches_.find(fd);
    if (it != self->watches_.end() && it->second->owned) --self->open_sockets_;
    self->forget(fd);
    return ::close(fd) == 0 ? 0 : 1;
}

void CurlMulti::update_watch(curl_socket_t fd, int what) {
    auto it = watches_.find(fd);
    if (what == CURL_POLL_REMOVE) {
        if (it == watches_.end()) return;
        if (it->second->owned) {
            // Still open (idle in curl's connection cache): keep the fd, and keep any wait
            // armed so the next transfer on this connection needs no new one (every new
            // asio wait costs an epoll_ctl). A completion meanwhile is ignored.
            it->second->want = 0;
        } else {
            forget(fd);
        }
        return;
    }
    WatchPtr w;
    if (it == watches_.end()) {
        w = std::make_shared<Watch>(io_, fd, false);
        boost::system::error_code ec;
        w->descriptor.assign(fd, ec);
        if (ec) {
            log::error("curl", "cannot watch descriptor: {}", ec.message());
            return;
        }
        watches_.emplace(fd, w);
    } else {
        w = it->second;
    }
    // A dropped direction keeps its wait; on_ready ignores it.
    const int want = what & CURL_POLL_INOUT;
    w->want = want;
    if ((want & CURL_POLL_IN) != 0) arm(w, kRead);
    if ((want & CURL_POLL_OUT) != 0) arm(w, kWrite);
}

void CurlMulti::arm(const WatchPtr& w, int direction) {
    const auto idx = static_cast<std::size_t>(direction);
    if (w->pending[idx]) return;
    w->pending[idx] = true;
    const unsigned generation = ++w->generation[idx];
    std::weak_ptr<int> alive = alive_;
    const auto type = direction == kRead ? boost::asio::posix::stream_descriptor::wait_read
                                         : boost::asio::posix::stream_descriptor::wait_write;
    w->descriptor.async_wait(
        type, [this, alive, w, direction, idx, generation](const boost::system::error_code& ec) {
            if (alive.expired() || w->gone || w->generation[idx] != generation) return;
            w->pending[idx] = false;
            on_ready(w, direction, static_cast<bool>(ec));
        });
}

void CurlMulti::disarm(Watch& w) {
    for (std::size_t i = 0; i < 2; ++i) {
        w.pending[i] = false;
        ++w.generation[i];
    }
    boost::system::error_code ec;
    w.descriptor.cancel(ec);
}

void CurlMulti::forget(curl_socket_t fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return;
    WatchPtr w = std::move(it->second);
    watches_.erase(it);
    w->gone = true;
    disarm(*w);
    w->descriptor.release();  // never close: the fd is curl's (or already closed)
}

void CurlMulti::on_ready(const WatchPtr& w, int direction, bool error) {
    const int bit = direction == kRead ? CURL_POLL_IN : CURL_POLL_OUT;
    if ((w->want & bit) == 0) return;  // curl no longer waits for this; re-armed when it does
    const int events = error ? CURL_CSELECT_ERR
                             : (direction == kRead ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
    drive(w->fd, events);
    if (!w->gone && (w->want & bit) != 0) arm(w, direction);
}

void CurlMulti::set_timer(long timeout_ms) {
    if (timeout_ms < 0) {
        deadline_.reset();  // a wait still armed finds nothing due
        return;
    }
    if (timeout_ms == 0) {
        deadline_.reset();
        kick();
        return;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
    deadline_ = deadline;
    if (timer_armed_ && timer_expiry_ <= deadline) return;
    arm_timer(deadline);
}

void CurlMulti::arm_timer(std::chrono::steady_clock::time_point expiry) {
    timer_armed_ = true;
    timer_expiry_ = expiry;
    const unsigned generation = ++timer_generation_;
    timer_.expires_at(expiry);  // cancels a wait in progress
    std::weak_ptr<int> alive = alive_;
    timer_.async_wait([this, alive, generation](const boost::system::error_code& ec) {
        if (alive.expired() || generation != timer_generation_) return;
        timer_armed_ = false;
        if (!ec) on_timer_expired();
    });
}

void CurlMulti::on_timer_expired() {
    if (!deadline_) return;
    if (*deadline_ > std::chrono::steady_clock::now()) {
        arm_timer(*deadline_);
        return;
    }
    deadline_.reset();
    drive(CURL_SOCKET_TIMEOUT, 0);
}

// Never call socket_action from inside curl's callback: it runs from the io loop.
void CurlMulti::kick() {
    if (kick_pending_) return;
    kick_pending_ = true;
    std::weak_ptr<int> alive = alive_;
    boost::asio::post(io_, [this, alive] {
        if (alive.expired()) return;
        kick_pending_ = false;
        drive(CURL_SOCKET_TIMEOUT, 0);
    });
}

void CurlMulti::drive(curl_socket_t fd, int events) {
    int running = 0;
    const CURLMcode rc = curl_multi_socket_action(multi_, fd, events, &running);
    if (rc != CURLM_OK) log::warn("curl", "curl_multi_socket_action: {}", curl_multi_strerror(rc));
    complete_finished();
}

void CurlMulti::complete_finished() {
    // Collected first: a `done` may start transfers, and info_read must not see them yet.
    std::vector<std::pair<CURL*, CURLcode>> finished;
    finished.swap(finished_);
    finished.clear();
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &queued)) {
        if (m->msg == CURLMSG_DONE) finished.emplace_back(m->easy_handle, m->data.result);
    }
    for (auto [easy, code] : finished) {
        curl_multi_remove_handle(multi_, easy);
        auto it = transfers_.find(easy);
        if (it == transfers_.end()) continue;
        if (running_ > 0) --running_;
        auto lane = lanes_.find(it->second.lane);
        if (lane != lanes_.end() && lane->second.running > 0) --lane->second.running;
        CurlDone done = std::move(it->second.done);
        transfers_.erase(it);
        if (done) done(code, easy);
    }
    finished.clear();
    if (finished_.capacity() < finished.capacity()) finished_.swap(finished);  // keep the buffer
    start_waiting();
}

}  // namespace rappel::channels
