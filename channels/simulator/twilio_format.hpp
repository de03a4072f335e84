#pragma once
// Wire-format helpers of the provider simulator: form decoding, Basic auth, sids and error
// bodies. Base64, UTF-8 and dates come from engine/base (text.hpp, time_format.hpp).
#include "engine/base/text.hpp"

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

// Kept so engine/demo's sim::base64_decode calls still compile; new code calls rappel::base64_decode.
using rappel::base64_decode;
// "Basic base64(user:password)" -> {user, password}.
std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header);

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

// "SM"/"CA" + 32 lower-case hex digits from two 64-bit halves.
std::string make_sid(std::string_view prefix, std::uint64_t hi, std::uint64_t lo);

}  // namespace rappel::sim
