#pragma once
// Randomness is injected wherever it matters (backoff jitter, claim tokens), so tests can
// replay the exact same sequence.
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>

namespace rappel {

class Random {
public:
    virtual ~Random() = default;
    virtual std::uint64_t next_u64() = 0;
    // Uniform in [0, 1).
    double uniform01();
};
using RandomPtr = std::shared_ptr<Random>;

class SeededRandom final : public Random {
public:
    explicit SeededRandom(std::uint64_t seed) : gen_(seed) {}
    std::uint64_t next_u64() override;

private:
    std::mutex mu_;
    std::mt19937_64 gen_;
};

// Seeded from std::random_device; for production.
RandomPtr make_system_random();

} // namespace rappel
