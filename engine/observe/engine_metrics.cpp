#include "engine/observe/engine_metrics.hpp"

#include "engine/base/log.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/keys.hpp"

#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace rappel::observe {
namespace {

constexpr std::string_view kLog = "observe";

constexpr std::array<std::string_view, 10> kStatuses = {"scheduled", "sent",      "delivered", "undelivered",
                                                        "failed",    "cancelled", "suppressed", "expired",
                                                        "stale",     "invalid"};
constexpr std::array<std::string_view, 4> kChannels = {"sms", "email", "voice", "none"};
constexpr std::array<std::string_view, 8> kReasons = {"invalid-json",  "invalid-value",      "missing-field",
                                                      "too-large",     "unsupported-schema", "wrong-type",
                                                      "key-mismatch",  "unknown-program"};

template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& names, std::string_view v) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == v) return i;
    return N;  // "other"
}

// The value of `"<name>":"..."` at or after `from` (outcome JSON has a fixed field order
// and these values never contain escapes: ids, enums).
std::string_view field_after(std::string_view json, std::string_view name, std::size_t& from) {
    const auto at = json.find(name, from);
    if (at == std::string_view::npos) return {};
    const auto start = at + name.size();
    const auto end = json.find('"', start);
    if (end == std::string_view::npos) return {};
    from = end;
    return json.substr(start, end - start);
}

class InstrumentedChannel : public channels::Channel {
public:
    struct Series {
        Counter* accepted;
        Counter* retry;
        Counter* rejected;
        Histogram* latency;
    };
    InstrumentedChannel(channels::Channel& inner, Series s) : inner_(inner), s_(s) {}
    std::string_view provider() const override { return inner_.provider(); }
    ChannelKind kind() const override { return inner_.kind(); }
    void send(const channels::Message& message, channels::SendCallback done) override {
        const auto start = std::chrono::steady_clock::now();
        inner_.send(message, [s = s_, start, done = std::move(done)](channels::SendResult r) {
            const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
            s.latency->observe(took.count());
            switch (r.status) {
            case channels::SendStatus::accepted: s.accepted->inc(); break;
            case channels::SendStatus::retry: s.retry->inc(); break;
            case channels::SendStatus::rejected: s.rejected->inc(); break;
            }
            done(std::move(r));
        });
    }

private:
    channels::Channel& inner_;
    Series s_;
};

}  // namespace

bool EngineMetrics::parse_outcome_labels(std::string_view json, OutcomeLabels& out) {
    std::size_t pos = 0;
    out.program = field_after(json, R"("program":")", pos);
    const auto channel_at = json.find(R"("channel":")", pos);
    if (channel_at == std::string_view::npos) return false;
    out.channel = field_after(json, R"("channel":")", pos);
    out.status = field_after(json, R"("status":")", pos);
    return !out.status.empty();
}

