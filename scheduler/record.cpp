#include "scheduler/record.hpp"

#include "engine/base/time_format.hpp"
#include "scheduler/keys.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace rappel::scheduler {
namespace {

constexpr std::uint8_t kFormat = 3;  // 3: the payload ends with the holder's zone
constexpr std::uint8_t kHasPayload = 1;
constexpr std::uint8_t kNotKnown = 2;  // done markers only (restored), see LicenceRecord::known
constexpr std::uint8_t kClaimed = 1;
constexpr std::uint8_t kSuperseded = 2;

// ---- binary encoding: fixed little-endian u64, LEB128 varints, length-prefixed strings ----

class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void fixed64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            u8(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        u8(static_cast<std::uint8_t>(v));
    }
    void svarint(std::int64_t v) {
        varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }
    void str(std::string_view s) {
        varint(s.size());
        out_.append(s);
    }
    void bytes(const std::uint8_t* p, std::size_t n) { out_.append(reinterpret_cast<const char*>(p), n); }

private:
    std::string& out_;
};

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    std::uint8_t u8() {
        if (pos_ >= in_.size()) return fail();
        return static_cast<std::uint8_t>(in_[pos_++]);
    }
    std::uint64_t fixed64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(u8()) << (8 * i);
        return v;
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const std::uint8_t b = u8();
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        return fail();
    }
    std::int64_t svarint() {
        const std::uint64_t z = varint();
        return static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
    }
    std::string str() { return std::string(view()); }
    // Valid as long as the input is.
    std::string_view view() {
        const std::uint64_t n = varint();
        if (!ok_ || n > in_.size() - pos_) {
            fail();
            return {};
        }
        const auto s = in_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    void bytes(std::uint8_t* p, std::size_t n) {
        if (n > in_.size() - pos_) {
            fail();
            return;
        }
        std::memcpy(p, in_.data() + pos_, n);
        pos_ += n;
    }

private:
    std::uint8_t fail() {
        ok_ = false;
        pos_ = in_.size();
        return 0;
    }
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// Holder zones as one byte when common (the records are held in Redis memory): an index into
// this table, or 0xff and the name. Append only: stored records refer to these indexes.
constexpr std::string_view kZones[] = {"", "America/Toronto", "America/Winnipeg", "America/Thunder_Bay",
                                       "America/Atikokan", "America/Rainy_River", "America/Nipigon",
                                       "America/Halifax", "America/Vancouver", "America/Edmonton",
                                       "America/Regina", "America/St_Johns", "America/Montreal"};
constexpr std::uint8_t kZoneByName = 0xff;

void write_zone(Writer& w, std::string_view zone) {
    for (std::size_t i = 0; i < std::size(kZones); ++i) {
        if (kZones[i] == zone) return w.u8(static_cast<std::uint8_t>(i));
    }
    w.u8(kZoneByName);
    w.str(zone);
}

std::string read_zone(Reader& in) {
    const std::uint8_t code = in.u8();
    if (code == kZoneByName) return in.str();
    return code < std::size(kZones) ? std::string(kZones[code]) : std::string();
}

std::int32_t days_of(std::chrono::year_month_day d) {
    return static_cast<std::int32_t>(std::chrono::sys_days{d}.time_since_epoch().count());
}
std::chrono::year_month_day date_of(std::int32_t days) {
    return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{days}}};
}
std::int32_t day_of(TimePoint t) {
    return static_cast<std::int32_t>(std::chrono::floor<std::chrono::days>(t).time_since_epoch().count());
}

std::array<std::uint8_t, 12> rid_bytes(std::string_view rid) {
    // "r" + 24 lowercase hex digits (scheduler/keys.hpp).
    std::array<std::uint8_t, 12> out{};
    auto nibble = [](char c) -> std::uint8_t {
        return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    };
    for (std::size_t i = 0; i < out.size() && 2 * i + 2 < rid.size(); ++i)
        out[i] = static_cast<std::uint8_t>(nibble(rid[1 + 2 * i]) << 4 | nibble(rid[2 + 2 * i]));
    return out;
}

// Bytes JSON strings must escape: control characters, '"' and '\\'.
constexpr std::array<bool, 256> kJsonEscape = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
    t['"'] = t['\\'] = true;
    return t;
}();

