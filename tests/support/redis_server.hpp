#pragma once
// A real redis-server on a free loopback port, in a temporary directory, with AOF
// (appendfsync everysec) like production. Stopped by the destructor.
#include "tests/support/process.hpp"

#include <memory>
#include <string>

namespace rappel::testkit {

class RedisServer {
public:
    RedisServer();
    ~RedisServer();
    int port() const { return port_; }
    const std::string& host() const { return host_; }
    // Runs a command with redis-cli and returns its raw output (for assertions).
    std::string cli(const std::string& args) const;
    void flushall() const;
    // Stops redis-server (SIGTERM, then SIGKILL) and starts it again on the same port and
    // directory (data survives through the AOF). Works if the server already exited.
    void restart();
    // Fault injection. pause()/resume(): SIGSTOP/SIGCONT, the server hangs with every
    // connection open. stop(): SIGTERM (then SIGKILL), connections are refused until
    // start() brings it back on the same port and directory (the AOF keeps the data).
    void pause();
    void resume();
    void stop();
    void start();

private:
    std::string host_ = "127.0.0.1";
    int port_ = 0;
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<Process> proc_;
};

}  // namespace rappel::testkit
