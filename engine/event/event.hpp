#pragma once
// renewal-event/1, as validated by EventParser (engine/event/event_parser.hpp). See docs/events.md.
#include "engine/base/channel_kind.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rappel {

enum class EventType { due, renewed, withdrawn };
constexpr std::string_view to_string(EventType t) {
    switch (t) {
    case EventType::due: return "due";
    case EventType::renewed: return "renewed";
    case EventType::withdrawn: return "withdrawn";
    }
    return "?";
}

struct Holder {
    std::string name;                    // may be empty
    Language language = Language::en;
    std::string time_zone;               // empty: campaign default
    std::string sms, voice, email;       // empty when absent
    std::vector<ChannelKind> channels;   // consented, most preferred first
};

struct RenewalEvent {
    std::string event_id;
    EventType type = EventType::due;
    std::string program;
    std::string licence_id;
    std::int64_t version = 0;
    TimePoint occurred_at{};
    std::chrono::year_month_day due_date{};  // valid only for type == due
    Holder holder;                           // filled only for type == due
    // `data` values, numbers kept in their JSON text form, in document order.
    std::vector<std::pair<std::string, std::string>> data;
};

// Limits enforced by the validator.
inline constexpr std::size_t kMaxEventBytes = 64 * 1024;
inline constexpr std::size_t kMaxEventIdChars = 128;
inline constexpr std::size_t kMaxLicenceIdChars = 64;
inline constexpr std::size_t kMaxProgramChars = 64;

struct EventError {
    std::string reason;    // stable code for the DLQ header, e.g. "missing-field", "invalid-json"
    std::string detail;    // human text, e.g. "field 'version' must be an integer >= 0"; no contact data
    std::string event_id;  // if it could be read, for the `invalid` outcome
};

// The Kafka key of the event and of its outcomes: "<program>/<licence_id>".
inline std::string outcome_key(const RenewalEvent& ev) {
    std::string key;
    key.reserve(ev.program.size() + 1 + ev.licence_id.size());
    key.append(ev.program).append(1, '/').append(ev.licence_id);
    return key;
}

}  // namespace rappel
