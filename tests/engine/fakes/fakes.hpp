#pragma once
// Fakes of the core's ports for unit tests: each records what the core asked and holds the
// callback until the test answers it (answer_*), so a test decides what happens and when.
#include "channels/channel.hpp"
#include "engine/core/ports.hpp"
#include "scheduler/schedule.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rappel::fakes {

inline Error redis_down() { return Error{"redis", "connection refused"}; }

class FakeStore final : public scheduler::Store {
public:
    struct Apply {
        std::int32_t partition;
        std::vector<scheduler::IngestItem> items;
        std::function<void(Result<scheduler::ApplyResult>)> done;
    };
    struct Claim {
        std::int32_t partition;
        int max;
        scheduler::ClaimToken token;
        std::function<bool(const scheduler::ReminderRef&)> skip;
        std::function<void(Result<scheduler::ClaimBatch>)> done;
    };
    struct Record {
        std::int32_t partition;
        std::vector<scheduler::AttemptRecord> records;
        std::function<void(Result<std::vector<scheduler::RecordStatus>>)> done;
    };
    struct Release {
        std::int32_t partition;
        scheduler::ClaimToken token;
        std::vector<scheduler::ReminderRef> refs;
        std::function<void(Result<std::int64_t>)> done;
    };

    struct Restore {
        std::int32_t partition;
        std::vector<scheduler::EndedReminder> ended;
        std::function<void(Result<std::int64_t>)> done;
    };

    std::deque<std::pair<std::int32_t, std::function<void(Result<std::optional<std::int64_t>>)>>> offsets;
    std::deque<Restore> restores;
    std::deque<Apply> applies;
    std::deque<Claim> claims;
    std::deque<Record> records;
    std::deque<Release> releases;
    // The outbox answers at once: empty unless filled.
    std::map<std::int32_t, std::vector<scheduler::OutboxEntry>> outbox;
    std::vector<std::string> deleted;

    void read_offset(std::int32_t p, std::function<void(Result<std::optional<std::int64_t>>)> done) override {
        offsets.emplace_back(p, std::move(done));
    }
    void apply(std::int32_t p, std::vector<scheduler::IngestItem> items, TimePoint,
               std::function<void(Result<scheduler::ApplyResult>)> done) override {
        applies.push_back({p, std::move(items), std::move(done)});
    }
    void claim(std::int32_t p, TimePoint, Millis, int max, scheduler::ClaimToken token,
               std::function<bool(const scheduler::ReminderRef&)> skip,
               std::function<void(Result<scheduler::ClaimBatch>)> done) override {
        claims.push_back({p, max, token, std::move(skip), std::move(done)});
    }
    void record(std::int32_t p, TimePoint, std::vector<scheduler::AttemptRecord> recs,
                std::function<void(Result<std::vector<scheduler::RecordStatus>>)> done) override {
        records.push_back({p, std::move(recs), std::move(done)});
    }
    void release(std::int32_t p, TimePoint, scheduler::ClaimToken token, std::vector<scheduler::ReminderRef> refs,
                 std::function<void(Result<std::int64_t>)> done) override {
        releases.push_back({p, token, std::move(refs), std::move(done)});
    }
    void restore_done(std::int32_t p, std::vector<scheduler::EndedReminder> ended, TimePoint,
                      std::function<void(Result<std::int64_t>)> done) override {
        restores.push_back({p, std::move(ended), std::move(done)});
    }
    void read_outbox(std::int32_t p, int max, std::function<void(Result<std::vector<scheduler::OutboxEntry>>)> done) override {
        auto& box = outbox[p];
        std::vector<scheduler::OutboxEntry> out(box.begin(), box.begin() + std::min<std::size_t>(box.size(), max));
        done(std::move(out));
    }
    int fail_deletes = 0;  // the next n deletes fail (the entries stay)
    void delete_outbox(std::int32_t p, std::vector<std::string> ids, std::function<void(Result<void>)> done) override {
        if (fail_deletes > 0) {
            --fail_deletes;
            return done(Error{"redis", "connection lost"});
        }
        auto& box = outbox[p];
        for (const auto& id : ids) {
            deleted.push_back(id);
            std::erase_if(box, [&](const scheduler::OutboxEntry& e) { return e.id == id; });
        }
        done(Result<void>{});
    }

    template <typename T, typename R>
    static void answer(std::deque<T>& q, R r) {
        auto x = std::move(q.front());
        q.pop_front();
        x.done(std::move(r));
    }
    void answer_offset(Result<std::optional<std::int64_t>> r) {
        auto x = std::move(offsets.front());
        offsets.pop_front();
        x.second(std::move(r));
    }
};

class FakeEventSource final : public core::EventSource {
public:
    Handlers h;
    bool started = false, closed = false;
    std::vector<std::int32_t> paused_calls, resumed_calls;
    std::vector<std::pair<std::int32_t, std::int64_t>> seeks, commits;

    void start(Handlers handlers) override {
        h = std::move(handlers);
        started = true;
    }
    void pause(std::int32_t p) override { paused_calls.push_back(p); }
    void resume(std::int32_t p) override { resumed_calls.push_back(p); }
    void seek(std::int32_t p, std::int64_t o) override { seeks.emplace_back(p, o); }
    void commit(std::int32_t p, std::int64_t o) override { commits.emplace_back(p, o); }
    void close() override { closed = true; }

