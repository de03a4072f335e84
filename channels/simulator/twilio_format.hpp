#pragma once
// Wire-format helpers of the provider simulator: form decoding, Basic auth, Twilio's dates,
// sids, error bodies and SMS segment counts.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rappel::sim {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded: '&'-separated, '+' is a space, %XX escapes. A malformed
// escape is kept literally.
std::string percent_decode(std::string_view text);
FormFields parse_form(std::string_view body);
// Last value of `name`, or empty.
std::string form_value(const FormFields& fields, std::string_view name);
bool form_has(const FormFields& fields, std::string_view name);

std::optional<std::string> base64_decode(std::string_view text);
// "Basic base64(user:password)" -> {user, password}.
std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header);

// RFC 2822 as Twilio writes it: "Thu, 24 Aug 2023 05:01:45 +0000".
std::string format_rfc2822(std::chrono::system_clock::time_point t);

// Appends `utf8` as a quoted JSON string; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view utf8);

// A flat JSON object written straight into a string (the simulator's hot path).
class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) { out_ += '{'; }
    JsonWriter& str(std::string_view key, std::string_view value);
    JsonWriter& str_or_null(std::string_view key, std::string_view value);  // "" -> null
    JsonWriter& null(std::string_view key);
    JsonWriter& num(std::string_view key, long long value);
    JsonWriter& raw(std::string_view key, std::string_view json);  // value already JSON
    void close() { out_ += '}'; }

private:
    void key(std::string_view k);
    std::string& out_;
    bool first_ = true;
};

// Twilio's error body: {"code":..,"message":..,"more_info":..,"status":..}.
std::string twilio_error_json(int code, std::string_view message, int status);
// The error code Twilio uses for a bare HTTP status (e.g. 503 -> 20503).
int twilio_code_for_status(int status);

// Characters (code points) in a UTF-8 string.
std::size_t utf8_length(std::string_view utf8);

// "SM"/"CA" + 32 lower-case hex digits from two 64-bit halves.
std::string make_sid(std::string_view prefix, std::uint64_t hi, std::uint64_t lo);

}  // namespace rappel::sim
