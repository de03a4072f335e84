#pragma once
// Partition ownership: assignment and revocation, each a new generation. An assigned
// partition stays paused until its stored offset is read from the Store (retried with
// backoff, never guessed), then it is sought there and resumed. With no stored offset (first
// start, or Redis lost its data) the done markers are restored first (restore.hpp), then it
// is consumed from the beginning.
#include "engine/core/context.hpp"

#include <cstdint>
#include <vector>

namespace rappel::core {

class Ownership {
public:
    explicit Ownership(Context& ctx) : ctx_(ctx) {}
    void on_assigned(const std::vector<std::int32_t>& partitions);
    void on_revoked(const std::vector<std::int32_t>& partitions);
    // Seeks the partition to `offset` (or kOffsetBeginning) and resumes it.
    void consume(std::int32_t p, std::int64_t offset);

private:
    void read_offset(std::int32_t p, std::uint64_t generation);
    void on_offset(std::int32_t p, std::uint64_t generation, Result<std::optional<std::int64_t>> r);

    Context& ctx_;
    std::uint64_t generation_seq_ = 0;
};

}  // namespace rappel::core
