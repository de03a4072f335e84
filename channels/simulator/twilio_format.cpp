#include "channels/simulator/twilio_format.hpp"

#include "engine/base/text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace rappel::sim {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
                   hex_value(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

FormFields parse_form(std::string_view body) {
    FormFields fields;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) {
            fields.emplace_back(percent_decode(pair), std::string{});
        } else {
            fields.emplace_back(percent_decode(pair.substr(0, eq)), percent_decode(pair.substr(eq + 1)));
        }
    }
    return fields;
}

std::string form_value(const FormFields& fields, std::string_view name) {
    for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
        if (it->first == name) return it->second;
    }
    return {};
}

bool form_has(const FormFields& fields, std::string_view name) {
    return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return f.first == name; });
}

std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header) {
    constexpr std::string_view scheme = "basic ";
    if (header.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        char c = header[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != scheme[i]) return std::nullopt;  // the scheme name is case-insensitive
    }
    std::string_view encoded = header.substr(scheme.size());
    while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
    while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
    auto decoded = rappel::base64_decode(encoded);
    if (!decoded) return std::nullopt;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::pair{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        // Plain printable ASCII is copied in runs.
        std::size_t run = i;
        while (run < s.size()) {
            const auto r = static_cast<unsigned char>(s[run]);
            if (r < 0x20 || r >= 0x7F || r == '"' || r == '\\') break;
            ++run;
        }
        if (run > i) {
            out.append(s.data() + i, run - i);
            i = run;
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    if (c < 0x20 || c == 0x7F) {
                        out += "\\u00";
                        out += hex[c >> 4U];
                        out += hex[c & 15U];
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        // A well-formed multi-byte sequence is copied; each byte of an ill-formed one is U+FFFD.
        const utf8::CodePoint cp = utf8::decode(s, i);
        if (cp.valid) {
            out.append(s.data() + i, cp.length);
            i += cp.length;
        } else {
            out += "\\ufffd";
            ++i;
        }
    }
    out += '"';
}

void JsonWriter::key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    append_json_string(out_, k);
    out_ += ':';
}

JsonWriter& JsonWriter::str(std::string_view k, std::string_view value) {
    key(k);
    append_json_string(out_, value);
    return *this;
}

JsonWriter& JsonWriter::str_or_null(std::string_view k, std::string_view value) {
    return value.empty() ? null(k) : str(k, value);
}

JsonWriter& JsonWriter::null(std::string_view k) {
    key(k);
    out_ += "null";
    return *this;
}

JsonWriter& JsonWriter::num(std::string_view k, long long value) {
    key(k);
    out_ += std::to_string(value);
    return *this;
}

JsonWriter& JsonWriter::raw(std::string_view k, std::string_view json) {
    key(k);
    out_ += json;
    return *this;
}

std::string twilio_error_json(int code, std::string_view message, int status) {
    std::string out;
    JsonWriter w(out);
    w.num("code", code)
        .str("message", message)
        .str("more_info", fmt::format("https://www.twilio.com/docs/errors/{}", code))
        .num("status", status)
        .close();
    return out;
}

int twilio_code_for_status(int status) {
    if (status == 401) return 20003;
    if (status == 404) return 20404;
    return 20000 + status;
}

std::string make_sid(std::string_view prefix, std::uint64_t hi, std::uint64_t lo) {
    return fmt::format("{}{:016x}{:016x}", prefix, hi, lo);
}

}  // namespace rappel::sim
