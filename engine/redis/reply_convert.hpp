#pragma once
// Internal to rappel_redis: hiredis reply -> owned Reply, and the argv view hiredis wants.
#include "engine/redis/redis_client.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rappel::redis::detail {

Reply to_reply(const redisReply& r);

// Pointer/length arrays over the arguments (no byte is copied), without allocating for
// short commands.
class ArgvView {
public:
    explicit ArgvView(const std::vector<std::string>& args);
    explicit ArgvView(std::span<const std::string_view> args);
    int argc() const { return static_cast<int>(count_); }
    const char** argv() { return ptrs_; }
    const std::size_t* argvlen() const { return lens_; }

    ArgvView(const ArgvView&) = delete;
    ArgvView& operator=(const ArgvView&) = delete;

private:
    void size_for(std::size_t count);

    static constexpr std::size_t kInline = 16;
    std::size_t count_ = 0;
    std::array<const char*, kInline> inline_ptrs_{};
    std::array<std::size_t, kInline> inline_lens_{};
    std::vector<const char*> heap_ptrs_;
    std::vector<std::size_t> heap_lens_;
    const char** ptrs_ = nullptr;
    std::size_t* lens_ = nullptr;
};

// EVALSHA sha numkeys keys... args...
std::vector<std::string> evalsha_argv(const Script& script, std::vector<std::string>&& keys,
                                      std::vector<std::string>&& args);

inline bool is_noscript(const Reply& r) {
    return r.is_error() && r.str.compare(0, 8, "NOSCRIPT") == 0;
}

}  // namespace rappel::redis::detail
