#include "channels/email_smtp/mime.hpp"

#include "channels/http/curl_util.hpp"
#include "engine/base/text.hpp"
#include "engine/base/time_format.hpp"

#include <fmt/format.h>


namespace rappel::channels::mime {

namespace {

constexpr std::size_t kMaxLine = 75;           // characters per line before CRLF: lines < 76
constexpr std::size_t kEncodedWordOverhead = 12;  // "=?UTF-8?B?" + "?="
constexpr std::string_view kHex = "0123456789ABCDEF";
constexpr std::string_view kSpecials = "()<>[]:;@\\,.\"";

unsigned char uc(char c) { return static_cast<unsigned char>(c); }

bool is_plain_ascii(std::string_view s) {
    for (const char c : s) {
        if (uc(c) >= 0x7f || (uc(c) < 0x20 && c != '\t')) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::size_t base64_length(std::size_t n) { return (n + 2) / 3 * 4; }

// Appends `text` as UTF-8 B encoded-words (RFC 2047), each holding whole characters, the first
// on the current line (already `used` characters long), the others on continuation lines.
// Returns the length of the last line.
std::size_t append_encoded_words(std::string& out, std::string_view text, std::size_t used) {
    std::size_t line = used;
    std::size_t i = 0;
    bool first = true;
    while (i < text.size()) {
        if (!first) {
            out += "\r\n ";
            line = 1;
        }
        const std::size_t budget =
            kMaxLine > line + kEncodedWordOverhead ? kMaxLine - line - kEncodedWordOverhead : 0;
        std::size_t j = i;
        while (j < text.size()) {
            const std::size_t n = utf8::decode(text, j).length;  // an ill-formed sequence stays whole
            if (j > i && base64_length(j + n - i) > budget) break;
            j += n;
        }
        out += "=?UTF-8?B?";
        out += base64_encode(text.substr(i, j - i));
        out += "?=";
        line += kEncodedWordOverhead + base64_length(j - i);
        i = j;
        first = false;
    }
    return line;
}

// Folds plain ASCII before spaces; nullopt when a single word cannot fit on a line.
std::optional<std::string> fold_plain(std::string out, std::string_view value) {
    std::size_t line = out.size();
    std::size_t pos = 0;
    bool first = true;
    for (;;) {
        std::size_t space = value.find(' ', pos);
        if (space == std::string_view::npos) space = value.size();
        const std::string_view word = value.substr(pos, space - pos);
        if (first) {
            out += word;
            line += word.size();
        } else if (line + 1 + word.size() > kMaxLine) {
            out += "\r\n ";
            out += word;
            line = 1 + word.size();
        } else {
            out += ' ';
            out += word;
            line += 1 + word.size();
        }
        if (line > kMaxLine) return std::nullopt;
        first = false;
        if (space == value.size()) break;
        pos = space + 1;
    }
    return out;
}

std::string local_id(std::string_view reminder_id) {
    std::string out;
    out.reserve(reminder_id.size());
    for (const char c : reminder_id) {
        const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out.push_back(keep ? c : '-');
    }
    if (out.empty()) out = "-";
    return out;
}

}  // namespace

std::string quoted_printable(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    std::size_t line = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            out += "\r\n";
            line = 0;
            continue;
        }
        const bool at_line_end =
            i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
        char token[3] = {c, 0, 0};
        std::size_t length = 1;
        const bool encode = c == '=' || uc(c) >= 0x7f || (uc(c) < 0x20 && c != '\t') ||
                            ((c == ' ' || c == '\t') && at_line_end);
        if (encode) {
            token[0] = '=';
            token[1] = kHex[uc(c) >> 4];
            token[2] = kHex[uc(c) & 0x0F];
            length = 3;
        }
        // A soft break is '=' at the end of the line: content stays within 75 characters.
        if (line + length > kMaxLine) {
            out += "=\r\n";
            line = 0;
        }
        out.append(token, length);
        line += length;
    }
    return out;
}

std::string unstructured_header(std::string_view name, std::string_view value) {
    const std::string safe = header_safe(value);
    const std::string_view v = trim(safe);
    std::string out{name};
    out += ':';
    if (v.empty()) return out;
    out += ' ';
    if (is_plain_ascii(v) && v.find("=?") == std::string_view::npos) {
        if (auto folded = fold_plain(out, v)) return std::move(*folded);
    }
    append_encoded_words(out, v, out.size());
    return out;
}

bool valid_address(std::string_view address) {
    if (address.size() < 3 || address.size() > 254) return false;
    const std::size_t at = address.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 == address.size()) return false;
    if (address.find('@', at + 1) != std::string_view::npos) return false;
    for (const char c : address) {
        if (uc(c) <= 0x20 || uc(c) >= 0x7f) return false;
        if (std::string_view{"<>()[],;:\"\\"}.find(c) != std::string_view::npos) return false;
    }
    return true;
}

