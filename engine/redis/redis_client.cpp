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
#include <exception>
#include <optional>

#include <strings.h>

namespace rappel::redis {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kMinBackoff = 100ms;
constexpr std::chrono::milliseconds kMaxBackoff = 5s;
// Covers TCP connect plus AUTH; a blackholed address would otherwise wait for the kernel.
constexpr std::chrono::milliseconds kConnectTimeout = 5s;
constexpr std::string_view kComponent = "redis";
constexpr const char* kNotConnected = "redis: not connected";

// hiredis keeps one callback per channel for these and calls it repeatedly; our one-shot
// callbacks cannot express that, so they are refused.
bool is_unsupported_command(const std::string& name) {
    static constexpr const char* kNames[] = {"subscribe", "psubscribe", "unsubscribe",
                                             "punsubscribe", "monitor", "ssubscribe",
                                             "sunsubscribe"};
    return std::any_of(std::begin(kNames), std::end(kNames),
                       [&](const char* n) { return ::strcasecmp(name.c_str(), n) == 0; });
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Impl> {
    enum class State { idle, connecting, authenticating, ready };
    enum class TimerAction { reconnect, connect_timeout };

    // One command handed to hiredis; owned by hiredis (privdata) until its callback runs.
    struct Pending {
        Impl* impl = nullptr;
        ReplyCallback cb;
        // For EVALSHA: the same argv, resent as EVAL with the body on NOSCRIPT.
        std::vector<std::string> eval_argv;
        std::string eval_body;
    };

    Impl(asio::io_context& ctx, Endpoint ep) : io(ctx), endpoint(std::move(ep)), timer(ctx) {}

    ~Impl() {
        running = false;
        if (ac && !freeing) {
            freeing = true;
            redisAsyncFree(ac);
        }
        if (sock) sock->release();
    }

    asio::io_context& io;
    Endpoint endpoint;
    asio::steady_timer timer;
    std::uint64_t timer_seq = 0;
    std::chrono::milliseconds backoff = kMinBackoff;
    bool running = false;
    bool freeing = false;          // redisAsyncFree() requested for `ac`
    bool reported_failure = false;  // throttles connect-failure warnings
    std::atomic<State> state{State::idle};
    std::atomic<std::size_t> in_flight{0};

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
        backoff = kMinBackoff;
        if (!ac) connect();
        // else: a deferred free is in progress; its cleanup schedules the reconnect.
    }

    void stop() {
        running = false;
        cancel_timer();
        state = State::idle;
        if (ac && !freeing) {
            freeing = true;
            redisAsyncFree(ac);  // immediate, or right after the current reply callback
        }
    }

    void connect() {
        if (!running || ac) return;
        redisAsyncContext* c = redisAsyncConnect(endpoint.host.c_str(), endpoint.port);
        if (!c) {
            connect_failed("out of memory");
            return;
        }
        if (c->err) {
            connect_failed(c->c.errstr);
            redisAsyncFree(c);
            return;
        }
        boost::system::error_code ec;
        sock.emplace(io);
        sock->assign(c->c.fd, ec);
        if (ec) {
            sock.reset();
            connect_failed(ec.message());
            redisAsyncFree(c);  // nothing attached yet: hiredis closes the fd
            return;
        }
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
            // On failure hiredis has not copied the error to a->errstr yet.
            static_cast<Impl*>(a->data)->on_connect(status == REDIS_OK, a->c.errstr);
        });
        redisAsyncSetDisconnectCallback(c, [](const redisAsyncContext* a, int status) {
            static_cast<Impl*>(a->data)->on_disconnect(status == REDIS_OK, a->c.errstr);
        });
        arm_timer(kConnectTimeout, TimerAction::connect_timeout);
    }

    void connect_failed(const std::string& why) {
        state = State::idle;
        if (!reported_failure) {
            log::warn(kComponent, "cannot connect to {}:{}: {} (retrying with backoff)",
                      endpoint.host, endpoint.port, why);
            reported_failure = true;
        } else {
            log::debug(kComponent, "connect to {}:{} failed: {}", endpoint.host,
                       endpoint.port, why);
        }
        schedule_reconnect();
    }

    // Called by hiredis inside redisAsyncHandleWrite/Read. Must not free the context here.
    void on_connect(bool ok, const char* errstr) {
        if (!ok) {
            // hiredis frees the context right after this; cleanup schedules the retry.
            state = State::idle;
            if (!reported_failure) {
                log::warn(kComponent, "cannot connect to {}:{}: {} (retrying with backoff)",
                          endpoint.host, endpoint.port, errstr ? errstr : "error");
                reported_failure = true;
            }
            return;
        }
        if (endpoint.password.empty()) {
            become_ready();
            return;
        }
        state = State::authenticating;
        const char* argv[] = {"AUTH", endpoint.password.data()};
        const std::size_t lens[] = {4, endpoint.password.size()};
        redisAsyncCommandArgv(ac, &Impl::on_auth_reply, this, 2, argv, lens);
    }

    static void on_auth_reply(redisAsyncContext* a, void* r, void* privdata) {
        auto* self = static_cast<Impl*>(privdata);
        if (!r) return;  // context is being freed
        auto* reply = static_cast<redisReply*>(r);
        if (reply->type == REDIS_REPLY_ERROR) {
            // Never log the password; the server's message does not contain it.
            log::error(kComponent, "AUTH to {}:{} failed: {}", self->endpoint.host,
                       self->endpoint.port, std::string(reply->str, reply->len));
            self->state = State::idle;
            if (!self->freeing) {
                self->freeing = true;
                redisAsyncFree(a);  // deferred by hiredis until this callback returns
            }
            return;
        }
        self->become_ready();
    }

    void become_ready() {
        state = State::ready;
        backoff = kMinBackoff;
        cancel_timer();
        if (reported_failure) {
            log::info(kComponent, "connected to {}:{}", endpoint.host, endpoint.port);
            reported_failure = false;
        } else {
            log::debug(kComponent, "connected to {}:{}", endpoint.host, endpoint.port);
        }
    }

    void on_disconnect(bool clean, const char* errstr) {
        if (running && !clean) {
            log::warn(kComponent, "connection to {}:{} lost: {}", endpoint.host, endpoint.port,
                      errstr ? errstr : "error");
        }
    }

    // hiredis is about to close the fd and free the context: detach Asio first.
    void on_cleanup() {
        if (!ac) return;
        ++conn_gen;
        if (sock) {
            sock->release();  // aborts pending waits; hiredis owns (and closes) the fd
            sock.reset();
        }
        ac = nullptr;
        freeing = false;
        want_read = want_write = read_armed = write_armed = false;
        state = State::idle;
        cancel_timer();
        if (running) schedule_reconnect();
    }

    // --- timers ----------------------------------------------------------------------

    void schedule_reconnect() {
        auto delay = backoff;
        backoff = std::min(backoff * 2, kMaxBackoff);
        arm_timer(delay, TimerAction::reconnect);
    }

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
            if (ac && state != State::ready && !freeing) {
                if (!reported_failure) {
                    log::warn(kComponent, "connect to {}:{} timed out (retrying with backoff)",
                              endpoint.host, endpoint.port);
                    reported_failure = true;
                }
                freeing = true;
                redisAsyncFree(ac);  // cleanup schedules the retry
            }
            break;
        }
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
    }

    // --- commands --------------------------------------------------------------------

    void post_error(ReplyCallback cb, std::string text) {
        asio::post(io, [cb = std::move(cb), text = std::move(text)]() mutable {
            cb(Reply::make_error(std::move(text)));
        });
    }

    // Returns the pending entry now owned by hiredis, or nullptr if the callback was
    // posted with an error instead. The entry stays valid until control returns to the
    // io_context (replies are only processed from Asio handlers).
    Pending* send(const std::vector<std::string>& args, std::unique_ptr<Pending> p) {
        if (args.empty()) {
            post_error(std::move(p->cb), "redis: empty command");
            return nullptr;
        }
        if (state != State::ready || !ac || freeing) {
            post_error(std::move(p->cb), kNotConnected);
            return nullptr;
        }
        if (is_unsupported_command(args[0])) {
            post_error(std::move(p->cb), "redis: pub/sub and MONITOR are not supported");
            return nullptr;
        }
        detail::ArgvView view(args);
        p->impl = this;
        if (redisAsyncCommandArgv(ac, &Impl::on_reply, p.get(), view.argc(), view.argv(),
                                  view.argvlen()) != REDIS_OK) {
            post_error(std::move(p->cb), kNotConnected);
            return nullptr;
        }
        in_flight.fetch_add(1, std::memory_order_relaxed);
        return p.release();  // owned by hiredis until on_reply
    }

    std::string lost_message(const redisAsyncContext* a) const {
        if (!running) return "redis: client stopped";
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
        Reply reply = detail::to_reply(*static_cast<redisReply*>(r));
        if (!p->eval_argv.empty() && detail::is_noscript(reply)) {
            auto retry = std::make_unique<Pending>();
            retry->cb = std::move(p->cb);
            auto argv = std::move(p->eval_argv);
            argv[0] = "EVAL";
            argv[1] = std::move(p->eval_body);
            self->send(argv, std::move(retry));
            return;
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

Client::Client(asio::io_context& io, Endpoint endpoint)
    : impl_(std::make_shared<Impl>(io, std::move(endpoint))) {}

Client::~Client() {
    if (impl_) impl_->stop();
}

void Client::start() { impl_->start(); }

void Client::stop() { impl_->stop(); }

bool Client::connected() const { return impl_->state == Impl::State::ready; }

std::size_t Client::in_flight() const {
    return impl_->in_flight.load(std::memory_order_relaxed);
}

void Client::command(std::vector<std::string> args, ReplyCallback cb) {
    auto p = std::make_unique<Impl::Pending>();
    p->cb = std::move(cb);
    impl_->send(args, std::move(p));
}

void Client::eval(const Script& script, std::vector<std::string> keys,
                  std::vector<std::string> args, ReplyCallback cb) {
    auto argv = detail::evalsha_argv(script, std::move(keys), std::move(args));
    auto p = std::make_unique<Impl::Pending>();
    p->cb = std::move(cb);
    // hiredis copies argv into its output buffer, so it can move into the entry afterwards
    // for the EVAL retry on NOSCRIPT.
    if (Impl::Pending* sent = impl_->send(argv, std::move(p))) {
        sent->eval_argv = std::move(argv);
        sent->eval_body = script.body();
    }
}

}  // namespace rappel::redis
