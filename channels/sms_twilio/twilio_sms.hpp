#pragma once
// SMS through a Twilio-compatible Messages API (2010-04-01):
//   POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json
//   form fields To, From, Body; HTTP Basic auth AccountSid:AuthToken;
//   header I-Twilio-Idempotency-Token: <reminder_id> (PRODUCT.md guarantee 2).
// 201 {"sid": "SM..."} is accepted; 408, 429, 5xx, transport failures and unreadable 2xx
// bodies are retried; other 4xx are rejected with Twilio's error code in the reason.
#include "channels/channel.hpp"
#include "channels/http/curl_multi.hpp"
#include "engine/config/config.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rappel::channels {

class TwilioSms final : public Channel {
public:
    // Throws std::invalid_argument when base_url (http/https), account_sid, auth_token or
    // from is missing.
    TwilioSms(const config::ProviderConfig& provider, CurlMulti& curl);
    // Sends still in flight complete normally (their handles are freed then).
    ~TwilioSms() override;
    TwilioSms(const TwilioSms&) = delete;
    TwilioSms& operator=(const TwilioSms&) = delete;

    std::string_view provider() const override { return name_; }
    ChannelKind kind() const override { return ChannelKind::sms; }
    void send(const Message& message, SendCallback done) override;

    const std::string& endpoint() const { return endpoint_; }

    // Easy handles kept for reuse, for tests.
    std::size_t idle_handles_for_test() const;

private:
    struct Transfer;
    struct Queued;
    struct Pool;
    std::unique_ptr<Transfer> take_transfer();
    static void start(const std::shared_ptr<Pool>& pool, std::unique_ptr<Transfer> t, Queued q);

    CurlMulti& curl_;
    std::string name_;
    std::string endpoint_;
    std::string account_sid_;
    std::string auth_token_;
    std::string from_;
    std::string from_encoded_;
    std::chrono::milliseconds timeout_;
    // Shared with sends in flight, which return their handle to it when they complete.
    std::shared_ptr<Pool> pool_;
};

// application/x-www-form-urlencoded value: unreserved ASCII kept, every other byte %XX
// (so UTF-8 passes byte for byte and '+' in E.164 numbers stays a plus).
std::string form_encode(std::string_view value);
void append_form_encoded(std::string& out, std::string_view value);

// Retry-After as delta-seconds; nullopt for an HTTP-date or anything unreadable.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// The classification, apart from curl so it can be unit-tested. `http_status` is 0 when no
// response arrived.
SendResult classify_twilio(CURLcode code, long http_status, std::string_view body,
                           std::optional<std::chrono::seconds> retry_after);

}  // namespace rappel::channels