void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    const char* p = s.data();
    const char* const end = p + s.size();
    while (p != end) {
        const char* run = p;
        while (p != end && !kJsonEscape[static_cast<unsigned char>(*p)]) ++p;
        out.append(run, static_cast<std::size_t>(p - run));
        if (p == end) break;
        const auto c = static_cast<unsigned char>(*p++);
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default: {
            static constexpr char kHex[] = "0123456789abcdef";
            const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
            out.append(u, sizeof u);
        }
        }
    }
    out.push_back('"');
}

// The reminder an entry stands for, with the due date and event of its own version.
struct EntryView {
    std::string reminder_id;
    std::string_view event_id;
};

EntryView view_of(const LicenceRecord& rec, const Entry& e) {
    const std::int32_t due = e.superseded ? e.own_due_days : rec.due_days;
    return EntryView{reminder_id(rec.program, rec.licence_id, date_of(due), e.stage, e.channel),
                     e.superseded ? std::string_view(e.own_event_id) : std::string_view(rec.event_id)};
}

bool is_done(const LicenceRecord& rec, const std::array<std::uint8_t, 12>& rid) {
    return std::any_of(rec.done.begin(), rec.done.end(), [&](const Done& d) { return d.rid == rid; });
}

void mark_done(LicenceRecord& rec, std::string_view rid, DoneStatus s, TimePoint now) {
    const auto b = rid_bytes(rid);
    if (!is_done(rec, b)) rec.done.push_back(Done{b, s, day_of(now)});
}

PendingOutcome pending(std::string key, const OutcomeFields& f) {
    PendingOutcome o;
    o.key = std::move(key);
    o.event_id = f.event_id;
    o.reminder_id = f.reminder_id;
    o.stage = f.stage;
    o.status = f.status;
    o.channel = f.channel;
    o.provider = f.provider;
    o.provider_message_id = f.provider_message_id;
    o.reason = f.reason;
    o.attempt = f.attempt;
    if (f.scheduled_for) o.scheduled_for = to_unix_ms(*f.scheduled_for);
    return o;
}

void emit(std::vector<PendingOutcome>& out, const LicenceRecord& rec, const OutcomeFields& f) {
    out.push_back(pending(outcome_key(rec.program, rec.licence_id), f));
}

// An entry reached a terminal outcome (or was cancelled): the outcome, and the done marker
// for terminal statuses that must never be repeated.
void end_entry(LicenceRecord& rec, std::size_t index, std::string_view status, std::string_view reason,
               std::optional<DoneStatus> done, const DecisionContext& ctx, std::vector<PendingOutcome>& out,
               std::string_view provider = {}, std::string_view pmid = {}) {
    const Entry& e = rec.entries[index];
    const EntryView v = view_of(rec, e);
    OutcomeFields f;
    f.event_id = v.event_id;
    f.reminder_id = v.reminder_id;
    f.program = rec.program;
    f.licence_id = rec.licence_id;
    f.stage = e.stage;
    f.channel = to_string(e.channel);
    f.provider = provider;
    f.status = status;
    f.attempt = e.attempt;
    f.provider_message_id = pmid;
    f.reason = reason;
    emit(out, rec, f);
    if (done) mark_done(rec, v.reminder_id, *done, ctx.now);
    rec.entries.erase(rec.entries.begin() + static_cast<std::ptrdiff_t>(index));
}

// Contact data is kept only while a reminder of the current version may still need it.
void drop_payload_if_unused(LicenceRecord& rec) {
    const bool needed = std::any_of(rec.entries.begin(), rec.entries.end(),
                                    [](const Entry& e) { return !e.superseded; });
    if (!needed) rec.payload.reset();
}

void prune_done(LicenceRecord& rec, const DecisionContext& ctx) {
    const std::int32_t oldest = day_of(ctx.now - ctx.retention);
    std::erase_if(rec.done, [&](const Done& d) { return d.day < oldest; });
}

}  // namespace

std::optional<std::int64_t> LicenceRecord::next_instant() const {
    std::optional<std::int64_t> best;
    for (const auto& e : entries)
        if (!best || e.due_at() < *best) best = e.due_at();
    return best;
}

