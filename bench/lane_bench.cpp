// Priority lanes behind a bulk backlog, against a real redis-server: `bulk` reminders all due
// at the same instant are drained by claims of 256 (as dispatch claims them); every few claims
// a `high` reminder falls due, and the bench measures the real time from its apply to the
// claim that returns it, and how many bulk reminders were claimed meanwhile. Beside it, the
// same run with one lane (no priorities): where a late reminder lands in the backlog.
//   rappel-bench-lanes [--bulk N] [--every K]
#include "engine/base/time_format.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/keys.hpp"
#include "scheduler/redis_store.hpp"
#include "tests/support/redis_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

using namespace rappel;
using namespace rappel::scheduler;
using namespace std::chrono_literals;

namespace {

constexpr std::int32_t kPart = 0;
const TimePoint kDue = *parse_rfc3339("2027-01-14T15:00:00Z");  // Thursday 10:00 in Toronto

IngestItem make_item(std::int64_t offset, const std::string& licence, const std::string& stage) {
    IngestItem it;
    it.offset = offset;
    auto& ev = it.event;
    ev.event_id = "e" + licence;
    ev.type = EventType::due;
    ev.program = "drivers-licence";
    ev.licence_id = licence;
    ev.version = 1;
    ev.due_date = std::chrono::year{2027} / 2 / 14;
    ev.holder.name = "Holder";
    ev.holder.sms = "+16135550100";
    ev.holder.channels = {ChannelKind::sms};
    ev.holder.time_zone = "America/Toronto";
    it.key = outcome_key(ev);
    PlannedReminder r;
    r.stage = stage;
    r.channel = ChannelKind::sms;
    r.reminder_id = reminder_id(ev.program, ev.licence_id, ev.due_date, stage, r.channel);
    r.fire_at = kDue;
    r.expires_at = kDue + 72h;
    it.plan.push_back(std::move(r));
    return it;
}

std::shared_ptr<const WindowBook> lanes_book() {
    config::ProgramConfig p;
    p.id = "drivers-licence";
    config::StageConfig bulk, urgent;
    bulk.id = "routine";
    bulk.priority = config::Priority::bulk;
    urgent.id = "urgent";
    urgent.priority = config::Priority::high;
    p.stages = {bulk, urgent};
    return std::make_shared<const WindowBook>(std::map<std::string, config::ProgramConfig>{{p.id, p}},
                                              "America/Toronto");
}

struct Sample {
    double ms = 0;
    long bulk_before = 0;
};

template <typename T>
T wait(boost::asio::io_context& io, std::optional<T>& slot) {
    while (!slot) io.run_one_for(50ms);
    return std::move(*slot);
}

std::vector<Sample> run(int bulk, int every, bool lanes) {
    testkit::RedisServer server;
    boost::asio::io_context io;
    redis::Client client{io, redis::Endpoint{server.host(), server.port(), ""}};
    client.start();
    while (!client.connected()) io.run_one_for(20ms);
    RedisStore store{client, "rp", "renewals", std::chrono::days{400}, lanes ? lanes_book() : nullptr};
    std::int64_t offset = 0;
    auto apply = [&](std::vector<IngestItem> items) {
        std::optional<Result<ApplyResult>> r;
        store.apply(kPart, std::move(items), kDue - 1h, [&](Result<ApplyResult> x) { r = std::move(x); });
        if (auto res = wait(io, r); !res) throw std::runtime_error(res.error().message);
    };
    for (int i = 0; i < bulk; i += 1000) {
        std::vector<IngestItem> items;
        for (int j = i; j < std::min(bulk, i + 1000); ++j)
            items.push_back(make_item(offset++, fmt::format("B{:07}", j), "routine"));
        apply(std::move(items));
    }
    std::vector<Sample> samples;
    struct Waiting {
        std::string licence;
        std::chrono::steady_clock::time_point since;
        long bulk_claimed_at_apply = 0;
    };
    std::vector<Waiting> waiting;
    long bulk_claimed = 0, claims = 0, high_no = 0;
    ClaimToken token = 1;
    while (true) {
        if (claims % every == 0 && bulk_claimed < bulk) {
            const auto licence = fmt::format("H{:05}", high_no++);
            waiting.push_back({licence, std::chrono::steady_clock::now(), bulk_claimed});
            apply({make_item(offset++, licence, "urgent")});
        }
        std::optional<Result<ClaimBatch>> r;
        store.claim(kPart, kDue, 600s, 256, ++token, {}, [&](Result<ClaimBatch> x) { r = std::move(x); });
        auto res = wait(io, r);
        if (!res) throw std::runtime_error(res.error().message);
        ++claims;
        const auto now = std::chrono::steady_clock::now();
        for (const auto& c : res.value().items) {
            if (c.licence_id[0] == 'B') {
                ++bulk_claimed;
                continue;
            }
            auto it = std::find_if(waiting.begin(), waiting.end(), [&](const Waiting& w) { return w.licence == c.licence_id; });
            if (it == waiting.end()) continue;
            samples.push_back({std::chrono::duration<double, std::milli>(now - it->since).count(),
                               bulk_claimed - it->bulk_claimed_at_apply});
            waiting.erase(it);
        }
        if (res.value().items.empty()) break;
    }
    client.stop();
    return samples;
}

void report(const std::string& title, std::vector<Sample> s) {
    if (s.empty()) {
        std::cout << title << ": no sample\n";
        return;
    }
    std::sort(s.begin(), s.end(), [](const Sample& a, const Sample& b) { return a.ms < b.ms; });
    auto q = [&](double p) { return s[std::min(s.size() - 1, static_cast<std::size_t>(p * static_cast<double>(s.size())))]; };
    long most_bulk = 0;
    for (const auto& x : s) most_bulk = std::max(most_bulk, x.bulk_before);
    std::cout << fmt::format("{:<28} {:>6} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f} {:>14}\n", title, s.size(), q(0.5).ms,
                             q(0.9).ms, q(0.99).ms, s.back().ms, most_bulk);
}

}  // namespace

int main(int argc, char** argv) {
    int bulk = 100000, every = 20;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--bulk") && i + 1 < argc) bulk = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--every") && i + 1 < argc) every = std::max(1, std::atoi(argv[++i]));
    }
    std::cout << fmt::format("{} bulk reminders due at one instant, claimed 256 at a time; a high one falls due every "
                             "{} claims. Delay: real ms from its apply to the claim returning it.\n",
                             bulk, every);
    std::cout << fmt::format("{:<28} {:>6} {:>10} {:>10} {:>10} {:>10} {:>14}\n", "", "n", "p50 ms", "p90 ms",
                             "p99 ms", "max ms", "bulk before it");
    report("priority lanes (layout 3)", run(bulk, every, true));
    report("one lane (no priorities)", run(bulk, every, false));
    return 0;
}
