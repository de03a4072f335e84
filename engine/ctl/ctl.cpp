#include "engine/ctl/ctl.hpp"

#include "engine/config/config.hpp"
#include "engine/config/load_options.hpp"
#include "engine/kafka/check.hpp"
#include "templates/file_names.hpp"
#include "engine/base/text.hpp"
#include "engine/event/event_parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace rappel::ctl {
namespace fs = std::filesystem;
namespace sms = templates::sms;
using templates::TemplateSet;
using templates::TemplateSource;

namespace {

// The built-in preview event: due on the first of the month, so French shows "1er mars 2027".
constexpr std::chrono::year_month_day kPreviewDue{std::chrono::year{2027}, std::chrono::March,
                                                  std::chrono::day{1}};
constexpr std::string_view kPreviewNameFr = "Geneviève Côté";
constexpr std::string_view kPreviewNameEn = "Liam O'Brien-Tremblay";

constexpr Language kLanguages[] = {Language::en, Language::fr};
constexpr ChannelKind kChannels[] = {ChannelKind::sms, ChannelKind::email, ChannelKind::voice};

std::optional<std::string> read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

// Display width in a terminal, approximated as the number of code points.
std::size_t width(std::string_view s) {
    return utf8::count_code_points(s);
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    if (rows.empty()) return;
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line.append(widths[i] - width(row[i]) + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << '\n';
    }
}

// The path as operators wrote it: relative to the config file's directory when inside it.
std::string shown_path(const fs::path& file, const fs::path& base) {
    std::error_code ec;
    const fs::path rel = fs::relative(file, base, ec);
    if (ec || rel.empty() || *rel.begin() == "..") return file.string();
    return rel.string();
}

// The characters separated by spaces, e.g. "ô Ê".
std::string spaced(std::string_view utf8) {
    std::string out;
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        if (i > 0 && !utf8::is_continuation(utf8[i])) out += ' ';
        out += utf8[i];
    }
    return out;
}

// Which UCS-2 forcers come from the template text itself and which from the values.
std::string describe_forcers(std::string_view forcers, std::string_view template_text) {
    const std::string in_template = sms::analyse(template_text).ucs2_forcers;
    std::string from_template;
    std::string from_values;
    for (std::size_t i = 0; i < forcers.size();) {
        std::size_t n = 1;
        while (i + n < forcers.size() && utf8::is_continuation(forcers[i + n])) ++n;
        const std::string_view ch = forcers.substr(i, n);
        (in_template.find(ch) != std::string::npos ? from_template : from_values) += ch;
        i += n;
    }
    std::string out;
    if (!from_template.empty()) out += spaced(from_template) + " (template)";
    if (!from_values.empty()) {
        if (!out.empty()) out += ", ";
        out += spaced(from_values) + " (values)";
    }
    return out;
}