struct EngineMetrics::Impl {
    Impl(boost::asio::io_context& io_, const config::Config& cfg_, ClockPtr clock_, EngineMetricsOptions o,
         Registry& reg)
        : io(io_), cfg(cfg_), clock(std::move(clock_)), opts(std::move(o)), timer(io_),
          probe(io_, redis::Endpoint{cfg_.redis.host, cfg_.redis.port, cfg_.redis.password},
                redis::ClientOptions{.command_timeout = cfg_.redis.command_timeout,
                                     .connect_timeout = cfg_.redis.connect_timeout,
                                     .down_log_interval = std::chrono::minutes{10},
                                     .random = {}}),
          build_info(reg.gauge("rappel_build_info", "Build of this rappeld (value 1).", {"version", "commit"})),
          start_time(reg.gauge("rappel_process_start_time_seconds", "Start time of the process (Unix seconds).").get()),
          consumed(reg.counter("rappel_events_consumed_total", "Events read from the events topic.").get()),
          applied(reg.counter("rappel_events_applied_total",
                              "Events applied to the schedule (valid and invalid ones, stale included).")
                      .get()),
          dead_lettered(reg.counter("rappel_events_dead_lettered_total",
                                    "Invalid events sent to the dead-letter topic, by reason.", {"reason"})),
          dead_letters_failed(reg.counter("rappel_dead_letters_failed_total",
                                          "Invalid events the dead-letter topic refused for good.")
                                  .get()),
          claimed(reg.counter("rappel_reminders_claimed_total", "Due reminders claimed for sending.").get()),
          outcomes(reg.counter("rappel_outcomes_total",
                               "Outcomes published to the outcomes topic, by program, channel and status "
                               "(channel none: event-level outcomes).",
                               {"program", "channel", "status"})),
          sends(reg.counter("rappel_sends_total", "Send attempts by provider and result (accepted, retry, rejected).",
                            {"provider", "result"})),
          send_seconds(reg.histogram("rappel_send_duration_seconds",
                                     "Time from handing a message to its provider to the provider's answer.",
                                     exponential_buckets(0.005, 2, 13), {"provider"})),
          partitions(reg.gauge("rappel_partitions_owned", "Input partitions this engine serves.").get()),
          in_flight(reg.gauge("rappel_sends_in_flight", "Reminders claimed and not yet recorded.").get()),
          buffered(reg.gauge("rappel_events_buffered", "Events consumed and not yet applied.").get()),
          paused(reg.gauge("rappel_partitions_paused", "Partitions paused for backpressure.").get()),
          outbox(reg.gauge("rappel_outbox_backlog", "Outbox entries waiting to be published (owned partitions).")
                     .get()),
          scheduled(reg.gauge("rappel_schedule_licences",
                              "Licences with a pending reminder or a running claim (owned partitions).")
                        .get()),
          due_hour(reg.gauge("rappel_schedule_due_next_hour",
                             "Licences with a reminder due within the next hour of engine time (owned partitions).")
                       .get()),
          overdue(reg.gauge("rappel_schedule_overdue",
                            "Licences with a reminder due more than a minute ago: the engine is behind (owned "
                            "partitions).")
                      .get()),
          lag(reg.gauge("rappel_consumer_lag_events",
                        "Events in the events topic past this engine's committed offsets (partitions served; "
                        "high watermark as of the last fetch).")
                  .get()),
          redis_up(reg.gauge("rappel_redis_up", "1 when the last Redis probe answered.").get()),
          redis_rtt(reg.histogram("rappel_redis_rtt_seconds", "Round-trip time of the Redis probe (PING).",
                                  exponential_buckets(0.0001, 2, 14))
                        .get()),
          ready_gauge(reg.gauge("rappel_ready", "1 when /readyz answers 200.").get()),
          reloads(reg.counter("rappel_config_reloads_total", "Configuration reloads, by result.", {"result"})) {
        build_info.with({opts.version, opts.commit}).set(1);
        start_time.set(static_cast<double>(
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count()));
        reloads.with({"success"});
        reloads.with({"failure"});
        for (auto r : kReasons) dead_lettered.with({std::string(r)});
        for (const auto& [id, p] : cfg.programs) programs.push_back(id);
        outcome_series.assign((programs.size() + 1) * kChannels.size() * (kStatuses.size() + 1), nullptr);
    }

    Counter& outcome_counter(std::string_view program, std::string_view channel, std::string_view status) {
        const auto pi = static_cast<std::size_t>(std::find(programs.begin(), programs.end(), program) - programs.begin());
        const auto ci = std::min(index_of(kChannels, channel.empty() ? "none" : channel), kChannels.size() - 1);
        const auto si = index_of(kStatuses, status);
        auto& slot = outcome_series[(pi * kChannels.size() + ci) * (kStatuses.size() + 1) + si];
        if (!slot) {
            slot = &outcomes.with({pi < programs.size() ? programs[pi] : std::string("none"),
                                   std::string(kChannels[ci]),
                                   si < kStatuses.size() ? std::string(kStatuses[si]) : std::string("other")});
        }
        return *slot;
    }

