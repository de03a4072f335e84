// rappelctl: operator commands (validate, preview) on a configuration and its templates.
#include "engine/ctl/ctl.hpp"
#include "engine/ctl/forecast.hpp"
#include "engine/base/time_format.hpp"

#include <boost/program_options.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace po = boost::program_options;
using namespace rappel;

namespace {

constexpr const char* kUsage = R"(rappelctl: operator commands for rappel

Usage:
  rappelctl validate CONFIG [--no-secrets]
  rappelctl preview CONFIG --program P --stage S [--event FILE] [--out DIR] [--wav]
  rappelctl forecast CONFIG --rate N [--program P] [--channel C] [--at RFC3339]
  rappelctl --help | --version
  rappelctl COMMAND --help

validate  Loads the configuration and every template, as rappeld does at start-up. Prints
          every problem as FILE:LINE:COLUMN: MESSAGE, or a table of every template with,
          for SMS, the encoding (gsm7 or ucs2) and segments of its longest plausible
          rendering (a 38-character accented name, the longest date, long data values)
          against the program's sms_max_segments budget, and the characters that force
          UCS-2. --no-secrets checks secrets for form only (for CI without them).
          Exit status (as rappeld --check): 0 all good, 1 problems or an SMS over budget,
          2 usage.

preview   Renders every channel of one stage in English and French for a built-in sample
          event (a French holder due on 2027-03-01, so the date reads "1er mars 2027", and
          an English one) or the renewal-event/1 JSON in FILE (the first line of a JSON
          Lines file). Prints each SMS with its encoding and segments and each email's
          subject and text, and writes each email's HTML part to
          DIR/<program>-<stage>-<lang>.html. With --wav and espeak-ng installed, also
          writes DIR/<program>-<stage>-<lang>.wav reading the voice (or SMS) text aloud.

forecast  Will the wave fit through the pipe? Counts, in the Redis of CONFIG, the licences
          of each priority lane due before the channel's send window (of program P, in
          engine.default_time_zone) closes, and what N reminders per second carry until
          then. Lanes are served high, normal, bulk; what does not fit carries over to the
          next opening. Exit status: 0 it fits, 3 some carries over, 1 error, 2 usage.
)";

int usage_error(const std::string& message) {
    std::cerr << "rappelctl: " << message << "\nTry 'rappelctl --help'.\n";
    return 2;
}

// Parses a command's arguments (CONFIG as the first positional); answers --help. A value:
// the exit status to return at once.
std::optional<int> parse_command(const std::vector<std::string>& args, const po::options_description& opts,
                                 std::string_view usage, po::variables_map& vm) {
    po::positional_options_description pos;
    pos.add("config", 1);
    try {
        po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        return usage_error(e.what());
    }
    if (vm.count("help")) {
        std::cout << "Usage: " << usage << "\n\n" << opts << "\n";
        return 0;
    }
    return std::nullopt;
}

int run_validate(const std::vector<std::string>& args) {
    po::options_description opts("validate options");
    opts.add_options()("help,h", "show this help")("config", po::value<std::string>(), "configuration file (YAML)")(
        "no-secrets", "check that secrets are named, without reading them");
    po::variables_map vm;
    if (auto done = parse_command(args, opts, "rappelctl validate CONFIG [--no-secrets]", vm)) return *done;
    if (!vm.count("config")) return usage_error("validate needs a CONFIG file");
    return ctl::validate(vm["config"].as<std::string>(), std::cout, std::cerr, vm.count("no-secrets") == 0);
}

int run_preview(const std::vector<std::string>& args) {
    po::options_description opts("preview options");
    opts.add_options()
        ("help,h", "show this help")
        ("config", po::value<std::string>(), "configuration file (YAML)")
        ("program,p", po::value<std::string>(), "program id (default: the event's program)")
        ("stage,s", po::value<std::string>(), "stage id")
        ("event,e", po::value<std::string>(), "renewal-event/1 JSON file (default: built-in samples)")
        ("out,o", po::value<std::string>()->default_value("."), "directory for the HTML (and WAV) files")
        ("wav", "also write WAV files with espeak-ng, if it is installed");
    po::variables_map vm;
    if (auto done = parse_command(
            args, opts, "rappelctl preview CONFIG --program P --stage S [--event FILE] [--out DIR] [--wav]", vm))
        return *done;
    if (!vm.count("config")) return usage_error("preview needs a CONFIG file");
    if (!vm.count("stage")) return usage_error("preview needs --stage");
    ctl::PreviewOptions o;
    o.config_file = vm["config"].as<std::string>();
    if (vm.count("program")) o.program = vm["program"].as<std::string>();
    o.stage = vm["stage"].as<std::string>();
    if (vm.count("event")) o.event_file = vm["event"].as<std::string>();
    o.out_dir = vm["out"].as<std::string>();
    o.wav = vm.count("wav") > 0;
    return ctl::preview(o, std::cout, std::cerr);
}

}  // namespace

int run_forecast(const std::vector<std::string>& args) {
    po::options_description opts("forecast options");
    // clang-format off
    opts.add_options()
        ("help,h", "show this help")
        ("config", po::value<std::string>(), "configuration file (YAML)")
        ("rate,r", po::value<double>(), "reminders per second the providers carry")
        ("program,p", po::value<std::string>(), "program whose window (default: the first)")
        ("channel,c", po::value<std::string>()->default_value("sms"), "sms, email or voice")
        ("at", po::value<std::string>(), "instant to forecast from, RFC 3339 (default: now)");
    // clang-format on
    po::variables_map vm;
    if (auto done = parse_command(
            args, opts, "rappelctl forecast CONFIG --rate N [--program P] [--channel C] [--at RFC3339]", vm))
        return *done;
    if (!vm.count("config")) return usage_error("forecast needs a CONFIG file");
    if (!vm.count("rate") || vm["rate"].as<double>() <= 0) return usage_error("forecast needs --rate above 0");
    ctl::ForecastOptions o;
    o.config_file = vm["config"].as<std::string>();
    o.rate = vm["rate"].as<double>();
    if (vm.count("program")) o.program = vm["program"].as<std::string>();
    auto channel = parse_channel_kind(vm["channel"].as<std::string>());
    if (!channel) return usage_error("--channel is sms, email or voice");
    o.channel = *channel;
    if (vm.count("at")) {
        auto t = parse_rfc3339(vm["at"].as<std::string>());
        if (!t) return usage_error("--at is an RFC 3339 instant");
        o.at = *t;
    }
    return ctl::forecast(o, std::cout, std::cerr);
}

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) return usage_error("a command is required");
    const std::string& command = args.front();
    if (command == "--help" || command == "-h" || command == "help") {
        std::cout << kUsage;
        return 0;
    }
    if (command == "--version") {
        std::cout << "rappelctl " << RAPPEL_VERSION << "\n";
        return 0;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (command == "validate") return run_validate(rest);
        if (command == "preview") return run_preview(rest);
        if (command == "forecast") return run_forecast(rest);
    } catch (const std::exception& e) {
        std::cerr << "rappelctl: " << e.what() << "\n";
        return 1;
    }
    return usage_error("unknown command '" + command + "'");
}
