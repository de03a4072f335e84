#define BOOST_TEST_MODULE mime
#include "channels/email_smtp/mime.hpp"
#include "engine/base/text.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace mime = rappel::channels::mime;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t end = text.find("\r\n"); end != std::string::npos;
         start = end + 2, end = text.find("\r\n", start)) {
        lines.push_back(text.substr(start, end - start));
    }
    lines.push_back(text.substr(start));
    return lines;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Strict decoder: fails on anything an encoder must not produce.
std::optional<std::string> qp_decode(const std::string& encoded) {
    std::string out;
    const auto lines = split_lines(encoded);
    for (std::size_t l = 0; l < lines.size(); ++l) {
        const std::string& line = lines[l];
        if (line.size() > 76) return std::nullopt;
        if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) return std::nullopt;
        bool soft = false;
        for (std::size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (static_cast<unsigned char>(c) >= 0x7f) return std::nullopt;
            if (c != '=') {
                out += c;
                continue;
            }
            if (i + 1 == line.size()) {
                soft = true;
                break;
            }
            if (i + 2 >= line.size()) return std::nullopt;
            const int hi = hex_value(line[i + 1]);
            const int lo = hex_value(line[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (!soft && l + 1 < lines.size()) out += "\r\n";
    }
    return out;
}

// Unfolds a header and decodes its UTF-8 B encoded-words; each word must hold whole
// characters (it must not start with a UTF-8 continuation byte).
std::optional<std::string> decode_header_value(const std::string& header) {
    std::string unfolded;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header.compare(i, 2, "\r\n") == 0) {
            if (i + 2 >= header.size() || header[i + 2] != ' ') return std::nullopt;
            ++i;
            continue;
        }
        unfolded += header[i];
    }
    const auto colon = unfolded.find(": ");
    std::string value = unfolded.substr(colon + 2);
    if (value.find("=?") == std::string::npos) return value;
    std::string out;
    std::size_t pos = 0;
    while (pos < value.size()) {
        if (value[pos] == ' ') {
            ++pos;
            continue;
        }
        if (value.compare(pos, 10, "=?UTF-8?B?") != 0) return std::nullopt;
        const auto end = value.find("?=", pos + 10);
        if (end == std::string::npos) return std::nullopt;
        auto bytes = rappel::base64_decode(std::string_view(value).substr(pos + 10, end - pos - 10));
        if (!bytes || bytes->empty()) return std::nullopt;
        if ((static_cast<unsigned char>((*bytes)[0]) & 0xC0) == 0x80) return std::nullopt;
        if (end + 2 - pos > 75) return std::nullopt;
        out += *bytes;
        pos = end + 2;
    }
    return out;
}

const std::string kFrench =
    "Bonjour Émilie, votre permis de conduire expire bientôt. Ça ne prend que cinq minutes "
    "pour le renouveler en ligne; n'oubliez pas votre œuvre = 100 % ✅🚗 ! Merci.";

}  // namespace

BOOST_AUTO_TEST_CASE(quoted_printable_round_trips_and_keeps_lines_short) {
    const std::vector<std::string> inputs = {
        "",
        "plain ascii",
        kFrench,
        kFrench + "\n" + kFrench + "\r\nline with trailing space \nand tab\t\n=== equals ===",
        std::string(300, 'x'),
        std::string(100, '=') + "é",
        "ends with space ",
    };
    for (const auto& in : inputs) {
        const std::string encoded = mime::quoted_printable(in);
        for (const auto& line : split_lines(encoded)) BOOST_TEST(line.size() <= 76U);
        std::string expected;
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') continue;
            if (in[i] == '\n') expected += "\r\n";
            else expected += in[i];
        }
        const auto decoded = qp_decode(encoded);
        BOOST_TEST_REQUIRE(decoded.has_value());
        BOOST_TEST(*decoded == expected);
    }
    BOOST_TEST(mime::quoted_printable("a=b é") == "a=3Db =C3=A9");
    BOOST_TEST(mime::quoted_printable("x \ny") == "x=20\r\ny");
}

BOOST_AUTO_TEST_CASE(non_ascii_subject_becomes_short_encoded_words) {
    const std::string subject = "Rappel : votre permis expire bientôt — renouvelez-le dès "
                                "aujourd'hui, ça évite une amende 🚗 (œuvre, français)";
    const std::string header = mime::unstructured_header("Subject", subject);
    BOOST_TEST(header.starts_with("Subject: =?UTF-8?B?"));
    for (const auto& line : split_lines(header)) BOOST_TEST(line.size() < 76U);
    BOOST_TEST(split_lines(header).size() > 1U);
    const auto decoded = decode_header_value(header);
    BOOST_TEST_REQUIRE(decoded.has_value());
    BOOST_TEST(*decoded == subject);
}

BOOST_AUTO_TEST_CASE(ascii_subject_is_folded_not_encoded) {
    const std::string subject =
        "Reminder: your driver's licence expires soon, renew it online today to avoid a fine";
    const std::string header = mime::unstructured_header("Subject", subject);
    BOOST_TEST(header.find("=?") == std::string::npos);
    for (const auto& line : split_lines(header)) BOOST_TEST(line.size() < 76U);
    BOOST_TEST(*decode_header_value(header) == subject);
    BOOST_TEST(mime::unstructured_header("Subject", "Hi") == "Subject: Hi");
}

