#pragma once
// Lets Boost.Test print Reply::Type in assertion failures.
#include "engine/redis/redis_client.hpp"

#include <ostream>

namespace rappel::redis {
inline std::ostream& operator<<(std::ostream& os, Reply::Type t) {
    switch (t) {
    case Reply::Type::string: return os << "string";
    case Reply::Type::status: return os << "status";
    case Reply::Type::error: return os << "error";
    case Reply::Type::integer: return os << "integer";
    case Reply::Type::nil: return os << "nil";
    case Reply::Type::array: return os << "array";
    }
    return os << "?";
}
}  // namespace rappel::redis