    void schedule_probe(std::chrono::milliseconds after) {
        timer.expires_after(after);
        timer.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) run_probe();
        });
    }

    // One PING, then per owned partition XLEN of the outbox and ZCARD/ZCOUNT of the schedule;
    // the gauges are set once every reply is in.
    void run_probe() {
        if (stopped) return;
        if (!probe.connected()) {
            redis_up.set(0);
            last_probe_ok = false;
            return schedule_probe(opts.probe_interval);
        }
        const auto sent = std::chrono::steady_clock::now();
        probe.command({"PING"}, [this, sent](redis::Reply r) {
            if (stopped) return;
            const bool ok = !r.is_error();
            last_probe_ok = ok;
            redis_up.set(ok ? 1 : 0);
            if (!ok) return schedule_probe(opts.probe_interval);
            last_probe_at = std::chrono::steady_clock::now();
            redis_rtt.observe(std::chrono::duration<double>(last_probe_at - sent).count());
            probe_partitions();
        });
    }

    void probe_partitions() {
        const auto owned = engine ? engine->health().owned : std::vector<std::int32_t>{};
        if (owned.empty()) {
            outbox.set(0);
            scheduled.set(0);
            due_hour.set(0);
            overdue.set(0);
            outbox_entries = 0;
            return schedule_probe(opts.probe_interval);
        }
        struct Sums {
            std::size_t pending = 0;
            std::int64_t outbox = 0, licences = 0, due = 0, overdue = 0;
            bool failed = false;
        };
        auto sums = std::make_shared<Sums>();
        // Per partition: the outbox, and three counts in each priority lane's schedule.
        sums->pending = owned.size() * 10;
        const auto now = clock->now();
        const auto late = std::to_string(to_unix_ms(now - std::chrono::minutes{1}));
        const auto start = "(" + std::to_string(to_unix_ms(now));
        const auto horizon = std::to_string(to_unix_ms(now + std::chrono::hours{1}));
        auto add = [this, sums](std::int64_t Sums::*field) {
            return [this, sums, field](redis::Reply r) {
                if (stopped) return;
                if (r.type == redis::Reply::Type::integer) (*sums).*field += r.integer;
                else sums->failed = true;
                if (--sums->pending > 0) return;
                if (!sums->failed) {
                    outbox.set(static_cast<double>(sums->outbox));
                    scheduled.set(static_cast<double>(sums->licences));
                    due_hour.set(static_cast<double>(sums->due));
                    overdue.set(static_cast<double>(sums->overdue));
                    outbox_entries = static_cast<std::size_t>(sums->outbox);
                }
                schedule_probe(opts.probe_interval);
            };
        };
        for (auto p : owned) {
            const scheduler::Keys keys(cfg.redis.key_prefix, p);
            probe.command({"XLEN", keys.outbox()}, add(&Sums::outbox));
            for (auto lane : {config::Priority::high, config::Priority::normal, config::Priority::bulk}) {
                const auto key = keys.schedule(lane);
                probe.command({"ZCARD", key}, add(&Sums::licences));
                probe.command({"ZCOUNT", key, start, horizon}, add(&Sums::due));
                probe.command({"ZCOUNT", key, "-inf", late}, add(&Sums::overdue));
            }
        }
    }

    void collect() {
        if (!engine) return;
        const auto s = engine->stats();
        consumed.set(s.events_consumed);
        applied.set(s.events_applied);
        dead_letters_failed.set(s.dead_letters_failed);
        claimed.set(s.reminders_claimed);
        const auto h = engine->health();
        partitions.set(static_cast<double>(h.owned.size()));
        in_flight.set(static_cast<double>(h.in_flight));
        buffered.set(static_cast<double>(h.buffered_events));
        paused.set(static_cast<double>(h.paused));
        lag.set(static_cast<double>(engine->consumer_lag().value_or(0)));
        std::string why;
        ready_gauge.set(ready(why) ? 1 : 0);
    }

    bool ready(std::string& why) const {
        if (!engine) return why = "engine not started", false;
        const auto h = engine->health();
        if (h.stopping) return why = "stopping", false;
        const auto stale_after = 3 * opts.probe_interval;
        if (!probe.connected() || !last_probe_ok ||
            std::chrono::steady_clock::now() - last_probe_at > stale_after)
            return why = "redis unreachable", false;
        if (h.store_failing > 0) return why = fmt::format("redis calls failing on {} partitions", h.store_failing), false;
        if (h.owned.empty()) return why = "no partitions assigned", false;
        if (h.relay_failing > 0)
            return why = fmt::format("outbox relay failing on {} partitions", h.relay_failing), false;
        if (outbox_entries > opts.ready_max_outbox)
            return why = fmt::format("outbox backlog {} above {}", outbox_entries, opts.ready_max_outbox), false;
        return true;
    }

    boost::asio::io_context& io;
    const config::Config& cfg;
    ClockPtr clock;
    EngineMetricsOptions opts;
    boost::asio::steady_timer timer;
    redis::Client probe;
    const core::Engine* engine = nullptr;
    bool stopped = false;
    bool last_probe_ok = false;
    std::chrono::steady_clock::time_point last_probe_at{};
    std::size_t outbox_entries = 0;

    Family<Gauge>& build_info;
    Gauge& start_time;
    Counter& consumed;
    Counter& applied;
    Family<Counter>& dead_lettered;
    Counter& dead_letters_failed;
    Counter& claimed;
    Family<Counter>& outcomes;
    Family<Counter>& sends;
    Family<Histogram>& send_seconds;
    Gauge& partitions;
    Gauge& in_flight;
    Gauge& buffered;
    Gauge& paused;
    Gauge& outbox;
    Gauge& scheduled;
    Gauge& due_hour;
    Gauge& overdue;
    Gauge& lag;
    Gauge& redis_up;
    Histogram& redis_rtt;
    Gauge& ready_gauge;
    Family<Counter>& reloads;

    std::vector<std::string> programs;
    std::vector<Counter*> outcome_series;  // [program][channel][status], created on first use
    std::vector<Counter*> reason_series;
};