LaneInstants lane_instants(const LicenceRecord& r, const WindowBook* book) {
    LaneInstants lanes;
    for (const auto& e : r.entries) {
        const auto lane = static_cast<std::size_t>(book != nullptr ? book->priority(r.program, e.stage)
                                                                   : config::Priority::normal);
        if (!lanes[lane] || e.due_at() < *lanes[lane]) lanes[lane] = e.due_at();
    }
    return lanes;
}

std::int64_t carry_over_at(const LicenceRecord& rec, const Entry& e, TimePoint opening) {
    // Everything carried over to one opening would share its score and go out in licence
    // hash order. A few milliseconds per day left until the due date (at most ~1 s) put the
    // most urgent first within a lane: a stage after the due date, then the closest to it.
    const std::int32_t due = e.superseded ? e.own_due_days : rec.due_days;
    const std::int64_t days_left = std::clamp<std::int64_t>(due - day_of(opening), 0, 999);
    return to_unix_ms(opening) + days_left;
}

TimePoint allowed_at(const LicenceRecord& rec, const Entry& e, const DecisionContext& ctx, TimePoint t) {
    if (ctx.windows == nullptr) return t;
    const config::ProgramConfig* program = ctx.windows->program(rec.program);
    const config::SendWindow* w = program != nullptr ? program->window(e.channel) : nullptr;
    if (w == nullptr) return t;
    const date::time_zone* zone = ctx.windows->zone(rec.payload ? std::string_view(rec.payload->time_zone) : "");
    // Every claimed reminder comes here: the common case (open) takes one zone conversion.
    if (is_open(*w, program->closures, zone, t)) return t;
    return next_opening(*w, program->closures, zone, t);
}

std::string revision_bytes(std::uint64_t rev) {
    if (rev == 0) return {};
    std::string out;
    Writer(out).fixed64(rev);
    return out;
}

std::string encode_record(const LicenceRecord& r) {
    std::string out;
    out.reserve(160 + 24 * r.entries.size());
    Writer w(out);
    w.fixed64(r.rev);
    w.u8(kFormat);
    w.varint(r.version);
    w.str(r.event_id);
    w.str(r.program);
    w.str(r.licence_id);
    w.svarint(r.due_days);
    w.u8(static_cast<std::uint8_t>((r.payload ? kHasPayload : 0) | (r.known ? 0 : kNotKnown)));
    if (r.payload) {
        const Payload& p = *r.payload;
        w.u8(p.language == Language::fr ? 1 : 0);
        w.str(p.name);
        w.str(p.sms);
        w.str(p.voice);
        w.str(p.email);
        w.varint(p.data.size());
        for (const auto& [k, v] : p.data) {
            w.str(k);
            w.str(v);
        }
        write_zone(w, p.time_zone);
    }
    w.varint(r.entries.size());
    for (const auto& e : r.entries) {
        w.str(e.stage);
        w.u8(static_cast<std::uint8_t>(e.channel));
        w.u8(static_cast<std::uint8_t>((e.claimed ? kClaimed : 0) | (e.superseded ? kSuperseded : 0)));
        w.varint(static_cast<std::uint64_t>(e.attempt));
        w.svarint(e.fire_at);
        w.svarint(e.expires_at - e.fire_at);
        if (e.claimed) {
            w.fixed64(e.token);
            w.svarint(e.lease_until - e.fire_at);
        }
        if (e.superseded) {
            w.svarint(e.own_due_days);
            w.str(e.own_event_id);
        }
    }
    w.varint(r.done.size());
    for (const auto& d : r.done) {
        w.bytes(d.rid.data(), d.rid.size());
        w.u8(static_cast<std::uint8_t>(d.status));
        w.svarint(d.day);
    }
    return out;
}

