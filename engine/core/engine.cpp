#include "engine/core/engine.hpp"

#include "engine/base/log.hpp"
#include "engine/core/retry.hpp"
#include "engine/event/event_parser.hpp"
#include "engine/kafka/kafka.hpp"
#include "engine/redis/redis_client.hpp"
#include "scheduler/plan.hpp"
#include "scheduler/store.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>

namespace rappel::core {
namespace {

constexpr std::string_view kLog = "engine";
constexpr int kOutboxBatch = 500;
constexpr std::size_t kPauseAbove = 20000;  // buffered events per partition before pausing

std::optional<std::chrono::year_month_day> parse_date(std::string_view s) {
    int y = 0;
    unsigned m = 0, d = 0;
    if (std::sscanf(std::string(s).c_str(), "%d-%u-%u", &y, &m, &d) != 3) return std::nullopt;
    std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
    if (!ymd.ok()) return std::nullopt;
    return ymd;
}

const std::string& contact_for(const scheduler::Payload& p, ChannelKind c) {
    switch (c) {
    case ChannelKind::sms: return p.sms;
    case ChannelKind::email: return p.email;
    case ChannelKind::voice: return p.voice;
    }
    return p.sms;
}

}  // namespace

struct Engine::Impl : std::enable_shared_from_this<Impl> {
    struct InFlight {
        std::string token;
        int attempt = 0;
    };

    struct Partition {
        std::uint64_t generation = 0;
        bool owned = false;
        // Ingest: consumed messages not yet applied, oldest first.
        std::deque<kafka::Message> pending;
        bool applying = false;
        bool paused = false;
        // Firing.
        bool claiming = false;
        std::optional<TimePoint> next_due;
        std::unordered_map<std::string, InFlight> in_flight;  // reminder id -> claim
        // Outbox relay.
        bool relaying = false;
        bool relay_again = false;
    };

    EngineDeps deps;
    const config::Config& cfg;
    redis::Client redis;
    scheduler::ScheduleStore store;
    std::unique_ptr<kafka::Producer> producer;
    std::unique_ptr<kafka::Consumer> consumer;
    std::unique_ptr<redis::SyncClient> sync_redis;
    EventParser parser;
    std::set<ChannelKind> available_channels;
    std::map<std::int32_t, Partition> parts;
    boost::asio::steady_timer tick_timer;
    TimePoint tick_due = TimePoint::max();
    std::uint64_t generation_seq = 0;
    std::uint64_t token_seq = 0;
    std::size_t sends_in_flight = 0;
    std::size_t completes_in_flight = 0;
    bool stopping = false;
    std::function<void()> on_stopped;
    EngineStats counters;

    explicit Impl(EngineDeps d)
        : deps(std::move(d)),
          cfg(deps.config),
          redis(deps.io, redis::Endpoint{cfg.redis.host, cfg.redis.port, cfg.redis.password}),
          store(redis, cfg.redis.key_prefix, cfg.kafka.events_topic,
                std::chrono::duration_cast<Millis>(cfg.engine.retention)),
          tick_timer(deps.io) {
        for (auto kind : {ChannelKind::sms, ChannelKind::email, ChannelKind::voice})
            if (deps.channels.find(kind)) available_channels.insert(kind);
    }

    TimePoint now() const { return deps.clock->now(); }
    // The poll interval is real time; on a simulated clock it spans more clock time.
    Millis poll_interval() const { return deps.clock->elapsed_during(cfg.engine.poll_interval); }

    std::string dlq_topic() const {
        return cfg.kafka.dlq_topic.empty() ? cfg.kafka.events_topic + ".dlq" : cfg.kafka.dlq_topic;
    }

    kafka::Properties base_properties() const {
        kafka::Properties p{{"bootstrap.servers", cfg.kafka.brokers}};
        for (const auto& [k, v] : cfg.kafka.properties) p[k] = v;
        return p;
    }

