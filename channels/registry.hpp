#pragma once
// The channels the engine can send on: one adapter per channel kind, chosen by
// cfg.channel_provider and built from an explicit switch over the provider type (no
// self-registration).
#include "channels/channel.hpp"
#include "channels/http/curl_multi.hpp"
#include "engine/config/config.hpp"

#include <cstddef>
#include <map>

namespace rappel::channels {

class ChannelRegistry {
public:
    // Throws std::invalid_argument on a null channel or a second channel of the same kind.
    void add(ChannelPtr channel);
    // nullptr when no channel of that kind is configured.
    Channel* find(ChannelKind kind) const;
    std::size_t size() const { return channels_.size(); }

private:
    std::map<ChannelKind, ChannelPtr> channels_;
};

// The adapter for one provider entry. Throws std::invalid_argument when the entry is
// incomplete or its adapter was left out of the build (RAPPEL_CHANNEL_* options).
ChannelPtr make_channel(const config::ProviderConfig& provider, CurlMulti& curl);

// One channel per entry of cfg.channel_provider. Throws std::invalid_argument when a named
// provider does not exist or cannot serve that channel kind.
ChannelRegistry build_registry(const config::Config& cfg, CurlMulti& curl);

}  // namespace rappel::channels
