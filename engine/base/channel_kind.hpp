#pragma once
#include <optional>
#include <string_view>

namespace rappel {

enum class ChannelKind { sms, email, voice };

constexpr std::string_view to_string(ChannelKind c) {
    switch (c) {
    case ChannelKind::sms: return "sms";
    case ChannelKind::email: return "email";
    case ChannelKind::voice: return "voice";
    }
    return "?";
}

constexpr std::optional<ChannelKind> parse_channel_kind(std::string_view s) {
    if (s == "sms") return ChannelKind::sms;
    if (s == "email") return ChannelKind::email;
    if (s == "voice") return ChannelKind::voice;
    return std::nullopt;
}

enum class Language { en, fr };

constexpr std::string_view to_string(Language l) { return l == Language::en ? "en" : "fr"; }
constexpr std::optional<Language> parse_language(std::string_view s) {
    if (s == "en") return Language::en;
    if (s == "fr") return Language::fr;
    return std::nullopt;
}

} // namespace rappel
