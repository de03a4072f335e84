#include "engine/event/event_parser.hpp"

#include "engine/base/text.hpp"
#include "engine/base/time_format.hpp"

#include <date/tz.h>
#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <unordered_set>

namespace rappel {
namespace {

namespace od = simdjson::ondemand;

constexpr std::string_view kSchema = "renewal-event/1";
constexpr std::size_t kMaxNameChars = 256;
constexpr std::size_t kMaxEmailBytes = 254;
constexpr std::size_t kMaxDataEntries = 64;
constexpr std::size_t kMaxDataKeyBytes = 64;
constexpr std::size_t kMaxTimeZoneBytes = 64;
constexpr int kMaxNesting = 32;
constexpr std::size_t kMaxUnknownZones = 256;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool has_control(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

// raw_json_token() includes the whitespace that follows the token.
std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// JSON number grammar (RFC 8259 section 6); On Demand does not check tokens it only peeks at.
bool is_json_number(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    if (i < n && s[i] == '-') ++i;
    if (i == n) return false;
    if (s[i] == '0') {
        ++i;
    } else if (is_digit(s[i])) {
        while (i < n && is_digit(s[i])) ++i;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        const std::size_t start = ++i;
        while (i < n && is_digit(s[i])) ++i;
        if (i == start) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        const std::size_t start = i;
        while (i < n && is_digit(s[i])) ++i;
        if (i == start) return false;
    }
    return i == n;
}

bool valid_program(std::string_view s) {
    if (s.empty() || s.size() > kMaxProgramChars) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-')) return false;
    return true;
}

bool valid_e164(std::string_view s) {
    if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
    for (std::size_t i = 2; i < s.size(); ++i)
        if (!is_digit(s[i])) return false;
    return true;
}

// Deliberately loose (RFC 5321 is not checked in full): one '@', a non-empty local part, a
// dotted domain, and none of the characters that could break out of an SMTP header or command.
bool plausible_email(std::string_view s) {
    if (s.size() > kMaxEmailBytes) return false;
    const auto at = s.find('@');
    if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos)
        return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
        if (std::strchr("<>()[]\\,;:\"", c) != nullptr) return false;
    }
    const std::string_view domain = s.substr(at + 1);
    if (domain.empty() || domain.front() == '.' || domain.back() == '.' ||
        domain.find('.') == std::string_view::npos || domain.find("..") != std::string_view::npos)
        return false;
    return true;
}

bool plausible_zone_name(std::string_view s) {
    if (s.empty() || s.size() > kMaxTimeZoneBytes || s.front() == '/' ||
        s.find("..") != std::string_view::npos)
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '/' ||
              c == '_' || c == '-' || c == '+'))
            return false;
    return true;
}

bool valid_data_key(std::string_view s) {
    if (s.empty() || s.size() > kMaxDataKeyBytes) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
              c == '.' || c == '-'))
            return false;
    return true;
}

void reset(RenewalEvent& ev) {
    ev.event_id.clear();
    ev.type = EventType::due;
    ev.program.clear();
    ev.licence_id.clear();
    ev.version = 0;
    ev.occurred_at = TimePoint{};
    ev.due_date = std::chrono::year_month_day{};
    ev.holder.name.clear();
    ev.holder.language = Language::en;
    ev.holder.time_zone.clear();
    ev.holder.sms.clear();
    ev.holder.voice.clear();
    ev.holder.email.clear();
    ev.holder.channels.clear();
    ev.data.clear();
}

struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
using NameSet = std::unordered_set<std::string, NameHash, std::equal_to<>>;

// Caches the outcome of date::locate_zone, which throws for unknown names.
class ZoneCache {
public:
    bool known(std::string_view name) {
        if (known_.contains(name)) return true;
        if (unknown_.contains(name)) return false;
        std::string key(name);
        bool ok = false;
        try {
            ok = date::locate_zone(name) != nullptr;
        } catch (const std::exception&) {
            ok = false;
        }
        if (ok) {
            known_.insert(std::move(key));
        } else {
            // Unknown names come from input: bound the set so garbage cannot grow it forever.
            if (unknown_.size() >= kMaxUnknownZones) unknown_.clear();
            unknown_.insert(std::move(key));
        }
        return ok;
    }

private:
    NameSet known_;
    NameSet unknown_;
};

enum class Got { value, absent, bad, json };

