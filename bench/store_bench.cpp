// The schedule store on its own, against a real redis-server (AOF everysec): how many events
// per second layout 2 applies, what each costs in Redis CPU (INFO cpu) and in this process,
// how many bytes of Redis (INFO memory used_memory) a pending reminder takes, and what a
// claim + record round costs per message. Beside it, in the same run and on the same Redis,
// the machine's own limit: pipelined SET NX through the same hiredis client.
//   rappel-bench-store [--events N] [--quick]
#include "engine/base/time_format.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/keys.hpp"
#include "scheduler/redis_store.hpp"
#include "tests/support/redis_server.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

using namespace rappel;
using namespace rappel::scheduler;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 16;
int kBatch = 1000;
const TimePoint kT0 = *parse_rfc3339("2027-01-01T00:00:00Z");

double cpu_seconds_self() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double info_field(const testkit::RedisServer& r, const std::string& section, const std::string& field) {
    const auto text = r.cli("INFO " + section);
    const auto pos = text.find(field + ":");
    if (pos == std::string::npos) return 0;
    return std::atof(text.c_str() + pos + field.size() + 1);
}
double redis_cpu(const testkit::RedisServer& r) {
    return info_field(r, "cpu", "used_cpu_user") + info_field(r, "cpu", "used_cpu_sys");
}
double redis_memory(const testkit::RedisServer& r) { return info_field(r, "memory", "used_memory"); }

IngestItem make_item(int i) {
    IngestItem it;
    it.offset = i / kPartitions;
    auto& ev = it.event;
    ev.event_id = fmt::format("evt-{:08}", i);
    ev.program = "drivers-licence";
    ev.licence_id = fmt::format("D{:04}-{:05}-{:05}", i % 9973, i / 7, i % 65536);
    ev.version = 1733000000000000000 + i;
    ev.due_date = std::chrono::year_month_day{std::chrono::sys_days{std::chrono::floor<std::chrono::days>(kT0)} +
                                              std::chrono::days{90}};
    ev.holder.name = "Geneviève Côté-Tremblay";
    ev.holder.language = i % 3 ? Language::en : Language::fr;
    ev.holder.sms = fmt::format("+1613555{:04}", i % 10000);
    ev.holder.email = fmt::format("holder{}@example.ca", i);
    ev.data = {{"renewal_url", "https://www.ontario.ca/renew"}, {"fee", "90"}};
    it.key = outcome_key(ev);
    const std::pair<const char*, int> stages[] = {{"60d", -60}, {"30d", -30}, {"7d", -7}, {"1d-after", 1}};
    for (const auto& [stage, offset] : stages) {
        PlannedReminder r;
        r.stage = stage;
        r.channel = ChannelKind::sms;
        r.reminder_id = reminder_id(ev.program, ev.licence_id, ev.due_date, stage, r.channel);
        r.fire_at = TimePoint{std::chrono::sys_days{ev.due_date} + std::chrono::days{offset} + 14h};
        r.expires_at = r.fire_at + 72h;
        it.plan.push_back(std::move(r));
    }
    return it;
}

struct Row {
    std::string figure;
    double engine;
    double limit;
    std::string unit;
};

}  // namespace

