#include "engine/redis/reply_convert.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace rappel::redis {

Script::Script(std::string body) : body_(std::make_shared<const std::string>(std::move(body))) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(body_->data(), body_->size(), md, &len, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("redis: SHA1 of script failed");
    static constexpr char kHex[] = "0123456789abcdef";
    sha1_.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        sha1_.push_back(kHex[md[i] >> 4]);
        sha1_.push_back(kHex[md[i] & 0x0f]);
    }
}

namespace detail {

Reply to_reply(const redisReply& r) {
    Reply out;
    switch (r.type) {
    case REDIS_REPLY_STRING:
        out.type = Reply::Type::string;
        out.str.assign(r.str, r.len);
        break;
    case REDIS_REPLY_STATUS:
        out.type = Reply::Type::status;
        out.str.assign(r.str, r.len);
        break;
    case REDIS_REPLY_ERROR:
        out.type = Reply::Type::error;
        out.str.assign(r.str, r.len);
        break;
    case REDIS_REPLY_INTEGER:
        out.type = Reply::Type::integer;
        out.integer = r.integer;
        break;
    case REDIS_REPLY_NIL:
        out.type = Reply::Type::nil;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = Reply::Type::array;
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i) {
            if (r.element[i])
                out.elements.push_back(to_reply(*r.element[i]));
            else
                out.elements.emplace_back();
        }
        break;
    default:
        out = Reply::make_error("redis: unsupported reply type " + std::to_string(r.type));
        break;
    }
    return out;
}

void ArgvView::size_for(std::size_t count) {
    count_ = count;
    if (count_ <= kInline) {
        ptrs_ = inline_ptrs_.data();
        lens_ = inline_lens_.data();
    } else {
        heap_ptrs_.resize(count_);
        heap_lens_.resize(count_);
        ptrs_ = heap_ptrs_.data();
        lens_ = heap_lens_.data();
    }
}

ArgvView::ArgvView(const std::vector<std::string>& args) {
    size_for(args.size());
    for (std::size_t i = 0; i < count_; ++i) {
        ptrs_[i] = args[i].data();
        lens_[i] = args[i].size();
    }
}

ArgvView::ArgvView(std::span<const std::string_view> args) {
    size_for(args.size());
    for (std::size_t i = 0; i < count_; ++i) {
        ptrs_[i] = args[i].data();
        lens_[i] = args[i].size();
    }
}

std::vector<std::string> evalsha_argv(const Script& script, std::vector<std::string>&& keys,
                                      std::vector<std::string>&& args) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.emplace_back("EVALSHA");
    argv.push_back(script.sha1());
    argv.push_back(std::to_string(keys.size()));
    for (auto& k : keys) argv.push_back(std::move(k));
    for (auto& a : args) argv.push_back(std::move(a));
    return argv;
}

}  // namespace detail
}  // namespace rappel::redis
