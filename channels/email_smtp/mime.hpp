#pragma once
// The RFC 5322 / MIME message the SMTP adapter sends: headers with RFC 2047 encoded-words for
// non-ASCII text, multipart/alternative text + HTML bodies in quoted-printable (RFC 2045),
// and RFC 8058 one-click List-Unsubscribe. Every line stays under 76 characters except a
// List-Unsubscribe URL, which cannot be folded. Base64 and the Date header's format come from
// engine/base (text.hpp, time_format.hpp).
#include "engine/base/channel_kind.hpp"
#include "engine/base/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace rappel::channels::mime {

// Quoted-printable: CRLF line breaks (LF and CRLF in the input are hard breaks), '=' and
// every non-printable or non-ASCII byte as =XX, trailing space/tab encoded, soft breaks
// keep lines at 76 characters at most.
std::string quoted_printable(std::string_view text);

// "Name: value" for an unstructured field (Subject): the value goes through header_safe(),
// becomes UTF-8 B encoded-words when not plain ASCII, and is folded so every line is shorter
// than 76 characters. No trailing CRLF.
std::string unstructured_header(std::string_view name, std::string_view value);

struct Mailbox {
    std::string display_name;
    std::string address;
};

// An addr-spec we are willing to put in an envelope and a header: one '@', non-empty local
// part and domain, no whitespace, control characters, brackets, quotes or commas.
bool valid_address(std::string_view address);
// "Display Name <local@domain>" or a bare "local@domain".
std::optional<Mailbox> parse_mailbox(std::string_view text);
// "From: ..." style header line for one mailbox (encoded-words when the name is not ASCII).
std::string mailbox_header(std::string_view name, const Mailbox& mailbox);

// "<local@rappel>" where local is the reminder id with anything outside [A-Za-z0-9._-]
// replaced by '-'.
std::string message_id_for(std::string_view reminder_id);

struct MailInput {
    Mailbox from;
    std::string to;  // addr-spec, already validated
    std::string subject;
    std::string text;
    std::string html;  // empty: a single text/plain part
    std::string message_id;
    TimePoint date;
    std::optional<Language> language;
    std::string unsubscribe_url;  // empty: no List-Unsubscribe
};

// The whole message, CRLF line endings, ready for DATA (curl does the dot-stuffing).
std::string build_message(const MailInput& in);

}  // namespace rappel::channels::mime
