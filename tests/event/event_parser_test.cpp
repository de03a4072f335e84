#define BOOST_TEST_MODULE event_parser
#include "engine/event/event_parser.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

using rappel::EventError;
using rappel::EventParser;
using rappel::RenewalEvent;
using json = nlohmann::json;

namespace {

const char* const kValid = R"({"schema":"renewal-event/1","event_id":"evt-000123","type":"due",
 "program":"drivers-licence","licence_id":"C6275-41289-50817","version":3,
 "occurred_at":"2026-11-20T15:04:05Z","due_date":"2027-02-14",
 "holder":{"name":"Geneviève Côté","language":"fr","time_zone":"America/Toronto",
   "contacts":{"sms":"+16135550142","voice":"+16135550143","email":"g.cote@example.ca"},
   "channels":["sms","email","voice"]},
 "data":{"renewal_url":"https://www.ontario.ca/renew","fee":90.00,"count":-1.5e3}})";

json valid() { return json::parse(kValid); }

std::string without(const std::string& pointer) {
    json j = valid();
    const json::json_pointer p(pointer);
    j[p.parent_pointer()].erase(p.back());
    return j.dump();
}

std::string with(const std::string& pointer, const std::string& value_json) {
    json j = valid();
    j[json::json_pointer(pointer)] = json::parse(value_json);
    return j.dump();
}

struct Parsed {
    bool ok = false;
    RenewalEvent ev;
    EventError err;
};

Parsed parse(std::string_view text) {
    static EventParser parser;  // shared on purpose: every test also exercises reuse
    Parsed p;
    p.ok = parser.parse(text, p.ev, p.err);
    return p;
}

std::string dotted(std::string pointer) {
    std::string out;
    for (char c : pointer.substr(1)) out.push_back(c == '/' ? '.' : c);
    return out;
}

struct Case {
    std::string pointer;
    std::string value;  // JSON text
    std::string reason;
};
std::ostream& operator<<(std::ostream& os, const Case& c) {
    return os << c.pointer << " = " << c.value;
}

}  // namespace

BOOST_AUTO_TEST_CASE(valid_event_fills_every_field) {
    const auto p = parse(kValid);
    BOOST_TEST_REQUIRE(p.ok, p.err.reason << ": " << p.err.detail);
    const auto& ev = p.ev;
    BOOST_TEST(ev.event_id == "evt-000123");
    BOOST_TEST((ev.type == rappel::EventType::due));
    BOOST_TEST(ev.program == "drivers-licence");
    BOOST_TEST(ev.licence_id == "C6275-41289-50817");
    BOOST_TEST(ev.version == 3);
    BOOST_TEST(rappel::to_unix_ms(ev.occurred_at) == 1795187045000LL);
    BOOST_TEST((ev.due_date == std::chrono::year_month_day{std::chrono::year{2027},
                                                          std::chrono::February,
                                                          std::chrono::day{14}}));
    BOOST_TEST(ev.holder.name == "Geneviève Côté");
    BOOST_TEST((ev.holder.language == rappel::Language::fr));
    BOOST_TEST(ev.holder.time_zone == "America/Toronto");
    BOOST_TEST(ev.holder.sms == "+16135550142");
    BOOST_TEST(ev.holder.voice == "+16135550143");
    BOOST_TEST(ev.holder.email == "g.cote@example.ca");
    BOOST_TEST_REQUIRE(ev.holder.channels.size() == 3u);
    BOOST_TEST((ev.holder.channels[0] == rappel::ChannelKind::sms));
    BOOST_TEST((ev.holder.channels[1] == rappel::ChannelKind::email));
    BOOST_TEST((ev.holder.channels[2] == rappel::ChannelKind::voice));
    BOOST_TEST_REQUIRE(ev.data.size() == 3u);
    BOOST_TEST(ev.data[0].first == "renewal_url");
    BOOST_TEST(ev.data[0].second == "https://www.ontario.ca/renew");
    BOOST_TEST(ev.data[1].first == "fee");
    BOOST_TEST(ev.data[1].second == "90.00");  // numbers keep their JSON text
    BOOST_TEST(ev.data[2].second == "-1.5e3");
    BOOST_TEST(rappel::outcome_key(ev) == "drivers-licence/C6275-41289-50817");
    BOOST_TEST(p.err.reason.empty());
}