    void start() {
        redis.start();
        sync_redis = std::make_unique<redis::SyncClient>(
            redis::Endpoint{cfg.redis.host, cfg.redis.port, cfg.redis.password});

        auto pprops = base_properties();
        pprops.erase("group.id");
        pprops.erase("session.timeout.ms");
        pprops.erase("heartbeat.interval.ms");
        pprops.erase("partition.assignment.strategy");
        pprops.erase("auto.offset.reset");
        producer = std::make_unique<kafka::Producer>(deps.io, pprops);

        auto cprops = base_properties();
        cprops["group.id"] = cfg.kafka.group_id;
        std::weak_ptr<Impl> weak = shared_from_this();
        kafka::Consumer::Handlers h;
        h.on_messages = [weak](std::vector<kafka::Message>&& msgs) {
            if (auto self = weak.lock()) self->on_messages(std::move(msgs));
        };
        h.on_assign = [weak](std::vector<kafka::TopicPartitionOffset>& tps) {
            if (auto self = weak.lock()) self->on_assign(tps);
        };
        h.on_revoke = [weak](const std::vector<kafka::TopicPartitionOffset>& tps) {
            if (auto self = weak.lock()) self->on_revoke(tps);
        };
        h.on_error = [](std::string_view e) { log::warn("kafka", "{}", e); };
        consumer = std::make_unique<kafka::Consumer>(deps.io, cprops,
                                                     std::vector<std::string>{cfg.kafka.events_topic},
                                                     std::move(h),
                                                     static_cast<std::size_t>(cfg.engine.ingest_batch));
        consumer->start();
        arm_tick(now() + poll_interval());
        log::info(kLog, "started instance {} consuming {} as group {}", deps.instance_id,
                  cfg.kafka.events_topic, cfg.kafka.group_id);
    }

    // ---- partition ownership -------------------------------------------------------------

    void on_assign(std::vector<kafka::TopicPartitionOffset>& tps) {
        for (auto& tp : tps) {
            tp.offset = start_offset(tp.partition);
            auto& p = parts[tp.partition];
            p.owned = true;
            p.generation = ++generation_seq;
            p.pending.clear();
            p.paused = false;
            p.next_due = now();
            log::info(kLog, "assigned partition {} from offset {}", tp.partition, tp.offset);
        }
        counters.partitions_owned = owned_count();
        post_tick();
    }

    // Where to consume a newly assigned partition from: the next offset stored in Redis with
    // the state it covers. Kafka's committed offset is only for lag monitoring: after Redis
    // lost its last second it is ahead of the state, and after Redis lost everything it would
    // skip what must be rebuilt. So no stored offset means "from the beginning"; re-applying
    // what was applied is harmless (stale versions, offsets below the stored one are skipped).
    std::int64_t start_offset(std::int32_t partition) {
        constexpr std::int64_t kBeginning = -2;  // RD_KAFKA_OFFSET_BEGINNING
        for (int attempt = 1; attempt <= 5; ++attempt) {
            auto stored = scheduler::ScheduleStore::read_offset(*sync_redis, cfg.redis.key_prefix,
                                                                cfg.kafka.events_topic, partition);
            if (stored) return stored.value().value_or(kBeginning);
            log::warn(kLog, "partition {}: cannot read stored offset (attempt {}): {}", partition, attempt,
                      stored.error().message);
            // Blocking is acceptable here: a rebalance callback, and nothing can be applied anyway.
            std::this_thread::sleep_for(std::chrono::milliseconds{200 * attempt});
        }
        log::error(kLog, "partition {}: Redis unreachable; consuming from the beginning", partition);
        return kBeginning;
    }

    void on_revoke(const std::vector<kafka::TopicPartitionOffset>& tps) {
        for (const auto& tp : tps) {
            auto it = parts.find(tp.partition);
            if (it == parts.end()) continue;
            it->second.owned = false;
            it->second.generation = ++generation_seq;
            it->second.pending.clear();
            log::info(kLog, "revoked partition {}", tp.partition);
        }
        counters.partitions_owned = owned_count();
    }

    std::uint64_t owned_count() const {
        return static_cast<std::uint64_t>(
            std::count_if(parts.begin(), parts.end(), [](const auto& kv) { return kv.second.owned; }));
    }

    // ---- ingest --------------------------------------------------------------------------

