#include "tests/support/redis_server.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <stdexcept>

namespace rappel::testkit {
namespace {
bool pings(const std::string& host, int port) {
    timeval tv{0, 200000};
    redisContext* c = redisConnectWithTimeout(host.c_str(), port, tv);
    if (!c) return false;
    bool ok = false;
    if (!c->err) {
        auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

std::unique_ptr<Process> spawn_redis(const std::string& host, int port, const std::string& dir) {
    return std::make_unique<Process>(
        std::vector<std::string>{"redis-server", "--port", std::to_string(port), "--bind", host,
                                 "--dir", dir, "--appendonly", "yes", "--appendfsync",
                                 "everysec", "--save", "", "--protected-mode", "no",
                                 "--daemonize", "no", "--logfile", dir + "/redis.log"});
}
}  // namespace

RedisServer::RedisServer() {
    dir_ = std::make_unique<TempDir>("rappel-redis");
    for (int tries = 0; tries < 5; ++tries) {
        port_ = free_port();
        proc_ = spawn_redis(host_, port_, dir_->path());
        if (wait_until([&] { return pings(host_, port_) || !proc_->running(); },
                       std::chrono::seconds{10}) &&
            proc_->running())
            return;
        proc_.reset();
    }
    throw std::runtime_error("redis-server did not start (is it installed? scripts/setup.sh)");
}

RedisServer::~RedisServer() {
    if (proc_) {
        proc_->signal(SIGTERM);
        if (!proc_->wait(std::chrono::seconds{5})) proc_->kill_hard();
    }
}

std::string RedisServer::cli(const std::string& args) const {
    std::string cmd = "redis-cli -h " + host_ + " -p " + std::to_string(port_) + " " + args;
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
    return out;
}

void RedisServer::flushall() const { cli("FLUSHALL"); }

void RedisServer::restart() {
    if (proc_) {
        proc_->signal(SIGTERM);
        if (!proc_->wait(std::chrono::seconds{5})) proc_->kill_hard();
        proc_.reset();
    }
    proc_ = spawn_redis(host_, port_, dir_->path());
    if (wait_until([&] { return pings(host_, port_) || !proc_->running(); },
                   std::chrono::seconds{10}) &&
        proc_->running())
        return;
    throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_));
}

void RedisServer::pause() {
    if (proc_) proc_->signal(SIGSTOP);
}

void RedisServer::resume() {
    if (proc_) proc_->signal(SIGCONT);
}

void RedisServer::stop() {
    if (!proc_) return;
    proc_->signal(SIGCONT);  // a stopped server cannot act on SIGTERM
    proc_->signal(SIGTERM);
    if (!proc_->wait(std::chrono::seconds{5})) proc_->kill_hard();
    proc_.reset();
}

void RedisServer::start() {
    if (proc_ && proc_->running()) return;
    restart();
}

}  // namespace rappel::testkit