BOOST_AUTO_TEST_CASE(product_example_parses) {
    const auto p = parse(
        R"({"schema":"renewal-event/1","event_id":"evt-000123","type":"due","program":"drivers-licence",
 "licence_id":"C6275-41289-50817","version":3,"occurred_at":"2026-11-20T15:04:05Z",
 "due_date":"2027-02-14","holder":{"name":"Geneviève Côté","language":"fr",
 "time_zone":"America/Toronto","contacts":{"sms":"+16135550142","email":"g.cote@example.ca"},
 "channels":["sms","email"]},"data":{"renewal_url":"https://www.ontario.ca/renew"}})");
    BOOST_TEST(p.ok, p.err.reason << ": " << p.err.detail);
}

const std::vector<std::string> kRequired = {
    "/schema",   "/event_id", "/type",           "/program",        "/licence_id",   "/version",
    "/occurred_at", "/due_date", "/holder", "/holder/language", "/holder/channels"};

BOOST_DATA_TEST_CASE(missing_required_field, boost::unit_test::data::make(kRequired), pointer) {
    const auto p = parse(without(pointer));
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "missing-field");
    BOOST_TEST(p.err.detail.find("'" + dotted(pointer) + "'") != std::string::npos, p.err.detail);
}

const std::vector<Case> kWrongType = {
    {"/schema", "1", "wrong-type"},
    {"/event_id", "5", "wrong-type"},
    {"/type", "true", "wrong-type"},
    {"/program", "[]", "wrong-type"},
    {"/licence_id", "{}", "wrong-type"},
    {"/version", "\"3\"", "wrong-type"},
    {"/version", "1.5", "wrong-type"},
    {"/version", "3.0", "wrong-type"},
    {"/version", "3e2", "wrong-type"},
    {"/occurred_at", "1795186945", "wrong-type"},
    {"/due_date", "20270214", "wrong-type"},
    {"/holder", "\"fr\"", "wrong-type"},
    {"/holder/language", "1", "wrong-type"},
    {"/holder/name", "[\"a\"]", "wrong-type"},
    {"/holder/time_zone", "false", "wrong-type"},
    {"/holder/contacts", "[]", "wrong-type"},
    {"/holder/contacts/sms", "16135550142", "wrong-type"},
    {"/holder/contacts/email", "true", "wrong-type"},
    {"/holder/channels", "\"sms\"", "wrong-type"},
    {"/holder/channels", "[1]", "wrong-type"},
    {"/holder/channels", "[null]", "wrong-type"},
    {"/data", "[]", "wrong-type"},
    {"/data/nested", "{\"a\":1}", "wrong-type"},
    {"/data/flag", "true", "wrong-type"},
    {"/data/list", "[1]", "wrong-type"},
    {"/data/nothing", "null", "wrong-type"},
};

BOOST_DATA_TEST_CASE(wrong_type, boost::unit_test::data::make(kWrongType), c) {
    const auto p = parse(with(c.pointer, c.value));
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == c.reason);
    BOOST_TEST(p.err.detail.find("'" + dotted(c.pointer) + "'") != std::string::npos, p.err.detail);
}

