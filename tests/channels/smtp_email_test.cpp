#define BOOST_TEST_MODULE smtp_email
#include "channels/email_smtp/smtp_email.hpp"
#include "tests/channels/test_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/smtp_sink.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using rappel::ChannelKind;
using rappel::channels::CurlMulti;
using rappel::channels::Message;
using rappel::channels::SendResult;
using rappel::channels::SendStatus;
using rappel::channels::SmtpEmail;
using rappel::testkit::run_until;
using rappel::testkit::SmtpSink;

namespace {

const std::string kSubject = "Rappel : votre permis expire bientôt — ça presse, Émilie ! 🚗 œuvre";
const std::string kText =
    "Bonjour Émilie,\n\nVotre permis de conduire expire le 20 novembre. Renouvelez-le en ligne "
    "dès aujourd'hui : ça ne prend que cinq minutes = aucune file d'attente. Œuvre, façade ✅\n";
const std::string kHtml =
    "<html><body><p>Bonjour Émilie,</p><p>Votre permis de conduire expire le "
    "<strong>20 novembre</strong>. Ça presse ! 🚗</p></body></html>";

rappel::config::ProviderConfig smtp_config(const std::string& url) {
    rappel::config::ProviderConfig p;
    p.name = "smtp-test";
    p.type = rappel::config::ProviderType::smtp;
    p.url = url;
    p.from = "Rappel Québec <rappels@example.org>";
    p.starttls = rappel::config::StartTls::try_;
    p.timeout = std::chrono::milliseconds{5000};
    p.unsubscribe_url = "https://example.org/unsubscribe/{reminder_id}";
    return p;
}

Message email(const std::string& id, const std::string& subject = kSubject) {
    Message m;
    m.reminder_id = id;
    m.channel = ChannelKind::email;
    m.language = rappel::Language::fr;
    m.to = "holder@example.net";
    m.subject = subject;
    m.text = kText;
    m.html = kHtml;
    return m;
}

struct Harness {
    explicit Harness(const std::string& url) : curl(io), channel(smtp_config(url), curl) {}

    SendResult send_one(const Message& m) {
        std::optional<SendResult> result;
        int calls = 0;
        channel.send(m, [&](SendResult r) {
            ++calls;
            result = std::move(r);
        });
        BOOST_TEST(calls == 0);  // never inline
        BOOST_TEST_REQUIRE(run_until(io, [&] { return result.has_value(); }));
        io.restart();
        io.poll();
        BOOST_TEST(calls == 1);
        return *result;
    }

