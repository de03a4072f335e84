// rappeld: the composition root. Loads and validates the config, wires the modules, runs
// the engine on one io_context until SIGTERM/SIGINT, then stops gracefully.
#include "channels/http/curl_multi.hpp"
#include "channels/registry.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/base/random.hpp"
#include "engine/base/time_format.hpp"
#include "engine/config/config.hpp"
#include "engine/core/engine.hpp"
#include "templates/template_set.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/program_options.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include <unistd.h>

namespace po = boost::program_options;
using namespace rappel;

namespace {

constexpr const char* kUsage = R"(rappeld: renewal reminder engine

Usage: rappeld --config FILE [options]

Reads renewal-event/1 events from Kafka, schedules reminders in Redis, sends them through
the configured SMS and email providers, and publishes notification-outcome/1 events.

Simulated time (end-to-end tests, demos): --clock-start sets the instant the clock reads at
--clock-anchor (a real Unix time in ms, default: now) and --clock-speed makes it run that
many times faster than real time. Engines given the same three values share one timeline.

Options)";

std::string default_instance_id() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return fmt::format("{}-{}-{:04x}", host, ::getpid(), make_system_random()->next_u64() & 0xffff);
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description opts(kUsage);
    opts.add_options()
        ("help,h", "show this help")
        ("version", "show the version")
        ("config,c", po::value<std::string>(), "configuration file (YAML)")
        ("check", "validate the configuration and templates, then exit")
        ("clock-start", po::value<std::string>(), "simulated clock: start instant (RFC 3339)")
        ("clock-speed", po::value<double>()->default_value(1.0), "simulated clock: speed-up factor")
        ("clock-anchor", po::value<long long>(), "simulated clock: real Unix ms at which it reads --clock-start")
        ("instance-id", po::value<std::string>(), "unique name of this engine process (default: host-pid-random)")
        ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn or error");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, opts), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "rappeld: " << e.what() << "\nTry 'rappeld --help'.\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << opts << "\n";
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "rappeld " << RAPPEL_VERSION << "\n";
        return 0;
    }
    if (!vm.count("config")) {
        std::cerr << "rappeld: --config FILE is required\nTry 'rappeld --help'.\n";
        return 2;
    }
    log::Level level;
    if (!log::parse_level(vm["log-level"].as<std::string>(), level)) {
        std::cerr << "rappeld: --log-level must be debug, info, warn or error\n";
        return 2;
    }
    log::set_level(level);

    ClockPtr clock = std::make_shared<SystemClock>();
    if (vm.count("clock-start")) {
        auto start = parse_rfc3339(vm["clock-start"].as<std::string>());
        if (!start) {
            std::cerr << "rappeld: --clock-start must be an RFC 3339 instant\n";
            return 2;
        }
        auto anchor = std::chrono::system_clock::now();
        if (vm.count("clock-anchor"))
            anchor = std::chrono::system_clock::time_point{
                std::chrono::milliseconds{vm["clock-anchor"].as<long long>()}};
        const double speed = vm["clock-speed"].as<double>();
        if (!(speed > 0)) {
            std::cerr << "rappeld: --clock-speed must be positive\n";
            return 2;
        }
        clock = std::make_shared<SimulatedClock>(*start, speed, anchor);
        log::info("rappeld", "simulated clock from {} at {}x", format_rfc3339(*start), speed);
    }

    config::Config cfg;
    std::unique_ptr<templates::TemplateSet> tmpl;
    try {
        cfg = config::load_config(vm["config"].as<std::string>());
        tmpl = std::make_unique<templates::TemplateSet>(templates::TemplateSet::load(cfg));
    } catch (const std::exception& e) {
        std::cerr << "rappeld: invalid configuration:\n" << e.what() << "\n";
        return 2;
    }
    if (vm.count("check")) {
        std::cout << "configuration OK: " << cfg.source.string() << "\n";
        return 0;
    }

    boost::asio::io_context io;
    channels::CurlMulti curl(io);
    auto registry = channels::build_registry(cfg, curl);
    core::Engine engine(core::EngineDeps{io, cfg, *tmpl, registry, clock, make_system_random(),
                                         vm.count("instance-id") ? vm["instance-id"].as<std::string>()
                                                                 : default_instance_id()});
    try {
        engine.start();
    } catch (const std::exception& e) {
        std::cerr << "rappeld: cannot start: " << e.what() << "\n";
        return 1;
    }

    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    bool stopping = false;
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec || stopping) return;
        stopping = true;
        log::info("rappeld", "signal {}: stopping", sig);
        engine.shutdown([&io] { io.stop(); });
    });
    io.run();
    log::info("rappeld", "exit");
    return 0;
}