const std::vector<Case> kInvalidValue = {
    {"/version", "-1", "invalid-value"},
    {"/version", "9223372036854775808", "invalid-value"},
    {"/program", "\"Drivers\"", "invalid-value"},
    {"/program", "\"\"", "invalid-value"},
    {"/program", "\"drivers licence\"", "invalid-value"},
    {"/licence_id", "\"" + std::string(65, 'L') + "\"", "invalid-value"},
    {"/licence_id", "\"\"", "invalid-value"},
    {"/event_id", "\"" + std::string(129, 'e') + "\"", "invalid-value"},
    {"/event_id", "\"\"", "invalid-value"},
    {"/event_id", "\"evt\\n1\"", "invalid-value"},
    {"/type", "\"expired\"", "invalid-value"},
    {"/due_date", "\"2027-02-30\"", "invalid-value"},
    {"/due_date", "\"2027-2-14\"", "invalid-value"},
    {"/due_date", "\"2027-02-14T00:00:00Z\"", "invalid-value"},
    {"/occurred_at", "\"garbage\"", "invalid-value"},
    {"/occurred_at", "\"2026-11-20 15:04:05\"", "invalid-value"},
    {"/holder/language", "\"de\"", "invalid-value"},
    {"/holder/language", "\"EN\"", "invalid-value"},
    {"/holder/name", "\"" + std::string(257, 'n') + "\"", "invalid-value"},
    {"/holder/channels", "[]", "invalid-value"},
    {"/holder/channels", "[\"sms\",\"sms\"]", "invalid-value"},
    {"/holder/channels", "[\"fax\"]", "invalid-value"},
    {"/holder/time_zone", "\"Mars/Olympus\"", "invalid-value"},
    {"/holder/time_zone", "\"../../etc/passwd\"", "invalid-value"},
    {"/holder/time_zone", "\"\"", "invalid-value"},
    {"/holder/contacts/sms", "\"6135550142\"", "invalid-value"},
    {"/holder/contacts/sms", "\"+06135550142\"", "invalid-value"},
    {"/holder/contacts/sms", "\"+1613555\"", "invalid-value"},
    {"/holder/contacts/sms", "\"+1234567890123456\"", "invalid-value"},
    {"/holder/contacts/voice", "\"+1 613 555 0142\"", "invalid-value"},
    {"/holder/contacts/email", "\"not-an-email\"", "invalid-value"},
    {"/holder/contacts/email", "\"a@b\"", "invalid-value"},
    {"/holder/contacts/email", "\"a@@b.ca\"", "invalid-value"},
    {"/holder/contacts/email", "\"@b.ca\"", "invalid-value"},
    {"/holder/contacts/email", "\"a b@c.ca\"", "invalid-value"},
    {"/holder/contacts/email", "\"a@b.ca\\r\\nBcc: x@y.ca\"", "invalid-value"},
    {"/holder/contacts/email", "\"" + std::string(250, 'a') + "@b.ca\"", "invalid-value"},
};

BOOST_DATA_TEST_CASE(invalid_value, boost::unit_test::data::make(kInvalidValue), c) {
    const auto p = parse(with(c.pointer, c.value));
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == c.reason);
    BOOST_TEST(p.err.detail.find("'" + dotted(c.pointer) + "'") != std::string::npos, p.err.detail);
}

BOOST_AUTO_TEST_CASE(limits_are_inclusive) {
    json j = valid();
    j["event_id"] = std::string(128, 'e');
    j["licence_id"] = std::string(64, 'L');
    j["program"] = std::string(64, 'p');
    j["holder"]["name"] = std::string(256, 'n');
    j["version"] = 9223372036854775807LL;
    const auto p = parse(j.dump());
    BOOST_TEST_REQUIRE(p.ok, p.err.reason << ": " << p.err.detail);
    BOOST_TEST(p.ev.version == 9223372036854775807LL);
    BOOST_TEST(p.ev.event_id.size() == 128u);
}

BOOST_AUTO_TEST_CASE(character_limits_count_characters_not_bytes) {
    std::string name;
    for (int i = 0; i < 256; ++i) name += "é";  // 512 bytes, 256 characters
    const auto p = parse(with("/holder/name", json(name).dump()));
    BOOST_TEST(p.ok, p.err.reason << ": " << p.err.detail);
}

