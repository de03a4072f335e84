#include "channels/sms_twilio/twilio_sms.hpp"

#include "channels/http/curl_util.hpp"
#include "engine/base/log.hpp"

#include <boost/asio/post.hpp>
#include <curl/header.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

namespace rappel::channels {

namespace {

constexpr std::size_t kMaxResponseBytes = 256 * 1024;
constexpr std::chrono::seconds kMaxRetryAfter{24 * 3600};

struct Request {
    std::string reminder_id;
    std::string form;
    std::string response;
    SlistPtr headers;
    SendCallback done;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* userp) {
    auto* request = static_cast<Request*>(userp);
    const std::size_t n = size * count;
    if (request->response.size() + n > kMaxResponseBytes) return 0;  // CURLE_WRITE_ERROR
    request->response.append(data, n);
    return n;
}

std::optional<std::chrono::seconds> retry_after_of(CURL* easy) {
    curl_header* header = nullptr;
    if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &header) != CURLHE_OK ||
        header == nullptr || header->value == nullptr)
        return std::nullopt;
    return parse_retry_after(header->value);
}

bool starts_with_http(std::string_view url) {
    return url.starts_with("http://") || url.starts_with("https://");
}

void post_result(CurlMulti& curl, SendCallback done, SendResult result) {
    boost::asio::post(curl.io(), [done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
    });
}

}  // namespace

std::string form_encode(std::string_view value) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(value.size() * 3);
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                                (u >= '0' && u <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0x0f]);
        }
    }
    return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
        value.remove_suffix(1);
    if (value.empty() || value.size() > 9) return std::nullopt;
    long long seconds = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        seconds = seconds * 10 + (c - '0');
    }
    return std::min(std::chrono::seconds{seconds}, kMaxRetryAfter);
}

SendResult classify_twilio(CURLcode code, long http_status, std::string_view body,
                           std::optional<std::chrono::seconds> retry_after) {
    SendResult r;
    if (code != CURLE_OK) {
        r.status = SendStatus::retry;
        r.reason = curl_failure_reason(code);
        return r;
    }
    const auto json = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    const bool object = !json.is_discarded() && json.is_object();
    if (http_status >= 200 && http_status < 300) {
        if (object) {
            const auto sid = json.find("sid");
            if (sid != json.end() && sid->is_string() && !sid->get_ref<const std::string&>().empty()) {
                r.status = SendStatus::accepted;
                r.provider_message_id = sid->get<std::string>();
                r.reason = fmt::format("http {}", http_status);
                return r;
            }
        }
        r.status = SendStatus::retry;
        r.reason = "garbage";
        return r;
    }
    r.reason = fmt::format("http {}", http_status);
    if (http_status == 408 || http_status == 429 || http_status >= 500) {
        r.status = SendStatus::retry;
        r.retry_after = retry_after;
        return r;
    }
    if (http_status >= 400) {
        r.status = SendStatus::rejected;
        if (object) {
            const auto c = json.find("code");
            if (c != json.end() && c->is_number_integer())
                r.reason += fmt::format(" code {}", c->get<long long>());
        }
        return r;
    }
    // 1xx/3xx: not something this API answers; try again later rather than lose it.
    r.status = SendStatus::retry;
    return r;
}

TwilioSms::TwilioSms(const config::ProviderConfig& provider, CurlMulti& curl)
    : curl_(curl),
      name_(provider.name),
      account_sid_(provider.account_sid),
      auth_token_(provider.auth_token),
      from_(provider.from),
      timeout_(provider.timeout) {
    const auto fail = [&](std::string_view what) {
        throw std::invalid_argument(fmt::format("provider {}: {}", provider.name, what));
    };
    if (!starts_with_http(provider.base_url)) fail("base_url must be an http:// or https:// URL");
    if (account_sid_.empty()) fail("account_sid is required");
    if (auth_token_.empty()) fail("auth_token is required");
    if (from_.empty()) fail("from is required");
    if (timeout_.count() <= 0) fail("timeout must be positive");
    std::string base = provider.base_url;
    while (base.ends_with('/')) base.pop_back();
    endpoint_ = base + "/2010-04-01/Accounts/" + form_encode(account_sid_) + "/Messages.json";
}

void TwilioSms::send(const Message& message, SendCallback done) {
    if (message.to.empty() || message.reminder_id.empty()) {
        post_result(curl_, std::move(done),
                    SendResult{SendStatus::rejected, {}, "missing recipient or reminder id", {}});
        return;
    }
    auto request = std::make_shared<Request>();
    request->reminder_id = message.reminder_id;
    request->form = "To=" + form_encode(message.to) + "&From=" + form_encode(from_) +
                    "&Body=" + form_encode(message.text);
    EasyPtr easy{curl_easy_init()};
    const bool headers_ok =
        slist_append(request->headers,
                     "I-Twilio-Idempotency-Token: " + header_safe(message.reminder_id)) &&
        slist_append(request->headers, "Accept: application/json") &&
        slist_append(request->headers, "Expect:");
    if (!easy || !headers_ok) {
        post_result(curl_, std::move(done), SendResult{SendStatus::retry, {}, "out of memory", {}});
        return;
    }
    CURL* e = easy.get();
    curl_easy_setopt(e, CURLOPT_URL, endpoint_.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request->form.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request->form.size()));
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(e, CURLOPT_USERNAME, account_sid_.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, auth_token_.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, request->headers.get());
    curl_easy_setopt(e, CURLOPT_USERAGENT, "rappel/" RAPPEL_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, request.get());
    set_transfer_defaults(e, timeout_);
    request->done = std::move(done);
    curl_.perform(easy.release(), [request](CURLcode code, CURL* finished) {
        EasyPtr owned{finished};
        long status = 0;
        curl_easy_getinfo(finished, CURLINFO_RESPONSE_CODE, &status);
        SendResult result =
            classify_twilio(code, status, request->response,
                            code == CURLE_OK ? retry_after_of(finished) : std::nullopt);
        log::debug("twilio", "reminder {}: {} ({})", request->reminder_id,
                   to_string(result.status), result.reason);
        owned.reset();
        request->done(std::move(result));
    });
}

}  // namespace rappel::channels
