#pragma once
// Email over SMTP with libcurl (smtp:// with optional STARTTLS, or smtps://). Builds the
// MIME message itself (see mime.hpp); envelope sender is the address part of `from`, the
// envelope recipient the message's `to`. Message-ID "<reminder_id@rappel>" is also the
// provider message id. Connections are kept in the shared CurlMulti cache and reused.
//
// `unsubscribe_url` may contain "{reminder_id}", replaced by the (percent-encoded) reminder
// id so each message carries its own one-click target.
//
// Classification: curl OK -> accepted; last SMTP reply 4xx, timeouts and connection
// failures -> retry; reply 5xx -> rejected ("smtp 550").
#include "channels/channel.hpp"
#include "channels/email_smtp/mime.hpp"
#include "channels/http/curl_multi.hpp"
#include "engine/base/clock.hpp"
#include "engine/config/config.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace rappel::channels {

class SmtpEmail final : public Channel {
public:
    // Throws std::invalid_argument when url is not smtp:// or smtps://, or from has no valid
    // address. `clock` dates the messages (default: the system clock).
    SmtpEmail(const config::ProviderConfig& provider, CurlMulti& curl, ClockPtr clock = nullptr);
    // Sends still in flight complete normally (their handles are freed then).
    ~SmtpEmail() override;
    SmtpEmail(const SmtpEmail&) = delete;
    SmtpEmail& operator=(const SmtpEmail&) = delete;

    std::string_view provider() const override { return name_; }
    ChannelKind kind() const override { return ChannelKind::email; }
    void send(const Message& message, SendCallback done) override;

    // Easy handles kept for reuse, for tests.
    std::size_t idle_handles_for_test() const;

private:
    struct Transfer;
    struct Pool;
    std::unique_ptr<Transfer> take_transfer();
    static std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* userp);

    CurlMulti& curl_;
    ClockPtr clock_;
    std::string name_;
    std::string url_;
    std::string username_;
    std::string password_;
    mime::Mailbox from_;
    config::StartTls starttls_;
    std::chrono::milliseconds timeout_;
    std::string unsubscribe_url_;
    std::string mail_from_;  // "<address>"
    // Shared with sends in flight, which return their handle to it when they complete.
    std::shared_ptr<Pool> pool_;
};

// `smtp_reply` is CURLINFO_RESPONSE_CODE: the last SMTP reply code, 0 when none arrived.
SendResult classify_smtp(CURLcode code, long smtp_reply);

}  // namespace rappel::channels