BOOST_AUTO_TEST_CASE(crlf_in_header_values_cannot_start_a_header) {
    for (const std::string evil : {"Hello\r\nBcc: victim@example.org", "Hé\r\nBcc: v@example.org",
                                   "a\nX-Injected: 1", "a\rb"}) {
        const std::string header = mime::unstructured_header("Subject", evil);
        for (std::size_t pos = header.find("\r\n"); pos != std::string::npos;
             pos = header.find("\r\n", pos + 2)) {
            BOOST_TEST(header[pos + 2] == ' ');  // only folding
        }
        for (std::size_t i = 0; i < header.size(); ++i) {
            if (header[i] == '\n') BOOST_TEST((i > 0 && header[i - 1] == '\r'));
            if (header[i] == '\r') BOOST_TEST((i + 1 < header.size() && header[i + 1] == '\n'));
        }
        BOOST_TEST(header.find("\nBcc") == std::string::npos);
    }
    mime::Mailbox from{"Evil\r\nBcc: x@example.org", "noreply@example.org"};
    const std::string line = mime::mailbox_header("From", from);
    BOOST_TEST(line.find("\nBcc") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(mailboxes) {
    auto a = mime::parse_mailbox("Rappel Québec <rappels@example.org>");
    BOOST_TEST_REQUIRE(a.has_value());
    BOOST_TEST(a->display_name == "Rappel Québec");
    BOOST_TEST(a->address == "rappels@example.org");
    const std::string header = mime::mailbox_header("From", *a);
    BOOST_TEST(header.starts_with("From: =?UTF-8?B?"));
    BOOST_TEST(header.ends_with(" <rappels@example.org>"));

    auto b = mime::parse_mailbox("noreply@example.org");
    BOOST_TEST_REQUIRE(b.has_value());
    BOOST_TEST(b->display_name.empty());
    BOOST_TEST(mime::mailbox_header("From", *b) == "From: noreply@example.org");

    auto c = mime::parse_mailbox("\"Service, Inc.\" <a@b.example>");
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(mime::mailbox_header("From", *c) == "From: \"Service, Inc.\" <a@b.example>");

    for (const std::string bad : {"", "no-at-sign", "a@b@c", "@x.org", "a@", "a b@c.org",
                                  "a@c.org\r\nRCPT TO:<x@y.org>", "<a@b.org>x", "é@x.org"}) {
        BOOST_TEST(!mime::valid_address(bad), bad);
    }
    BOOST_TEST(mime::valid_address("first.last+tag@sub.example.org"));
}

BOOST_AUTO_TEST_CASE(message_id) {
    BOOST_TEST(mime::message_id_for("r-123_abc.4") == "<r-123_abc.4@rappel>");
    BOOST_TEST(mime::message_id_for("a b<c>@d") == "<a-b-c--d@rappel>");
}

BOOST_AUTO_TEST_CASE(whole_message_structure) {
    mime::MailInput in;
    in.from = {"Rappel", "rappels@example.org"};
    in.to = "holder@example.net";
    in.subject = "Votre permis expire bientôt";
    in.text = kFrench;
    in.html = "<p>" + kFrench + "</p>";
    in.message_id = mime::message_id_for("r-1");
    in.date = rappel::from_unix_ms(1692853305999);
    in.language = rappel::Language::fr;
    in.unsubscribe_url = "https://example.org/u/r-1";
    const std::string m = mime::build_message(in);
    const auto lines = split_lines(m);
    for (const auto& line : lines) BOOST_TEST(line.size() < 77U, line);
    const auto has_line = [&](const std::string& l) {
        return std::find(lines.begin(), lines.end(), l) != lines.end();
    };
    BOOST_TEST(has_line("Date: Thu, 24 Aug 2023 05:01:45 +0000"));  // 1692853305.999 s, not rounded up
    BOOST_TEST(has_line("Message-ID: <r-1@rappel>"));
    BOOST_TEST(has_line("MIME-Version: 1.0"));
    BOOST_TEST(has_line("To: holder@example.net"));
    BOOST_TEST(has_line("List-Unsubscribe: <https://example.org/u/r-1>"));
    BOOST_TEST(has_line("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    BOOST_TEST(has_line("Content-Type: text/plain; charset=utf-8"));
    BOOST_TEST(has_line("Content-Type: text/html; charset=utf-8"));
    BOOST_TEST(has_line("Content-Type: multipart/alternative;"));
    BOOST_TEST(has_line("Content-Language: fr"));

    in.unsubscribe_url = "mailto:unsubscribe@example.org";
    in.html.clear();
    const std::string single = mime::build_message(in);
    BOOST_TEST(single.find("List-Unsubscribe: <mailto:unsubscribe@example.org>") != std::string::npos);
    BOOST_TEST(single.find("List-Unsubscribe-Post") == std::string::npos);
    BOOST_TEST(single.find("multipart") == std::string::npos);
}
