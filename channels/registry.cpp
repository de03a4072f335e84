#include "channels/registry.hpp"

#if RAPPEL_HAVE_TWILIO_SMS
#include "channels/sms_twilio/twilio_sms.hpp"
#endif
#if RAPPEL_HAVE_SMTP
#include "channels/email_smtp/smtp_email.hpp"
#endif

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

namespace rappel::channels {

namespace {

std::string_view type_name(config::ProviderType type) {
    switch (type) {
    case config::ProviderType::twilio_sms: return "twilio_sms";
    case config::ProviderType::smtp: return "smtp";
    }
    return "?";
}

[[noreturn, maybe_unused]] void not_built(const config::ProviderConfig& provider) {
    throw std::invalid_argument(fmt::format("provider {}: type {} is not built in",
                                            provider.name, type_name(provider.type)));
}

}  // namespace

void ChannelRegistry::add(ChannelPtr channel) {
    if (!channel) throw std::invalid_argument("channel registry: null channel");
    const ChannelKind kind = channel->kind();
    if (channels_.contains(kind)) {
        throw std::invalid_argument(fmt::format("channel registry: a {} channel is already "
                                                "registered ({}), cannot add {}",
                                                to_string(kind), channels_.at(kind)->provider(),
                                                channel->provider()));
    }
    channels_.emplace(kind, std::move(channel));
}

Channel* ChannelRegistry::find(ChannelKind kind) const {
    const auto it = channels_.find(kind);
    return it == channels_.end() ? nullptr : it->second.get();
}

ChannelPtr make_channel(const config::ProviderConfig& provider, CurlMulti& curl) {
    switch (provider.type) {
    case config::ProviderType::twilio_sms:
#if RAPPEL_HAVE_TWILIO_SMS
        return std::make_unique<TwilioSms>(provider, curl);
#else
        not_built(provider);
#endif
    case config::ProviderType::smtp:
#if RAPPEL_HAVE_SMTP
        return std::make_unique<SmtpEmail>(provider, curl);
#else
        not_built(provider);
#endif
    }
    (void)curl;
    throw std::invalid_argument(fmt::format("provider {}: unknown type", provider.name));
}

ChannelRegistry build_registry(const config::Config& cfg, CurlMulti& curl) {
    ChannelRegistry registry;
    for (const auto& [kind, name] : cfg.channel_provider) {
        const auto it = std::find_if(cfg.providers.begin(), cfg.providers.end(),
                                     [&name](const auto& p) { return p.name == name; });
        if (it == cfg.providers.end()) {
            throw std::invalid_argument(
                fmt::format("channel {}: no provider named {}", to_string(kind), name));
        }
        ChannelPtr channel = make_channel(*it, curl);
        if (channel->kind() != kind) {
            throw std::invalid_argument(fmt::format("channel {}: provider {} of type {} sends {}",
                                                    to_string(kind), name, type_name(it->type),
                                                    to_string(channel->kind())));
        }
        registry.add(std::move(channel));
    }
    return registry;
}

}  // namespace rappel::channels
