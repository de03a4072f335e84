#include "engine/core/compose.hpp"

namespace rappel::core {
namespace {

const std::string& contact_for(const scheduler::Payload& p, ChannelKind c) {
    switch (c) {
    case ChannelKind::sms: return p.sms;
    case ChannelKind::email: return p.email;
    case ChannelKind::voice: return p.voice;
    }
    return p.sms;
}

}  // namespace

std::string ComposeError::reason() const {
    switch (kind) {
    case Kind::no_contact: return "no contact";
    case Kind::unknown_program: return "unknown program";
    case Kind::template_error: return "template: " + message;
    }
    return message;
}

Composed compose(const scheduler::ClaimedReminder& item, const config::Config& cfg,
                 const templates::TemplateSet& templates) {
    const scheduler::Payload& payload = item.payload;
    const ChannelKind channel = item.ref.channel;
    const std::string& to = contact_for(payload, channel);
    if (to.empty())
        return ComposeError{ComposeError::Kind::no_contact,
                            std::string("no ") + std::string(to_string(channel)) + " contact"};
    auto prog = cfg.programs.find(item.program);
    if (prog == cfg.programs.end())
        return ComposeError{ComposeError::Kind::unknown_program,
                            "no campaign is configured for program '" + item.program + "'"};
    int days_left = 0;
    for (const auto& s : prog->second.stages)
        if (s.id == item.ref.stage) days_left = -s.offset_days;
    const auto name_it = prog->second.display_name.find(payload.language);

    templates::RenderContext ctx{};
    ctx.language = payload.language;
    ctx.name = payload.name;
    ctx.due_date = item.due_date;
    ctx.days_left = days_left;
    ctx.program_name = name_it != prog->second.display_name.end() ? std::string_view(name_it->second)
                                                                   : std::string_view(item.program);
    ctx.data = &payload.data;
    const std::string unsubscribe =
        channel == ChannelKind::email ? templates::unsubscribe_url_for(cfg, item.reminder_id) : std::string();
    ctx.unsubscribe_url = unsubscribe;
    auto rendered = templates.render(item.program, item.ref.stage, channel, ctx);
    if (!rendered) return ComposeError{ComposeError::Kind::template_error, rendered.error().message};

    channels::Message msg;
    msg.reminder_id = item.reminder_id;
    msg.channel = channel;
    msg.language = payload.language;
    msg.to = to;
    msg.subject = std::move(rendered.value().subject);
    msg.text = std::move(rendered.value().text);
    msg.html = std::move(rendered.value().html);
    return msg;
}

}  // namespace rappel::core
