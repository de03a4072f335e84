#pragma once
// Helpers for the channel tests: run an io_context until a condition holds or a deadline
// passes (no fixed sleeps), and printers so Boost.Test can show enum values.
#include "channels/channel.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <ostream>

namespace rappel::testkit {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds{20}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        io.restart();
        io.run_for(std::chrono::milliseconds{20});
    }
    return true;
}

}  // namespace rappel::testkit

namespace rappel {
inline std::ostream& operator<<(std::ostream& os, ChannelKind k) { return os << to_string(k); }
}  // namespace rappel

namespace rappel::channels {
inline std::ostream& operator<<(std::ostream& os, SendStatus s) { return os << to_string(s); }
}  // namespace rappel::channels
