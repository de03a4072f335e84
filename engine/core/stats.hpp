#pragma once
#include <cstdint>

namespace rappel::core {

struct EngineStats {
    std::uint64_t events_consumed = 0;
    std::uint64_t events_invalid = 0;
    std::uint64_t events_applied = 0;
    std::uint64_t reminders_claimed = 0;
    std::uint64_t sends_accepted = 0;
    std::uint64_t sends_retried = 0;
    std::uint64_t sends_rejected = 0;
    std::uint64_t outcomes_relayed = 0;
    std::uint64_t partitions_owned = 0;
    std::uint64_t dead_letters_failed = 0;  // invalid events the dead-letter topic refused for good
};

}  // namespace rappel::core
