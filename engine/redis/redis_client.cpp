#include "engine/redis/redis_client.hpp"

#include "engine/base/log.hpp"
#include "engine/redis/reply_convert.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>

#include <strings.h>

namespace rappel::redis {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::string_view kComponent = "redis";
constexpr const char* kNotConnected = "redis: not connected";

// hiredis keeps one callback per channel for these and calls it repeatedly; our one-shot
// callbacks cannot express that, so they are refused.
bool is_unsupported_command(std::string_view name) {
    static constexpr std::string_view kNames[] = {"subscribe",    "psubscribe", "unsubscribe",
                                                  "punsubscribe", "monitor",    "ssubscribe",
                                                  "sunsubscribe"};
    return std::any_of(std::begin(kNames), std::end(kNames), [&](std::string_view n) {
        return name.size() == n.size() && ::strncasecmp(name.data(), n.data(), n.size()) == 0;
    });
}

double seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// hiredis's formatted EVALSHA "*<argc>\r\n$7\r\nEVALSHA\r\n$40\r\n<sha1>\r\n<numkeys, keys,
// args>" rewritten as EVAL with the body in place of the sha1 (the NOSCRIPT retry).
// RESP "*argc\r\n" + "$len\r\n<arg>\r\n" per argument, in one malloc'd buffer (freed with
// redisFreeCommand, like hiredis's own). hiredis's redisFormatCommandArgv does the same with
// two sprintf calls per argument, a measurable share of a batched store call's CPU.
int format_command(char** out, std::size_t argc, const char* const* argv, const std::size_t* lens) {
    auto digits = [](std::size_t v) {
        int n = 1;
        while (v >= 10) {
            v /= 10;
            ++n;
        }
        return static_cast<std::size_t>(n);
    };
    std::size_t total = 1 + digits(argc) + 2;
    for (std::size_t i = 0; i < argc; ++i) total += 1 + digits(lens[i]) + 2 + lens[i] + 2;
    char* buf = static_cast<char*>(std::malloc(total + 1));
    if (!buf) return -1;
    char* p = buf;
    auto number = [&p](char tag, std::size_t v) {
        *p++ = tag;
        p = std::to_chars(p, p + 20, v).ptr;
        *p++ = '\r';
        *p++ = '\n';
    };
    number('*', argc);
    for (std::size_t i = 0; i < argc; ++i) {
        number('$', lens[i]);
        if (lens[i] > 0) std::memcpy(p, argv[i], lens[i]);
        p += lens[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    *p = '\0';
    *out = buf;
    return static_cast<int>(p - buf);
}

std::optional<std::string> evalsha_to_eval(std::string_view evalsha, const std::string& body) {
    const auto argc_end = evalsha.find("\r\n");
    constexpr std::string_view kHead = "$7\r\nEVALSHA\r\n$40\r\n";
    if (argc_end == std::string_view::npos) return std::nullopt;
    const auto head = argc_end + 2;
    const auto rest = head + kHead.size() + 40 + 2;
    if (evalsha.size() < rest || evalsha.substr(head, kHead.size()) != kHead) return std::nullopt;
    std::string out;
    out.reserve(evalsha.size() + body.size() + 16);
    out.append(evalsha.substr(0, head));
    out.append("$4\r\nEVAL\r\n$");
    out.append(std::to_string(body.size()));
    out.append("\r\n");
    out.append(body);
    out.append("\r\n");
    out.append(evalsha.substr(rest));
    return out;
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Impl> {
    // handshaking: TCP is up, (AUTH and) PING not answered yet; only `ready` takes commands.
    enum class State { idle, connecting, handshaking, ready };
    enum class TimerAction { reconnect, connect_timeout };

    // One command handed to hiredis; owned by hiredis (privdata) until its callback runs.
    struct Pending {
        Impl* impl = nullptr;
        ReplyCallback cb;
        // For EVALSHA: hiredis's formatted command and the body, to resend as EVAL on
        // NOSCRIPT (a restarted or flushed Redis). The buffer was going to be made anyway.
        char* evalsha = nullptr;
        std::size_t evalsha_len = 0;
        bool is_eval = true;
        std::shared_ptr<const std::string> body;

        Pending() = default;
        Pending(const Pending&) = delete;
        Pending& operator=(const Pending&) = delete;
        ~Pending() {
            if (evalsha) redisFreeCommand(evalsha);
        }
    };

    Impl(asio::io_context& ctx, Endpoint ep, ClientOptions opts)
        : io(ctx),
          endpoint(std::move(ep)),
          options(std::move(opts)),
          random(options.random ? options.random : make_system_random()),
          backoff(options.reconnect, *random),
          timer(ctx),
          watchdog(ctx) {}

    ~Impl() {
        running = false;
        observer = nullptr;
        if (ac && !freeing) {
            freeing = true;
            redisAsyncFree(ac);
        }
        if (sock) sock->release();
    }

    asio::io_context& io;
    Endpoint endpoint;
    ClientOptions options;
    RandomPtr random;
    Backoff backoff;
    asio::steady_timer timer;     // reconnect delay or connect timeout
    asio::steady_timer watchdog;  // command timeout
    std::uint64_t timer_seq = 0;
    bool watchdog_armed = false;
    bool running = false;
    bool freeing = false;  // redisAsyncFree() requested for `ac`
    std::atomic<State> state{State::idle};
    std::atomic<std::size_t> in_flight{0};
    std::function<void(bool)> observer;
    bool up = false;  // as last reported to the observer

    // hiredis keeps unsent output in one buffer and, after each partial write(), moves what
    // is left to its front: handing it megabytes of pipelined commands at once costs time
    // quadratic in the backlog. So at most kOutputHighWater bytes are handed over at a time;
    // the rest waits here, in order, and goes out as the socket drains.
    static constexpr std::size_t kOutputHighWater = 256 * 1024;
    struct Queued {
        std::unique_ptr<Pending> p;
        std::string owned;  // the formatted command, unless p->evalsha holds it
    };
    std::deque<Queued> backlog;

    // Send times of the commands awaiting replies, oldest first (replies come in order),
    // and when the last reply arrived: the connection is dead when commands are pending
    // and neither has happened for command_timeout.
    std::deque<SteadyClock::time_point> sent_at;
    SteadyClock::time_point last_reply{};

    // Why we are dropping the connection ourselves (timeouts, AUTH); empty otherwise.
    std::string drop_reason;

    // The current outage, for the log: one line when it starts, a summary now and then,
    // one line when it ends.
    bool ever_up = false;
    bool outage_reported = false;
    int attempts = 0;  // failed connection attempts in this outage
    SteadyClock::time_point down_since = SteadyClock::now();
    SteadyClock::time_point last_summary{};

    // The current hiredis connection and its Asio side. `conn_gen` changes whenever the
    // connection goes away, so stale Asio completions can recognise themselves.
    redisAsyncContext* ac = nullptr;
    std::uint64_t conn_gen = 0;
    std::optional<asio::posix::stream_descriptor> sock;
    bool want_read = false;
    bool want_write = false;
    bool read_armed = false;
    bool write_armed = false;

    // --- lifecycle -------------------------------------------------------------------

    void start() {
        if (running) return;
        running = true;
        backoff.reset();
        attempts = 0;
        outage_reported = false;
        down_since = SteadyClock::now();
        if (!ac) connect();
        // else: a deferred free is in progress; its cleanup schedules the reconnect.
    }

    void stop() {
        running = false;
        cancel_timer();
        cancel_watchdog();
        state = State::idle;
        set_up(false);
        if (ac && !freeing) {
            freeing = true;
            redisAsyncFree(ac);  // immediate, or right after the current reply callback
        }
    }

    void set_up(bool value) {
        if (up == value) return;
        up = value;
        if (!observer) return;
        // Posted: the observer may call back into the client, which must not happen
        // inside hiredis.
        asio::post(io, [self = shared_from_this(), value] {
            if (self->observer) self->observer(value);
        });
    }

    // One attempt. Every way it can fail ends in attempt_failed(), directly or through
    // on_cleanup().
    void connect() {
        if (!running || ac) return;
        redisAsyncContext* c = redisAsyncConnect(endpoint.host.c_str(), endpoint.port);
        if (!c) {
            attempt_failed("out of memory");
            return;
        }
        if (c->err) {
            std::string why = c->c.errstr;
            redisAsyncFree(c);
            attempt_failed(why);
            return;
        }
        boost::system::error_code ec;
        sock.emplace(io);
        sock->assign(c->c.fd, ec);
        if (ec) {
            sock.reset();
            redisAsyncFree(c);  // nothing attached yet: hiredis closes the fd
            attempt_failed(ec.message());
            return;
        }
        // SO_KEEPALIVE with hiredis's probe timings: a peer that vanished without a FIN or
        // RST (host down, cable cut) is noticed even while nothing is pending.
        redisEnableKeepAlive(&c->c);
        ac = c;
        ++conn_gen;
        want_read = want_write = read_armed = write_armed = false;
        state = State::connecting;

        c->data = this;
        c->ev.data = this;
        c->ev.addRead = [](void* d) { static_cast<Impl*>(d)->add_read(); };
        c->ev.delRead = [](void* d) { static_cast<Impl*>(d)->want_read = false; };
        c->ev.addWrite = [](void* d) { static_cast<Impl*>(d)->add_write(); };
        c->ev.delWrite = [](void* d) { static_cast<Impl*>(d)->want_write = false; };
        c->ev.cleanup = [](void* d) { static_cast<Impl*>(d)->on_cleanup(); };
        // Completion of a non-blocking connect is signalled by writability: this arms it.
        redisAsyncSetConnectCallback(c, [](const redisAsyncContext* a, int status) {
            // On failure hiredis frees the context right after; on_cleanup reports it.
            if (status == REDIS_OK) static_cast<Impl*>(a->data)->on_connected();
        });
        arm_timer(options.connect_timeout, TimerAction::connect_timeout);
    }

    // Called by hiredis inside redisAsyncHandleWrite/Read. Must not free the context here.
    void on_connected() {
        state = State::handshaking;
        if (!endpoint.password.empty()) {
            const char* argv[] = {"AUTH", endpoint.password.data()};
            const std::size_t lens[] = {4, endpoint.password.size()};
            redisAsyncCommandArgv(ac, &Impl::on_auth_reply, this, 2, argv, lens);
        }
        // Up only once the server answers: a hung server accepts TCP (the kernel does)
        // but never replies.
        const char* argv[] = {"PING"};
        const std::size_t lens[] = {4};
        redisAsyncCommandArgv(ac, &Impl::on_ping_reply, this, 1, argv, lens);
    }

    void drop(std::string reason) {
        if (!ac || freeing) return;
        drop_reason = std::move(reason);
        freeing = true;
        redisAsyncFree(ac);  // deferred by hiredis when inside one of its callbacks
    }

    static void on_auth_reply(redisAsyncContext*, void* r, void* privdata) {
        auto* self = static_cast<Impl*>(privdata);
        if (!r) return;  // context is being freed
        auto* reply = static_cast<redisReply*>(r);
        // Never log the password; the server's message does not contain it.
        if (reply->type == REDIS_REPLY_ERROR)
            self->drop("AUTH failed: " + std::string(reply->str, reply->len));
    }

    static void on_ping_reply(redisAsyncContext*, void* r, void* privdata) {
        auto* self = static_cast<Impl*>(privdata);
        if (!r || self->freeing) return;
        auto* reply = static_cast<redisReply*>(r);
        // Any other answer, NOAUTH included, shows a live server; commands will get the
        // same error and pass it to their callers.
        if (reply->type == REDIS_REPLY_ERROR && std::string_view(reply->str, reply->len)
                                                        .substr(0, 7) == "LOADING") {
            self->drop("server is loading its data set");
            return;
        }
        self->become_ready();
    }

    void become_ready() {
        state = State::ready;
        cancel_timer();
        backoff.reset();
        last_reply = SteadyClock::now();
        if (attempts > 0 || ever_up) {
            log::info(kComponent, "connected after {} attempts / {:.1f} s down ({}:{})",
                      attempts + 1, seconds_since(down_since), endpoint.host, endpoint.port);
        } else {
            log::info(kComponent, "connected to {}:{}", endpoint.host, endpoint.port);
        }
        ever_up = true;
        attempts = 0;
        outage_reported = false;
        set_up(true);
    }

    void attempt_failed(const std::string& why) {
        state = State::idle;
        ++attempts;
        const auto now = SteadyClock::now();
        if (!outage_reported) {
            log::warn(kComponent, "cannot connect to {}:{}: {}; retrying with backoff",
                      endpoint.host, endpoint.port, why);
            outage_reported = true;
            last_summary = now;
        } else if (now - last_summary >= options.down_log_interval) {
            log::warn(kComponent,
                      "{}:{} still unreachable after {:.0f} s, {} attempts, last error: {}",
                      endpoint.host, endpoint.port, seconds_since(down_since), attempts, why);
            last_summary = now;
        }
        schedule_reconnect();
    }

    // hiredis is about to close the fd and free the context (pending callbacks have had
    // their NULL replies): detach Asio, then report and schedule the next attempt.
    void on_cleanup() {
        if (!ac) return;
        std::string reason = drop_reason;
        if (reason.empty()) reason = ac->c.err ? ac->c.errstr : "connection closed";
        drop_reason.clear();
        ++conn_gen;
        if (sock) {
            sock->release();  // aborts pending waits; hiredis owns (and closes) the fd
            sock.reset();
        }
        ac = nullptr;
        freeing = false;
        want_read = want_write = read_armed = write_armed = false;
        const bool was_ready = state == State::ready;
        state = State::idle;
        sent_at.clear();
        fail_backlog("redis: connection lost: " + reason);
        cancel_timer();
        cancel_watchdog();
        if (!running) return;
        if (!was_ready) {
            attempt_failed(reason);
            return;
        }
        set_up(false);
        log::warn(kComponent, "connection lost ({}:{}): {}; reconnecting", endpoint.host,
                  endpoint.port, reason);
        attempts = 0;
        outage_reported = true;
        down_since = last_summary = SteadyClock::now();
        schedule_reconnect();
    }

    // --- timers ----------------------------------------------------------------------

    void schedule_reconnect() { arm_timer(backoff.next(), TimerAction::reconnect); }

    void arm_timer(std::chrono::milliseconds delay, TimerAction action) {
        const auto seq = ++timer_seq;
        timer.expires_after(delay);
        timer.async_wait([self = shared_from_this(), seq, action](
                             const boost::system::error_code& ec) {
            if (ec || seq != self->timer_seq) return;
            self->on_timer(action);
        });
    }

    void cancel_timer() {
        ++timer_seq;
        timer.cancel();
    }

    void on_timer(TimerAction action) {
        switch (action) {
        case TimerAction::reconnect:
            connect();
            break;
        case TimerAction::connect_timeout:
            if (ac && state != State::ready)
                drop(fmt::format("no answer within {} ms of connecting",
                                 options.connect_timeout.count()));
            break;
        }
    }

    void arm_watchdog() {
        if (watchdog_armed || sent_at.empty()) return;
        watchdog_armed = true;
        watchdog.expires_at(std::max(sent_at.front(), last_reply) + options.command_timeout);
        watchdog.async_wait([self = shared_from_this(), gen = conn_gen](
                                const boost::system::error_code& ec) {
            if (ec || gen != self->conn_gen) return;
            self->watchdog_armed = false;
            self->on_watchdog();
        });
    }

    void cancel_watchdog() {
        watchdog_armed = false;
        watchdog.cancel();
    }

    void on_watchdog() {
        if (!ac || freeing || state != State::ready || sent_at.empty()) return;
        const auto deadline = std::max(sent_at.front(), last_reply) + options.command_timeout;
        if (SteadyClock::now() < deadline) {
            arm_watchdog();
            return;
        }
        drop(fmt::format("timed out: no reply for {} ms with {} commands pending",
                         options.command_timeout.count(), sent_at.size()));
    }

    // --- hiredis event hooks -> Asio ---------------------------------------------------

    void add_read() {
        want_read = true;
        if (read_armed || !sock) return;
        read_armed = true;
        sock->async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this(), gen = conn_gen](
                             const boost::system::error_code& ec) { self->on_readable(gen, ec); });
    }

    void add_write() {
        want_write = true;
        if (write_armed || !sock) return;
        write_armed = true;
        sock->async_wait(asio::posix::stream_descriptor::wait_write,
                         [self = shared_from_this(), gen = conn_gen](
                             const boost::system::error_code& ec) { self->on_writable(gen, ec); });
    }

    // `self` in the handlers keeps this object alive while hiredis runs (it may free the
    // context and call our hooks and callbacks on the way).
    void on_readable(std::uint64_t gen, const boost::system::error_code& ec) {
        if (gen != conn_gen) return;
        read_armed = false;
        if (ec == asio::error::operation_aborted || !ac || !want_read) return;
        redisAsyncHandleRead(ac);
    }

    void on_writable(std::uint64_t gen, const boost::system::error_code& ec) {
        if (gen != conn_gen) return;
        write_armed = false;
        if (ec == asio::error::operation_aborted || !ac || !want_write) return;
        redisAsyncHandleWrite(ac);
        drain_backlog();
    }

    // --- commands --------------------------------------------------------------------

    void post_error(ReplyCallback cb, std::string text) {
        asio::post(io, [cb = std::move(cb), text = std::move(text)]() mutable {
            cb(Reply::make_error(std::move(text)));
        });
    }

    bool can_send() const { return state == State::ready && ac && !freeing; }

    // Takes ownership of `p` on success (hiredis holds it until on_reply).
    void sent(std::unique_ptr<Pending> p) {
        p.release();
        sent_at.push_back(SteadyClock::now());
        arm_watchdog();
    }

    // hiredis formats the arguments into its output buffer; they are not used afterwards.
    void send_argv(std::size_t argc, const char** argv, const std::size_t* lens,
                   std::unique_ptr<Pending> p) {
        if (argc == 0) {
            post_error(std::move(p->cb), "redis: empty command");
            return;
        }
        if (!can_send()) {
            post_error(std::move(p->cb), kNotConnected);
            return;
        }
        if (is_unsupported_command(std::string_view(argv[0], lens[0]))) {
            post_error(std::move(p->cb), "redis: pub/sub and MONITOR are not supported");
            return;
        }
        char* cmd = nullptr;
        const int len = format_command(&cmd, argc, argv, lens);
        if (len < 0 || !cmd) {
            post_error(std::move(p->cb), "redis: out of memory");
            return;
        }
        // Owned by the Pending from here on, like an EVALSHA's buffer (not resent as EVAL).
        p->evalsha = cmd;
        p->evalsha_len = static_cast<std::size_t>(len);
        p->is_eval = false;
        send_formatted(std::string(), std::move(p));
    }

    std::size_t output_pending() const { return ac ? sdslen(ac->c.obuf) : 0; }

    // `owned` is the formatted command, or empty when p->evalsha holds it.
    void send_formatted(std::string owned, std::unique_ptr<Pending> p) {
        if (!can_send()) {
            post_error(std::move(p->cb), kNotConnected);
            return;
        }
        p->impl = this;
        in_flight.fetch_add(1, std::memory_order_relaxed);
        if (!backlog.empty() || output_pending() >= kOutputHighWater) {
            backlog.push_back(Queued{std::move(p), std::move(owned)});
            return;
        }
        hand_over(std::move(owned), std::move(p));
    }

    void hand_over(std::string owned, std::unique_ptr<Pending> p) {
        const char* cmd = owned.empty() ? p->evalsha : owned.data();
        const std::size_t len = owned.empty() ? p->evalsha_len : owned.size();
        if (redisAsyncFormattedCommand(ac, &Impl::on_reply, p.get(), cmd, len) != REDIS_OK) {
            in_flight.fetch_sub(1, std::memory_order_relaxed);
            post_error(std::move(p->cb), kNotConnected);
            return;
        }
        sent(std::move(p));
    }

    void drain_backlog() {
        while (!backlog.empty() && can_send() && output_pending() < kOutputHighWater) {
            Queued q = std::move(backlog.front());
            backlog.pop_front();
            hand_over(std::move(q.owned), std::move(q.p));
        }
    }

    void fail_backlog(const std::string& why) {
        auto queued = std::move(backlog);
        backlog.clear();
        for (auto& q : queued) {
            in_flight.fetch_sub(1, std::memory_order_relaxed);
            post_error(std::move(q.p->cb), why);
        }
    }

    // EVALSHA sha numkeys keys... args...; `Keys` and `Args` are ranges of strings or views.
    template <typename Keys, typename Args>
    void eval(const Script& script, const Keys& keys, const Args& args, ReplyCallback cb) {
        auto p = std::make_unique<Pending>();
        p->cb = std::move(cb);
        if (!can_send()) {
            post_error(std::move(p->cb), kNotConnected);
            return;
        }
        const std::string numkeys = std::to_string(keys.size());
        const std::size_t argc = 3 + keys.size() + args.size();
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        argv.reserve(argc);
        lens.reserve(argc);
        auto add = [&](std::string_view a) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        };
        add("EVALSHA");
        add(script.sha1());
        add(numkeys);
        for (const auto& k : keys) add(k);
        for (const auto& a : args) add(a);
        char* cmd = nullptr;
        const int len = format_command(&cmd, argc, argv.data(), lens.data());
        if (len < 0 || !cmd) {
            post_error(std::move(p->cb), "redis: out of memory");
            return;
        }
        const auto size = static_cast<std::size_t>(len);
        p->evalsha = cmd;
        p->evalsha_len = size;
        p->body = script.shared_body();
        send_formatted(std::string(), std::move(p));
    }

    std::string lost_message(const redisAsyncContext* a) const {
        if (!running) return "redis: client stopped";
        if (!drop_reason.empty()) return "redis: connection lost: " + drop_reason;
        if (a && a->c.err) return std::string("redis: connection lost: ") + a->c.errstr;
        return "redis: connection lost";
    }

    static void on_reply(redisAsyncContext* a, void* r, void* privdata) {
        std::unique_ptr<Pending> p(static_cast<Pending*>(privdata));
        Impl* self = p->impl;
        self->in_flight.fetch_sub(1, std::memory_order_relaxed);
        if (!r) {
            // The context is being freed: never run user code inside hiredis's teardown.
            self->post_error(std::move(p->cb), self->lost_message(a));
            return;
        }
        if (!self->sent_at.empty()) self->sent_at.pop_front();
        self->last_reply = SteadyClock::now();
        Reply reply = detail::to_reply(*static_cast<redisReply*>(r));
        if (p->evalsha && p->is_eval && detail::is_noscript(reply)) {
            auto retry = std::make_unique<Pending>();
            retry->cb = std::move(p->cb);
            if (auto eval = evalsha_to_eval({p->evalsha, p->evalsha_len}, *p->body)) {
                self->send_formatted(std::move(*eval), std::move(retry));
                return;
            }
            p->cb = std::move(retry->cb);  // cannot happen: deliver the NOSCRIPT error
        }
        // We are inside an Asio read handler on the io_context thread; an exception must
        // not unwind through hiredis (it would leave the context mid-callback).
        try {
            p->cb(std::move(reply));
        } catch (const std::exception& e) {
            log::error(kComponent, "reply callback threw: {}", e.what());
        } catch (...) {
            log::error(kComponent, "reply callback threw a non-standard exception");
        }
    }
};

Client::Client(asio::io_context& io, Endpoint endpoint, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(endpoint), std::move(options))) {}