const config::StageConfig* find_stage(const config::ProgramConfig& p, std::string_view id) {
    for (const auto& s : p.stages) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

// Voice markup read aloud: tags removed, the five XML entities decoded.
std::string spoken_text(std::string_view markup) {
    std::string out;
    bool in_tag = false;
    for (std::size_t i = 0; i < markup.size(); ++i) {
        const char c = markup[i];
        if (in_tag) {
            if (c == '>') {
                in_tag = false;
                out += ' ';
            }
            continue;
        }
        if (c == '<') {
            in_tag = true;
            continue;
        }
        if (c == '&') {
            static constexpr std::pair<std::string_view, char> kEntities[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
            bool decoded = false;
            for (const auto& [entity, ch] : kEntities) {
                if (markup.substr(i).starts_with(entity)) {
                    out += ch;
                    i += entity.size() - 1;
                    decoded = true;
                    break;
                }
            }
            if (decoded) continue;
        }
        out += c;
    }
    return out;
}

// Runs argv (argv[0] searched in PATH) and waits; returns the exit status, or -1.
int run_program(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void print_sms_line(std::ostream& out, const sms::Analysis& a) {
    out << fmt::format("--- sms: {}, {} {}, {} segment{}", sms::to_string(a.encoding), a.units,
                       a.encoding == sms::Encoding::gsm7 ? "septets" : "UTF-16 units", a.segments,
                       a.segments == 1 ? "" : "s");
    if (!a.ucs2_forcers.empty()) out << " (UCS-2 forced by: " << spaced(a.ucs2_forcers) << ")";
    out << '\n';
}

std::optional<RenewalEvent> read_event(const fs::path& file, std::ostream& err) {
    const auto text = read_file(file);
    if (!text) {
        err << "rappelctl: cannot read " << file.string() << '\n';
        return std::nullopt;
    }
    EventParser parser;
    RenewalEvent ev;
    EventError e;
    if (!parser.parse(*text, ev, e)) {
        // A JSON Lines file: its first event.
        std::istringstream lines(*text);
        std::string line;
        while (std::getline(lines, line) && line.find_first_not_of(" \t\r") == std::string::npos) {
        }
        EventError first_error;
        if (line.empty() || line.size() == text->size() || !parser.parse(line, ev, first_error)) {
            err << "rappelctl: " << file.string() << ": not a renewal-event/1 event: " << e.reason << ": "
                << e.detail << '\n';
            return std::nullopt;
        }
    }
    if (ev.type != EventType::due) {
        err << "rappelctl: " << file.string() << ": a '" << to_string(ev.type)
            << "' event has nothing to render; give a 'due' event\n";
        return std::nullopt;
    }
    return ev;
}

// Loads the configuration and its templates, printing every problem to `err`.
bool load_all(const fs::path& config_file, config::Config& cfg, TemplateSet& set, std::ostream& err,
              bool resolve_secrets = true) {
    try {
        cfg = config::load_config(config_file, config::LoadOptions{resolve_secrets});
    } catch (const std::exception& e) {
        err << "rappelctl: invalid configuration:\n" << e.what() << '\n';
        return false;
    }
    // Everything found in one pass: property and file-name problems, then the templates.
    bool ok = true;
    if (const auto bad = kafka::check_properties(cfg.kafka.properties); !bad.empty()) {
        err << "rappelctl: invalid configuration:\n";
        for (const auto& b : bad) err << config_file.string() << ": kafka.properties." << b << '\n';
        ok = false;
    }
    if (const auto stray = templates::stray_template_files(cfg); !stray.empty()) {
        err << "rappelctl: misnamed template files:\n";
        for (const auto& s : stray) {
            err << s.message << '\n';
            if (s.error) ok = false;
        }
    }
    try {
        set = TemplateSet::load(cfg);
    } catch (const templates::TemplateError& e) {
        err << "rappelctl: invalid templates:\n";
        for (const auto& p : e.problems()) err << p << '\n';
        return false;
    } catch (const std::exception& e) {
        err << "rappelctl: cannot load the templates: " << e.what() << '\n';
        return false;
    }
    return ok;
}

}  // namespace

templates::RenderContext SampleValues::context() const {
    templates::RenderContext ctx;
    ctx.language = language;
    ctx.name = name;
    ctx.due_date = due_date;
    ctx.days_left = days_left;
    ctx.data = &data;
    ctx.unsubscribe_url = unsubscribe_url;
    return ctx;
}

Result<SmsEstimate> longest_sms(const TemplateSet& set, const TemplateSource& source) {
    auto r = set.render_longest_sample(source.program, source.stage, ChannelKind::sms, source.language);
    if (!r) return r.error();
    sms::Analysis a = sms::analyse(r->text);
    return SmsEstimate{std::move(r->text), std::move(a)};
}

Data sample_data(const std::vector<fs::path>& template_files) {
    Data data;
    for (const fs::path& file : template_files) {
        const auto text = read_file(file);
        if (!text) continue;
        auto compiled = templates::Template::parse(*text);
        if (!compiled) continue;  // TemplateSet::load reported it already
        for (const templates::DataUse& use : compiled->data_uses()) {
            const bool known = std::any_of(data.begin(), data.end(), [&](const auto& kv) { return kv.first == use.key; });
            if (!known) data.emplace_back(use.key, templates::sample_data_value(use.key, use));
        }
    }
    return data;
}

int validate(const fs::path& config_file, std::ostream& out, std::ostream& err, bool resolve_secrets) {
    config::Config cfg;
    TemplateSet set;
    if (!load_all(config_file, cfg, set, err, resolve_secrets)) return 1;

    const fs::path base = fs::absolute(config_file).parent_path();
    std::vector<std::vector<std::string>> table{
        {"PROGRAM", "STAGE", "CHANNEL", "LANG", "ENCODING", "UNITS", "SEGMENTS", "BUDGET", "STATUS", "UCS-2 FORCED BY",
         "FILE"}};
    // One message per file: stages without their own file share the default one.
    std::vector<std::string> problems;
    auto add_problem = [&problems](std::string p) {
        if (std::find(problems.begin(), problems.end(), p) == problems.end()) problems.push_back(std::move(p));
    };
    for (const TemplateSource& src : set.sources()) {
        const std::string file = shown_path(src.file, base);
        std::vector<std::string> row{src.program, src.stage, std::string(to_string(src.channel)),
                                     std::string(to_string(src.language))};
        if (src.channel != ChannelKind::sms) {
            row.insert(row.end(), {"-", "-", "-", "-", "ok", "-", file});
            table.push_back(std::move(row));
            continue;
        }
        const int budget = cfg.programs.at(src.program).sms_max_segments;
        auto est = longest_sms(set, src);
        if (!est) {
            row.insert(row.end(), {"?", "?", "?", std::to_string(budget), "ERROR", "-", file});
            add_problem(fmt::format("{}: cannot render the sample: {}", file, est.error().message));
            table.push_back(std::move(row));
            continue;
        }
        const sms::Analysis& a = est->analysis;
        const auto text = read_file(src.file).value_or(std::string{});
        const std::string forcers = a.ucs2_forcers.empty() ? "-" : describe_forcers(a.ucs2_forcers, text);
        const bool over = a.segments > budget;
        row.insert(row.end(), {std::string(sms::to_string(a.encoding)), std::to_string(a.units),
                               std::to_string(a.segments), std::to_string(budget), over ? "OVER" : "ok", forcers, file});
        table.push_back(std::move(row));
        if (over) {
            add_problem(fmt::format(
                "{}:1:1: SMS needs {} segments ({}, {} {}) for its longest plausible rendering, over the "
                "budget of {} (programs.{}.sms_max_segments){}",
                src.file.string(), a.segments, sms::to_string(a.encoding), a.units,
                a.encoding == sms::Encoding::gsm7 ? "septets" : "UTF-16 units", budget, src.program,
                a.ucs2_forcers.empty() ? std::string{} : "; UCS-2 forced by: " + forcers));
        }
    }
    print_table(out, table);
    const std::size_t count = set.sources().size();
    if (!problems.empty()) {
        err << fmt::format("rappelctl: {} template file{} over budget or unrenderable:\n", problems.size(),
                           problems.size() == 1 ? "" : "s");
        for (const auto& p : problems) err << p << '\n';
        return 1;
    }
    out << fmt::format("{}: {} program{}, {} templates, every SMS within budget\n", config_file.string(),
                       cfg.programs.size(), cfg.programs.size() == 1 ? "" : "s", count);
    return 0;
}

int preview(const PreviewOptions& o, std::ostream& out, std::ostream& err) {
    std::optional<RenewalEvent> event;
    if (o.event_file) {
        event = read_event(*o.event_file, err);
        if (!event) return 1;
    }
    std::string program = o.program;
    if (program.empty() && event) program = event->program;
    if (program.empty()) {
        err << "rappelctl: preview needs --program (or an --event naming one)\n";
        return 2;
    }

    config::Config cfg;
    TemplateSet set;
    if (!load_all(o.config_file, cfg, set, err)) return 1;
    const auto pit = cfg.programs.find(program);
    if (pit == cfg.programs.end()) {
        std::string known;
        for (const auto& [id, p] : cfg.programs) known += (known.empty() ? "" : ", ") + id;
        err << fmt::format("rappelctl: no program '{}' in {} (programs: {})\n", program, o.config_file.string(), known);
        return 1;
    }
    const config::StageConfig* stage = find_stage(pit->second, o.stage);
    if (stage == nullptr) {
        std::string known;
        for (const auto& s : pit->second.stages) known += (known.empty() ? "" : ", ") + s.id;
        err << fmt::format("rappelctl: program '{}' has no stage '{}' (stages: {})\n", program, o.stage, known);
        return 1;
    }
    if (event && event->program != program) {
        out << fmt::format("note: the event is for program '{}'; rendering it with '{}'\n", event->program, program);
    }

    std::vector<ChannelKind> channels = stage->channels;
    if (channels.empty()) {  // `preference`: any channel the holder may prefer
        for (ChannelKind c : kChannels) {
            if (set.has(program, stage->id, c, Language::en) || set.has(program, stage->id, c, Language::fr)) {
                channels.push_back(c);
            }
        }
    }
    std::vector<fs::path> files;
    for (const TemplateSource& src : set.sources()) {
        if (src.program == program && src.stage == stage->id) files.push_back(src.file);
    }
    const std::string unsubscribe_url = templates::unsubscribe_url_for(cfg, templates::kSampleReminderId);

    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    std::optional<fs::path> espeak;
    if (o.wav) espeak = find_in_path("espeak-ng");

    std::string channel_list;
    for (ChannelKind c : channels) channel_list += (channel_list.empty() ? "" : ", ") + std::string(to_string(c));
    out << fmt::format("Preview of {} / {}: {} days {} the due date, channels: {}{}\n", program, stage->id,
                       std::abs(stage->offset_days), stage->offset_days <= 0 ? "before" : "after",
                       stage->preference ? "preference " : "", stage->preference ? "(" + channel_list + ")" : channel_list);
    out << (event ? fmt::format("Event: {} from {}\n", event->event_id, o.event_file->string())
                  : std::string("Event: built-in sample\n"));

    int status = 0;
    for (Language lang : kLanguages) {
        SampleValues v;
        v.language = lang;
        v.days_left = std::abs(stage->offset_days);
        if (event) {
            v.name = event->holder.name;
            v.due_date = event->due_date;
            v.data = event->data;
        } else {
            v.name = lang == Language::fr ? kPreviewNameFr : kPreviewNameEn;
            v.due_date = kPreviewDue;
            v.data = sample_data(files);
        }
        v.unsubscribe_url = unsubscribe_url;
        out << fmt::format("\n=== {} ===\n", to_string(lang));
        const std::string stem = fmt::format("{}-{}-{}", program, stage->id, to_string(lang));
        std::string speech;
        bool spoken_is_voice = false;
        for (ChannelKind c : channels) {
            if (!set.has(program, stage->id, c, lang)) {
                out << fmt::format("--- {}: no template\n", to_string(c));
                continue;
            }
            auto r = set.render(program, stage->id, c, v.context());
            if (!r) {
                err << fmt::format("rappelctl: {} {} {} {}: {}\n", program, stage->id, to_string(c), to_string(lang),
                                   r.error().message);
                status = 1;
                continue;
            }
            switch (c) {
            case ChannelKind::sms:
                print_sms_line(out, sms::analyse(r->text));
                out << r->text << '\n';
                if (!spoken_is_voice) speech = r->text;
                break;
            case ChannelKind::email: {
                out << "--- email\nSubject: " << r->subject << "\n\n" << r->text << '\n';
                const fs::path html = o.out_dir / (stem + ".html");
                std::ofstream f(html, std::ios::binary | std::ios::trunc);
                f << r->html;
                f.close();
                if (!f) {
                    err << "rappelctl: cannot write " << html.string() << '\n';
                    status = 1;
                } else {
                    out << "HTML: " << html.string() << '\n';
                }
                break;
            }
            case ChannelKind::voice:
                out << "--- voice\n" << r->text << '\n';
                speech = spoken_text(r->text);
                spoken_is_voice = true;
                break;
            }
        }
        if (o.wav && espeak && !speech.empty()) {
            const fs::path wav = o.out_dir / (stem + ".wav");
            const fs::path txt = o.out_dir / (stem + ".speech.txt");
            {
                std::ofstream t(txt, std::ios::binary | std::ios::trunc);
                t << speech;
            }
            const int rc = run_program({espeak->string(), "-v", std::string(to_string(lang)), "-w", wav.string(), "-f",
                                        txt.string()});
            fs::remove(txt, ec);
            if (rc == 0) {
                out << "WAV: " << wav.string() << " (" << (spoken_is_voice ? "voice" : "sms") << " text)\n";
            } else {
                err << "rappelctl: espeak-ng failed for " << wav.string() << '\n';
                status = 1;
            }
        }
    }
    if (o.wav && !espeak) out << "\nnote: espeak-ng is not installed; no WAV written\n";
    return status;
}

std::optional<fs::path> find_in_path(std::string_view program) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return std::nullopt;
    std::string_view rest = path;
    while (true) {
        const std::size_t colon = rest.find(':');
        const std::string_view dir = rest.substr(0, colon);
        const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / std::string(program);
        if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return candidate;
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

}  // namespace rappel::ctl
