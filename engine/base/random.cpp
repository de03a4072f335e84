#include "engine/base/random.hpp"

namespace rappel {

double Random::uniform01() {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

std::uint64_t SeededRandom::next_u64() {
    std::lock_guard lock(mu_);
    return gen_();
}

RandomPtr make_system_random() {
    std::random_device rd;
    const std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    return std::make_shared<SeededRandom>(seed);
}

} // namespace rappel