    void on_messages(std::vector<kafka::Message>&& msgs) {
        std::set<std::int32_t> touched;
        for (auto& m : msgs) {
            auto it = parts.find(m.partition);
            if (it == parts.end() || !it->second.owned) continue;
            ++counters.events_consumed;
            it->second.pending.push_back(std::move(m));
            touched.insert(it->first);
        }
        for (auto p : touched) {
            auto& part = parts[p];
            if (!part.paused && part.pending.size() > kPauseAbove) {
                part.paused = true;
                consumer->pause({{cfg.kafka.events_topic, p, -1001}});
            }
            apply_next(p);
        }
    }

    struct Batch {
        std::vector<std::string> entries;
        std::vector<const kafka::Message*> invalid;
        std::vector<EventError> errors;
        std::size_t count = 0;
    };

    Batch build_batch(Partition& part) {
        Batch b;
        const auto n = std::min(part.pending.size(), static_cast<std::size_t>(cfg.engine.ingest_batch));
        const TimePoint t = now();
        RenewalEvent ev;
        EventError err;
        for (std::size_t i = 0; i < n; ++i) {
            const auto& m = part.pending[i];
            const std::string_view key = m.key ? std::string_view(*m.key) : std::string_view{};
            bool ok = false;
            if (!m.value) {
                err = EventError{"invalid-json", "message has no value", ""};
            } else {
                ok = parser.parse(*m.value, ev, err);
            }
            if (ok) {
                auto prog = cfg.programs.find(ev.program);
                if (prog == cfg.programs.end()) {
                    ok = false;
                    err = EventError{"unknown-program", "no campaign is configured for program '" +
                                                            ev.program + "'", ev.event_id};
                }
            }
            if (!ok) {
                ++counters.events_invalid;
                b.entries.push_back(scheduler::encode_invalid_entry(m.offset, key, err));
                b.invalid.push_back(&m);
                b.errors.push_back(err);
                continue;
            }
            std::vector<scheduler::PlannedReminder> plan;
            if (ev.type == EventType::due)
                plan = scheduler::plan_reminders(ev, cfg.programs.at(ev.program), cfg.engine,
                                                 available_channels, t);
            b.entries.push_back(scheduler::encode_event_entry(m.offset, ev, plan));
        }
        b.count = n;
        return b;
    }

    void apply_next(std::int32_t p) {
        auto& part = parts[p];
        if (stopping || part.applying || part.pending.empty() || !part.owned) return;
        part.applying = true;
        auto batch = std::make_shared<Batch>(build_batch(part));
        const auto gen = part.generation;
        if (batch->invalid.empty()) {
            run_apply(p, gen, batch);
        } else {
            dead_letter(p, gen, batch);
        }
    }

    // Invalid events go to the dead-letter topic unchanged, with headers naming the reason
    // and source; the batch is applied (and its offset stored) only once Kafka has them.
    void dead_letter(std::int32_t p, std::uint64_t gen, std::shared_ptr<Batch> batch) {
        auto remaining = std::make_shared<std::size_t>(batch->invalid.size());
        auto failed = std::make_shared<bool>(false);
        std::weak_ptr<Impl> weak = shared_from_this();
        for (std::size_t i = 0; i < batch->invalid.size(); ++i) {
            const auto& m = *batch->invalid[i];
            const auto& e = batch->errors[i];
            kafka::Headers headers = m.headers;
            headers.emplace_back("rappel-reason", e.reason);
            headers.emplace_back("rappel-detail", e.detail);
            headers.emplace_back("rappel-source-topic", m.topic);
            headers.emplace_back("rappel-source-partition", std::to_string(m.partition));
            headers.emplace_back("rappel-source-offset", std::to_string(m.offset));
            log::warn(kLog, "dead-lettering partition {} offset {}: {}: {}", m.partition, m.offset,
                      e.reason, e.detail);
            auto cb = [weak, p, gen, batch, remaining, failed](const kafka::Producer::DeliveryReport& r) {
                auto self = weak.lock();
                if (!self) return;
                if (!r.ok) *failed = true;
                if (--*remaining > 0) return;
                if (*failed) {
                    log::error(kLog, "dead-letter produce failed; retrying partition {}", p);
                    self->retry_apply_later(p, gen);
                } else {
                    self->run_apply(p, gen, batch);
                }
            };
            const bool queued = producer->produce(
                dlq_topic(), -1,
                m.key ? std::optional<std::string_view>(*m.key) : std::nullopt,
                m.value ? std::optional<std::string_view>(*m.value) : std::nullopt, headers, cb);
            if (!queued) cb(kafka::Producer::DeliveryReport{false, "local queue full", -1, -1});
        }
    }

