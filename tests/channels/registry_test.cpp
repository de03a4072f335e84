#define BOOST_TEST_MODULE channel_registry
#include "channels/registry.hpp"

#include <boost/test/unit_test.hpp>

#include <stdexcept>

using namespace rappel;
using namespace rappel::channels;

namespace {

class FakeChannel final : public Channel {
public:
    FakeChannel(ChannelKind k, std::string name) : kind_(k), name_(std::move(name)) {}
    std::string_view provider() const override { return name_; }
    ChannelKind kind() const override { return kind_; }
    void send(const Message&, SendCallback) override {}

private:
    ChannelKind kind_;
    std::string name_;
};

config::Config sample_config() {
    config::Config cfg;
    config::ProviderConfig sms;
    sms.name = "twilio-main";
    sms.type = config::ProviderType::twilio_sms;
    sms.base_url = "http://127.0.0.1:9";
    sms.account_sid = "AC0123456789abcdef0123456789abcdef";
    sms.auth_token = "token";
    sms.from = "+15145550000";
    config::ProviderConfig mail;
    mail.name = "smtp-main";
    mail.type = config::ProviderType::smtp;
    mail.url = "smtp://127.0.0.1:25";
    mail.from = "Rappel <rappels@example.org>";
    cfg.providers = {sms, mail};
    cfg.channel_provider = {{ChannelKind::sms, "twilio-main"}, {ChannelKind::email, "smtp-main"}};
    return cfg;
}

}  // namespace

BOOST_AUTO_TEST_CASE(add_refuses_duplicates) {
    ChannelRegistry registry;
    registry.add(std::make_unique<FakeChannel>(ChannelKind::sms, "a"));
    BOOST_CHECK_THROW(registry.add(std::make_unique<FakeChannel>(ChannelKind::sms, "b")),
                      std::invalid_argument);
    BOOST_CHECK_THROW(registry.add(nullptr), std::invalid_argument);
    BOOST_TEST(registry.find(ChannelKind::sms)->provider() == "a");
    BOOST_TEST(registry.find(ChannelKind::email) == nullptr);
}

BOOST_AUTO_TEST_CASE(build_from_config) {
    boost::asio::io_context io;
    CurlMulti curl(io);
    const auto cfg = sample_config();
    ChannelRegistry registry = build_registry(cfg, curl);
    BOOST_TEST(registry.size() == 2U);
    BOOST_TEST_REQUIRE(registry.find(ChannelKind::sms) != nullptr);
    BOOST_TEST(registry.find(ChannelKind::sms)->provider() == "twilio-main");
    BOOST_TEST_REQUIRE(registry.find(ChannelKind::email) != nullptr);
    BOOST_TEST(registry.find(ChannelKind::email)->provider() == "smtp-main");
    BOOST_TEST(registry.find(ChannelKind::voice) == nullptr);
}

BOOST_AUTO_TEST_CASE(config_errors_throw) {
    boost::asio::io_context io;
    CurlMulti curl(io);
    auto cfg = sample_config();
    cfg.channel_provider[ChannelKind::voice] = "missing";
    BOOST_CHECK_THROW(build_registry(cfg, curl), std::invalid_argument);

    cfg = sample_config();
    cfg.channel_provider[ChannelKind::sms] = "smtp-main";  // an SMTP provider cannot send SMS
    BOOST_CHECK_THROW(build_registry(cfg, curl), std::invalid_argument);

    cfg = sample_config();
    cfg.providers[0].auth_token.clear();
    BOOST_CHECK_THROW(build_registry(cfg, curl), std::invalid_argument);
    BOOST_CHECK_THROW(make_channel(cfg.providers[0], curl), std::invalid_argument);
}