int main(int argc, char** argv) {
    int events = 200000;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) events = 40000;
        else if (!std::strcmp(argv[i], "--events") && i + 1 < argc) events = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) kBatch = std::atoi(argv[++i]);
    }
    testkit::RedisServer server;
    boost::asio::io_context io;
    redis::Client client{io, redis::Endpoint{server.host(), server.port(), ""}};
    client.start();
    while (!client.connected()) io.run_one_for(20ms);
    RedisStore store{client, "rp", "renewals", std::chrono::days{400}};

    // Build every batch first: the figures are the store's, not the event generator's.
    std::map<int, std::vector<std::vector<IngestItem>>> batches;
    {
        std::map<int, std::vector<IngestItem>> open;
        for (int i = 0; i < events; ++i) {
            const int p = i % kPartitions;
            open[p].push_back(make_item(i));
            if (open[p].size() == static_cast<std::size_t>(kBatch)) batches[p].push_back(std::move(open[p])), open[p].clear();
        }
        for (auto& [p, v] : open)
            if (!v.empty()) batches[p].push_back(std::move(v));
    }
    const double mem0 = redis_memory(server);

    // ---- ingest: every partition applies its batches one after another, all partitions at once
    const double rc0 = redis_cpu(server), sc0 = cpu_seconds_self();
    const auto t0 = std::chrono::steady_clock::now();
    int running = 0;
    std::int64_t scheduled = 0;
    std::function<void(int, std::size_t)> next = [&](int p, std::size_t k) {
        if (k >= batches[p].size()) {
            --running;
            return;
        }
        store.apply(p, std::move(batches[p][k]), kT0, [&, p, k](Result<ApplyResult> r) {
            if (!r) {
                std::cerr << "apply failed: " << r.error().message << "\n";
                std::exit(1);
            }
            scheduled += r.value().scheduled;
            next(p, k + 1);
        });
    };
    for (int p = 0; p < kPartitions; ++p) ++running, next(p, 0);
    while (running > 0) io.run_one();
    const double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double ingest_redis = redis_cpu(server) - rc0, ingest_self = cpu_seconds_self() - sc0;
    const double mem_per_reminder = (redis_memory(server) - mem0) / static_cast<double>(scheduled);
    // The outbox is transient (relayed and deleted); count the schedule alone as well.
    for (int p = 0; p < kPartitions; ++p) server.cli("DEL " + Keys("rp", p).outbox());
    const double mem_schedule = (redis_memory(server) - mem0) / static_cast<double>(scheduled);

    // ---- dispatch round: claim everything due, record it sent
    const double rc1 = redis_cpu(server), sc1 = cpu_seconds_self();
    const auto t1 = std::chrono::steady_clock::now();
    const TimePoint late = kT0 + std::chrono::days{400};
    std::int64_t sent = 0;
    std::function<void(int)> round = [&](int p) {
        store.claim(p, kT0 + std::chrono::days{30} + 15h, 300s, 512, 7, {}, [&, p](Result<ClaimBatch> r) {
            if (!r) {
                std::cerr << "claim failed: " << r.error().message << "\n";
                std::exit(1);
            }
            if (r.value().items.empty()) {
                --running;
                return;
            }
            std::vector<AttemptRecord> recs;
            for (auto& c : r.value().items) {
                AttemptRecord a;
                a.ref = c.ref;
                a.token = 7;
                a.provider = "bench";
                a.provider_message_id = "SM0123456789abcdef0123456789abcdef";
                recs.push_back(std::move(a));
            }
            sent += static_cast<std::int64_t>(recs.size());
            store.record(p, kT0 + std::chrono::days{30} + 15h, std::move(recs), [&, p](auto) { round(p); });
        });
    };
    (void)late;
    for (int p = 0; p < kPartitions; ++p) ++running, round(p);
    while (running > 0) io.run_one();
    const double dispatch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    const double dispatch_redis = redis_cpu(server) - rc1, dispatch_self = cpu_seconds_self() - sc1;

    // ---- the machine's own limit: pipelined SET NX on the same Redis, same client
    const int n_set = events;
    const double rc2 = redis_cpu(server);
    const auto t2 = std::chrono::steady_clock::now();
    int replies = 0, issued = 0;
    std::function<void()> fill = [&] {
        while (issued < n_set && issued - replies < 2000) {
            client.command({"SET", fmt::format("bench:nx:{}", issued), "1", "NX"}, [&](redis::Reply) {
                ++replies;
                fill();
            });
            ++issued;
        }
    };
    fill();
    while (replies < n_set) io.run_one();
    const double set_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count();
    const double set_redis = redis_cpu(server) - rc2;

    const double ingest_rate = events / ingest_s, set_rate = n_set / set_s;
    fmt::print("rappel-bench-store: {} events x 4 SMS stages, {} partitions, batches of {}, redis AOF everysec\n",
               events, kPartitions, kBatch);
    fmt::print("{:<44} {:>12} {:>12} {:>8}\n", "figure", "store", "limit", "ratio");
    auto row = [](const std::string& f, double e, double l, const std::string& unit) {
        fmt::print("{:<44} {:>12.1f} {:>12.1f} {:>8}\n", f + " (" + unit + ")", e, l,
                   l > 0 ? fmt::format("{:.2f}", e / l) : std::string("-"));
    };
    row("ingest: events applied / SET NX", ingest_rate, set_rate, "per s");
    row("ingest: redis CPU per event / per SET NX", 1e6 * ingest_redis / events, 1e6 * set_redis / n_set, "us");
    row("ingest: store client CPU per event", 1e6 * ingest_self / events, 0, "us");
    row("memory per pending reminder, with outbox", mem_per_reminder, 150, "B");
    row("memory per pending reminder, schedule only", mem_schedule, 150, "B");
    row("dispatch: claim+record per message", sent / dispatch_s, 0, "per s");
    row("dispatch: redis CPU per message", 1e6 * dispatch_redis / static_cast<double>(sent), 0, "us");
    row("dispatch: store client CPU per message", 1e6 * dispatch_self / static_cast<double>(sent), 0, "us");
    fmt::print("scheduled {} reminders, claimed and recorded {}\n", scheduled, sent);
    client.stop();
    return 0;
}