    void run_apply(std::int32_t p, std::uint64_t gen, std::shared_ptr<Batch> batch) {
        std::weak_ptr<Impl> weak = shared_from_this();
        store.apply(p, std::move(batch->entries), now(),
                    [weak, p, gen, count = batch->count](Result<scheduler::ApplyResult> r) {
                        auto self = weak.lock();
                        if (!self) return;
                        self->on_applied(p, gen, count, std::move(r));
                    });
    }

    void on_applied(std::int32_t p, std::uint64_t gen, std::size_t count,
                    Result<scheduler::ApplyResult> r) {
        auto& part = parts[p];
        if (!r) {
            log::error(kLog, "partition {}: applying events failed: {}", p, r.error().message);
            retry_apply_later(p, gen);
            return;
        }
        part.applying = false;
        if (part.generation != gen) {
            maybe_finish_shutdown();
            return;  // lost the partition meanwhile; the next owner re-reads from Redis
        }
        counters.events_applied += static_cast<std::uint64_t>(r.value().applied);
        for (std::size_t i = 0; i < count && !part.pending.empty(); ++i) part.pending.pop_front();
        if (r.value().next_offset >= 0)
            consumer->commit({{cfg.kafka.events_topic, p, r.value().next_offset}});
        if (part.paused && part.pending.size() < kPauseAbove / 2) {
            part.paused = false;
            consumer->resume({{cfg.kafka.events_topic, p, -1001}});
        }
        if (r.value().scheduled > 0) {
            part.next_due = now();
            post_tick();
        }
        relay(p);
        apply_next(p);
        maybe_finish_shutdown();
    }

    void retry_apply_later(std::int32_t p, std::uint64_t gen) {
        auto timer = std::make_shared<boost::asio::steady_timer>(deps.io, std::chrono::milliseconds{500});
        std::weak_ptr<Impl> weak = shared_from_this();
        timer->async_wait([weak, p, gen, timer](const boost::system::error_code&) {
            auto self = weak.lock();
            if (!self) return;
            auto& part = self->parts[p];
            part.applying = false;
            if (part.generation == gen) self->apply_next(p);
            self->maybe_finish_shutdown();
        });
    }

    // ---- firing --------------------------------------------------------------------------

    void arm_tick(TimePoint when) {
        if (when >= tick_due && tick_due > now()) return;  // an earlier tick is already armed
        tick_due = when;
        tick_timer.expires_after(deps.clock->real_delay_until(when));
        std::weak_ptr<Impl> weak = shared_from_this();
        tick_timer.async_wait([weak](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) {
                self->tick_due = TimePoint::max();
                self->tick();
            }
        });
    }

    void post_tick() { arm_tick(now()); }

    void tick() {
        if (stopping) return;
        const TimePoint t = now();
        for (auto& [p, part] : parts) {
            if (sends_in_flight >= static_cast<std::size_t>(cfg.engine.max_in_flight)) break;
            if (part.owned && !part.claiming && (!part.next_due || *part.next_due <= t)) claim(p);
        }
        // Wake at the earliest known due instant, or after the poll interval. Partitions that
        // are due but not claimed (all send slots busy) are picked up when a send completes.
        TimePoint next = t + poll_interval();
        for (auto& [p, part] : parts)
            if (part.owned && !part.claiming && part.next_due && *part.next_due > t)
                next = std::min(next, *part.next_due);
        arm_tick(next);
        relay_all();
    }