enum Field : std::uint32_t {
    f_schema = 1u << 0,
    f_event_id = 1u << 1,
    f_type = 1u << 2,
    f_program = 1u << 3,
    f_licence_id = 1u << 4,
    f_version = 1u << 5,
    f_occurred_at = 1u << 6,
    f_due_date = 1u << 7,
    f_holder = 1u << 8,
    f_data = 1u << 9,
    f_name = 1u << 10,
    f_language = 1u << 11,
    f_time_zone = 1u << 12,
    f_contacts = 1u << 13,
    f_channels = 1u << 14,
    f_sms = 1u << 15,
    f_voice = 1u << 16,
    f_email = 1u << 17,
};

// One parse. Functions returning bool return false only for malformed JSON, which stops
// the walk; every other problem is recorded (first one wins) and the walk goes on, so that
// a syntax error later in the document still reports as invalid-json.
class Reader {
public:
    Reader(ZoneCache& zones, RenewalEvent& out, EventError& err)
        : zones_(zones), out_(out), err_(err) {}

    bool run(od::document& doc) {
        od::json_type t{};
        if (auto e = doc.type().get(t)) return json_failure(e);
        if (t != od::json_type::object) return json_failure("the event is not a JSON object");
        od::object obj;
        if (auto e = doc.get_object().get(obj)) return json_failure(e);
        for (auto fr : obj) {
            od::field f;
            if (auto e = std::move(fr).get(f)) return json_failure(e);
            std::string_view key;
            if (auto e = f.unescaped_key().get(key)) return json_failure(e);
            if (!top_field(key, f.value())) return json_failure();
        }
        // simdjson 3.0 has no document::at_end(); current_location() is OUT_OF_BOUNDS at the end.
        if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS)
            return json_failure("content after the JSON object");
        return finish();
    }

