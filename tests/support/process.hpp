#pragma once
// Child processes for tests, the demo and benchmarks: spawn, signal, wait with a deadline.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace rappel::testkit {

class Process {
public:
    // Starts argv[0] (searched in PATH) with the extra environment variables; stdout and
    // stderr go to `log_file` if given (appended), else are inherited.
    Process(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
            std::string log_file = {});
    ~Process();  // SIGKILL + reap if still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    void signal(int sig);
    // Waits for exit; returns the exit status (or 128+signal) or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    void kill_hard();  // SIGKILL and reap

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

// Polls `cond` until it is true or the deadline passes. Returns the last value of cond.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds{10});

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
int free_port();

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "rappel");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Source and build directories, from RAPPEL_SOURCE_DIR / RAPPEL_BINARY_DIR (set by CTest)
// or compiled-in defaults.
std::string source_dir();
std::string binary_dir();

}  // namespace rappel::testkit