    void claim(std::int32_t p) {
        auto& part = parts[p];
        const auto capacity = static_cast<std::size_t>(cfg.engine.max_in_flight);
        const int max = static_cast<int>(std::min<std::size_t>(
            static_cast<std::size_t>(cfg.engine.claim_batch), capacity - sends_in_flight));
        part.claiming = true;
        auto token = fmt::format("{}:{}", deps.instance_id, ++token_seq);
        std::weak_ptr<Impl> weak = shared_from_this();
        store.claim(p, now(), deps.clock->elapsed_during(cfg.engine.lease), max, token,
                    [weak, p, token, max](Result<scheduler::ClaimBatch> r) {
                        auto self = weak.lock();
                        if (!self) return;
                        self->on_claimed(p, token, max, std::move(r));
                    });
    }

    // Claimed reminders are sent even if the partition was revoked meanwhile: they are ours
    // until the lease runs out, and the claim token fences the result.
    void on_claimed(std::int32_t p, const std::string& token, int max, Result<scheduler::ClaimBatch> r) {
        auto& part = parts[p];
        part.claiming = false;
        if (!r) {
            log::error(kLog, "partition {}: claim failed: {}", p, r.error().message);
            part.next_due = now() + poll_interval();
            maybe_finish_shutdown();
            return;
        }
        auto& batch = r.value();
        part.next_due = batch.next_due;
        counters.reminders_claimed += batch.items.size();
        for (auto& item : batch.items) {
            part.in_flight[item.reminder_id] = InFlight{token, item.attempt};
            ++sends_in_flight;
            dispatch(p, token, std::move(item));
        }
        if (static_cast<int>(batch.items.size()) >= max) part.next_due = now();
        relay(p);
        if (part.next_due) arm_tick(*part.next_due);
        maybe_finish_shutdown();
    }

    void dispatch(std::int32_t p, const std::string& token, scheduler::ClaimedReminder item) {
        auto fail = [&](std::string reason) {
            finish_attempt(p, token, item.reminder_id, item.attempt, "",
                           channels::SendResult{channels::SendStatus::rejected, "", std::move(reason), {}});
        };
        auto payload = scheduler::decode_payload(item.payload);
        if (!payload) return fail("corrupt payload");
        channels::Channel* channel = deps.channels.find(item.channel);
        if (!channel) return fail("no provider for channel");
        const std::string& to = contact_for(*payload, item.channel);
        if (to.empty()) return fail("no contact");
        auto due = parse_date(item.due_date);
        auto prog = cfg.programs.find(item.program);
        if (!due || prog == cfg.programs.end()) return fail("unknown program or due date");
        int days_left = 0;
        for (const auto& s : prog->second.stages)
            if (s.id == item.stage) days_left = -s.offset_days;
        const auto name_it = prog->second.display_name.find(payload->language);
        templates::RenderContext ctx{};
        ctx.language = payload->language;
        ctx.name = payload->name;
        ctx.due_date = *due;
        ctx.days_left = days_left;
        ctx.program_name = name_it != prog->second.display_name.end() ? std::string_view(name_it->second)
                                                                       : std::string_view(item.program);
        ctx.data = &payload->data;
        const std::string unsubscribe = item.channel == ChannelKind::email
                                            ? templates::unsubscribe_url_for(cfg, item.reminder_id)
                                            : std::string();
        ctx.unsubscribe_url = unsubscribe;
        auto rendered = deps.templates.render(item.program, item.stage, item.channel, ctx);
        if (!rendered) return fail("template: " + rendered.error().message);

        channels::Message msg;
        msg.reminder_id = item.reminder_id;
        msg.channel = item.channel;
        msg.language = payload->language;
        msg.to = to;
        msg.subject = std::move(rendered.value().subject);
        msg.text = std::move(rendered.value().text);
        msg.html = std::move(rendered.value().html);
        std::weak_ptr<Impl> weak = shared_from_this();
        channel->send(msg, [weak, p, token, rid = item.reminder_id, attempt = item.attempt,
                            provider = std::string(channel->provider())](channels::SendResult res) {
            if (auto self = weak.lock())
                self->finish_attempt(p, token, rid, attempt, provider, std::move(res));
        });
    }

