#pragma once
// Shared helpers of the config tests: a scratch directory with template folders, and
// loading text that is expected to fail.
#include "engine/config/config.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>

#include <unistd.h>

namespace rappel::config::test {

// Lines joined with '\n', so a test reads line numbers off its own list.
inline std::string yaml(std::initializer_list<std::string_view> lines) {
    std::string out;
    for (auto line : lines) {
        out += line;
        out += '\n';
    }
    return out;
}

inline void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

inline std::filesystem::path source_dir() {
    const char* dir = std::getenv("RAPPEL_SOURCE_DIR");
    BOOST_TEST_REQUIRE(dir != nullptr, "RAPPEL_SOURCE_DIR is not set (run through ctest)");
    return dir;
}

// A fresh directory holding templates/p1, templates/p2, templates/drivers-licence and
// templates/health-card; the deployment overrides are cleared and RAPPEL_TEST_TOKEN set.
struct ScratchDir {
    std::filesystem::path dir;

    ScratchDir() {
        static int counter = 0;
        dir = std::filesystem::temp_directory_path() /
              ("rappel-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::filesystem::remove_all(dir);
        for (const char* name : {"p1", "p2", "drivers-licence", "health-card"}) {
            std::filesystem::create_directories(dir / "templates" / name);
        }
        ::unsetenv("RAPPEL_KAFKA_BROKERS");
        ::unsetenv("RAPPEL_REDIS_HOST");
        ::unsetenv("RAPPEL_REDIS_PORT");
        ::setenv("RAPPEL_TEST_TOKEN", "tok-VERY-SECRET-1234", 1);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    Config load(const std::string& text) const { return load_config_text(text, "test.yaml", dir); }

    // The error text of a load that must fail.
    std::string errors(const std::string& text) const {
        try {
            load(text);
        } catch (const ConfigError& e) {
            BOOST_TEST_MESSAGE("errors:\n" << e.what());
            return e.what();
        }
        BOOST_FAIL("the configuration loaded but was expected to fail:\n" << text);
        return {};
    }
};

// Lines 1-4 of most test files: two providers and both channels.
inline constexpr std::string_view kProviders[] = {
    "providers:",
    "  sms-p: {type: twilio-sms, account_sid: AC0123456789abcdef0123456789abcdef, "
    "auth_token_env: RAPPEL_TEST_TOKEN, from: \"+16135550100\"}",
    "  mail-p: {type: smtp, url: \"smtp://127.0.0.1:2525\", from: \"Rappel <r@example.ca>\", "
    "unsubscribe_url: \"https://example.ca/u\"}",
    "channels: {sms: sms-p, email: mail-p}",
};

// A small valid program.
inline constexpr std::string_view kProgram[] = {
    "programs:",
    "  p1:",
    "    name: {en: One, fr: Un}",
    "    stages:",
    "      - {id: s1, offset_days: -7, channels: [sms]}",
};

// kProviders, then `extra`, then kProgram.
inline std::string with_base(std::initializer_list<std::string_view> extra) {
    std::string out;
    for (auto line : kProviders) out += std::string(line) + '\n';
    for (auto line : extra) out += std::string(line) + '\n';
    for (auto line : kProgram) out += std::string(line) + '\n';
    return out;
}

// `extra` first (line 1 on), then the base.
inline std::string base_after(std::initializer_list<std::string_view> extra) {
    std::string out;
    for (auto line : extra) out += std::string(line) + '\n';
    for (auto line : kProviders) out += std::string(line) + '\n';
    for (auto line : kProgram) out += std::string(line) + '\n';
    return out;
}

inline bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace rappel::config::test
