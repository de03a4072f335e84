#pragma once
// The dead-letter topic: invalid events, unchanged, with headers naming the reason and the
// source. Whatever the topic refuses, the engine goes on: retriable errors are retried a
// bounded number of times with backoff, a too-large event is replaced by a truncated copy,
// and a final refusal is logged once and counted (dead_letters_failed).
#include "engine/core/context.hpp"

#include <chrono>
#include <functional>
#include <optional>

namespace rappel::core {

class DeadLetters {
public:
    explicit DeadLetters(Context& ctx) : ctx_(ctx) {}
    std::string topic() const;
    // `settled` runs exactly once, when the dead letter was delivered or given up.
    void send(const kafka::Message& m, const EventError& e, std::function<void()> settled);

private:
    struct Letter;
    void produce(std::shared_ptr<Letter> letter);
    void on_delivery(std::shared_ptr<Letter> letter, const Delivery& d);

    Context& ctx_;
    // Set when a dead letter was given up after retries: while the topic keeps failing, the
    // next ones get one try each instead of holding their partitions through every retry.
    std::optional<std::chrono::steady_clock::time_point> failing_since_;
};

}  // namespace rappel::core
