#pragma once
// A core wired to fakes on one io_context, with a manual clock and seeded randomness.
#include "engine/base/clock.hpp"
#include "engine/base/random.hpp"
#include "engine/core/core.hpp"
#include "tests/engine/fakes/fakes.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace rappel::testing {

namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = fs::temp_directory_path() / ("rappel-core-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

private:
    fs::path path_;
};

inline config::Config test_config(const fs::path& dir) {
    config::Config cfg;
    cfg.source = dir / "rappel.yaml";
    cfg.kafka.events_topic = "events";
    cfg.kafka.outcomes_topic = "outcomes";
    cfg.engine.poll_interval = std::chrono::milliseconds{2};
    cfg.engine.default_time_zone = "UTC";
    config::ProgramConfig p;
    p.id = "p";
    p.display_name = {{Language::en, "Test permit"}, {Language::fr, "Permis d'essai"}};
    p.templates_dir = dir;
    config::StageConfig s;
    s.id = "7d";
    s.offset_days = -7;
    s.channels = {ChannelKind::sms, ChannelKind::email};
    p.stages = {s};
    cfg.programs.emplace("p", p);
    return cfg;
}

inline const fs::path& write_templates(const TempDir& dir) {
    dir.write("default.sms.en.txt", "Hi {{name|there}}, your {{program}} is due {{due_date}}.\n");
    dir.write("default.sms.fr.txt", "Bonjour {{name|}}, votre {{program}} expire le {{due_date}}.\n");
    dir.write("default.email.en.txt", "Subject: Reminder\n\nHello {{name|there}}, {{program}} due {{due_date}}.\n");
    dir.write("default.email.fr.txt", "Subject: Rappel\n\nBonjour {{name|}}, {{program}} le {{due_date}}.\n");
    return dir.path();
}

inline std::string event_json(const std::string& licence, const std::string& version, const std::string& id = "e1") {
    return R"({"schema":"renewal-event/1","event_id":")" + id +
           R"(","type":"due","program":"p","licence_id":")" + licence + R"(","version":)" + version +
           R"(,"occurred_at":"2026-11-20T15:04:05Z","due_date":"2027-02-14","holder":{"language":"en",)"
           R"("contacts":{"sms":"+16135550142"},"channels":["sms"]}})";
}

inline kafka::Message message(std::int64_t offset, std::optional<std::string> value, std::optional<std::string> key,
                              std::int32_t partition = 0) {
    kafka::Message m;
    m.topic = "events";
    m.partition = partition;
    m.offset = offset;
    m.key = std::move(key);
    m.value = std::move(value);
    return m;
}

inline kafka::Message valid(std::int64_t offset, const std::string& licence = "L1", std::int32_t partition = 0) {
    return message(offset, event_json(licence, "1", "e" + std::to_string(offset)), "p/" + licence, partition);
}

inline scheduler::ClaimedReminder reminder(const std::string& licence, ChannelKind ch = ChannelKind::sms,
                                           Language lang = Language::en) {
    scheduler::ClaimedReminder r;
    r.ref = {licence, "7d", ch};
    r.reminder_id = "r-" + licence + "-" + std::string(to_string(ch));
    r.attempt = 1;
    r.event_id = "e1";
    r.program = "p";
    r.licence_id = licence;
    r.due_date = std::chrono::year{2027} / std::chrono::February / 14;
    r.payload.language = lang;
    r.payload.name = "Ada";
    r.payload.sms = "+16135550142";
    r.payload.email = "ada@example.ca";
    return r;
}

struct Harness {
    explicit Harness(core::CoreOptions opts = fast_options(), int max_in_flight = 1000)
        : cfg(test_config(write_templates(dir))),
          tmpl(templates::TemplateSet::load(cfg)),
          clock(std::make_shared<ManualClock>(from_unix_ms(1'800'000'000'000))),
          producer(io) {
        cfg.engine.max_in_flight = max_in_flight;
        auto s = std::make_unique<fakes::FakeChannel>(ChannelKind::sms);
        auto e = std::make_unique<fakes::FakeChannel>(ChannelKind::email);
        sms = s.get();
        email = e.get();
        channels_[ChannelKind::sms] = std::move(s);
        channels_[ChannelKind::email] = std::move(e);
        auto lookup = [this](ChannelKind k) -> channels::Channel* {
            auto it = channels_.find(k);
            return it == channels_.end() ? nullptr : it->second.get();
        };
        history.attach(io, producer);
        core = std::make_unique<core::Core>(core::CoreDeps{io, cfg, tmpl, lookup, clock,
                                                           std::make_shared<SeededRandom>(7), "test", store,
                                                           events, producer, nullptr, opts, &history});
        core->start();
    }

    static core::CoreOptions fast_options() {
        core::CoreOptions o;
        o.store_backoff = {Millis{1}, Millis{4}, false};
        o.kafka_backoff = {Millis{1}, Millis{4}, false};
        o.stop_deadline = std::chrono::milliseconds{2000};
        o.final_deadline = std::chrono::milliseconds{2000};
        return o;
    }

    // Runs the loop until `pred` holds; fails after a deadline.
    template <typename P>
    void until(P pred, const char* what) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
        while (!pred()) {
            if (std::chrono::steady_clock::now() > deadline) {
                BOOST_FAIL(std::string("timed out waiting for: ") + what);
                return;
            }
            io.restart();
            io.run_for(std::chrono::milliseconds{1});
        }
    }
    // Runs what is ready now.
    void settle() {
        io.restart();
        io.poll();
    }

    // Assigns `p` and answers its offset read.
    void own(std::int32_t p, std::optional<std::int64_t> offset) {
        events.assign({p});
        until([&] { return !store.offsets.empty(); }, "offset read");
        store.answer_offset(offset);
    }

    TempDir dir;
    config::Config cfg;
    templates::TemplateSet tmpl;
    boost::asio::io_context io;
    std::shared_ptr<ManualClock> clock;
    std::map<ChannelKind, std::unique_ptr<channels::Channel>> channels_;
    fakes::FakeChannel* sms = nullptr;
    fakes::FakeChannel* email = nullptr;
    fakes::FakeStore store;
    fakes::FakeEventSource events;
    fakes::FakeProducer producer;
    fakes::FakeOutcomeHistory history;
    std::unique_ptr<core::Core> core;
};

inline scheduler::ApplyResult applied(std::int64_t n, std::int64_t next) {
    scheduler::ApplyResult r;
    r.applied = n;
    r.next_offset = next;
    return r;
}

}  // namespace rappel::testing