private:
    ZoneCache& zones_;
    RenewalEvent& out_;
    EventError& err_;
    std::uint32_t seen_ = 0;
    bool schema_mismatch_ = false;
    std::string_view first_reason_;
    std::string first_detail_;
    std::string json_detail_;

    bool json_failure(simdjson::error_code e) {
        json_detail_ = std::string("malformed JSON: ") + simdjson::error_message(e);
        return json_failure();
    }
    bool json_failure(std::string_view detail) {
        json_detail_ = detail;
        return json_failure();
    }
    bool json_failure() {
        err_.reason = "invalid-json";
        err_.detail = json_detail_.empty() ? std::string("malformed JSON") : json_detail_;
        return false;
    }

    void fail(std::string_view reason, std::string_view path, std::string_view what) {
        if (!first_reason_.empty()) return;
        first_reason_ = reason;
        first_detail_.assign("field '").append(path).append("' ").append(what);
    }

    // Records the field as seen; a repeated field is an error (the walk goes on).
    bool first_time(Field f, std::string_view path) {
        if (seen_ & f) {
            fail("invalid-value", path, "appears more than once");
            return false;
        }
        seen_ |= f;
        return true;
    }

    bool walk(od::value& v, int depth) {
        if (depth > kMaxNesting) {
            json_detail_ = "nesting deeper than " + std::to_string(kMaxNesting) + " levels";
            return false;
        }
        od::json_type t{};
        if (auto e = v.type().get(t)) return set_json(e);
        switch (t) {
        case od::json_type::array: {
            od::array a;
            if (auto e = v.get_array().get(a)) return set_json(e);
            for (auto er : a) {
                od::value x;
                if (auto e = std::move(er).get(x)) return set_json(e);
                if (!walk(x, depth + 1)) return false;
            }
            return true;
        }
        case od::json_type::object: {
            od::object o;
            if (auto e = v.get_object().get(o)) return set_json(e);
            for (auto fr : o) {
                od::field f;
                if (auto e = std::move(fr).get(f)) return set_json(e);
                std::string_view key;
                if (auto e = f.unescaped_key().get(key)) return set_json(e);
                if (!walk(f.value(), depth + 1)) return false;
            }
            return true;
        }
        case od::json_type::number: return check_number(v);
        case od::json_type::string: {
            std::string_view s;
            if (auto e = v.get_string().get(s)) return set_json(e);
            return true;
        }
        case od::json_type::boolean: {
            bool b = false;
            if (auto e = v.get_bool().get(b)) return set_json(e);
            return true;
        }
        case od::json_type::null: return check_null(v);
        }
        return set_json(simdjson::TAPE_ERROR);
    }

    bool set_json(simdjson::error_code e) {
        json_detail_ = std::string("malformed JSON: ") + simdjson::error_message(e);
        return false;
    }

    bool check_number(od::value& v) {
        if (!is_json_number(trim_right(v.raw_json_token()))) return set_json(simdjson::NUMBER_ERROR);
        return true;
    }

    bool check_null(od::value& v) {
        if (trim_right(v.raw_json_token()) != "null") return set_json(simdjson::N_ATOM_ERROR);
        return true;
    }

    // Reads the type; null is `absent` when allowed. A wrong type is recorded and walked.
    Got expect(od::value& v, od::json_type want, std::string_view path, std::string_view what,
               bool nullable) {
        od::json_type t{};
        if (auto e = v.type().get(t)) {
            set_json(e);
            return Got::json;
        }
        if (t == want) return Got::value;
        if (t == od::json_type::null && nullable) return check_null(v) ? Got::absent : Got::json;
        fail("wrong-type", path, what);
        return walk(v, 1) ? Got::bad : Got::json;
    }

    Got get_string(od::value& v, std::string_view path, std::string_view& s, bool nullable = true) {
        const Got g = expect(v, od::json_type::string, path, "must be a string", nullable);
        if (g != Got::value) return g;
        if (auto e = v.get_string().get(s)) {
            set_json(e);
            return Got::json;
        }
        return Got::value;
    }

    // Handles the common shape: once-only field holding a string. Returns false on bad JSON;
    // `s` is set and `ok` true when a string was read.
    bool string_field(od::value& v, Field f, std::string_view path, std::string_view& s, bool& ok) {
        ok = false;
        if (!first_time(f, path)) return walk(v, 1);
        const Got g = get_string(v, path, s);
        if (g == Got::json) return false;
        if (g == Got::absent) seen_ &= ~static_cast<std::uint32_t>(f);
        ok = g == Got::value;
        return true;
    }

    // Handles the other common shape: once-only field holding an object. Calls each(key,
    // value) per member; returns false on bad JSON or when `each` does.
    template <typename Each>
    bool object_field(od::value& v, Field f, std::string_view path, Each&& each) {
        if (!first_time(f, path)) return walk(v, 1);
        const Got g = expect(v, od::json_type::object, path, "must be an object", true);
        if (g == Got::json) return false;
        if (g == Got::absent) seen_ &= ~static_cast<std::uint32_t>(f);
        if (g != Got::value) return true;
        od::object o;
        if (auto e = v.get_object().get(o)) return set_json(e);
        for (auto fr : o) {
            od::field member;
            if (auto e = std::move(fr).get(member)) return set_json(e);
            std::string_view key;
            if (auto e = member.unescaped_key().get(key)) return set_json(e);
            if (!each(key, member.value())) return false;
        }
        return true;
    }

    bool top_field(std::string_view key, od::value& v) {
        std::string_view s;
        bool ok = false;
        if (key == "schema") {
            if (!string_field(v, f_schema, key, s, ok)) return false;
            if (ok && s != kSchema) schema_mismatch_ = true;
            return true;
        }
        if (key == "event_id") {
            if (!string_field(v, f_event_id, key, s, ok)) return false;
            if (!ok) return true;
            const auto n = utf8::count_code_points(s);
            if (n == 0 || n > kMaxEventIdChars || has_control(s)) {
                fail("invalid-value", key, "must be 1 to 128 characters without control characters");
                return true;
            }
            out_.event_id.assign(s);
            err_.event_id.assign(s);
            return true;
        }
        if (key == "type") {
            if (!string_field(v, f_type, key, s, ok)) return false;
            if (!ok) return true;
            if (s == "due") out_.type = EventType::due;
            else if (s == "renewed") out_.type = EventType::renewed;
            else if (s == "withdrawn") out_.type = EventType::withdrawn;
            else fail("invalid-value", key, "must be \"due\", \"renewed\" or \"withdrawn\"");
            return true;
        }
        if (key == "program") {
            if (!string_field(v, f_program, key, s, ok)) return false;
            if (!ok) return true;
            if (!valid_program(s)) fail("invalid-value", key, "must match [a-z0-9-]{1,64}");
            else out_.program.assign(s);
            return true;
        }
        if (key == "licence_id") {
            if (!string_field(v, f_licence_id, key, s, ok)) return false;
            if (!ok) return true;
            const auto n = utf8::count_code_points(s);
            if (n == 0 || n > kMaxLicenceIdChars || has_control(s))
                fail("invalid-value", key, "must be 1 to 64 characters without control characters");
            else out_.licence_id.assign(s);
            return true;
        }
        if (key == "version") return version(v);
        if (key == "occurred_at") {
            if (!string_field(v, f_occurred_at, key, s, ok)) return false;
            if (!ok) return true;
            if (auto t = parse_rfc3339(s)) out_.occurred_at = *t;
            else fail("invalid-value", key, "must be an RFC 3339 timestamp");
            return true;
        }
        if (key == "due_date") {
            if (!string_field(v, f_due_date, key, s, ok)) return false;
            if (!ok) return true;
            if (auto d = parse_date(s)) out_.due_date = *d;
            else fail("invalid-value", key, "must be a date YYYY-MM-DD");
            return true;
        }
        if (key == "holder") return holder(v);
        if (key == "data") return data(v);
        return walk(v, 1);
    }

    bool version(od::value& v) {
        constexpr std::string_view path = "version";
        constexpr std::string_view what = "must be an integer >= 0";
        if (!first_time(f_version, path)) return walk(v, 1);
        const Got g = expect(v, od::json_type::number, path, what, true);
        if (g == Got::json) return false;
        if (g == Got::absent) seen_ &= ~static_cast<std::uint32_t>(f_version);
        if (g != Got::value) return true;
        const std::string_view tok = trim_right(v.raw_json_token());
        if (!is_json_number(tok)) return set_json(simdjson::NUMBER_ERROR);
        if (tok.find_first_of(".eE") != std::string_view::npos) {
            fail("wrong-type", path, what);
        } else if (tok.front() == '-') {
            fail("invalid-value", path, what);
        } else {
            std::int64_t n = 0;
            const auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), n);
            if (ec != std::errc{} || p != tok.data() + tok.size())
                fail("invalid-value", path, "is out of range");
            else
                out_.version = n;
        }
        return true;
    }

    bool holder(od::value& v) {
        return object_field(v, f_holder, "holder",
                            [this](std::string_view key, od::value& x) { return holder_field(key, x); });
    }

    bool holder_field(std::string_view key, od::value& v) {
        std::string_view s;
        bool ok = false;
        if (key == "name") {
            if (!string_field(v, f_name, "holder.name", s, ok)) return false;
            if (!ok) return true;
            if (utf8::count_code_points(s) > kMaxNameChars || has_control(s))
                fail("invalid-value", "holder.name", "must be at most 256 characters without control characters");
            else
                out_.holder.name.assign(s);
            return true;
        }
        if (key == "language") {
            if (!string_field(v, f_language, "holder.language", s, ok)) return false;
            if (!ok) return true;
            if (auto l = parse_language(s)) out_.holder.language = *l;
            else fail("invalid-value", "holder.language", "must be \"en\" or \"fr\"");
            return true;
        }
        if (key == "time_zone") {
            if (!string_field(v, f_time_zone, "holder.time_zone", s, ok)) return false;
            if (!ok) return true;
            if (!plausible_zone_name(s) || !zones_.known(s))
                fail("invalid-value", "holder.time_zone", "must be a known IANA time zone");
            else
                out_.holder.time_zone.assign(s);
            return true;
        }
        if (key == "contacts") return contacts(v);
        if (key == "channels") return channels(v);
        return walk(v, 1);
    }

    bool contacts(od::value& v) {
        return object_field(v, f_contacts, "holder.contacts", [this](std::string_view key, od::value& val) {
            std::string_view s;
            bool ok = false;
            if (key == "sms" || key == "voice") {
                const bool sms = key == "sms";
                const std::string_view p = sms ? "holder.contacts.sms" : "holder.contacts.voice";
                if (!string_field(val, sms ? f_sms : f_voice, p, s, ok)) return false;
                if (!ok) return true;
                if (!valid_e164(s)) fail("invalid-value", p, "must be an E.164 number");
                else (sms ? out_.holder.sms : out_.holder.voice).assign(s);
                return true;
            }
            if (key == "email") {
                const std::string_view p = "holder.contacts.email";
                if (!string_field(val, f_email, p, s, ok)) return false;
                if (!ok) return true;
                if (!plausible_email(s)) fail("invalid-value", p, "must be an email address");
                else out_.holder.email.assign(s);
                return true;
            }
            return walk(val, 2);
        });
    }

    bool channels(od::value& v) {
        constexpr std::string_view path = "holder.channels";
        if (!first_time(f_channels, path)) return walk(v, 1);
        const Got g = expect(v, od::json_type::array, path, "must be an array of strings", true);
        if (g == Got::json) return false;
        if (g == Got::absent) seen_ &= ~static_cast<std::uint32_t>(f_channels);
        if (g != Got::value) return true;
        od::array a;
        if (auto e = v.get_array().get(a)) return set_json(e);
        for (auto er : a) {
            od::value x;
            if (auto e = std::move(er).get(x)) return set_json(e);
            std::string_view s;
            const Got gs = get_string(x, path, s, false);
            if (gs == Got::json) return false;
            if (gs != Got::value) continue;
            const auto c = parse_channel_kind(s);
            if (!c) {
                fail("invalid-value", path, "must contain only \"sms\", \"email\" or \"voice\"");
                continue;
            }
            for (ChannelKind have : out_.holder.channels) {
                if (have == *c) {
                    fail("invalid-value", path, "must not repeat a channel");
                    break;
                }
            }
            out_.holder.channels.push_back(*c);
        }
        return true;
    }

    bool data(od::value& v) {
        constexpr std::string_view path = "data";
        std::size_t entries = 0;
        std::string entry_path;
        return object_field(v, f_data, path, [&](std::string_view key, od::value& val) {
            if (++entries > kMaxDataEntries) {
                fail("invalid-value", path, "must have at most 64 entries");
                return walk(val, 2);
            }
            if (!valid_data_key(key)) {
                fail("invalid-value", path, "keys must match [A-Za-z0-9_.-]{1,64}");
                return walk(val, 2);
            }
            entry_path.assign("data.").append(key);
            bool duplicate = false;
            for (const auto& kv : out_.data) duplicate = duplicate || kv.first == key;
            if (duplicate) {
                fail("invalid-value", entry_path, "appears more than once");
                return walk(val, 2);
            }
            od::json_type t{};
            if (auto e = val.type().get(t)) return set_json(e);
            if (t == od::json_type::string) {
                std::string_view s;
                if (auto e = val.get_string().get(s)) return set_json(e);
                out_.data.emplace_back(std::string(key), std::string(s));
            } else if (t == od::json_type::number) {
                const std::string_view tok = trim_right(val.raw_json_token());
                if (!is_json_number(tok)) return set_json(simdjson::NUMBER_ERROR);
                out_.data.emplace_back(std::string(key), std::string(tok));
            } else {
                fail("wrong-type", entry_path, "must be a string or a number");
                return walk(val, 2);
            }
            return true;
        });
    }

    bool report(std::string_view reason, std::string detail) {
        err_.reason.assign(reason);
        err_.detail = std::move(detail);
        return false;
    }

    bool require(Field f, std::string_view path) {
        if (seen_ & f) return true;
        return report("missing-field", "field '" + std::string(path) + "' is required");
    }

    bool finish() {
        if (schema_mismatch_)
            return report("unsupported-schema", "field 'schema' must be \"renewal-event/1\"");
        if (!first_reason_.empty()) return report(first_reason_, std::move(first_detail_));
        if (!require(f_schema, "schema") || !require(f_event_id, "event_id") ||
            !require(f_type, "type") || !require(f_program, "program") ||
            !require(f_licence_id, "licence_id") || !require(f_version, "version") ||
            !require(f_occurred_at, "occurred_at"))
            return false;
        if (out_.type == EventType::due) {
            if (!require(f_due_date, "due_date") || !require(f_holder, "holder") ||
                !require(f_language, "holder.language") || !require(f_channels, "holder.channels"))
                return false;
            if (out_.holder.channels.empty())
                return report("invalid-value", "field 'holder.channels' must not be empty");
        } else {
            // Contact data is only needed to send reminders, which only `due` creates.
            out_.holder = Holder{};
            out_.due_date = std::chrono::year_month_day{};
        }
        return true;
    }
};

}  // namespace

