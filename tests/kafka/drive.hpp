#pragma once
// Runs the io_context on the test thread until a condition holds or a deadline passes.
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>

namespace rappel::kafka::test {

inline bool drive_until(boost::asio::io_context& io, const std::function<bool()>& cond,
                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        if (io.stopped()) io.restart();
        io.run_one_for(std::chrono::milliseconds{20});
    }
    return true;
}

}  // namespace rappel::kafka::test