Result<LicenceRecord> decode_record(std::string_view bytes) {
    Reader in(bytes);
    LicenceRecord r;
    r.rev = in.fixed64();
    const std::uint8_t format = in.u8();
    if (!in.ok() || format != kFormat)
        return Error{"corrupt-record", fmt::format("licence record has format {}, expected {}", format, kFormat)};
    r.version = in.varint();
    r.event_id = in.str();
    r.program = in.str();
    r.licence_id = in.str();
    r.due_days = static_cast<std::int32_t>(in.svarint());
    const std::uint8_t record_flags = in.u8();
    r.known = !(record_flags & kNotKnown);
    if (record_flags & kHasPayload) {
        Payload p;
        p.language = in.u8() == 1 ? Language::fr : Language::en;
        p.name = in.str();
        p.sms = in.str();
        p.voice = in.str();
        p.email = in.str();
        const std::uint64_t n = in.varint();
        for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
            auto k = in.str();
            auto v = in.str();
            p.data.emplace_back(std::move(k), std::move(v));
        }
        p.time_zone = read_zone(in);
        r.payload = std::move(p);
    }
    const std::uint64_t n = in.varint();
    for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
        Entry e;
        e.stage = in.str();
        const std::uint8_t ch = in.u8();
        if (ch > static_cast<std::uint8_t>(ChannelKind::voice)) return Error{"corrupt-record", "bad channel"};
        e.channel = static_cast<ChannelKind>(ch);
        const std::uint8_t flags = in.u8();
        e.claimed = flags & kClaimed;
        e.superseded = flags & kSuperseded;
        e.attempt = static_cast<int>(in.varint());
        e.fire_at = in.svarint();
        e.expires_at = e.fire_at + in.svarint();
        if (e.claimed) {
            e.token = in.fixed64();
            e.lease_until = e.fire_at + in.svarint();
        }
        if (e.superseded) {
            e.own_due_days = static_cast<std::int32_t>(in.svarint());
            e.own_event_id = in.str();
        }
        r.entries.push_back(std::move(e));
    }
    const std::uint64_t nd = in.varint();
    for (std::uint64_t i = 0; i < nd && in.ok(); ++i) {
        Done d;
        in.bytes(d.rid.data(), d.rid.size());
        d.status = static_cast<DoneStatus>(in.u8());
        d.day = static_cast<std::int32_t>(in.svarint());
        r.done.push_back(d);
    }
    if (!in.ok() || !in.at_end()) return Error{"corrupt-record", "licence record is truncated or has trailing bytes"};
    return r;
}

std::string outcome_key(std::string_view program, std::string_view licence_id) {
    std::string key;
    key.reserve(program.size() + 1 + licence_id.size());
    key.append(program).append(1, '/').append(licence_id);
    return key;
}

std::string outcome_json(const OutcomeFields& f) {
    std::string o;
    o.reserve(320);
    auto field = [&o](std::string_view name, std::string_view value) {
        o.append(name);
        append_json_string(o, value);
    };
    field(R"({"schema":"notification-outcome/1","event_id":)", f.event_id);
    field(R"(,"reminder_id":)", f.reminder_id);
    field(R"(,"program":)", f.program);
    field(R"(,"licence_id":)", f.licence_id);
    field(R"(,"stage":)", f.stage);
    field(R"(,"channel":)", f.channel);
    field(R"(,"provider":)", f.provider);
    field(R"(,"status":)", f.status);
    o.append(R"(,"attempt":)");
    char digits[16];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, f.attempt);
    o.append(digits, ec == std::errc{} ? end : digits);
    field(R"(,"provider_message_id":)", f.provider_message_id);
    field(R"(,"reason":)", f.reason);
    field(R"(,"at":)", f.at);
    if (f.scheduled_for) {
        o.append(R"(,"scheduled_for":")");
        append_rfc3339(o, *f.scheduled_for);
        o.push_back('"');
    }
    o.push_back('}');
    return o;
}

PendingOutcome invalid_outcome(const IngestItem& item) {
    const EventError& e = *item.invalid;
    const std::string reason = e.detail.empty() ? e.reason : e.reason + ": " + e.detail;
    OutcomeFields f;
    f.event_id = e.event_id;
    f.status = "invalid";
    f.reason = reason;
    return pending(item.key, f);
}

