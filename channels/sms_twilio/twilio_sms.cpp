#include "channels/sms_twilio/twilio_sms.hpp"

#include "channels/http/curl_util.hpp"
#include "engine/base/log.hpp"
#include "engine/base/text.hpp"

#include <boost/asio/post.hpp>
#include <curl/header.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace rappel::channels {

namespace {

constexpr std::size_t kMaxResponseBytes = 256 * 1024;
constexpr std::chrono::seconds kMaxRetryAfter{24 * 3600};
// Idle easy handles kept for reuse; beyond this (after a burst) they are cleaned up.
constexpr std::size_t kMaxIdleTransfers = 1024;

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* userp) {
    auto* response = static_cast<std::string*>(userp);
    const std::size_t n = size * count;
    if (response->size() + n > kMaxResponseBytes) return 0;  // CURLE_WRITE_ERROR
    response->append(data, n);
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

// The top-level "sid" and "code" of a JSON object, read without building a document: the
// same answers as parsing into nlohmann::json and looking the keys up (the last duplicate
// key wins there too), without allocating a node per field of Twilio's ~20-field reply.
class TopLevelFields final : public nlohmann::json_sax<nlohmann::json> {
public:
    bool object = false;
    std::optional<std::string> sid;  // the last top-level "sid", when it was a string
    std::optional<long long> code;   // the last top-level "code", when it was an integer

    bool null() override { return value(); }
    bool boolean(bool /*v*/) override { return value(); }
    bool number_integer(number_integer_t v) override { return integer(static_cast<long long>(v)); }
    bool number_unsigned(number_unsigned_t v) override { return integer(static_cast<long long>(v)); }
    bool number_float(number_float_t /*v*/, const string_t& /*text*/) override { return value(); }
    bool string(string_t& v) override {
        value();
        if (depth_ == 1 && key_ == Key::sid) sid = std::move(v);
        return true;
    }
    bool binary(binary_t& /*v*/) override { return value(); }
    bool start_object(std::size_t /*size*/) override {
        if (depth_ == 0) object = true;
        value();
        ++depth_;
        return true;
    }
    bool key(string_t& k) override {
        if (depth_ == 1) key_ = k == "sid" ? Key::sid : (k == "code" ? Key::code : Key::other);
        return true;
    }
    bool end_object() override {
        --depth_;
        return true;
    }
    bool start_array(std::size_t /*size*/) override {
        value();
        ++depth_;
        return true;
    }
    bool end_array() override {
        --depth_;
        return true;
    }
    bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                     const nlohmann::detail::exception& /*ex*/) override {
        return false;
    }

private:
    enum class Key { other, sid, code };
    // A new value of a top-level key replaces what an earlier duplicate of it said.
    bool value() {
        if (depth_ == 1 && key_ == Key::sid) sid.reset();
        if (depth_ == 1 && key_ == Key::code) code.reset();
        return true;
    }
    bool integer(long long v) {
        value();
        if (depth_ == 1 && key_ == Key::code) code = v;
        return true;
    }
    int depth_ = 0;
    Key key_ = Key::other;
};

}  // namespace

// One pooled easy handle and the buffers of the send it carries. Options that never change
// (URL, auth, user agent, callbacks, timeouts) are set once when the handle is made; a send
// sets only the body and the header list, so a handle carries nothing of its previous message
// (curl resets its response state, Retry-After included, per transfer).
struct TwilioSms::Transfer {
    EasyPtr easy;
    std::string form;
    std::string response;
    std::string token_line;   // "I-Twilio-Idempotency-Token: <reminder id>"
    curl_slist token_node{};  // heads this send's header list; next = the shared headers
    std::string reminder_id;
    SendCallback done;
};

// A send waiting for a free slot of this provider's lane, with no easy handle yet: so the
// handles in use stay near the lane's cap (64) instead of one per message in flight (1,000),
// whose buffers (16 KiB each) and set-up cost CPU and memory.
struct TwilioSms::Queued {
    std::string form;
    std::string reminder_id;
    SendCallback done;
};

struct TwilioSms::Pool {
    explicit Pool(CurlMulti& c) : curl(c) {}
    CurlMulti& curl;          // outlives the adapter and its transfers (rappeld, tests)
    // Accept, Expect:, Authorization, User-Agent (the tail of every send's header list)
    SlistPtr shared_headers;
    // The endpoint parsed once: with CURLOPT_URL curl parses the text again on every
    // transfer. curl only reads it (CURLOPT_CURLU), so all handles share it.
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url{curl_url(), &curl_url_cleanup};
    TransferPool<Transfer> transfers{kMaxIdleTransfers};
    std::deque<Queued> queued;  // oldest first
};

void append_form_encoded(std::string& out, std::string_view value) { append_percent_encoded(out, value); }