struct EventParser::Impl {
    od::parser parser{kMaxEventBytes};
    std::unique_ptr<char[]> buffer{new char[kMaxEventBytes + simdjson::SIMDJSON_PADDING]};
    ZoneCache zones;
};

EventParser::EventParser() : impl_(std::make_unique<Impl>()) {}
EventParser::~EventParser() = default;
EventParser::EventParser(EventParser&&) noexcept = default;
EventParser& EventParser::operator=(EventParser&&) noexcept = default;

bool EventParser::parse(std::string_view json, RenewalEvent& out, EventError& err) {
    err.reason.clear();
    err.detail.clear();
    err.event_id.clear();
    reset(out);
    if (json.size() > kMaxEventBytes) {
        err.reason = "too-large";
        err.detail = "the event is larger than " + std::to_string(kMaxEventBytes) + " bytes";
        return false;
    }
    char* buf = impl_->buffer.get();
    if (!json.empty()) std::memcpy(buf, json.data(), json.size());
    std::memset(buf + json.size(), 0, simdjson::SIMDJSON_PADDING);
    od::document doc;
    if (auto e = impl_->parser.iterate(buf, json.size(), json.size() + simdjson::SIMDJSON_PADDING)
                     .get(doc)) {
        err.reason = "invalid-json";
        err.detail = std::string("malformed JSON: ") + simdjson::error_message(e);
        return false;
    }
    Reader reader(impl_->zones, out, err);
    return reader.run(doc);
}

}  // namespace rappel
