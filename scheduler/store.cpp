#include "scheduler/store.hpp"

#include "engine/base/time_format.hpp"
#include "scheduler/scripts.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rappel::scheduler {
namespace {

using Json = nlohmann::json;

const redis::Script& apply_script() {
    static const redis::Script s{lua::kApply};
    return s;
}
const redis::Script& claim_script() {
    static const redis::Script s{lua::kClaim};
    return s;
}
const redis::Script& complete_script() {
    static const redis::Script s{lua::kComplete};
    return s;
}
const redis::Script& release_script() {
    static const redis::Script s{lua::kRelease};
    return s;
}

std::string date_text(std::chrono::year_month_day d) {
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                       static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

std::string_view disposition_name(Disposition d) {
    switch (d) {
    case Disposition::schedule: return "schedule";
    case Disposition::expired: return "expired";
    case Disposition::suppressed: return "suppressed";
    }
    return "?";
}

Error redis_error(const redis::Reply& r) { return Error{"redis", r.str}; }

std::int64_t as_int(const redis::Reply& r) {
    if (r.type == redis::Reply::Type::integer) return r.integer;
    if (r.type == redis::Reply::Type::string || r.type == redis::Reply::Type::status) {
        try {
            return std::stoll(r.str);
        } catch (...) {
            return 0;
        }
    }
    return 0;
}

}  // namespace

std::string encode_event_entry(std::int64_t offset, const RenewalEvent& ev,
                               const std::vector<PlannedReminder>& plan) {
    Json j = {{"o", offset},
              {"kind", "event"},
              {"eid", ev.event_id},
              {"type", std::string(to_string(ev.type))},
              {"program", ev.program},
              {"lid", ev.licence_id},
              {"lh", licence_key_hash(ev.program, ev.licence_id)},
              {"ver", ev.version},
              {"key", ev.program + "/" + ev.licence_id}};
    if (ev.type == EventType::due) {
        j["payload"] = encode_payload(ev);
        j["due"] = date_text(ev.due_date);
        Json rem = Json::array();
        for (const auto& r : plan) {
            rem.push_back({{"id", r.reminder_id},
                           {"st", r.stage},
                           {"ch", std::string(to_string(r.channel))},
                           {"at", to_unix_ms(r.fire_at)},
                           {"at_iso", format_rfc3339(r.fire_at)},
                           {"exp", to_unix_ms(r.expires_at)},
                           {"disp", std::string(disposition_name(r.disposition))},
                           {"why", r.reason}});
        }
        j["rem"] = std::move(rem);
    }
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string encode_invalid_entry(std::int64_t offset, std::string_view kafka_key,
                                 const EventError& err) {
    Json j = {{"o", offset},
              {"kind", "invalid"},
              {"eid", err.event_id},
              {"key", std::string(kafka_key)},
              {"reason", err.reason + ": " + err.detail}};
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string encode_payload(const RenewalEvent& ev) {
    Json data = Json::array();
    for (const auto& [k, v] : ev.data) data.push_back({k, v});
    Json j = {{"n", ev.holder.name},
              {"l", std::string(to_string(ev.holder.language))},
              {"s", ev.holder.sms},
              {"v", ev.holder.voice},
              {"e", ev.holder.email},
              {"d", std::move(data)}};
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<Payload> decode_payload(std::string_view text) {
    Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Payload p;
    p.name = j.value("n", "");
    p.language = parse_language(j.value("l", "en")).value_or(Language::en);
    p.sms = j.value("s", "");
    p.voice = j.value("v", "");
    p.email = j.value("e", "");
    if (auto it = j.find("d"); it != j.end() && it->is_array()) {
        for (const auto& kv : *it) {
            if (kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string())
                p.data.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
        }
    }
    return p;
}

ScheduleStore::ScheduleStore(redis::Client& client, std::string prefix, std::string topic,
                             Millis retention)
    : client_(client), prefix_(std::move(prefix)), topic_(std::move(topic)), retention_(retention) {}

void ScheduleStore::apply(std::int32_t partition, std::vector<std::string> entries, TimePoint now,
                          std::function<void(Result<ApplyResult>)> done) {
    const Keys k = keys(partition);
    std::vector<std::string> args;
    args.reserve(entries.size() + 5);
    args.push_back(k.base());
    args.push_back(topic_);
    args.push_back(std::to_string(to_unix_ms(now)));
    args.push_back(format_rfc3339(now));
    args.push_back(std::to_string(retention_.count()));
    for (auto& e : entries) args.push_back(std::move(e));
    client_.eval(apply_script(), {k.schedule(), k.offsets(), k.outbox()}, std::move(args),
                 [done = std::move(done)](redis::Reply r) {
                     if (r.type != redis::Reply::Type::array || r.elements.size() != 4)
                         return done(r.is_error() ? redis_error(r)
                                                  : Error{"redis", "unexpected apply reply"});
                     done(ApplyResult{as_int(r.elements[0]), as_int(r.elements[1]),
                                      as_int(r.elements[2]), as_int(r.elements[3])});
                 });
}

void ScheduleStore::claim(std::int32_t partition, TimePoint now, Millis lease, int max,
                          const std::string& token, std::function<void(Result<ClaimBatch>)> done) {
    const Keys k = keys(partition);
    client_.eval(
        claim_script(), {k.schedule(), k.outbox()},
        {k.base(), std::to_string(to_unix_ms(now)), format_rfc3339(now),
         std::to_string(lease.count()), std::to_string(max), token,
         std::to_string(retention_.count())},
        [done = std::move(done)](redis::Reply r) {
            constexpr std::size_t kFields = 10;
            if (r.type != redis::Reply::Type::array || r.elements.size() < 2)
                return done(r.is_error() ? redis_error(r) : Error{"redis", "unexpected claim reply"});
            ClaimBatch batch;
            const auto next = as_int(r.elements[0]);
            if (next >= 0) batch.next_due = from_unix_ms(next);
            const auto n = static_cast<std::size_t>(as_int(r.elements[1]));
            if (r.elements.size() != 2 + n * kFields)
                return done(Error{"redis", "claim reply has the wrong size"});
            batch.items.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                const auto* f = &r.elements[2 + i * kFields];
                ClaimedReminder c;
                c.reminder_id = std::move(f[0].str);
                c.stage = std::move(f[1].str);
                c.channel = parse_channel_kind(f[2].str).value_or(ChannelKind::sms);
                c.attempt = static_cast<int>(as_int(f[3]));
                c.event_id = std::move(f[4].str);
                c.program = std::move(f[5].str);
                c.licence_id = std::move(f[6].str);
                c.due_date = std::move(f[7].str);
                c.payload = std::move(f[8].str);
                c.fire_at = from_unix_ms(as_int(f[9]));
                batch.items.push_back(std::move(c));
            }
            done(std::move(batch));
        });
}

void ScheduleStore::complete(std::int32_t partition, TimePoint now, const CompleteArgs& a,
                             std::function<void(Result<std::string>)> done) {
    const Keys k = keys(partition);
    std::string_view result = a.result == AttemptResult::sent    ? "sent"
                              : a.result == AttemptResult::retry ? "retry"
                                                                 : "failed";
    client_.eval(complete_script(), {k.schedule(), k.outbox()},
                 {k.base(), a.reminder_id, a.token, std::to_string(to_unix_ms(now)),
                  format_rfc3339(now), std::string(result), a.provider, a.provider_message_id,
                  a.reason, std::to_string(to_unix_ms(a.next_attempt)),
                  std::to_string(a.max_attempts), std::to_string(retention_.count())},
                 [done = std::move(done)](redis::Reply r) {
                     if (r.type == redis::Reply::Type::string || r.type == redis::Reply::Type::status)
                         return done(std::move(r.str));
                     done(r.is_error() ? redis_error(r) : Error{"redis", "unexpected complete reply"});
                 });
}

void ScheduleStore::release(std::int32_t partition, TimePoint now, const std::string& token,
                            std::vector<std::string> reminder_ids,
                            std::function<void(Result<std::int64_t>)> done) {
    const Keys k = keys(partition);
    std::vector<std::string> args{k.base(), std::to_string(to_unix_ms(now)), token};
    for (auto& id : reminder_ids) args.push_back(std::move(id));
    client_.eval(release_script(), {k.schedule()}, std::move(args),
                 [done = std::move(done)](redis::Reply r) {
                     if (r.type == redis::Reply::Type::integer) return done(r.integer);
                     done(r.is_error() ? redis_error(r) : Error{"redis", "unexpected release reply"});
                 });
}

void ScheduleStore::read_outbox(std::int32_t partition, const std::string& after_id, int count,
                                std::function<void(Result<std::vector<OutboxEntry>>)> done) {
    const Keys k = keys(partition);
    client_.command(
        {"XRANGE", k.outbox(), after_id.empty() ? "-" : "(" + after_id, "+", "COUNT",
         std::to_string(count)},
        [done = std::move(done)](redis::Reply r) {
            if (r.type != redis::Reply::Type::array)
                return done(r.is_error() ? redis_error(r) : Error{"redis", "unexpected XRANGE reply"});
            std::vector<OutboxEntry> out;
            out.reserve(r.elements.size());
            for (auto& e : r.elements) {
                if (e.elements.size() != 2) continue;
                OutboxEntry o;
                o.id = std::move(e.elements[0].str);
                auto& fields = e.elements[1].elements;
                for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
                    if (fields[i].str == "k") o.key = std::move(fields[i + 1].str);
                    else if (fields[i].str == "v") o.value = std::move(fields[i + 1].str);
                }
                out.push_back(std::move(o));
            }
            done(std::move(out));
        });
}

void ScheduleStore::delete_outbox(std::int32_t partition, std::vector<std::string> ids,
                                  std::function<void(Result<void>)> done) {
    const Keys k = keys(partition);
    std::vector<std::string> args{"XDEL", k.outbox()};
    for (auto& id : ids) args.push_back(std::move(id));
    client_.command(std::move(args), [done = std::move(done)](redis::Reply r) {
        if (r.is_error()) return done(redis_error(r));
        done(Result<void>{});
    });
}

Result<std::optional<std::int64_t>> ScheduleStore::read_offset(redis::SyncClient& sync,
                                                               const std::string& prefix,
                                                               const std::string& topic,
                                                               std::int32_t partition) {
    const Keys k(prefix, partition);
    auto r = sync.command({"HGET", k.offsets(), topic});
    if (r.is_error()) return redis_error(r);
    if (r.is_nil()) return std::optional<std::int64_t>{};
    return std::optional<std::int64_t>{as_int(r)};
}

}  // namespace rappel::scheduler