BOOST_AUTO_TEST_CASE(data_limited_to_64_entries) {
    json j = valid();
    j["data"] = json::object();
    for (int i = 0; i < 64; ++i) j["data"]["k" + std::to_string(i)] = i;
    BOOST_TEST(parse(j.dump()).ok);
    j["data"]["k64"] = "one too many";
    const auto p = parse(j.dump());
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "invalid-value");
}

BOOST_AUTO_TEST_CASE(data_keys_must_be_simple_names) {
    const auto p = parse(with("/data", R"({"a b":"x"})"));
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "invalid-value");
}

BOOST_AUTO_TEST_CASE(unsupported_schema) {
    const auto p = parse(with("/schema", "\"renewal-event/2\""));
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "unsupported-schema");
    BOOST_TEST(p.err.event_id == "evt-000123");
}

BOOST_AUTO_TEST_CASE(schema_mismatch_wins_over_other_errors) {
    json j = valid();
    j["schema"] = "renewal-event/2";
    j["version"] = "three";
    j.erase("program");
    const auto p = parse(j.dump());
    BOOST_TEST(p.err.reason == "unsupported-schema");
}

const std::vector<std::string> kNotJson = {
    "",
    "hello",
    "[1,2,3]",
    "\"a string\"",
    "42",
    "{\"schema\":\"renewal-event/1\",",
    "{\"schema\" \"renewal-event/1\"}",
    "{} {}",
    "{\"schema\":\"renewal-event/1\"}}",
    "{\"x\":[1,,2]}",
    "{\"x\":01}",
    "{\"x\":-}",
    "{\"x\":nul}",
    "{\"x\":tru}",
    "{\"x\":\"bad \\q escape\"}",
};

BOOST_DATA_TEST_CASE(not_json_or_not_an_object, boost::unit_test::data::make(kNotJson), text) {
    const auto p = parse(text);
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "invalid-json", p.err.reason << ": " << p.err.detail);
}

BOOST_AUTO_TEST_CASE(truncated_json_is_invalid_json) {
    const std::string full = valid().dump();
    for (std::size_t len : {full.size() - 1, full.size() - 2, full.size() / 2, std::size_t{1}}) {
        const auto p = parse(std::string_view(full).substr(0, len));
        BOOST_TEST(!p.ok);
        BOOST_TEST(p.err.reason == "invalid-json", "length " << len << ": " << p.err.reason);
    }
}

BOOST_AUTO_TEST_CASE(malformed_unknown_field_is_invalid_json_even_after_a_field_error) {
    std::string text = with("/version", "\"3\"");
    text.insert(text.size() - 1, ",\"future\":{\"x\":[1,,2]}");
    const auto p = parse(text);
    BOOST_TEST(p.err.reason == "invalid-json");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_invalid_json) {
    std::string text = valid().dump();
    const auto pos = text.find("Genevi");
    BOOST_TEST_REQUIRE(pos != std::string::npos);
    text.insert(pos + 3, "\xff\xfe");
    const auto p = parse(text);
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "invalid-json");

    std::string overlong = valid().dump();
    overlong.insert(overlong.find("Genevi") + 1, "\xc0\xaf");
    BOOST_TEST(parse(overlong).err.reason == "invalid-json");
}

BOOST_AUTO_TEST_CASE(too_large) {
    const std::string mib(1024 * 1024, ' ');
    const auto p = parse(mib);
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "too-large");

    std::string padded = valid().dump();
    padded.append(rappel::kMaxEventBytes - padded.size(), ' ');
    BOOST_TEST(parse(padded).ok);  // exactly at the limit
    padded.push_back(' ');
    BOOST_TEST(parse(padded).err.reason == "too-large");
}