ApplyCounts apply_event(LicenceRecord& rec, const IngestItem& item, const DecisionContext& ctx,
                        std::vector<PendingOutcome>& out) {
    const RenewalEvent& ev = item.event;
    ApplyCounts counts;
    const auto version = static_cast<std::uint64_t>(ev.version);
    if (rec.exists() && version <= rec.version) {
        counts.stale = true;
        const std::string reason = fmt::format("version {} is not newer than {}", version, rec.version);
        OutcomeFields f;
        f.event_id = ev.event_id;
        f.program = ev.program;
        f.licence_id = ev.licence_id;
        f.status = "stale";
        f.reason = reason;
            out.push_back(pending(item.key, f));
        return counts;
    }
    if (!rec.exists()) {
        rec.known = true;
        rec.program = ev.program;
        rec.licence_id = ev.licence_id;
    }
    prune_done(rec, ctx);
    const bool due = ev.type == EventType::due;
    const std::int32_t new_due = due ? days_of(ev.due_date) : rec.due_days;
    auto planned = [&](const Entry& e) {
        if (!due || new_due != rec.due_days) return false;
        return std::any_of(item.plan.begin(), item.plan.end(), [&](const PlannedReminder& r) {
            return r.disposition == Disposition::schedule && r.stage == e.stage && r.channel == e.channel;
        });
    };
    // Reminders of the previous version that the new one does not carry any more.
    const std::string_view why = due ? std::string_view("superseded") : to_string(ev.type);
    for (std::size_t i = rec.entries.size(); i-- > 0;) {
        Entry& e = rec.entries[i];
        if (e.superseded || planned(e)) continue;
        if (!e.claimed) {
            end_entry(rec, i, "cancelled", why, std::nullopt, ctx, out);
            ++counts.cancelled;
        } else {
            // In flight: its send may still be reported, a retry of it is cancelled.
            e.own_due_days = rec.due_days;
            e.own_event_id = rec.event_id;
            e.superseded = true;
        }
    }
    rec.version = version;
    rec.event_id = ev.event_id;
    rec.due_days = new_due;
    if (due) {
        bool live = false;
        for (const auto& r : item.plan) {
            const auto rid = rid_bytes(r.reminder_id);
            if (is_done(rec, rid)) continue;  // reached its terminal outcome under an earlier version
            OutcomeFields f;
            f.event_id = ev.event_id;
            f.reminder_id = r.reminder_id;
            f.program = ev.program;
            f.licence_id = ev.licence_id;
            f.stage = r.stage;
            f.channel = to_string(r.channel);
            f.reason = r.reason;
                    if (r.disposition == Disposition::expired) {
                f.status = "expired";
                mark_done(rec, r.reminder_id, DoneStatus::expired, ctx.now);
                out.push_back(pending(item.key, f));
                continue;
            }
            if (r.disposition == Disposition::suppressed) {
                f.status = "suppressed";
                out.push_back(pending(item.key, f));
                continue;
            }
            live = true;
            auto it = std::find_if(rec.entries.begin(), rec.entries.end(), [&](const Entry& e) {
                return !e.superseded && e.stage == r.stage && e.channel == r.channel;
            });
            if (it != rec.entries.end()) {
                if (!it->claimed) it->fire_at = to_unix_ms(r.fire_at);
                it->expires_at = to_unix_ms(r.expires_at);
                continue;
            }
            Entry e;
            e.stage = r.stage;
            e.channel = r.channel;
            e.fire_at = to_unix_ms(r.fire_at);
            e.expires_at = to_unix_ms(r.expires_at);
            rec.entries.push_back(std::move(e));
            f.status = "scheduled";
            f.scheduled_for = r.fire_at;
            out.push_back(pending(item.key, f));
            ++counts.scheduled;
        }
        if (live) {
            Payload p;
            p.name = ev.holder.name;
            p.language = ev.holder.language;
            p.sms = ev.holder.sms;
            p.voice = ev.holder.voice;
            p.email = ev.holder.email;
            p.data = ev.data;
            p.time_zone = ev.holder.time_zone;
            rec.payload = std::move(p);
        }
    }
    drop_payload_if_unused(rec);
    return counts;
}