EngineMetrics::EngineMetrics(boost::asio::io_context& io, const config::Config& cfg, ClockPtr clock,
                             EngineMetricsOptions options)
    : impl_(std::make_unique<Impl>(io, cfg, std::move(clock), std::move(options), registry_)) {
    registry_.on_collect([this] { impl_->collect(); });
    for (auto r : kReasons) impl_->reason_series.push_back(&impl_->dead_lettered.with({std::string(r)}));
    impl_->reason_series.push_back(&impl_->dead_lettered.with({"other"}));
}

EngineMetrics::~EngineMetrics() { stop(); }

channels::ChannelRegistry EngineMetrics::instrument(const channels::ChannelRegistry& inner) {
    channels::ChannelRegistry out;
    for (auto kind : {ChannelKind::sms, ChannelKind::email, ChannelKind::voice}) {
        channels::Channel* c = inner.find(kind);
        if (!c) continue;
        const std::string provider(c->provider());
        InstrumentedChannel::Series s{&impl_->sends.with({provider, "accepted"}),
                                      &impl_->sends.with({provider, "retry"}),
                                      &impl_->sends.with({provider, "rejected"}),
                                      &impl_->send_seconds.with({provider})};
        out.add(std::make_unique<InstrumentedChannel>(*c, s));
    }
    return out;
}

void EngineMetrics::attach(const core::Engine& engine) { impl_->engine = &engine; }

void EngineMetrics::start() {
    impl_->stopped = false;
    impl_->probe.start();
    impl_->schedule_probe(std::chrono::milliseconds{0});
}

void EngineMetrics::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->timer.cancel();
    impl_->probe.stop();
}

bool EngineMetrics::ready(std::string& reason) const { return impl_->ready(reason); }

HttpResponse EngineMetrics::handle(const std::string& path) {
    if (path == "/metrics") return HttpResponse{200, std::string(Registry::kContentType), registry_.render()};
    if (path == "/healthz") return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
        std::string why;
        if (ready(why)) return HttpResponse{200, "text/plain; charset=utf-8", "ready\n"};
        return HttpResponse{503, "text/plain; charset=utf-8", "not ready: " + why + "\n"};
    }
    return HttpResponse{404, "text/plain; charset=utf-8", "not found (try /metrics, /healthz, /readyz)\n"};
}

void EngineMetrics::on_invalid_event(std::string_view reason) {
    impl_->reason_series[index_of(kReasons, reason)]->inc();
}

void EngineMetrics::on_outcome_published(std::string_view outcome_json) {
    OutcomeLabels l;
    if (!parse_outcome_labels(outcome_json, l)) return;
    impl_->outcome_counter(l.program, l.channel, l.status).inc();
}

}  // namespace rappel::observe
