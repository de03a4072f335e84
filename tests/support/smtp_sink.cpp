#include "tests/support/smtp_sink.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rappel::testkit {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

SmtpSink::SmtpSink(int fail_first, const std::string& reject_rcpt)
    : dir_(std::make_unique<TempDir>("rappel-smtp")), out_(dir_->path() + "/out") {
    const std::string log = dir_->path() + "/sink.log";
    std::vector<std::string> argv{"/usr/bin/python3", source_dir() + "/scripts/smtp_sink.py",
                                  "--host", "127.0.0.1", "--port", "0", "--out", out_,
                                  "--fail-first", std::to_string(fail_first)};
    if (!reject_rcpt.empty()) {
        argv.emplace_back("--reject-rcpt");
        argv.push_back(reject_rcpt);
    }
    proc_ = std::make_unique<Process>(std::move(argv),
                                      std::map<std::string, std::string>{{"PYTHONUNBUFFERED", "1"}},
                                      log);
    const std::string marker = "listening smtp://127.0.0.1:";
    const bool up = wait_until(
        [&] {
            const std::string text = read_file(log);
            const auto pos = text.find(marker);
            if (pos == std::string::npos) return false;
            const auto end = text.find('\n', pos);
            if (end == std::string::npos) return false;
            port_ = std::stoi(text.substr(pos + marker.size(), end - pos - marker.size()));
            return true;
        },
        std::chrono::seconds{20});
    if (!up) {
        const std::string text = read_file(log);
        proc_->kill_hard();
        throw std::runtime_error("smtp_sink.py did not start: " + text);
    }
}

SmtpSink::~SmtpSink() {
    if (proc_) {
        proc_->signal(SIGTERM);
        if (!proc_->wait(std::chrono::seconds{5})) proc_->kill_hard();
    }
}

std::string SmtpSink::url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

std::vector<std::string> SmtpSink::messages() const {
    std::vector<std::string> out;
    for (int n = 1;; ++n) {
        const std::string path = out_ + "/" + std::to_string(n) + ".eml";
        if (!std::filesystem::exists(path)) break;
        out.push_back(read_file(path));
    }
    return out;
}

std::vector<std::string> SmtpSink::records() const {
    std::vector<std::string> out;
    // Only complete lines: the sink may be writing the last one right now.
    const std::string text = read_file(out_ + "/messages.jsonl");
    std::size_t start = 0;
    for (std::size_t end = text.find('\n'); end != std::string::npos;
         start = end + 1, end = text.find('\n', start)) {
        if (end > start) out.push_back(text.substr(start, end - start));
    }
    return out;
}

}  // namespace rappel::testkit
