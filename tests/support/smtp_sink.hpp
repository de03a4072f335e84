#pragma once
// A real SMTP server (scripts/smtp_sink.py, aiosmtpd) on a free loopback port, storing what
// it receives in a temporary directory. Stopped (SIGTERM) by the destructor.
#include "tests/support/process.hpp"

#include <memory>
#include <string>
#include <vector>

namespace rappel::testkit {

class SmtpSink {
public:
    // `fail_first`: the first N DATA commands are answered 451 (transient).
    // `reject_rcpt`: recipients containing this text are refused with 550 (permanent).
    explicit SmtpSink(int fail_first = 0, const std::string& reject_rcpt = {});
    ~SmtpSink();
    SmtpSink(const SmtpSink&) = delete;
    SmtpSink& operator=(const SmtpSink&) = delete;

    int port() const { return port_; }
    std::string url() const;  // smtp://127.0.0.1:PORT
    // Raw .eml contents of the accepted messages, in order of arrival.
    std::vector<std::string> messages() const;
    // The JSON lines of messages.jsonl (envelope, peer, decoded subject and parts), in order.
    std::vector<std::string> records() const;
    const std::string& out_dir() const { return out_; }

private:
    std::unique_ptr<TempDir> dir_;
    std::string out_;
    std::unique_ptr<Process> proc_;
    int port_ = 0;
};

}  // namespace rappel::testkit
