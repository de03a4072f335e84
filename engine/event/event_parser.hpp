#pragma once
// Validating parser for renewal-event/1 (PRODUCT.md, "Event contract").
//
// Error reasons (EventError::reason, used as the DLQ header):
//   too-large, invalid-json, unsupported-schema, missing-field, wrong-type, invalid-value.
// Details name the field path only, never its value. `null` is treated as an absent field.
// Unknown fields are ignored (their JSON is still checked for well-formedness).
// Holder fields are validated whenever present, but `holder` and `due_date` are only
// required for, and only kept in the result of, `due` events.
#include "engine/event/event.hpp"

#include <memory>
#include <string_view>

namespace rappel {

// Not thread-safe: one instance per thread, reused across calls (it owns the simdjson
// parser, the padded input buffer and a cache of time-zone names).
class EventParser {
public:
    EventParser();
    ~EventParser();
    EventParser(EventParser&&) noexcept;
    EventParser& operator=(EventParser&&) noexcept;
    EventParser(const EventParser&) = delete;
    EventParser& operator=(const EventParser&) = delete;

    // True and `out` filled when `json` is a valid event. False with `err` filled otherwise;
    // `out` is then unspecified. `err.event_id` is set whenever a valid event_id was read.
    bool parse(std::string_view json, RenewalEvent& out, EventError& err);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rappel
