#pragma once
// The one interface every channel adapter implements. An adapter sends one message and
// classifies what the provider said; it never sleeps or retries by itself. Retry policy,
// backoff and dead letters live in the engine.
#include "engine/base/channel_kind.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rappel::channels {

struct Message {
    std::string reminder_id;      // also the provider idempotency key
    ChannelKind channel = ChannelKind::sms;
    Language language = Language::en;
    std::string to;               // E.164 number or email address: never log it
    std::string subject;          // email only
    std::string text;             // SMS body, email text part, voice script
    std::string html;             // email HTML part
};

enum class SendStatus {
    accepted,  // provider took it; provider_message_id set
    retry,     // transient: 5xx, 408, 429, timeout, connection refused, garbage
    rejected,  // permanent: other 4xx, invalid recipient, 5xx SMTP reply
};

constexpr std::string_view to_string(SendStatus s) {
    switch (s) {
    case SendStatus::accepted: return "accepted";
    case SendStatus::retry: return "retry";
    case SendStatus::rejected: return "rejected";
    }
    return "?";
}

struct SendResult {
    SendStatus status = SendStatus::retry;
    std::string provider_message_id;
    std::string reason;  // short, no contact data: "http 503", "smtp 550", "timeout"
    std::optional<std::chrono::seconds> retry_after;
};

using SendCallback = std::function<void(SendResult)>;

class Channel {
public:
    virtual ~Channel() = default;
    // Provider name from the config (e.g. "twilio-main"), reported in outcomes.
    virtual std::string_view provider() const = 0;
    virtual ChannelKind kind() const = 0;
    // Starts sending; `done` is called exactly once, on the engine's io_context thread.
    virtual void send(const Message& message, SendCallback done) = 0;
};
using ChannelPtr = std::unique_ptr<Channel>;

}  // namespace rappel::channels