BOOST_AUTO_TEST_CASE(unicode_name_preserved) {
    const auto p = parse(with("/holder/name", "\"Genevi\\u00e8ve C\\u00f4t\\u00e9 \\ud83c\\udf41\""));
    BOOST_TEST_REQUIRE(p.ok, p.err.reason << ": " << p.err.detail);
    BOOST_TEST(p.ev.holder.name == "Geneviève Côté \xf0\x9f\x8d\x81");
}

BOOST_AUTO_TEST_CASE(unknown_fields_ignored) {
    json j = valid();
    j["priority"] = {{"level", 3}, {"tags", {"a", nullptr, true, 1.5}}};
    j["holder"]["pronouns"] = "elle";
    j["holder"]["contacts"]["fax"] = "+16135550199";
    const auto p = parse(j.dump());
    BOOST_TEST(p.ok, p.err.reason << ": " << p.err.detail);
    BOOST_TEST(p.ev.holder.sms == "+16135550142");
}

BOOST_AUTO_TEST_CASE(null_optional_fields_are_absent) {
    json j = valid();
    j["holder"]["name"] = nullptr;
    j["holder"]["time_zone"] = nullptr;
    j["holder"]["contacts"]["voice"] = nullptr;
    j["data"] = nullptr;
    const auto p = parse(j.dump());
    BOOST_TEST_REQUIRE(p.ok, p.err.reason << ": " << p.err.detail);
    BOOST_TEST(p.ev.holder.name.empty());
    BOOST_TEST(p.ev.holder.time_zone.empty());
    BOOST_TEST(p.ev.holder.voice.empty());
    BOOST_TEST(p.ev.data.empty());

    const auto q = parse(with("/program", "null"));
    BOOST_TEST(q.err.reason == "missing-field");
}

BOOST_AUTO_TEST_CASE(duplicate_field_rejected) {
    std::string text = valid().dump();
    text.insert(text.size() - 1, ",\"version\":4");
    const auto p = parse(text);
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.reason == "invalid-value");
    BOOST_TEST(p.err.detail.find("'version'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(consented_channel_without_contact_is_valid) {
    json j = valid();
    j["holder"]["contacts"].erase("voice");
    j["holder"]["contacts"].erase("email");
    const auto p = parse(j.dump());
    BOOST_TEST_REQUIRE(p.ok);
    BOOST_TEST(p.ev.holder.email.empty());
    BOOST_TEST(p.ev.holder.channels.size() == 3u);
}

BOOST_AUTO_TEST_CASE(minimal_due_event) {
    const auto p = parse(R"({"schema":"renewal-event/1","event_id":"e","type":"due","program":"p",
        "licence_id":"L","version":0,"occurred_at":"2026-11-20T10:04:05.25-05:00",
        "due_date":"2028-02-29","holder":{"language":"en","channels":["email"]}})");
    BOOST_TEST_REQUIRE(p.ok, p.err.reason << ": " << p.err.detail);
    BOOST_TEST(p.ev.version == 0);
    BOOST_TEST(rappel::to_unix_ms(p.ev.occurred_at) == 1795187045250LL);
    BOOST_TEST(p.ev.holder.time_zone.empty());
    BOOST_TEST(p.ev.holder.name.empty());
}

BOOST_AUTO_TEST_CASE(renewed_event_without_holder) {
    const auto p = parse(R"({"schema":"renewal-event/1","event_id":"e2","type":"renewed",
        "program":"health-card","licence_id":"1234-567-890","version":7,
        "occurred_at":"2027-01-02T03:04:05Z"})");
    BOOST_TEST_REQUIRE(p.ok, p.err.reason << ": " << p.err.detail);
    BOOST_TEST((p.ev.type == rappel::EventType::renewed));
    BOOST_TEST(p.ev.version == 7);
    BOOST_TEST(rappel::outcome_key(p.ev) == "health-card/1234-567-890");
}