std::optional<Mailbox> parse_mailbox(std::string_view text) {
    text = trim(text);
    Mailbox mb;
    const std::size_t open = text.rfind('<');
    if (!text.empty() && text.back() == '>' && open != std::string_view::npos) {
        mb.address = std::string{text.substr(open + 1, text.size() - open - 2)};
        std::string_view name = trim(text.substr(0, open));
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
            name = name.substr(1, name.size() - 2);
            for (std::size_t i = 0; i < name.size(); ++i) {
                if (name[i] == '\\' && i + 1 < name.size()) ++i;
                mb.display_name.push_back(name[i]);
            }
        } else {
            mb.display_name = std::string{name};
        }
    } else {
        mb.address = std::string{text};
    }
    if (!valid_address(mb.address)) return std::nullopt;
    return mb;
}

std::string mailbox_header(std::string_view name, const Mailbox& mailbox) {
    std::string out{name};
    out += ": ";
    const std::string safe = header_safe(mailbox.display_name);
    const std::string_view display = trim(safe);
    const std::string angle = "<" + mailbox.address + ">";
    if (display.empty()) return out + mailbox.address;
    std::size_t line = 0;
    if (is_plain_ascii(display) && display.find("=?") == std::string_view::npos) {
        if (display.find_first_of(kSpecials) == std::string_view::npos) {
            out += display;
        } else {
            out += '"';
            for (const char c : display) {
                if (c == '"' || c == '\\') out += '\\';
                out += c;
            }
            out += '"';
        }
        line = out.size();
    } else {
        line = append_encoded_words(out, display, out.size());
    }
    out += line + 1 + angle.size() > kMaxLine ? "\r\n " : " ";
    out += angle;
    return out;
}

std::string message_id_for(std::string_view reminder_id) {
    return "<" + local_id(reminder_id) + "@rappel>";
}

std::string build_message(const MailInput& in) {
    std::string m;
    m.reserve(1024 + in.text.size() * 2 + in.html.size() * 2);
    const auto line = [&m](std::string_view s) {
        m += s;
        m += "\r\n";
    };
    line("Date: " + format_rfc5322(std::chrono::floor<std::chrono::seconds>(in.date)));
    line(mailbox_header("From", in.from));
    line("To: " + header_safe(in.to));
    line(unstructured_header("Subject", in.subject));
    line("Message-ID: " + header_safe(in.message_id));
    line("MIME-Version: 1.0");
    if (in.language) line(fmt::format("Content-Language: {}", to_string(*in.language)));
    line("Auto-Submitted: auto-generated");
    if (!in.unsubscribe_url.empty()) {
        std::string url;
        for (const char c : header_safe(in.unsubscribe_url)) {
            if (c != ' ' && c != '\t' && c != '<' && c != '>') url += c;
        }
        line("List-Unsubscribe: <" + url + ">");
        // RFC 8058: one-click only for an HTTPS target.
        if (url.starts_with("https://")) line("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    }
    const auto part_headers = [&line](std::string_view type) {
        line(fmt::format("Content-Type: {}; charset=utf-8", type));
        line("Content-Transfer-Encoding: quoted-printable");
        line("");
    };
    if (in.html.empty()) {
        part_headers("text/plain");
        line(quoted_printable(in.text));
        return m;
    }
    // "=_" never occurs in quoted-printable output, so the boundary cannot clash with a body.
    std::string boundary = "=_rappel_" + local_id(in.message_id);
    if (boundary.size() > 70) boundary.resize(70);
    line("Content-Type: multipart/alternative;");
    line(" boundary=\"" + boundary + "\"");
    line("");
    line("This is a multi-part message in MIME format.");
    line("--" + boundary);
    part_headers("text/plain");
    line(quoted_printable(in.text));
    line("--" + boundary);
    part_headers("text/html");
    line(quoted_printable(in.html));
    line("--" + boundary + "--");
    return m;
}

}  // namespace rappel::channels::mime
