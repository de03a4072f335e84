// rappeld: the composition root. Loads and validates the config, wires the modules, runs
// the engine on one io_context until SIGTERM/SIGINT, then stops gracefully.
#include "channels/http/curl_multi.hpp"
#include "channels/registry.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/base/random.hpp"
#include "engine/base/time_format.hpp"
#include "engine/config/config.hpp"
#include "engine/config/load_options.hpp"
#include "engine/core/engine.hpp"
#include "engine/kafka/check.hpp"
#include "templates/file_names.hpp"
#include "engine/observe/engine_metrics.hpp"
#include "engine/observe/http_server.hpp"
#include "templates/template_set.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#ifdef RAPPEL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

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

// systemd's notification socket (Type=notify); nothing when not run by systemd.
void notify(const std::string& state) {
#ifdef RAPPEL_HAVE_SYSTEMD
    ::sd_notify(0, state.c_str());
#else
    (void)state;
#endif
}

// The watchdog interval systemd asked for (WatchdogSec=), or zero.
std::chrono::microseconds watchdog_interval() {
#ifdef RAPPEL_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (::sd_watchdog_enabled(0, &usec) > 0) return std::chrono::microseconds{usec};
#endif
    return std::chrono::microseconds{0};
}

// Logging from the config, then the command line on top of it. Returns false (with a
// message on stderr) on a bad flag.
bool configure_logging(const po::variables_map& vm, const config::LogConfig* cfg) {
    log::Level level = log::Level::info;
    log::Format format = log::Format::text;
    if (cfg) {
        log::parse_level(cfg->level, level);
        log::parse_format(cfg->format, format);
        log::clear_module_levels();
        for (const auto& [module, text] : cfg->modules) {
            log::Level l;
            if (log::parse_level(text, l)) log::set_module_level(module, l);
        }
        log::set_repeat_window(cfg->repeat_window);
    }
    if (!vm["log-level"].defaulted() && !log::parse_level(vm["log-level"].as<std::string>(), level)) {
        std::cerr << "rappeld: --log-level must be debug, info, warn or error\n";
        return false;
    }
    if (vm.count("log-format") && !log::parse_format(vm["log-format"].as<std::string>(), format)) {
        std::cerr << "rappeld: --log-format must be text or json\n";
        return false;
    }
    if (vm.count("log-module")) {
        for (const auto& item : vm["log-module"].as<std::vector<std::string>>()) {
            if (!log::parse_module_levels(item, [](std::string_view m, log::Level l) { log::set_module_level(m, l); })) {
                std::cerr << "rappeld: --log-module takes MODULE=LEVEL[,MODULE=LEVEL...], got '" << item << "'\n";
                return false;
            }
        }
    }
    log::set_level(level);
    log::set_format(format);
    return true;
}

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
        ("check", "validate the configuration and templates, then exit: 0 valid, 1 problems, 2 usage")
        ("no-secrets", "with --check: secrets are checked for form only, not read (CI without secrets)")
        ("clock-start", po::value<std::string>(), "simulated clock: start instant (RFC 3339)")
        ("clock-speed", po::value<double>()->default_value(1.0), "simulated clock: speed-up factor")
        ("clock-anchor", po::value<long long>(), "simulated clock: real Unix ms at which it reads --clock-start")
        ("instance-id", po::value<std::string>(), "unique name of this engine process (default: host-pid-random)")
        ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn or error (default of every module)")
        ("log-format", po::value<std::string>(), "text (default) or json: one JSON object per line")
        ("log-module", po::value<std::vector<std::string>>()->composing(),
         "MODULE=LEVEL[,...]: level of one module (engine, redis, kafka, http, observe, rappeld), repeatable");
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
    if (!configure_logging(vm, nullptr)) return 2;

    ClockPtr clock = std::make_shared<SystemClock>();
    std::string simulated;  // logged once logging is configured
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
        simulated = fmt::format("simulated clock from {} at {}x", format_rfc3339(*start), speed);
    }

    const bool check = vm.count("check") > 0;
    if (vm.count("no-secrets") && !check) {
        std::cerr << "rappeld: --no-secrets needs --check (the engine cannot run without its secrets)\n";
        return 2;
    }
    config::Config cfg;
    std::unique_ptr<templates::TemplateSet> tmpl;
    try {
        cfg = config::load_config(vm["config"].as<std::string>(), config::LoadOptions{vm.count("no-secrets") == 0});
        tmpl = std::make_unique<templates::TemplateSet>(templates::TemplateSet::load(cfg));
    } catch (const std::exception& e) {
        std::cerr << "rappeld: invalid configuration:\n" << e.what() << "\n";
        // --check shares rappelctl validate's exit status; a refused start stays 2.
        return check ? static_cast<int>(config::CheckExit::problems) : 2;
    }
    const auto stray = templates::stray_template_files(cfg);
    if (check) {
        const auto bad = kafka::check_properties(cfg.kafka.properties);
        const bool stray_error = std::any_of(stray.begin(), stray.end(), [](const auto& s) { return s.error; });
        if (!bad.empty() || stray_error) std::cerr << "rappeld: invalid configuration:\n";
        for (const auto& b : bad) std::cerr << cfg.source.string() << ": kafka.properties." << b << "\n";
        for (const auto& s : stray) std::cerr << s.message << "\n";
        if (!bad.empty() || stray_error) return static_cast<int>(config::CheckExit::problems);
        std::cout << "configuration OK: " << cfg.source.string() << "\n";
        return 0;
    }
    if (!configure_logging(vm, &cfg.log)) return 2;
    if (!simulated.empty()) log::info("rappeld", "{}", simulated);
    for (const auto& s : stray) log::warn("rappeld", "{}", s.message);

    boost::asio::io_context io;
    channels::CurlMulti curl(io);
    auto providers = channels::build_registry(cfg, curl);
    observe::EngineMetrics metrics(io, cfg, clock,
                                   observe::EngineMetricsOptions{cfg.http.probe_interval,
                                                                 static_cast<std::size_t>(cfg.http.ready_max_outbox),
                                                                 RAPPEL_VERSION, RAPPEL_COMMIT});
    auto registry = metrics.instrument(providers);
    core::Engine engine(core::EngineDeps{io, cfg, *tmpl, registry, clock, make_system_random(),
                                         vm.count("instance-id") ? vm["instance-id"].as<std::string>()
                                                                 : default_instance_id(),
                                         &metrics});
    metrics.attach(engine);
    std::unique_ptr<observe::HttpServer> http;
    try {
        if (cfg.http.enabled) {
            observe::HttpServerOptions ho;
            ho.address = cfg.http.address;
            ho.port = cfg.http.port;
            http = std::make_unique<observe::HttpServer>(io, ho, [&metrics](const std::string& path) {
                return metrics.handle(path);
            });
            http->start();
        }
        engine.start();
    } catch (const std::exception& e) {
        std::cerr << "rappeld: cannot start: " << e.what() << "\n";
        return 1;
    }
    metrics.start();
    notify("READY=1\nSTATUS=engine started");

    // Watchdog pings come from the io thread, so a stuck loop stops them.
    boost::asio::steady_timer watchdog(io);
    const auto wd = watchdog_interval();
    std::function<void()> pet = [&] {
        notify("WATCHDOG=1");
        watchdog.expires_after(wd / 2);
        watchdog.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) pet();
        });
    };
    if (wd.count() > 0) pet();

    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    bool stopping = false;
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec || stopping) return;
        stopping = true;
        log::info("rappeld", "signal {}: stopping", sig);
        notify("STOPPING=1\nSTATUS=stopping");
        engine.shutdown([&] {
            watchdog.cancel();
            metrics.stop();
            if (http) http->stop();
            io.stop();
        });
    });
    io.run();
    log::info("rappeld", "exit");
    return 0;
}