    void finish_attempt(std::int32_t p, const std::string& token, const std::string& rid, int attempt,
                        const std::string& provider, channels::SendResult res) {
        scheduler::CompleteArgs a;
        a.reminder_id = rid;
        a.token = token;
        a.provider = provider;
        a.provider_message_id = res.provider_message_id;
        a.reason = res.reason;
        a.max_attempts = cfg.retry.max_attempts;
        switch (res.status) {
        case channels::SendStatus::accepted:
            ++counters.sends_accepted;
            a.result = scheduler::AttemptResult::sent;
            break;
        case channels::SendStatus::retry:
            ++counters.sends_retried;
            a.result = scheduler::AttemptResult::retry;
            a.next_attempt = now() + backoff_delay(cfg.retry, attempt, *deps.random, res.retry_after);
            break;
        case channels::SendStatus::rejected:
            ++counters.sends_rejected;
            a.result = scheduler::AttemptResult::failed;
            break;
        }
        log::debug(kLog, "reminder {} attempt {}: {} {}", rid, attempt, channels::to_string(res.status),
                   res.reason);
        record(p, std::move(a));
    }

    // The result of a send must reach Redis: losing it would let the lease run out and the
    // reminder go out twice. So recording retries until Redis answers.
    void record(std::int32_t p, scheduler::CompleteArgs a) {
        ++completes_in_flight;
        std::weak_ptr<Impl> weak = shared_from_this();
        auto args = std::make_shared<scheduler::CompleteArgs>(std::move(a));
        store.complete(p, now(), *args, [weak, p, args](Result<std::string> r) {
            auto self = weak.lock();
            if (!self) return;
            --self->completes_in_flight;
            if (!r) {
                log::error(kLog, "reminder {}: recording result failed ({}); retrying",
                           args->reminder_id, r.error().message);
                auto timer = std::make_shared<boost::asio::steady_timer>(self->deps.io,
                                                                        std::chrono::milliseconds{200});
                ++self->completes_in_flight;
                timer->async_wait([weak, p, args, timer](const boost::system::error_code&) {
                    if (auto s = weak.lock()) {
                        --s->completes_in_flight;
                        s->record(p, std::move(*args));
                    }
                });
                return;
            }
            auto& part = self->parts[p];
            if (part.in_flight.erase(args->reminder_id) > 0) --self->sends_in_flight;
            if (args->result == scheduler::AttemptResult::retry && r.value().empty()) {
                if (!part.next_due || args->next_attempt < *part.next_due) part.next_due = args->next_attempt;
                if (part.owned) self->arm_tick(args->next_attempt);
            }
            if (r.value() == "fenced")
                log::warn(kLog, "reminder {}: claim was taken over; result not recorded", args->reminder_id);
            self->relay(p);
            if (!self->stopping) self->post_tick();
            self->maybe_finish_shutdown();
        });
    }

    // ---- outbox relay --------------------------------------------------------------------

    void relay_all() {
        for (auto& [p, part] : parts)
            if (part.owned) relay(p);
    }

    void relay(std::int32_t p) {
        auto& part = parts[p];
        if (part.relaying) {
            part.relay_again = true;
            return;
        }
        part.relaying = true;
        part.relay_again = false;
        std::weak_ptr<Impl> weak = shared_from_this();
        store.read_outbox(p, "", kOutboxBatch, [weak, p](Result<std::vector<scheduler::OutboxEntry>> r) {
            auto self = weak.lock();
            if (!self) return;
            if (!r || r.value().empty()) {
                if (!r) log::error(kLog, "partition {}: reading outbox failed: {}", p, r.error().message);
                self->relay_done(p, false);
                return;
            }
            self->publish(p, std::make_shared<std::vector<scheduler::OutboxEntry>>(std::move(r.value())));
        });
    }