Client::~Client() {
    if (!impl_) return;
    impl_->observer = nullptr;
    impl_->stop();
}

void Client::start() { impl_->start(); }

void Client::stop() { impl_->stop(); }

bool Client::connected() const { return impl_->state == Impl::State::ready; }

void Client::on_state(std::function<void(bool connected)> observer) {
    impl_->observer = std::move(observer);
}

std::size_t Client::in_flight() const {
    return impl_->in_flight.load(std::memory_order_relaxed);
}

void Client::command(std::vector<std::string> args, ReplyCallback cb) {
    auto p = std::make_unique<Impl::Pending>();
    p->cb = std::move(cb);
    detail::ArgvView view(args);
    impl_->send_argv(args.size(), view.argv(), view.argvlen(), std::move(p));
}

void Client::command_views(std::span<const std::string_view> args, ReplyCallback cb) {
    auto p = std::make_unique<Impl::Pending>();
    p->cb = std::move(cb);
    detail::ArgvView view(args);
    impl_->send_argv(args.size(), view.argv(), view.argvlen(), std::move(p));
}

void Client::eval(const Script& script, std::vector<std::string> keys,
                  std::vector<std::string> args, ReplyCallback cb) {
    impl_->eval(script, keys, args, std::move(cb));
}

void Client::eval_views(const Script& script, std::span<const std::string_view> keys,
                        std::span<const std::string_view> args, ReplyCallback cb) {
    impl_->eval(script, keys, args, std::move(cb));
}

}  // namespace rappel::redis
