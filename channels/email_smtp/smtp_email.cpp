#include "channels/email_smtp/smtp_email.hpp"

#include "channels/http/curl_util.hpp"
#include "engine/base/log.hpp"
#include "engine/base/text.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace rappel::channels {

namespace {

// Idle easy handles kept for reuse; beyond this (after a burst) they are cleaned up.
constexpr std::size_t kMaxIdleTransfers = 256;

long use_ssl(config::StartTls mode) {
    switch (mode) {
    case config::StartTls::none: return static_cast<long>(CURLUSESSL_NONE);
    case config::StartTls::try_: return static_cast<long>(CURLUSESSL_TRY);
    case config::StartTls::required: return static_cast<long>(CURLUSESSL_ALL);
    }
    return static_cast<long>(CURLUSESSL_TRY);
}


std::string unsubscribe_for(std::string url, std::string_view reminder_id) {
    static constexpr std::string_view placeholder = "{reminder_id}";
    const std::string id = percent_encode(reminder_id);
    for (std::size_t pos = url.find(placeholder); pos != std::string::npos;
         pos = url.find(placeholder, pos + id.size())) {
        url.replace(pos, placeholder.size(), id);
    }
    return url;
}

void post_result(CurlMulti& curl, SendCallback done, SendResult result) {
    boost::asio::post(curl.io(), [done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
    });
}

}  // namespace

SendResult classify_smtp(CURLcode code, long smtp_reply) {
    SendResult r;
    if (code == CURLE_OK) {
        r.status = SendStatus::accepted;
        r.reason = fmt::format("smtp {}", smtp_reply);
        return r;
    }
    if (smtp_reply >= 500 && smtp_reply < 600) {
        r.status = SendStatus::rejected;
        r.reason = fmt::format("smtp {}", smtp_reply);
    } else if (smtp_reply >= 400 && smtp_reply < 500) {
        r.status = SendStatus::retry;
        r.reason = fmt::format("smtp {}", smtp_reply);
    } else {
        r.status = SendStatus::retry;
        r.reason = curl_failure_reason(code);
    }
    return r;
}

// One pooled easy handle and the buffers of the send it carries. Options that never change
// (URL, TLS, credentials, envelope sender, callbacks, timeouts) are set once when the handle
// is made; a send sets only the recipient list and the upload size, so a handle carries
// nothing of its previous message.
struct SmtpEmail::Transfer {
    EasyPtr easy;
    std::string reminder_id;
    std::string message_id;
    std::string payload;
    std::size_t offset = 0;
    std::string recipient;        // "<address>"
    curl_slist recipient_node{};  // the one-entry CURLOPT_MAIL_RCPT list
    SendCallback done;
};

struct SmtpEmail::Pool {
    TransferPool<Transfer> transfers{kMaxIdleTransfers};
};

std::size_t SmtpEmail::on_read(char* buffer, std::size_t size, std::size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const std::size_t n = std::min(size * count, t->payload.size() - t->offset);
    std::memcpy(buffer, t->payload.data() + t->offset, n);
    t->offset += n;
    return n;
}

SmtpEmail::SmtpEmail(const config::ProviderConfig& provider, CurlMulti& curl, ClockPtr clock)
    : curl_(curl),
      clock_(clock ? std::move(clock) : std::make_shared<SystemClock>()),
      name_(provider.name),
      url_(provider.url),
      username_(provider.username),
      password_(provider.password),
      starttls_(provider.starttls),
      timeout_(provider.timeout),
      unsubscribe_url_(provider.unsubscribe_url) {
    const auto fail = [&](std::string_view what) {
        throw std::invalid_argument(fmt::format("provider {}: {}", provider.name, what));
    };
    if (!url_.starts_with("smtp://") && !url_.starts_with("smtps://"))
        fail("url must be smtp://host:port or smtps://host:port");
    auto from = mime::parse_mailbox(provider.from);
    if (!from) fail("from must be an email address, optionally as \"Name <address>\"");
    from_ = std::move(*from);
    if (timeout_.count() <= 0) fail("timeout must be positive");
    mail_from_ = "<" + from_.address + ">";
    pool_ = std::make_shared<Pool>();
}

SmtpEmail::~SmtpEmail() = default;

std::size_t SmtpEmail::idle_handles_for_test() const { return pool_->transfers.idle(); }

std::unique_ptr<SmtpEmail::Transfer> SmtpEmail::take_transfer() {
    if (auto idle = pool_->transfers.take()) return idle;
    auto t = std::make_unique<Transfer>();
    t->easy.reset(curl_easy_init());
    if (!t->easy) return nullptr;
    CURL* e = t->easy.get();
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl(starttls_));
    if (!username_.empty()) {
        curl_easy_setopt(e, CURLOPT_USERNAME, username_.c_str());
        curl_easy_setopt(e, CURLOPT_PASSWORD, password_.c_str());
    }
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from_.c_str());
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, &SmtpEmail::on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, t.get());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    set_transfer_defaults(e, timeout_);
    return t;
}

void SmtpEmail::send(const Message& message, SendCallback done) {
    if (!mime::valid_address(message.to) || message.reminder_id.empty()) {
        post_result(curl_, std::move(done),
                    SendResult{SendStatus::rejected, {}, "invalid address or reminder id", {}});
        return;
    }
    std::unique_ptr<Transfer> t = take_transfer();
    if (!t) {
        post_result(curl_, std::move(done), SendResult{SendStatus::retry, {}, "out of memory", {}});
        return;
    }
    t->reminder_id = message.reminder_id;
    t->message_id = mime::message_id_for(message.reminder_id);

    mime::MailInput mail;
    mail.from = from_;
    mail.to = message.to;
    mail.subject = message.subject;
    mail.text = message.text;
    mail.html = message.html;
    mail.message_id = t->message_id;
    mail.date = clock_->now();
    mail.language = message.language;
    if (!unsubscribe_url_.empty())
        mail.unsubscribe_url = unsubscribe_for(unsubscribe_url_, message.reminder_id);
    t->payload = mime::build_message(mail);
    t->offset = 0;
    t->recipient.assign("<").append(message.to).append(">");
    t->recipient_node.data = t->recipient.data();
    t->recipient_node.next = nullptr;
    t->done = std::move(done);

    CURL* e = t->easy.get();
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, &t->recipient_node);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t->payload.size()));
    (void)t.release();  // owned by the transfer until it completes; found via CURLOPT_PRIVATE
    curl_.perform(e, [pool = pool_](CURLcode code, CURL* finished) {
        auto owned = transfer_of<Transfer>(finished);
        long reply = 0;
        curl_easy_getinfo(finished, CURLINFO_RESPONSE_CODE, &reply);
        SendResult result = classify_smtp(code, reply);
        if (result.status == SendStatus::accepted) result.provider_message_id = owned->message_id;
        log::debug("smtp", "reminder {}: {} ({})", owned->reminder_id, to_string(result.status),
                   result.reason);
        SendCallback callback = std::move(owned->done);
        owned->done = nullptr;
        owned->payload.clear();
        pool->transfers.give_back(std::move(owned));
        callback(std::move(result));
    });
}

}  // namespace rappel::channels