    void publish(std::int32_t p, std::shared_ptr<std::vector<scheduler::OutboxEntry>> entries) {
        auto remaining = std::make_shared<std::size_t>(entries->size());
        auto failed = std::make_shared<bool>(false);
        std::weak_ptr<Impl> weak = shared_from_this();
        for (const auto& e : *entries) {
            auto cb = [weak, p, entries, remaining, failed](const kafka::Producer::DeliveryReport& r) {
                auto self = weak.lock();
                if (!self) return;
                if (!r.ok) *failed = true;
                if (--*remaining > 0) return;
                if (*failed) {
                    log::error(kLog, "partition {}: publishing outcomes failed; will retry", p);
                    self->relay_done(p, false);
                    return;
                }
                self->counters.outcomes_relayed += entries->size();
                std::vector<std::string> ids;
                ids.reserve(entries->size());
                for (auto& x : *entries) ids.push_back(x.id);
                const bool full = entries->size() >= static_cast<std::size_t>(kOutboxBatch);
                self->store.delete_outbox(p, std::move(ids), [weak, p, full](Result<void> d) {
                    if (auto s = weak.lock()) s->relay_done(p, d.ok() && full);
                });
            };
            if (!producer->produce(cfg.kafka.outcomes_topic, -1, std::string_view(e.key),
                                   std::string_view(e.value), {}, cb))
                cb(kafka::Producer::DeliveryReport{false, "local queue full", -1, -1});
        }
    }

    void relay_done(std::int32_t p, bool more) {
        auto& part = parts[p];
        part.relaying = false;
        if ((more || part.relay_again) && (part.owned || stopping)) relay(p);
        maybe_finish_shutdown();
    }

    // ---- shutdown ------------------------------------------------------------------------

    void shutdown(std::function<void()> done) {
        if (stopping) return;
        stopping = true;
        on_stopped = std::move(done);
        tick_timer.cancel();
        log::info(kLog, "stopping: {} sends in flight", sends_in_flight);
        auto deadline = std::make_shared<boost::asio::steady_timer>(deps.io, std::chrono::seconds{15});
        std::weak_ptr<Impl> weak = shared_from_this();
        deadline->async_wait([weak, deadline](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) {
                log::warn(kLog, "stop deadline reached; releasing what is still in flight");
                self->finish_shutdown();
            }
        });
        shutdown_deadline = deadline;
        relay_all();
        maybe_finish_shutdown();
    }

    std::shared_ptr<boost::asio::steady_timer> shutdown_deadline;

    void maybe_finish_shutdown() {
        if (!stopping || !on_stopped) return;
        if (sends_in_flight > 0 || completes_in_flight > 0) return;
        for (auto& [p, part] : parts)
            if (part.applying || part.claiming || part.relaying) return;
        finish_shutdown();
    }

    void finish_shutdown() {
        if (!on_stopped || releasing) return;
        releasing = true;
        if (shutdown_deadline) shutdown_deadline->cancel();
        // Whatever is still claimed goes back to the schedule at once for the next owner,
        // instead of waiting for its lease to run out.
        auto remaining = std::make_shared<std::size_t>(1);
        std::weak_ptr<Impl> weak = shared_from_this();
        auto one_done = [weak, remaining](Result<std::int64_t>) {
            if (--*remaining == 0)
                if (auto self = weak.lock()) self->final_stop();
        };
        for (auto& [p, part] : parts) {
            std::map<std::string, std::vector<std::string>> by_token;
            for (auto& [rid, f] : part.in_flight) by_token[f.token].push_back(rid);
            for (auto& [token, rids] : by_token) {
                ++*remaining;
                store.release(p, now(), token, rids, one_done);
            }
        }
        one_done(std::int64_t{0});
    }

    bool releasing = false;

    void final_stop() {
        auto done = std::move(on_stopped);
        on_stopped = nullptr;
        if (consumer) consumer->close();
        if (producer) producer->flush(std::chrono::seconds{10});
        log::info(kLog, "stopped: consumed {} applied {} invalid {} sent {} retried {} rejected {} outcomes {}",
                  counters.events_consumed, counters.events_applied, counters.events_invalid,
                  counters.sends_accepted, counters.sends_retried, counters.sends_rejected,
                  counters.outcomes_relayed);
        redis.stop();
        if (done) done();
    }
};

Engine::Engine(EngineDeps deps) : impl_(std::make_shared<Impl>(std::move(deps))) {}
Engine::~Engine() = default;
void Engine::start() { impl_->start(); }
void Engine::shutdown(std::function<void()> done) { impl_->shutdown(std::move(done)); }
EngineStats Engine::stats() const { return impl_->counters; }

}  // namespace rappel::core