BOOST_AUTO_TEST_CASE(withdrawn_event_drops_holder_data) {
    json j = valid();
    j["type"] = "withdrawn";
    j["holder"].erase("language");
    const auto p = parse(j.dump());
    BOOST_TEST_REQUIRE(p.ok, p.err.reason << ": " << p.err.detail);
    BOOST_TEST(p.ev.holder.sms.empty());
    BOOST_TEST(p.ev.holder.email.empty());
    BOOST_TEST(p.ev.holder.name.empty());
    BOOST_TEST(!p.ev.due_date.ok());
}

BOOST_AUTO_TEST_CASE(event_id_reported_when_readable) {
    const auto p = parse(without("/program"));
    BOOST_TEST(!p.ok);
    BOOST_TEST(p.err.event_id == "evt-000123");

    const auto q = parse(with("/event_id", "17"));
    BOOST_TEST(!q.ok);
    BOOST_TEST(q.err.event_id.empty());

    // event_id after the faulty field still counts
    const auto r = parse(R"({"version":"x","event_id":"late-id"})");
    BOOST_TEST(r.err.reason == "wrong-type");
    BOOST_TEST(r.err.event_id == "late-id");
}

BOOST_AUTO_TEST_CASE(details_never_contain_contact_values) {
    const std::string email = "secret.person@@example.ca";
    const auto p = parse(with("/holder/contacts/email", json(email).dump()));
    BOOST_TEST(p.err.reason == "invalid-value");
    BOOST_TEST(p.err.detail.find("secret.person") == std::string::npos, p.err.detail);
    BOOST_TEST(p.err.detail.find("example.ca") == std::string::npos, p.err.detail);

    const auto q = parse(with("/holder/contacts/sms", "\"+0613999888777\""));
    BOOST_TEST(q.err.reason == "invalid-value");
    BOOST_TEST(q.err.detail.find("999888777") == std::string::npos, q.err.detail);

    const auto r = parse(with("/holder/name", json(std::string(300, 'Z')).dump()));
    BOOST_TEST(r.err.reason == "invalid-value");
    BOOST_TEST(r.err.detail.find("ZZZ") == std::string::npos, r.err.detail);
}

BOOST_AUTO_TEST_CASE(parser_reuse_leaves_nothing_behind) {
    EventParser parser;
    RenewalEvent ev;
    EventError err;
    BOOST_TEST_REQUIRE(parser.parse(kValid, ev, err));
    BOOST_TEST(!parser.parse("{\"x\":", ev, err));
    BOOST_TEST(err.reason == "invalid-json");
    BOOST_TEST_REQUIRE(parser.parse(without("/data"), ev, err));
    BOOST_TEST(ev.data.empty());
    BOOST_TEST(err.reason.empty());
    BOOST_TEST_REQUIRE(parser.parse(without("/holder/contacts/sms"), ev, err));
    BOOST_TEST(ev.holder.sms.empty());
    BOOST_TEST(ev.holder.channels.size() == 3u);
    // time zone answered from the cache the second time
    BOOST_TEST(parser.parse(with("/holder/time_zone", "\"America/Winnipeg\""), ev, err));
    BOOST_TEST(parser.parse(with("/holder/time_zone", "\"America/Winnipeg\""), ev, err));
    BOOST_TEST(ev.holder.time_zone == "America/Winnipeg");
    BOOST_TEST(!parser.parse(with("/holder/time_zone", "\"Mars/Olympus\""), ev, err));
    BOOST_TEST(!parser.parse(with("/holder/time_zone", "\"Mars/Olympus\""), ev, err));
    BOOST_TEST(err.reason == "invalid-value");
}

BOOST_AUTO_TEST_CASE(input_need_not_be_padded_or_terminated) {
    // A view into the middle of a larger buffer, as a Kafka payload would be.
    const std::string text = valid().dump();
    const std::string framed = "XXXX" + text + "}}}}";
    const auto p = parse(std::string_view(framed).substr(4, text.size()));
    BOOST_TEST(p.ok, p.err.reason << ": " << p.err.detail);
}
