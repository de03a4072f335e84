// rappel-provider-sim: the Twilio-compatible provider simulator as a process. Prints
// "listening <base url>" once bound and runs until SIGTERM or SIGINT.
#include "channels/simulator/provider_simulator.hpp"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <pthread.h>

namespace {

constexpr const char* kUsage =
    "Usage: rappel-provider-sim [options]\n"
    "A Twilio-compatible Messages/Calls API simulator for tests and demos.\n"
    "\n"
    "Options:\n"
    "  --host ADDR         address to bind (default 127.0.0.1)\n"
    "  --port N            port to bind, 0 = pick a free one (default 0)\n"
    "  --account-sid SID   accepted account SID (default AC0123456789abcdef0123456789abcdef)\n"
    "  --auth-token TOKEN  accepted auth token (default test-token)\n"
    "  --max-records N     keep only the last N recorded requests (default 0 = all)\n"
    "  --help              show this help\n"
    "  --version           show the version\n"
    "\n"
    "Prints 'listening http://HOST:PORT' once bound. Control API: GET /_sim/health,\n"
    "GET|DELETE /_sim/requests, GET|POST|DELETE /_sim/faults.\n";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "rappel-provider-sim: %s\n(try --help)\n", message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    rappel::sim::ProviderSimulator::Options options;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (arg == "--version") {
            std::printf("rappel-provider-sim %s\n", RAPPEL_VERSION);
            return 0;
        }
        std::optional<std::string> value;
        if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            value = std::string(arg.substr(eq + 1));
            arg = arg.substr(0, eq);
        }
        const bool known = arg == "--host" || arg == "--port" || arg == "--account-sid" ||
                           arg == "--auth-token" || arg == "--max-records";
        if (!known) return usage_error("unknown option '" + std::string(arg) + "'");
        if (!value) {
            if (i + 1 >= argc) return usage_error(std::string(arg) + " needs a value");
            value = argv[++i];
        }
        if (arg == "--host") {
            options.host = *value;
        } else if (arg == "--port") {
            unsigned port = 0;
            const auto* end = value->data() + value->size();
            const auto [ptr, ec] = std::from_chars(value->data(), end, port);
            if (ec != std::errc{} || ptr != end || port > 65535)
                return usage_error("--port must be 0..65535");
            options.port = static_cast<std::uint16_t>(port);
        } else if (arg == "--max-records") {
            std::size_t n = 0;
            const auto* end = value->data() + value->size();
            const auto [ptr, ec] = std::from_chars(value->data(), end, n);
            if (ec != std::errc{} || ptr != end) return usage_error("--max-records must be a number");
            options.max_records = n;
        } else if (arg == "--account-sid") {
            options.account_sid = *value;
        } else {
            options.auth_token = *value;
        }
    }

    // Block the stop signals before the server thread exists so only sigwait() sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    rappel::sim::ProviderSimulator sim(options);
    try {
        sim.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rappel-provider-sim: cannot listen on %s:%u: %s\n", options.host.c_str(),
                     static_cast<unsigned>(options.port), e.what());
        return 1;
    }
    std::printf("listening %s\n", sim.base_url().c_str());
    std::fflush(stdout);

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    sim.stop();
    return 0;
}
