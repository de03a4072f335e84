// rappel-demo: runs the whole path on embedded defaults. Starts a Kafka mock cluster, a
// redis-server, the provider simulator and an SMTP sink on free loopback ports; publishes the
// example events; runs rappeld on a simulated clock through about three months; prints, per
// holder, each reminder as the citizen received it; stops everything and exits 0.
#include "channels/simulator/twilio_format.hpp"
#include "engine/base/time_format.hpp"
#include "tests/support/stack/stack.hpp"

#include <date/tz.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

using namespace rappel;
using Json = nlohmann::json;

namespace {

struct Options {
    std::string source_dir;
    double speed = 250000;
    std::string clock_start = "2026-12-01T00:00:00Z";
    int horizon_days = 92;
    int timeout_s = 240;
};

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
    return lines;
}

// Lenient: MIME bodies wrap base64 over lines.
std::string base64_decode(std::string_view in) {
    std::string compact;
    for (char c : in)
        if (c != '\r' && c != '\n' && c != ' ') compact += c;
    return sim::base64_decode(compact).value_or(std::string{});
}

// RFC 2047 encoded words (B and Q) in a header value.
std::string decode_header(const std::string& v) {
    std::string out;
    std::size_t pos = 0;
    bool last_was_word = false;
    while (pos < v.size()) {
        const auto start = v.find("=?", pos);
        if (start == std::string::npos) {
            out += v.substr(pos);
            break;
        }
        const auto q1 = v.find('?', start + 2);
        const auto q2 = q1 == std::string::npos ? q1 : v.find('?', q1 + 1);
        const auto end = q2 == std::string::npos ? q2 : v.find("?=", q2 + 1);
        if (end == std::string::npos) {
            out += v.substr(pos);
            break;
        }
        const auto between = v.substr(pos, start - pos);
        if (!(last_was_word && between.find_first_not_of(" \t\r\n") == std::string::npos)) out += between;
        const char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(v[q1 + 1])));
        const auto text = v.substr(q2 + 1, end - q2 - 1);
        if (enc == 'B') {
            out += base64_decode(text);
        } else {
            for (std::size_t i = 0; i < text.size(); ++i) {
                if (text[i] == '_') out += ' ';
                else if (text[i] == '=' && i + 2 < text.size()) {
                    out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
                    i += 2;
                } else out += text[i];
            }
        }
        last_was_word = true;
        pos = end + 2;
    }
    return out;
}

std::string qp_decode(const std::string& in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '=' && i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
            i += (in[i + 1] == '\r' && i + 2 < in.size() && in[i + 2] == '\n') ? 2 : 1;
        } else if (in[i] == '=' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1]))) {
            out += static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else if (in[i] != '\r') {
            out += in[i];
        }
    }
    return out;
}

struct Email {
    std::string subject;
    std::string text;
};

// Extracts the Message-ID, the decoded Subject and the decoded text/plain part.
std::pair<std::string, Email> parse_email(const std::string& raw) {
    std::string message_id;
    Email e;
    std::istringstream in(raw);
    std::string line, header;
    std::vector<std::string> headers;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) break;
        if ((line[0] == ' ' || line[0] == '\t') && !headers.empty()) headers.back() += line;
        else headers.push_back(line);
    }
    for (const auto& h : headers) {
        const auto colon = h.find(':');
        if (colon == std::string::npos) continue;
        std::string name = h.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "message-id") message_id = value;
        if (name == "subject") e.subject = decode_header(value);
    }
    const auto plain = raw.find("text/plain");
    if (plain != std::string::npos) {
        auto body = raw.find("\r\n\r\n", plain);
        std::size_t skip = 4;
        if (body == std::string::npos) {
            body = raw.find("\n\n", plain);
            skip = 2;
        }
        if (body != std::string::npos) {
            const auto end = raw.find("\n--", body + skip);
            std::string part = raw.substr(body + skip, end == std::string::npos ? std::string::npos : end - body - skip);
            const bool qp = raw.substr(plain, body - plain).find("quoted-printable") != std::string::npos;
            const bool b64 = raw.substr(plain, body - plain).find("base64") != std::string::npos;
            e.text = qp ? qp_decode(part) : b64 ? base64_decode(part) : part;
        }
    }
    if (message_id.size() > 2 && message_id.front() == '<') message_id = message_id.substr(1, message_id.size() - 2);
    const auto at = message_id.find('@');
    return {at == std::string::npos ? message_id : message_id.substr(0, at), e};
}

