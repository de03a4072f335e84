#pragma once
// Turning a claimed reminder into the message to send: pure (no I/O, no state).
#include "channels/channel.hpp"
#include "engine/config/config.hpp"
#include "scheduler/schedule.hpp"
#include "templates/template_set.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace rappel::core {

struct ComposeError {
    enum class Kind { no_contact, unknown_program, template_error };
    Kind kind = Kind::no_contact;
    std::string message;  // no contact data

    // The `reason` of the reminder's `failed` outcome.
    std::string reason() const;
};

using Composed = std::variant<channels::Message, ComposeError>;

// The message for `reminder` on its channel: its holder's contact, the program's template
// for its stage, channel and the holder's language, the email unsubscribe URL.
Composed compose(const scheduler::ClaimedReminder& reminder, const config::Config& cfg,
                 const templates::TemplateSet& templates);

}  // namespace rappel::core
