// Template rendering benchmark: renders per second per channel, against the machine's own
// baseline measured in the same run -- fmt::format of the same SMS text with the same five
// values (what a hand-written message would cost).
//   - "template" rows render a compiled Template alone (no channel work);
//   - "set" rows go through TemplateSet::render_into, as the engine does: SMS normalisation,
//     email text + HTML layout, voice TwiML, with the shipped templates in config/templates.
// Nothing asserts timings; the figures are for reading.
#include "templates/template.hpp"
#include "templates/template_set.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

using namespace rappel;
using namespace rappel::templates;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// Keeps results observable so the compiler cannot drop the work.
std::size_t g_sink = 0;

struct Row {
    std::string name;
    double ns = 0;  // per render
    std::size_t bytes = 0;
};

// Runs `f` repeatedly for about `budget`, after a warm-up; returns nanoseconds per call.
template <typename F>
double measure(F&& f, std::chrono::milliseconds budget) {
    for (int i = 0; i < 1000; ++i) g_sink += f();
    std::size_t batch = 1000;
    std::size_t calls = 0;
    const auto start = Steady::now();
    auto elapsed = Steady::duration::zero();
    while (elapsed < budget) {
        for (std::size_t i = 0; i < batch; ++i) g_sink += f();
        calls += batch;
        elapsed = Steady::now() - start;
        if (batch < 100000) batch *= 2;
    }
    return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(calls);
}

config::StageConfig stage(std::string id, int offset) {
    config::StageConfig s;
    s.id = std::move(id);
    s.offset_days = offset;
    s.channels = {ChannelKind::sms, ChannelKind::email, ChannelKind::voice};
    return s;
}

config::Config shipped_config(const fs::path& source_dir) {
    config::Config cfg;
    config::ProviderConfig smtp;
    smtp.name = "smtp";
    smtp.type = config::ProviderType::smtp;
    smtp.unsubscribe_url = "https://example.ca/unsubscribe?r={reminder_id}";
    cfg.providers.push_back(smtp);
    cfg.channel_provider[ChannelKind::email] = "smtp";
    config::ProgramConfig p;
    p.id = "drivers-licence";
    p.display_name = {{Language::en, "driver's licence"}, {Language::fr, "permis de conduire"}};
    p.templates_dir = source_dir / "config" / "templates" / "drivers-licence";
    p.stages = {stage("60d", -60), stage("7d", -7), stage("1d-after", 1)};
    cfg.programs.emplace(p.id, p);
    return cfg;
}

int run(const fs::path& source_dir, std::chrono::milliseconds budget) {
    const std::vector<std::pair<std::string, std::string>> data{
        {"renewal_url", "https://www.ontario.ca/renew"}, {"fee", "90.00"}};
    RenderContext en;
    en.language = Language::en;
    en.name = "Liam O'Brien-Tremblay";
    en.due_date = std::chrono::year{2027} / std::chrono::February / 14;
    en.days_left = 7;
    en.program_name = "driver's licence";
    en.data = &data;
    RenderContext fr = en;
    fr.language = Language::fr;
    fr.name = "Geneviève Côté";
    fr.program_name = "permis de conduire";

    // About 150 characters with five placeholders.
    auto sms = Template::parse("Hello {{name}}, your {{program}} expires on {{due_date}}, in {{days_left}} days. "
                               "Renew online: {{data.renewal_url}}\nServiceOntario. Reply STOP to opt out.");
    if (!sms) {
        std::cerr << sms.error().message << "\n";
        return 1;
    }
    std::vector<Row> rows;
    std::string out;

    {
        // Baseline: the same text with fmt, the values already formatted as text.
        const std::string date = "February 14, 2027";
        rows.push_back({"fmt::format, same SMS text (baseline)", measure([&] {
                            out.clear();
                            fmt::format_to(std::back_inserter(out),
                                           "Hello {}, your {} expires on {}, in {} days. Renew online: {}\n"
                                           "ServiceOntario. Reply STOP to opt out.",
                                           en.name, en.program_name, date, en.days_left, data[0].second);
                            return out.size();
                        }, budget), 0});
        rows.back().bytes = out.size();
    }
    const RenderOptions sms_options{Escape::none, false, kSmsValueMaxChars, {}, {}};
    rows.push_back({"template: SMS, 5 placeholders, en", measure([&] {
                        out.clear();
                        sms->render(en, out, sms_options);
                        return out.size();
                    }, budget), 0});
    rows.back().bytes = out.size();
    rows.push_back({"template: SMS, 5 placeholders, fr", measure([&] {
                        out.clear();
                        sms->render(fr, out, sms_options);
                        return out.size();
                    }, budget), 0});
    rows.back().bytes = out.size();

    const TemplateSet set = TemplateSet::load(shipped_config(source_dir));
    Rendered rendered;
    const std::string unsubscribe = unsubscribe_url_for(shipped_config(source_dir), "r0123456789abcdef01234567");
    en.unsubscribe_url = unsubscribe;
    fr.unsubscribe_url = unsubscribe;
    for (const auto& [channel, label] : {std::pair{ChannelKind::sms, "sms"}, std::pair{ChannelKind::email, "email"},
                                         std::pair{ChannelKind::voice, "voice"}}) {
        for (const RenderContext* ctx : {&en, &fr}) {
            const std::string name = fmt::format("set: {} (shipped 60d), {}", label, to_string(ctx->language));
            const double ns = measure([&] {
                auto r = set.render_into("drivers-licence", "60d", channel, *ctx, rendered);
                return r.ok() ? rendered.text.size() + rendered.html.size() : 0;
            }, budget);
            rows.push_back({name, ns, rendered.text.size() + rendered.html.size() + rendered.subject.size()});
        }
    }

    const double baseline = rows.front().ns;
    fmt::print("{:<44} {:>10} {:>14} {:>10} {:>8}\n", "render", "ns each", "renders/s", "x fmt", "bytes");
    for (const Row& row : rows) {
        fmt::print("{:<44} {:>10.1f} {:>14.0f} {:>10.2f} {:>8}\n", row.name, row.ns, 1e9 / row.ns, row.ns / baseline,
                   row.bytes);
    }
    fmt::print("(one thread; checksum {})\n", g_sink % 1000);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    fs::path source_dir = RAPPEL_SOURCE_DIR;
    long budget_ms = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--source-dir") {
            source_dir = argv[i + 1];
        } else if (a == "--ms") {
            budget_ms = std::atol(argv[i + 1]);
        } else {
            std::cerr << "usage: rappel-bench-render [--ms MILLISECONDS_PER_ROW] [--source-dir DIR]\n";
            return 2;
        }
    }
    if (argc % 2 == 0) {
        std::cerr << "usage: rappel-bench-render [--ms MILLISECONDS_PER_ROW] [--source-dir DIR]\n";
        return 2;
    }
    try {
        return run(source_dir, std::chrono::milliseconds{budget_ms});
    } catch (const std::exception& e) {
        std::cerr << "rappel-bench-render: " << e.what() << "\n";
        return 1;
    }
}