int claim_entries(LicenceRecord& rec, std::string_view licence_hash, const DecisionContext& ctx,
                  Millis lease, ClaimToken token, const std::function<bool(const ReminderRef&)>& skip,
                  int budget, std::vector<ClaimedReminder>& items, std::vector<PendingOutcome>& out, bool& cut,
                  int* moved) {
    const std::int64_t now = to_unix_ms(ctx.now);
    int claimed = 0;
    for (std::size_t i = 0; i < rec.entries.size();) {
        Entry& e = rec.entries[i];
        if (e.due_at() > now) {
            ++i;
            continue;
        }
        ReminderRef ref{std::string(licence_hash), e.stage, e.channel};
        if (skip && skip(ref)) {
            ++i;
            continue;
        }
        if (e.superseded) {
            end_entry(rec, i, "cancelled", "superseded", std::nullopt, ctx, out);
            continue;
        }
        EntryView v = view_of(rec, e);
        if (is_done(rec, rid_bytes(v.reminder_id))) {
            rec.entries.erase(rec.entries.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        if (now > e.expires_at) {
            end_entry(rec, i, "expired", "late", DoneStatus::expired, ctx, out);
            continue;
        }
        // First attempts, retries, catch-ups and backlogs alike: not outside the window.
        if (const TimePoint open = allowed_at(rec, e, ctx, ctx.now); open != ctx.now) {
            if (open == TimePoint::max() || to_unix_ms(open) > e.expires_at) {
                end_entry(rec, i, "expired", "window closed until expiry", DoneStatus::expired, ctx, out);
                continue;
            }
            e.fire_at = std::min(carry_over_at(rec, e, open), e.expires_at);
            // A claim whose lease ran out gives way too (its result is fenced, as on a
            // re-claim), or the entry would stay due at its old lease and be met every poll.
            e.claimed = false;
            e.token = 0;
            e.lease_until = 0;
            if (moved != nullptr) ++*moved;
            ++i;
            continue;
        }
        if (claimed >= budget) {
            cut = true;
            ++i;
            continue;
        }
        e.claimed = true;
        e.token = token;
        e.lease_until = to_unix_ms(ctx.now + lease);
        ++e.attempt;
        ++claimed;
        ClaimedReminder c;
        c.ref = std::move(ref);
        c.reminder_id = std::move(v.reminder_id);
        c.attempt = e.attempt;
        c.event_id = rec.event_id;
        c.program = rec.program;
        c.licence_id = rec.licence_id;
        c.due_date = date_of(rec.due_days);
        c.fire_at = from_unix_ms(e.fire_at);
        c.expires_at = from_unix_ms(e.expires_at);
        if (rec.payload) c.payload = *rec.payload;
        items.push_back(std::move(c));
        ++i;
    }
    drop_payload_if_unused(rec);
    return claimed;
}

RecordStatus record_attempt(LicenceRecord& rec, const AttemptRecord& a, const DecisionContext& ctx,
                            std::vector<PendingOutcome>& out) {
    auto it = std::find_if(rec.entries.begin(), rec.entries.end(), [&](const Entry& e) {
        return e.claimed && e.token == a.token && e.stage == a.ref.stage && e.channel == a.ref.channel;
    });
    if (it == rec.entries.end()) return RecordStatus::fenced;
    const auto i = static_cast<std::size_t>(it - rec.entries.begin());
    RecordStatus status = RecordStatus::retrying;
    switch (a.result) {
    case AttemptResult::sent:
        end_entry(rec, i, "sent", "", DoneStatus::sent, ctx, out, a.provider, a.provider_message_id);
        status = RecordStatus::sent;
        break;
    case AttemptResult::failed:
        end_entry(rec, i, "failed", a.reason, DoneStatus::failed, ctx, out, a.provider);
        status = RecordStatus::failed;
        break;
    case AttemptResult::retry:
        if (it->superseded) {
            end_entry(rec, i, "cancelled", "superseded", std::nullopt, ctx, out, a.provider);
            status = RecordStatus::cancelled;
        } else if (it->attempt >= a.max_attempts) {
            end_entry(rec, i, "failed", "retries exhausted: " + a.reason, DoneStatus::failed, ctx, out,
                      a.provider);
            status = RecordStatus::failed;
        } else if (const TimePoint next = allowed_at(rec, *it, ctx, a.next_attempt);
                   next == TimePoint::max() || to_unix_ms(next) > it->expires_at) {
            end_entry(rec, i, "expired", "retry after expiry: " + a.reason, DoneStatus::expired, ctx, out,
                      a.provider);
            status = RecordStatus::expired;
        } else {
            // A retry that would come outside the window waits for its next opening.
            it->claimed = false;
            it->token = 0;
            it->lease_until = 0;
            it->fire_at = next == a.next_attempt ? to_unix_ms(next)
                                                 : std::min(carry_over_at(rec, *it, next), it->expires_at);
        }
        break;
    }
    drop_payload_if_unused(rec);
    return status;
}

bool release_entry(LicenceRecord& rec, const ReminderRef& ref, ClaimToken token, TimePoint now) {
    for (auto& e : rec.entries) {
        if (!e.claimed || e.token != token || e.stage != ref.stage || e.channel != ref.channel) continue;
        e.claimed = false;
        e.token = 0;
        e.lease_until = 0;
        e.attempt = std::max(0, e.attempt - 1);
        if (!e.superseded) e.fire_at = std::min(e.fire_at, to_unix_ms(now));
        else e.fire_at = to_unix_ms(now);
        return true;
    }
    return false;
}

bool restore_ended(LicenceRecord& rec, const EndedReminder& ended, const DecisionContext& ctx) {
    if (ended.at < ctx.now - ctx.retention) return false;
    const auto rid = rid_bytes(ended.reminder_id);
    if (is_done(rec, rid)) return false;
    if (!rec.exists() && rec.program.empty()) {
        rec.program = ended.program;
        rec.licence_id = ended.licence_id;
    }
    const DoneStatus s = ended.status == EndedStatus::sent     ? DoneStatus::sent
                         : ended.status == EndedStatus::failed ? DoneStatus::failed
                                                               : DoneStatus::expired;
    rec.done.push_back(Done{rid, s, day_of(ended.at)});
    return true;
}

std::optional<EndedReminder> ended_from_outcome(std::string_view json) {
    simdjson::ondemand::parser parser;
    const simdjson::padded_string padded(json);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded).get(doc)) return std::nullopt;
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) return std::nullopt;
    EndedReminder e;
    std::string_view status, at;
    bool has_status = false, has_rid = false, has_at = false;
    for (auto field : obj) {
        std::string_view name;
        if (field.unescaped_key().get(name)) return std::nullopt;
        std::string_view v;
        if (name == "status" || name == "reminder_id" || name == "program" || name == "licence_id" ||
            name == "at") {
            if (field.value().get_string().get(v)) return std::nullopt;
        } else {
            continue;
        }
        if (name == "status") {
            status = v;
            has_status = true;
            if (status != "sent" && status != "failed" && status != "expired") return std::nullopt;
        } else if (name == "reminder_id") {
            e.reminder_id = v;
            has_rid = true;
        } else if (name == "program") {
            e.program = v;
        } else if (name == "licence_id") {
            e.licence_id = v;
        } else {
            at = v;
            has_at = true;
        }
    }
    // "r" + 24 lowercase hex digits (keys.hpp).
    if (!has_status || !has_rid || !has_at || e.reminder_id.size() != 25 || e.reminder_id[0] != 'r' ||
        e.program.empty() || e.licence_id.empty())
        return std::nullopt;
    if (!std::all_of(e.reminder_id.begin() + 1, e.reminder_id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
        return std::nullopt;
    auto t = parse_rfc3339(at);
    if (!t) return std::nullopt;
    e.at = *t;
    e.status = status == "sent" ? EndedStatus::sent : status == "failed" ? EndedStatus::failed : EndedStatus::expired;
    return e;
}

}  // namespace rappel::scheduler