std::string mask(const std::string& contact) {
    if (contact.empty()) return "-";
    if (contact.size() <= 4) return "****";
    return contact.substr(0, contact.size() - 4) + "****";
}

std::string local_time(const std::string& rfc3339, const std::string& zone) {
    auto t = parse_rfc3339(rfc3339);
    if (!t) return rfc3339;
    try {
        return date::format("%a %Y-%m-%d %H:%M %Z",
                            date::make_zoned(zone, std::chrono::floor<std::chrono::minutes>(*t)));
    } catch (...) {
        return rfc3339;
    }
}

std::string one_line(std::string s, std::size_t max = 110) {
    for (auto& c : s)
        if (c == '\n' || c == '\r') c = ' ';
    std::string out;
    bool space = false;
    for (char c : s) {
        if (c == ' ') {
            if (!space) out += c;
            space = true;
        } else {
            out += c;
            space = false;
        }
    }
    if (out.size() > max) {
        std::size_t cut = max;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out = out.substr(0, cut) + "…";
    }
    return out;
}

int run(const Options& opt) {
    const auto events = read_lines(opt.source_dir + "/config/examples/events.jsonl");
    const auto renewals = read_lines(opt.source_dir + "/config/examples/renewed.jsonl");

    std::cout << "rappel demo: starting Kafka mock cluster, redis-server, provider simulator, SMTP sink\n"
              << std::flush;
    testkit::StackOptions so;
    so.clock_start = opt.clock_start;
    so.clock_speed = opt.speed;
    so.log_level = "warn";
    testkit::Stack stack(so);

    for (const auto& e : events) stack.publish(e);
    stack.flush();
    std::cout << fmt::format("published {} events to {}; starting rappeld on a simulated clock from {} at {:.0f}x\n",
                             events.size(), stack.events_topic(), opt.clock_start, opt.speed)
              << std::flush;
    const auto real_start = std::chrono::steady_clock::now();
    auto engine = stack.start_engine("demo");

    // The licence to renew early, once its first reminder has gone out.
    std::string renew_licence;
    if (!renewals.empty()) {
        auto j = Json::parse(renewals.front(), nullptr, false);
        if (j.is_object()) renew_licence = j.value("licence_id", "");
    }
    bool renewed_published = renewals.empty();
    const auto horizon = *parse_rfc3339(opt.clock_start) + std::chrono::days{opt.horizon_days};
    int last_day_printed = -1;

    auto all_done = [&](const std::vector<Json>& outs) {
        if (!renewed_published) {
            for (const auto& o : outs)
                if (o.value("licence_id", "") == renew_licence && o.value("status", "") == "sent") {
                    for (const auto& r : renewals) stack.publish(r);
                    stack.flush();
                    renewed_published = true;
                    std::cout << fmt::format("  [{}] licence renewed early: published its `renewed` event\n",
                                             format_rfc3339(stack.sim_now()).substr(0, 10))
                              << std::flush;
                    break;
                }
        }
        const auto now = stack.sim_now();
        const int day = static_cast<int>((now - *parse_rfc3339(opt.clock_start)) / std::chrono::days{1});
        if (day / 15 != last_day_printed / 15) {
            last_day_printed = day;
            std::cout << fmt::format("  simulated {}: {} outcomes so far\n", format_rfc3339(now).substr(0, 10),
                                     outs.size())
                      << std::flush;
        }
        if (!engine->running()) return true;
        return renewed_published && now >= horizon;
    };
    auto outs = stack.outcomes(all_done, std::chrono::seconds{opt.timeout_s});
    if (!engine->running()) {
        std::cerr << "rappeld exited early; see its log: " << stack.engine_log("demo") << "\n";
        return 1;
    }
    // Let the last outcomes of the horizon arrive, then stop the engine gracefully.
    engine->signal(SIGTERM);
    const auto code = engine->wait(std::chrono::seconds{30});
    outs = stack.outcomes([](const std::vector<Json>&) { return false; }, std::chrono::milliseconds{1500});
    const double real_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - real_start).count();

    // ---- report -----------------------------------------------------------------------
    std::map<std::string, std::string> sms_by_rid;
    for (const auto& r : stack.sim().requests())
        if (r.kind == "message" && r.status / 100 == 2 && !r.duplicate) sms_by_rid[r.idempotency_key] = r.body;
    std::map<std::string, Email> email_by_rid;
    for (const auto& raw : stack.smtp().messages()) {
        auto [rid, email] = parse_email(raw);
        email_by_rid[rid] = email;
    }
    std::map<std::string, std::vector<Json>> by_licence;
    std::map<std::string, int> totals;
    std::vector<Json> event_level;
    for (const auto& o : outs) {
        if (!o.is_object()) continue;
        totals[o.value("status", "?")]++;
        if (o.value("reminder_id", "").empty()) event_level.push_back(o);
        else by_licence[o.value("program", "") + "/" + o.value("licence_id", "")].push_back(o);
    }

    std::cout << fmt::format("\n=== rappel demo report: {} to {} simulated, {:.1f} s real ===\n",
                             opt.clock_start.substr(0, 10), format_rfc3339(horizon).substr(0, 10), real_s);
    std::cout << fmt::format("Times are the holder's local time when the provider accepted the message; at {:.0f}x one "
                             "real millisecond is {:.0f} simulated minutes, so provider latency shows as minutes.\n",
                             opt.speed, opt.speed / 60000.0);
    std::set<std::string> shown;
    int holder_no = 0;
    for (const auto& line : events) {
        auto ev = Json::parse(line, nullptr, false);
        if (!ev.is_object() || !ev.contains("licence_id") || ev.value("type", "") != "due") continue;
        const std::string key = ev.value("program", "") + "/" + ev.value("licence_id", "");
        if (!shown.insert(key).second) continue;
        const auto& h = ev["holder"];
        const std::string zone = h.value("time_zone", "America/Toronto");
        const auto contacts = h.value("contacts", Json::object());
        std::cout << fmt::format("\n#{} {} · {} · {} · {} · due {} · sms {} · email {}\n", ++holder_no,
                                 h.value("name", "(no name)"), key, h.value("language", "?"), zone,
                                 ev.value("due_date", "?"), mask(contacts.value("sms", "")),
                                 mask(contacts.value("email", "")));
        // Latest status per reminder, in the order they were first reported.
        std::vector<std::string> order;
        std::map<std::string, Json> last;
        std::map<std::string, std::string> why_moved;  // the `scheduled` outcome's reason (send windows)
        for (const auto& o : by_licence[key]) {
            const auto rid = o.value("reminder_id", "");
            if (o.value("status", "") == "scheduled" && !o.value("reason", "").empty())
                why_moved[rid] = o.value("reason", "");
            if (!last.count(rid)) order.push_back(rid);
            if (o.value("status", "") != "scheduled" || !last.count(rid)) last[rid] = o;
        }
        for (const auto& rid : order) {
            const auto& o = last[rid];
            const auto status = o.value("status", "?");
            std::string detail;
            if (status == "sent") {
                if (o.value("channel", "") == "sms" && sms_by_rid.count(rid))
                    detail = "\"" + one_line(sms_by_rid[rid]) + "\"";
                else if (email_by_rid.count(rid))
                    detail = "Subject: " + one_line(email_by_rid[rid].subject, 60) + " | " +
                             one_line(email_by_rid[rid].text, 70);
                if (o.value("attempt", 1) > 1) detail += fmt::format(" (attempt {})", o.value("attempt", 1));
            } else {
                detail = o.value("reason", "");
            }
            if (why_moved.count(rid)) detail += " [" + why_moved[rid] + "]";
            std::cout << fmt::format("  {:<9} {:<6} {:<10} {:<26} {}\n", o.value("stage", ""),
                                     o.value("channel", ""), status,
                                     status == "sent" ? local_time(o.value("at", ""), zone) : "", detail);
        }
    }
    if (!event_level.empty()) {
        std::cout << "\nEvent-level outcomes (no reminder):\n";
        for (const auto& o : event_level)
            std::cout << fmt::format("  {:<8} {:<12} {}\n", o.value("status", ""), o.value("event_id", ""),
                                     o.value("reason", ""));
    }
    auto dlq = stack.dead_letters([](const auto& m) { return !m.empty(); }, std::chrono::seconds{2});
    std::cout << fmt::format("\nDead-letter topic {}: {} message(s)\n", stack.dlq_topic(), dlq.size());
    for (const auto& m : dlq) {
        std::string reason;
        for (const auto& [k, v] : m.headers)
            if (k == "rappel-reason" || k == "rappel-detail") reason += (reason.empty() ? "" : ": ") + v;
        std::cout << fmt::format("  from partition {} offset {}: {}\n", m.partition, m.offset, reason);
    }
    // Guarantee 3: every reminder that was scheduled reached exactly one terminal outcome.
    std::map<std::string, int> terminal_count;
    std::set<std::string> scheduled;
    for (const auto& o : outs) {
        if (!o.is_object() || o.value("reminder_id", "").empty()) continue;
        const auto status = o.value("status", "");
        if (status == "scheduled") scheduled.insert(o.value("reminder_id", ""));
        else if (testkit::is_terminal(status)) terminal_count[o.value("reminder_id", "")]++;
    }
    int open = 0, repeated = 0;
    for (const auto& rid : scheduled) open += terminal_count.count(rid) == 0;
    for (const auto& [rid, n] : terminal_count) repeated += n > 1;
    std::cout << fmt::format("\nScheduled reminders: {}; still open: {}; with more than one terminal outcome: {}\n",
                             scheduled.size(), open, repeated);
    std::cout << "\nTotals by outcome:";
    for (const auto& [status, n] : totals) std::cout << fmt::format("  {} {}", status, n);
    std::cout << fmt::format("\nProvider simulator accepted {} SMS; SMTP sink received {} emails.\n",
                             sms_by_rid.size(), email_by_rid.size());
    std::cout << fmt::format("rappeld stopped with exit code {}; everything started by the demo is stopped.\n",
                             code ? *code : -1);
    return code && *code == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    opt.source_dir = testkit::source_dir();
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--help" || a == "-h") {
                std::cout << "Usage: rappel-demo [--source-dir DIR] [--speed X] [--clock-start RFC3339] "
                             "[--days N]\nRuns rappeld end to end on embedded defaults and prints a report.\n";
                return 0;
            } else if (a == "--source-dir") opt.source_dir = next();
            else if (a == "--speed") opt.speed = std::stod(next());
            else if (a == "--clock-start") opt.clock_start = next();
            else if (a == "--days") opt.horizon_days = std::stoi(next());
            else throw std::invalid_argument("unknown option " + a);
        } catch (const std::exception& e) {
            std::cerr << "rappel-demo: " << e.what() << "\n";
            return 2;
        }
    }
    ::setenv("RAPPEL_SOURCE_DIR", opt.source_dir.c_str(), 1);
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "rappel-demo: " << e.what() << "\n";
        return 1;
    }
}