    void assign(std::vector<std::int32_t> ps) { h.on_assigned(ps); }
    void revoke(std::vector<std::int32_t> ps) { h.on_revoked(ps); }
    void deliver(std::vector<kafka::Message> msgs) { h.on_messages(std::move(msgs)); }
};

class FakeProducer final : public core::Producer {
public:
    struct Sent {
        std::string topic;
        std::optional<std::string> key, value;
        kafka::Headers headers;
    };
    explicit FakeProducer(boost::asio::io_context& io) : io_(io) {}
    // Decides each delivery; default: ok.
    std::function<core::Delivery(const Sent&)> policy = [](const Sent&) { return core::Delivery{}; };
    std::vector<Sent> sent;
    bool flushed = false;

    void produce(const std::string& topic, std::optional<std::string_view> key, std::optional<std::string_view> value,
                 const kafka::Headers& headers, Done done) override {
        Sent s{topic, key ? std::optional<std::string>(*key) : std::nullopt,
               value ? std::optional<std::string>(*value) : std::nullopt, headers};
        auto d = policy(s);
        sent.push_back(std::move(s));
        boost::asio::post(io_, [d, done = std::move(done)] { done(d); });
    }
    void flush(std::chrono::milliseconds) override { flushed = true; }
    std::vector<Sent> to(const std::string& topic) const {
        std::vector<Sent> out;
        for (const auto& s : sent)
            if (s.topic == topic) out.push_back(s);
        return out;
    }

private:
    boost::asio::io_context& io_;
};

// Each read() is held until the test hands out batches and ends it.
class FakeOutcomeHistory final : public core::OutcomeHistory {
public:
    struct Read {
        std::set<std::int32_t> partitions;
        Handlers h;
        std::shared_ptr<bool> cancelled;
    };
    std::deque<Read> reads;
    int next_calls = 0;  // how often the core asked for the next batch

    // The relay's read-backs. Answered on `io` from what `producer` sent, as the topic would,
    // unless `hold_checks` (then answer_check() does it).
    struct Check {
        std::int32_t partition;
        TimePoint since;
        std::function<void(Result<Positions>)> done;
        std::shared_ptr<bool> cancelled;
    };
    std::deque<Check> checks;
    int checks_asked = 0;
    bool hold_checks = false;
    void attach(boost::asio::io_context& io, const FakeProducer& producer) {
        io_ = &io;
        producer_ = &producer;
    }
    Positions on_topic(std::int32_t partition) const {
        Positions out;
        for (const auto& s : producer_->sent) {
            bool ours = false;
            std::optional<std::string> pos;
            for (const auto& [name, value] : s.headers) {
                if (name == core::kPartitionHeader && value == std::to_string(partition)) ours = true;
                if (name == core::kOutboxHeader) pos = value;
            }
            if (ours && pos) out.insert(*pos);
        }
        return out;
    }
    std::unique_ptr<Pass> published(std::int32_t partition, TimePoint since,
                                    std::function<void(Result<Positions>)> done) override {
        ++checks_asked;
        auto cancelled = std::make_shared<bool>(false);
        checks.push_back({partition, since, std::move(done), cancelled});
        if (!hold_checks && io_) boost::asio::post(*io_, [this] { answer_check(); });
        return std::make_unique<FakePass>(cancelled);
    }
    // Answers the oldest read-back: from the producer, or with `r`.
    void answer_check(std::optional<Result<Positions>> r = std::nullopt) {
        if (checks.empty()) return;
        Check c = std::move(checks.front());
        checks.pop_front();
        if (*c.cancelled) return;
        c.done(r ? std::move(*r) : Result<Positions>(on_topic(c.partition)));
    }

    std::unique_ptr<Pass> read(std::set<std::int32_t> partitions, Handlers h) override {
        auto cancelled = std::make_shared<bool>(false);
        reads.push_back({std::move(partitions), std::move(h), cancelled});
        return std::make_unique<FakePass>(cancelled);
    }
    // To the latest pass (ignored once it was cancelled, as the real one does).
    void batch(Batch b) {
        auto& r = reads.back();
        if (!*r.cancelled) r.h.on_batch(std::move(b), [this] { ++next_calls; });
    }
    void end(Result<std::int64_t> result) {
        auto& r = reads.back();
        if (!*r.cancelled) r.h.on_end(std::move(result));
    }

private:
    boost::asio::io_context* io_ = nullptr;
    const FakeProducer* producer_ = nullptr;
    class FakePass final : public Pass {
    public:
        explicit FakePass(std::shared_ptr<bool> c) : c_(std::move(c)) {}
        ~FakePass() override { *c_ = true; }

    private:
        std::shared_ptr<bool> c_;
    };
};

class FakeChannel final : public channels::Channel {
public:
    explicit FakeChannel(ChannelKind kind) : kind_(kind) {}
    std::string_view provider() const override { return "fake"; }
    ChannelKind kind() const override { return kind_; }
    void send(const channels::Message& m, channels::SendCallback done) override {
        pending.emplace_back(m, std::move(done));
    }
    void answer(channels::SendResult r) {
        auto x = std::move(pending.front());
        pending.pop_front();
        x.second(std::move(r));
    }
    std::deque<std::pair<channels::Message, channels::SendCallback>> pending;

private:
    ChannelKind kind_;
};

}  // namespace rappel::fakes