    asio::io_context io;
    CurlMulti curl;
    SmtpEmail channel;
};

std::string normalise(std::string s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
        out += s[i];
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

std::vector<std::string> header_block_lines(const std::string& eml) {
    std::vector<std::string> lines;
    const auto end = eml.find("\r\n\r\n");
    std::size_t start = 0;
    while (start < end) {
        const auto eol = eml.find("\r\n", start);
        lines.push_back(eml.substr(start, eol - start));
        start = eol + 2;
    }
    return lines;
}

}  // namespace

BOOST_AUTO_TEST_CASE(message_arrives_intact) {
    SmtpSink sink;
    Harness h(sink.url());
    BOOST_TEST(h.channel.kind() == ChannelKind::email);
    BOOST_TEST(h.channel.provider() == "smtp-test");
    const SendResult r = h.send_one(email("r-fr-1"));
    BOOST_TEST(r.status == SendStatus::accepted, r.reason);
    BOOST_TEST(r.provider_message_id == "<r-fr-1@rappel>");
    BOOST_TEST_REQUIRE(rappel::testkit::wait_until([&] { return sink.records().size() == 1; },
                                                   std::chrono::seconds{10}));
    const auto rec = nlohmann::json::parse(sink.records().at(0));
    BOOST_TEST_INFO(rec.dump());
    BOOST_TEST_REQUIRE(!rec.contains("parse_error"));
    BOOST_TEST(rec["mail_from"] == "rappels@example.org");
    BOOST_TEST(rec["rcpt_tos"] == nlohmann::json::array({"holder@example.net"}));
    BOOST_TEST(rec["subject"].get<std::string>() == kSubject);
    const auto& parts = rec["parts"];
    BOOST_TEST_REQUIRE(parts.size() == 2U);
    BOOST_TEST(parts[0]["content_type"] == "text/plain");
    BOOST_TEST(parts[0]["charset"] == "utf-8");
    BOOST_TEST(normalise(parts[0]["text"].get<std::string>()) == normalise(kText));
    BOOST_TEST(parts[1]["content_type"] == "text/html");
    BOOST_TEST(normalise(parts[1]["text"].get<std::string>()) == normalise(kHtml));

    const auto messages = sink.messages();
    BOOST_TEST_REQUIRE(messages.size() == 1U);
    const std::string& eml = messages[0];
    const auto headers = header_block_lines(eml);
    const auto has = [&](const std::string& line) {
        return std::find(headers.begin(), headers.end(), line) != headers.end();
    };
    BOOST_TEST(has("Message-ID: <r-fr-1@rappel>"));
    BOOST_TEST(has("List-Unsubscribe: <https://example.org/unsubscribe/r-fr-1>"));
    BOOST_TEST(has("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    BOOST_TEST(has("MIME-Version: 1.0"));
    BOOST_TEST(has("Content-Language: fr"));
    // 7-bit clean and short lines everywhere.
    std::size_t start = 0;
    for (auto eol = eml.find("\r\n"); eol != std::string::npos; start = eol + 2, eol = eml.find("\r\n", start)) {
        BOOST_TEST(eol - start <= 76U);
    }
    for (const char c : eml) BOOST_TEST(static_cast<unsigned char>(c) < 0x80);
}

BOOST_AUTO_TEST_CASE(crlf_in_subject_does_not_create_a_header) {
    SmtpSink sink;
    Harness h(sink.url());
    const SendResult r =
        h.send_one(email("r-inj", "Bonjour\r\nBcc: victim@example.org\r\nX-Evil: 1"));
    BOOST_TEST(r.status == SendStatus::accepted, r.reason);
    BOOST_TEST_REQUIRE(rappel::testkit::wait_until([&] { return sink.records().size() == 1; },
                                                   std::chrono::seconds{10}));
    const auto rec = nlohmann::json::parse(sink.records().at(0));
    BOOST_TEST(rec["rcpt_tos"].size() == 1U);
    for (const auto& name : rec["headers"]) {
        BOOST_TEST(name != "Bcc");
        BOOST_TEST(name != "X-Evil");
    }
    const std::string subject = rec["subject"].get<std::string>();
    BOOST_TEST(subject.find("Bonjour") == 0U);
    BOOST_TEST(subject.find("Bcc: victim@example.org") != std::string::npos);
    BOOST_TEST(subject.find('\n') == std::string::npos);
    for (const auto& line : header_block_lines(sink.messages().at(0))) {
        BOOST_TEST(!line.starts_with("Bcc:"));
        BOOST_TEST(!line.starts_with("X-Evil:"));
    }
}

BOOST_AUTO_TEST_CASE(transient_451_is_retried_then_accepted) {
    SmtpSink sink(1);
    Harness h(sink.url());
    const SendResult first = h.send_one(email("r-451"));
    BOOST_TEST(first.status == SendStatus::retry);
    BOOST_TEST(first.reason == "smtp 451");
    BOOST_TEST(first.provider_message_id.empty());
    const SendResult second = h.send_one(email("r-451"));
    BOOST_TEST(second.status == SendStatus::accepted, second.reason);
    BOOST_TEST_REQUIRE(rappel::testkit::wait_until([&] { return sink.records().size() == 1; },
                                                   std::chrono::seconds{10}));
    BOOST_TEST(sink.messages().size() == 1U);
}

BOOST_AUTO_TEST_CASE(permanent_550_is_rejected) {
    SmtpSink sink(0, "unknown");
    Harness h(sink.url());
    Message m = email("r-550");
    m.to = "unknown@example.net";
    const SendResult r = h.send_one(m);
    BOOST_TEST(r.status == SendStatus::rejected);
    BOOST_TEST(r.reason == "smtp 550");
    // The connection stays usable for the next message.
    const SendResult ok = h.send_one(email("r-after-550"));
    BOOST_TEST(ok.status == SendStatus::accepted, ok.reason);
}

BOOST_AUTO_TEST_CASE(refused_connection_is_retried) {
    Harness h("smtp://127.0.0.1:" + std::to_string(rappel::testkit::free_port()));
    const SendResult r = h.send_one(email("r-refused"));
    BOOST_TEST(r.status == SendStatus::retry);
    BOOST_TEST(r.reason == "connect");
}

BOOST_AUTO_TEST_CASE(invalid_recipient_is_rejected_without_sending) {
    SmtpSink sink;
    Harness h(sink.url());
    Message m = email("r-bad");
    m.to = "holder@example.net>\r\nRCPT TO:<other@example.org";
    const SendResult r = h.send_one(m);
    BOOST_TEST(r.status == SendStatus::rejected);
    BOOST_TEST(h.curl.open_sockets_for_test() == 0U);
}

BOOST_AUTO_TEST_CASE(sequential_messages_reuse_one_connection) {
    SmtpSink sink;
    Harness h(sink.url());
    for (int i = 0; i < 10; ++i) {
        const SendResult r = h.send_one(email("r-seq-" + std::to_string(i)));
        BOOST_TEST(r.status == SendStatus::accepted, r.reason);
    }
    BOOST_TEST_REQUIRE(rappel::testkit::wait_until([&] { return sink.records().size() == 10; },
                                                   std::chrono::seconds{10}));
    std::set<int> peers;
    for (const auto& line : sink.records()) peers.insert(nlohmann::json::parse(line)["peer"][1].get<int>());
    BOOST_TEST(peers.size() == 1U);
    BOOST_TEST(h.curl.open_sockets_for_test() == 1U);
}

BOOST_AUTO_TEST_CASE(concurrent_messages_all_arrive) {
    SmtpSink sink;
    Harness h(sink.url());
    constexpr int kCount = 25;
    std::vector<std::optional<SendResult>> results(kCount);
    for (int i = 0; i < kCount; ++i) {
        h.channel.send(email("r-par-" + std::to_string(i)),
                       [&results, i](SendResult r) { results[static_cast<std::size_t>(i)] = std::move(r); });
    }
    BOOST_TEST_REQUIRE(run_until(h.io, [&] {
        return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    }));
    for (const auto& r : results) BOOST_TEST(r->status == SendStatus::accepted, r->reason);
    BOOST_TEST_REQUIRE(rappel::testkit::wait_until([&] { return sink.records().size() == kCount; },
                                                   std::chrono::seconds{10}));
    std::set<std::string> ids;
    for (const auto& eml : sink.messages()) {
        const auto pos = eml.find("Message-ID: ");
        ids.insert(eml.substr(pos, eml.find("\r\n", pos) - pos));
    }
    BOOST_TEST(ids.size() == static_cast<std::size_t>(kCount));
}

BOOST_AUTO_TEST_CASE(bad_config_throws_at_construction) {
    asio::io_context io;
    CurlMulti curl(io);
    auto p = smtp_config("http://127.0.0.1:25");
    BOOST_CHECK_THROW(SmtpEmail(p, curl), std::invalid_argument);
    p = smtp_config("smtp://127.0.0.1:25");
    p.from = "not an address";
    BOOST_CHECK_THROW(SmtpEmail(p, curl), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_pooled_handle_carries_nothing_from_its_previous_send) {
    SmtpSink sink(0, "unknown");
    Harness h(sink.url());
    Message rejected = email("r-pool-first");
    rejected.to = "unknown@example.net";
    rejected.text = std::string(4000, 'x');  // a longer upload than the next one
    BOOST_TEST(h.send_one(rejected).status == SendStatus::rejected);
    BOOST_TEST(h.channel.idle_handles_for_test() == 1U);

    Message second = email("r-pool-second", "Second");
    second.to = "second@example.net";
    second.text = "short";
    second.html.clear();
    const SendResult r = h.send_one(second);
    BOOST_TEST(r.status == SendStatus::accepted, r.reason);
    BOOST_TEST(r.provider_message_id == "<r-pool-second@rappel>");
    BOOST_TEST(h.channel.idle_handles_for_test() == 1U);  // the same handle, reused
    BOOST_TEST_REQUIRE(rappel::testkit::wait_until([&] { return sink.records().size() == 1; },
                                                   std::chrono::seconds{10}));
    const auto rec = nlohmann::json::parse(sink.records().at(0));
    BOOST_TEST(rec["rcpt_tos"] == nlohmann::json::array({"second@example.net"}));
    BOOST_TEST(rec["subject"] == "Second");
    const auto eml = sink.messages().at(0);
    BOOST_TEST(eml.find("Message-ID: <r-pool-second@rappel>") != std::string::npos);
    BOOST_TEST(eml.find("xxxx") == std::string::npos);
}