std::string form_encode(std::string_view value) { return percent_encode(value); }

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
    TopLevelFields fields;
    const bool object =
        nlohmann::json::sax_parse(body.begin(), body.end(), &fields) && fields.object;
    if (http_status >= 200 && http_status < 300) {
        if (object && fields.sid && !fields.sid->empty()) {
            r.status = SendStatus::accepted;
            r.provider_message_id = std::move(*fields.sid);
            r.reason = fmt::format("http {}", http_status);
            return r;
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
        if (object && fields.code) r.reason += fmt::format(" code {}", *fields.code);
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
    from_encoded_ = form_encode(from_);
    pool_ = std::make_shared<Pool>(curl_);
    if (!pool_->url || curl_url_set(pool_->url.get(), CURLUPART_URL, endpoint_.c_str(), 0) != CURLUE_OK)
        fail("base_url is not a valid URL");
    // Basic auth and the user agent as fixed header lines: with CURLOPT_USERNAME/PASSWORD and
    // CURLOPT_USERAGENT curl formats and base64-encodes them again for every request.
    if (!slist_append(pool_->shared_headers, "Accept: application/json") ||
        !slist_append(pool_->shared_headers, "Expect:") ||
        !slist_append(pool_->shared_headers, "Authorization: Basic " + base64_encode(account_sid_ + ":" + auth_token_)) ||
        !slist_append(pool_->shared_headers, "User-Agent: rappel/" RAPPEL_VERSION))
        throw std::bad_alloc();
}

TwilioSms::~TwilioSms() = default;

std::size_t TwilioSms::idle_handles_for_test() const { return pool_->transfers.idle(); }

std::unique_ptr<TwilioSms::Transfer> TwilioSms::take_transfer() {
    if (auto idle = pool_->transfers.take()) return idle;
    auto t = std::make_unique<Transfer>();
    t->easy.reset(curl_easy_init());
    if (!t->easy) return nullptr;
    CURL* e = t->easy.get();
    curl_easy_setopt(e, CURLOPT_CURLU, pool_->url.get());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->response);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    set_transfer_defaults(e, timeout_);
    return t;
}

void TwilioSms::send(const Message& message, SendCallback done) {
    if (message.to.empty() || message.reminder_id.empty()) {
        post_result(curl_, std::move(done),
                    SendResult{SendStatus::rejected, {}, "missing recipient or reminder id", {}});
        return;
    }
    std::string form;
    form.reserve(3 * (message.to.size() + message.text.size()) + from_encoded_.size() + 16);
    form.append("To=");
    append_form_encoded(form, message.to);
    form.append("&From=").append(from_encoded_).append("&Body=");
    append_form_encoded(form, message.text);
    Queued q{std::move(form), message.reminder_id, std::move(done)};
    if (!pool_->queued.empty() || curl_.lane_full(pool_.get())) {
        pool_->queued.push_back(std::move(q));
        return;
    }
    std::unique_ptr<Transfer> t = take_transfer();
    if (!t) {
        post_result(curl_, std::move(q.done), SendResult{SendStatus::retry, {}, "out of memory", {}});
        return;
    }
    start(pool_, std::move(t), std::move(q));
}

void TwilioSms::start(const std::shared_ptr<Pool>& pool, std::unique_ptr<Transfer> t, Queued q) {
    t->reminder_id = std::move(q.reminder_id);
    t->form = std::move(q.form);
    t->response.clear();
    t->token_line.assign("I-Twilio-Idempotency-Token: ");
    t->token_line.append(header_safe(t->reminder_id));
    t->token_node.data = t->token_line.data();
    t->token_node.next = pool->shared_headers.get();
    t->done = std::move(q.done);

    CURL* e = t->easy.get();
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->form.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->form.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, &t->token_node);
    (void)t.release();  // owned by the transfer until it completes; found via CURLOPT_PRIVATE
    pool->curl.perform(e, [pool](CURLcode code, CURL* finished) {
        auto owned = transfer_of<Transfer>(finished);
        long status = 0;
        curl_easy_getinfo(finished, CURLINFO_RESPONSE_CODE, &status);
        // Retry-After only matters where classify_twilio keeps it (408, 429, 5xx).
        const bool retry_status = status == 408 || status == 429 || status >= 500;
        SendResult result = classify_twilio(
            code, status, owned->response,
            code == CURLE_OK && retry_status ? retry_after_of(finished) : std::nullopt);
        log::debug("twilio", "reminder {}: {} ({})", owned->reminder_id, to_string(result.status),
                   result.reason);
        SendCallback callback = std::move(owned->done);
        owned->done = nullptr;
        if (code == CURLE_ABORTED_BY_CALLBACK) {
            // The CurlMulti is going away (it must not be given new transfers): what waits
            // here is not sent, and says so, as an aborted transfer would.
            std::deque<Queued> left;
            left.swap(pool->queued);
            for (auto& waiting : left) waiting.done(classify_twilio(code, 0, {}, std::nullopt));
        } else if (!pool->queued.empty()) {
            // This handle's slot goes to the oldest waiting send.
            Queued next = std::move(pool->queued.front());
            pool->queued.pop_front();
            start(pool, std::move(owned), std::move(next));
        }
        if (owned) pool->transfers.give_back(std::move(owned));
        callback(std::move(result));
    }, pool.get());
}

}  // namespace rappel::channels
