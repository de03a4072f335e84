#include "engine/redis/redis_client.hpp"

#include "engine/redis/reply_convert.hpp"

#include <hiredis/hiredis.h>

#include <optional>

#include <poll.h>
#include <sys/time.h>

namespace rappel::redis {

struct SyncClient::Impl {
    Endpoint endpoint;
    std::chrono::milliseconds timeout;
    redisContext* ctx = nullptr;

    ~Impl() { drop(); }

    void drop() {
        if (ctx) redisFree(ctx);
        ctx = nullptr;
    }

    timeval timeout_tv() const {
        const auto ms = timeout.count();
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(ms / 1000);
        tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
        return tv;
    }

    // Redis never writes to an idle non-pub/sub connection, so readability (EOF, reset)
    // means the server went away since the last call: reconnect before sending rather
    // than fail the command.
    bool idle_connection_dead() const {
        pollfd pfd{};
        pfd.fd = ctx->fd;
        pfd.events = POLLIN;
        return ::poll(&pfd, 1, 0) != 0;
    }

    // Returns an empty optional when connected, else the error reply to return.
    std::optional<Reply> ensure_connected() {
        if (ctx && (ctx->err || idle_connection_dead())) drop();
        if (ctx) return std::nullopt;
        ctx = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, timeout_tv());
        if (!ctx) return Reply::make_error("redis: out of memory");
        if (ctx->err) {
            Reply r = Reply::make_error(std::string("redis: cannot connect: ") + ctx->errstr);
            drop();
            return r;
        }
        redisSetTimeout(ctx, timeout_tv());
        if (!endpoint.password.empty()) {
            Reply r = raw_command({"AUTH", endpoint.password});
            if (r.is_error()) {
                drop();
                if (r.str.rfind("redis:", 0) == 0) return r;
                return Reply::make_error("redis: AUTH failed: " + r.str);
            }
        }
        return std::nullopt;
    }

    Reply raw_command(const std::vector<std::string>& args) {
        detail::ArgvView view(args);
        void* raw = redisCommandArgv(ctx, view.argc(), view.argv(), view.argvlen());
        if (!raw) {
            Reply r = Reply::make_error(std::string("redis: ") + ctx->errstr);
            drop();
            return r;
        }
        Reply r = detail::to_reply(*static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        return r;
    }

    Reply command(const std::vector<std::string>& args) {
        if (args.empty()) return Reply::make_error("redis: empty command");
        if (auto err = ensure_connected()) return std::move(*err);
        return raw_command(args);
    }
};

SyncClient::SyncClient(Endpoint endpoint, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    impl_->endpoint = std::move(endpoint);
    impl_->timeout = timeout;
}

SyncClient::~SyncClient() = default;

Reply SyncClient::command(const std::vector<std::string>& args) { return impl_->command(args); }

Reply SyncClient::eval(const Script& script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) {
    auto argv = detail::evalsha_argv(script, std::vector<std::string>(keys),
                                     std::vector<std::string>(args));
    Reply r = impl_->command(argv);
    if (!detail::is_noscript(r)) return r;
    argv[0] = "EVAL";
    argv[1] = script.body();
    return impl_->command(argv);
}

}  // namespace rappel::redis