namespace rappel::scheduler {
namespace {

constexpr std::string_view kStatuses[] = {"scheduled", "sent",      "failed",  "cancelled", "suppressed",
                                          "expired",   "stale",     "invalid", "delivered", "undelivered"};
constexpr std::string_view kChannels[] = {"", "sms", "email", "voice"};
constexpr std::uint8_t kSameKey = 1, kSameEvent = 2, kHasRid = 4, kScheduledFor = 8;

template <std::size_t N>
std::uint8_t index_of(const std::string_view (&table)[N], std::string_view v) {
    for (std::size_t i = 0; i < N; ++i)
        if (table[i] == v) return static_cast<std::uint8_t>(i);
    return 0xff;
}

}  // namespace

std::string encode_outbox(const std::vector<PendingOutcome>& outcomes, TimePoint at) {
    std::string out;
    out.reserve(16 + 48 * outcomes.size());
    Writer w(out);
    w.svarint(to_unix_ms(at));
    const PendingOutcome* prev = nullptr;
    for (const auto& o : outcomes) {
        std::uint8_t flags = 0;
        if (prev && prev->key == o.key) flags |= kSameKey;
        if (prev && prev->event_id == o.event_id) flags |= kSameEvent;
        if (!o.reminder_id.empty()) flags |= kHasRid;
        if (o.scheduled_for >= 0) flags |= kScheduledFor;
        w.u8(flags);
        if (!(flags & kSameKey)) w.str(o.key);
        if (!(flags & kSameEvent)) w.str(o.event_id);
        const std::uint8_t status = index_of(kStatuses, o.status);
        w.u8(status);
        if (status == 0xff) w.str(o.status);
        w.u8(index_of(kChannels, o.channel));
        w.str(o.stage);
        if (flags & kHasRid) {
            const auto rid = rid_bytes(o.reminder_id);
            w.bytes(rid.data(), rid.size());
        }
        w.varint(static_cast<std::uint64_t>(o.attempt));
        w.str(o.provider);
        w.str(o.provider_message_id);
        w.str(o.reason);
        if (flags & kScheduledFor) w.svarint(o.scheduled_for - to_unix_ms(at));
        prev = &o;
    }
    return out;
}

Result<std::vector<Outcome>> render_outbox(std::string_view entry) {
    static constexpr char kHex[] = "0123456789abcdef";
    Reader in(entry);
    const TimePoint at = from_unix_ms(in.svarint());
    char at_text[kRfc3339Size];
    write_rfc3339(at_text, at);
    std::vector<Outcome> out;
    std::string_view key, event_id;  // views into `entry`, as every field below
    while (in.ok() && !in.at_end()) {
        const std::uint8_t flags = in.u8();
        if (!(flags & kSameKey)) key = in.view();
        if (!(flags & kSameEvent)) event_id = in.view();
        const std::uint8_t status_index = in.u8();
        const std::string_view other_status = status_index == 0xff ? in.view() : std::string_view();
        const std::uint8_t channel = in.u8();
        const std::string_view stage = in.view();
        char rid[25];
        std::size_t rid_size = 0;
        if (flags & kHasRid) {
            std::array<std::uint8_t, 12> b{};
            in.bytes(b.data(), b.size());
            rid[rid_size++] = 'r';
            for (auto x : b) {
                rid[rid_size++] = kHex[x >> 4];
                rid[rid_size++] = kHex[x & 0xf];
            }
        }
        OutcomeFields f;
        f.attempt = static_cast<int>(in.varint());
        f.provider = in.view();
        f.provider_message_id = in.view();
        f.reason = in.view();
        if (flags & kScheduledFor) f.scheduled_for = at + Millis{in.svarint()};
        if (!in.ok() || channel >= std::size(kChannels) ||
            (status_index != 0xff && status_index >= std::size(kStatuses)))
            return Error{"corrupt-outbox", "outbox entry cannot be decoded"};
        f.status = status_index == 0xff ? other_status : kStatuses[status_index];
        // The key is "<program>/<licence_id>" (programs have no '/'), except for an invalid
        // event, whose key is whatever the producer sent.
        if (f.status != "invalid") {
            const auto slash = key.find('/');
            if (slash != std::string_view::npos) {
                f.program = key.substr(0, slash);
                f.licence_id = key.substr(slash + 1);
            }
        }
        f.event_id = event_id;
        f.reminder_id = std::string_view(rid, rid_size);
        f.stage = stage;
        f.channel = kChannels[channel];
        f.at = std::string_view(at_text, sizeof at_text);
        out.push_back(Outcome{std::string(key), outcome_json(f)});
    }
    if (!in.ok()) return Error{"corrupt-outbox", "outbox entry is truncated"};
    return out;
}

}  // namespace rappel::scheduler
