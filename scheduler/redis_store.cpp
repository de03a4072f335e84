#include "scheduler/redis_store.hpp"

#include "scheduler/keys.hpp"
#include "scheduler/record.hpp"
#include "scheduler/store_scripts.hpp"

#include <fmt/format.h>

#include <charconv>
#include <unordered_map>

namespace rappel::scheduler {
namespace {

constexpr int kMaxConflicts = 20;

Error redis_error(const redis::Reply& r, std::string_view what) {
    return Error{"redis", fmt::format("{}: {}", what, r.is_error() ? r.str : "unexpected reply")};
}

std::optional<std::int64_t> to_int(std::string_view s) {
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

struct RedisStore::Impl : std::enable_shared_from_this<Impl> {
    using Finish = std::function<void()>;
    using Op = std::function<void(Finish)>;

    // Operations of one partition run one at a time, in order: they read, decide and write
    // the same records, so overlapping them would only produce conflicts.
    struct Lane {
        std::deque<Op> ops;
        bool busy = false;
    };

    // The writes of one commit.lua call.
    struct Commit {
        std::string expected_offset = "*";
        std::string new_offset;
        TimePoint at{};
        std::vector<PendingOutcome> outcomes;
        struct Write {
            std::string key, expected, value, score, member;
        };
        std::vector<Write> writes;
    };

    // Records read by one operation, by licence hash.
    struct Loaded {
        LicenceRecord record;
        std::uint64_t read_rev = 0;
        bool touched = false;
    };
    using RecordMap = std::unordered_map<std::string, Loaded>;

    redis::Client& client;
    std::string prefix;
    std::string topic;
    Millis retention;
    redis::Script commit_script{lua::kCommit};
    redis::Script fetch_script{lua::kFetchDue};
    std::unordered_map<std::int32_t, Lane> lanes;

    Impl(redis::Client& c, std::string p, std::string t, Millis r)
        : client(c), prefix(std::move(p)), topic(std::move(t)), retention(r) {}

    Keys keys(std::int32_t p) const { return Keys(prefix, p); }

    DecisionContext context(TimePoint now) const { return DecisionContext{now, retention}; }

    void enqueue(std::int32_t p, Op op) {
        lanes[p].ops.push_back(std::move(op));
        pump(p);
    }

    void pump(std::int32_t p) {
        auto& lane = lanes[p];
        if (lane.busy || lane.ops.empty()) return;
        lane.busy = true;
        Op op = std::move(lane.ops.front());
        lane.ops.pop_front();
        std::weak_ptr<Impl> weak = shared_from_this();
        op([weak, p] {
            if (auto self = weak.lock()) {
                self->lanes[p].busy = false;
                self->pump(p);
            }
        });
    }

    // MGET of records; `done` gets them decoded (absent ones as empty records).
    void load(std::int32_t p, std::vector<std::string> hashes,
              std::function<void(Result<RecordMap>)> done) {
        if (hashes.empty()) return done(RecordMap{});
        const Keys k = keys(p);
        std::vector<std::string> args;
        args.reserve(hashes.size() + 1);
        args.emplace_back("MGET");
        for (const auto& h : hashes) args.push_back(k.licence(h));
        client.command(std::move(args), [hashes = std::move(hashes), done = std::move(done)](redis::Reply r) {
            if (r.type != redis::Reply::Type::array || r.elements.size() != hashes.size())
                return done(redis_error(r, "reading licence records"));
            RecordMap map;
            map.reserve(hashes.size());
            for (std::size_t i = 0; i < hashes.size(); ++i) {
                Loaded l;
                if (!r.elements[i].is_nil()) {
                    auto rec = decode_record(r.elements[i].str);
                    if (!rec) return done(rec.error());
                    l.record = std::move(rec.value());
                    l.read_rev = l.record.rev;
                }
                map.emplace(hashes[i], std::move(l));
            }
            done(std::move(map));
        });
    }

    // Adds the touched records of `map` to `c`, each with its next revision.
    void add_writes(std::int32_t p, RecordMap& map, Commit& c) const {
        const Keys k = keys(p);
        for (auto& [hash, l] : map) {
            if (!l.touched) continue;
            Commit::Write w;
            w.key = k.licence(hash);
            w.expected = revision_bytes(l.read_rev);
            l.record.rev = l.read_rev + 1;
            w.value = encode_record(l.record);
            if (auto next = l.record.next_instant()) w.score = std::to_string(*next);
            w.member = hash;
            c.writes.push_back(std::move(w));
        }
    }

    // Runs commit.lua; `done(true)` when written, `done(false)` on a conflict.
    void commit(std::int32_t p, Commit c, std::function<void(Result<bool>)> done) {
        if (c.writes.empty() && c.outcomes.empty() && c.new_offset.empty()) return done(true);
        const Keys k = keys(p);
        std::vector<std::string> kv;
        kv.reserve(3 + c.writes.size());
        kv.push_back(k.offsets());
        kv.push_back(k.schedule());
        kv.push_back(k.outbox());
        std::vector<std::string> args;
        args.reserve(5 + 4 * c.writes.size());
        args.push_back(topic);
        args.push_back(std::move(c.expected_offset));
        args.push_back(std::move(c.new_offset));
        args.push_back(c.outcomes.empty() ? std::string() : encode_outbox(c.outcomes, c.at));
        args.push_back(std::to_string(retention.count()));
        for (auto& w : c.writes) {
            kv.push_back(std::move(w.key));
            args.push_back(std::move(w.expected));
            args.push_back(std::move(w.value));
            args.push_back(std::move(w.score));
            args.push_back(std::move(w.member));
        }
        client.eval(commit_script, std::move(kv), std::move(args), [done = std::move(done)](redis::Reply r) {
            if (r.type != redis::Reply::Type::array || r.elements.size() != 2)
                return done(redis_error(r, "writing the schedule"));
            done(r.elements[0].integer == 1);
        });
    }

    // ---- apply -----------------------------------------------------------------------------

    struct ApplyOp {
        std::int32_t p;
        std::vector<IngestItem> items;
        std::vector<std::string> hashes;  // per item ("" for invalid ones)
        TimePoint now;
        std::function<void(Result<ApplyResult>)> done;
        int conflicts = 0;
    };

    void apply_attempt(std::shared_ptr<ApplyOp> op, Finish finish) {
        auto self = shared_from_this();
        client.command({"HGET", keys(op->p).offsets(), topic}, [self, op, finish](redis::Reply off) {
            if (off.is_error() || (off.type != redis::Reply::Type::string && !off.is_nil())) {
                op->done(redis_error(off, "reading the stored offset"));
                return finish();
            }
            const std::string stored_text = off.is_nil() ? std::string() : off.str;
            const std::int64_t stored = off.is_nil() ? -1 : to_int(off.str).value_or(-1);
            std::vector<std::string> wanted;
            std::unordered_map<std::string, bool> seen;
            for (std::size_t i = 0; i < op->items.size(); ++i)
                if (op->items[i].offset >= stored && !op->hashes[i].empty() && seen.emplace(op->hashes[i], true).second)
                    wanted.push_back(op->hashes[i]);
            self->load(op->p, std::move(wanted), [self, op, finish, stored, stored_text](Result<RecordMap> loaded) {
                if (!loaded) {
                    op->done(loaded.error());
                    return finish();
                }
                self->apply_decide(op, finish, stored, stored_text, std::move(loaded.value()));
            });
        });
    }

    void apply_decide(std::shared_ptr<ApplyOp> op, Finish finish, std::int64_t stored,
                      const std::string& stored_text, RecordMap map) {
        const DecisionContext ctx = context(op->now);
        ApplyResult result;
        result.next_offset = stored;
        Commit c;
        c.at = op->now;
        c.expected_offset = stored_text;
        for (std::size_t i = 0; i < op->items.size(); ++i) {
            const IngestItem& item = op->items[i];
            if (item.offset < stored) continue;
            ++result.applied;
            result.next_offset = std::max(result.next_offset, item.offset + 1);
            if (item.invalid) {
                c.outcomes.push_back(invalid_outcome(item));
                continue;
            }
            Loaded& l = map[op->hashes[i]];
            const ApplyCounts counts = apply_event(l.record, item, ctx, c.outcomes);
            if (counts.stale) {
                ++result.stale;
                continue;
            }
            l.touched = true;
            result.scheduled += counts.scheduled;
            result.cancelled += counts.cancelled;
        }
        if (result.applied == 0) {
            op->done(result);
            return finish();
        }
        if (result.next_offset > stored) c.new_offset = std::to_string(result.next_offset);
        add_writes(op->p, map, c);
        auto self = shared_from_this();
        commit(op->p, std::move(c), [self, op, finish, result](Result<bool> r) {
            if (!r) {
                op->done(r.error());
                return finish();
            }
            if (!r.value()) return self->retry_after_conflict(op, finish, [self, op, finish] { self->apply_attempt(op, finish); });
            op->done(result);
            finish();
        });
    }

    template <typename OpT, typename Again>
    void retry_after_conflict(std::shared_ptr<OpT> op, Finish finish, Again again) {
        if (++op->conflicts > kMaxConflicts) {
            op->done(Error{"conflict", "the schedule kept changing under this operation (another engine?)"});
            return finish();
        }
        again();
    }

    // ---- claim -----------------------------------------------------------------------------

    struct ClaimOp {
        std::int32_t p;
        TimePoint now;
        Millis lease;
        int max;
        ClaimToken token;
        std::function<bool(const ReminderRef&)> skip;
        std::function<void(Result<ClaimBatch>)> done;
        int conflicts = 0;
    };

    void claim_attempt(std::shared_ptr<ClaimOp> op, Finish finish) {
        const Keys k = keys(op->p);
        auto self = shared_from_this();
        client.eval(fetch_script, {k.schedule()},
                    {k.licence(""), std::to_string(to_unix_ms(op->now)), std::to_string(op->max)},
                    [self, op, finish](redis::Reply r) {
                        if (r.type != redis::Reply::Type::array || r.elements.size() != 3 ||
                            r.elements[0].type != redis::Reply::Type::array ||
                            r.elements[1].type != redis::Reply::Type::array ||
                            r.elements[1].elements.size() != r.elements[0].elements.size()) {
                            op->done(redis_error(r, "reading due licences"));
                            return finish();
                        }
                        self->claim_decide(op, finish, std::move(r));
                    });
    }

    void claim_decide(std::shared_ptr<ClaimOp> op, Finish finish, redis::Reply r) {
        const DecisionContext ctx = context(op->now);
        const Keys k = keys(op->p);
        auto& members = r.elements[0].elements;
        auto& values = r.elements[1].elements;
        ClaimBatch batch;
        if (auto after = to_int(r.elements[2].str)) batch.next_due = from_unix_ms(*after);
        auto earlier = [&](std::int64_t ms) {
            if (!batch.next_due || from_unix_ms(ms) < *batch.next_due) batch.next_due = from_unix_ms(ms);
        };
        Commit c;
        c.at = op->now;
        bool cut = false;
        for (std::size_t i = 0; i < members.size(); ++i) {
            const std::string& hash = members[i].str;
            if (values[i].is_nil()) {  // a member without its record: drop it
                c.writes.push_back(Commit::Write{k.licence(hash), "", "", "", hash});
                continue;
            }
            auto rec = decode_record(values[i].str);
            if (!rec) {
                op->done(rec.error());
                return finish();
            }
            LicenceRecord& lr = rec.value();
            const std::uint64_t read_rev = lr.rev;
            const auto entries_before = lr.entries.size();
            const auto outcomes_before = c.outcomes.size();
            const int budget = op->max - static_cast<int>(batch.items.size());
            const int claimed = claim_entries(lr, hash, ctx, op->lease, op->token, op->skip, budget,
                                              batch.items, c.outcomes, cut);
            const bool changed = claimed > 0 || lr.entries.size() != entries_before ||
                                 c.outcomes.size() != outcomes_before;
            if (!changed) continue;  // everything due here is still in this engine's hands
            lr.rev = read_rev + 1;
            Commit::Write w{k.licence(hash), revision_bytes(read_rev), encode_record(lr), "", hash};
            if (auto next = lr.next_instant()) {
                w.score = std::to_string(*next);
                earlier(*next);
            }
            c.writes.push_back(std::move(w));
        }
        batch.more = cut || (members.size() >= static_cast<std::size_t>(op->max) && !batch.items.empty());
        auto self = shared_from_this();
        commit(op->p, std::move(c), [self, op, finish, batch = std::move(batch)](Result<bool> w) mutable {
            if (!w) {
                op->done(w.error());
                return finish();
            }
            if (!w.value())
                return self->retry_after_conflict(op, finish, [self, op, finish] { self->claim_attempt(op, finish); });
            op->done(std::move(batch));
            finish();
        });
    }

    // ---- record and release: read the named records, decide each, write back ---------------

    template <typename Out>
    struct RefsOp {
        std::int32_t p;
        TimePoint now;
        std::vector<std::string> hashes;
        // Decides on the loaded records; returns the result to report.
        std::function<Out(RecordMap&, const DecisionContext&, std::vector<PendingOutcome>&)> decide;
        std::function<void(Result<Out>)> done;
        int conflicts = 0;
    };

    template <typename Out>
    void refs_attempt(std::shared_ptr<RefsOp<Out>> op, Finish finish) {
        auto self = shared_from_this();
        load(op->p, op->hashes, [self, op, finish](Result<RecordMap> loaded) {
            if (!loaded) {
                op->done(loaded.error());
                return finish();
            }
            RecordMap& map = loaded.value();
            Commit c;
            c.at = op->now;
            Out out = op->decide(map, self->context(op->now), c.outcomes);
            self->add_writes(op->p, map, c);
            self->commit(op->p, std::move(c), [self, op, finish, out = std::move(out)](Result<bool> w) mutable {
                if (!w) {
                    op->done(w.error());
                    return finish();
                }
                if (!w.value())
                    return self->retry_after_conflict(op, finish, [self, op, finish] { self->refs_attempt(op, finish); });
                op->done(std::move(out));
                finish();
            });
        });
    }

    template <typename Out, typename Decide>
    void run_refs(std::int32_t p, TimePoint now, std::vector<std::string> hashes, Decide decide,
                  std::function<void(Result<Out>)> done) {
        auto op = std::make_shared<RefsOp<Out>>();
        op->p = p;
        op->now = now;
        std::unordered_map<std::string, bool> seen;
        for (auto& h : hashes)
            if (seen.emplace(h, true).second) op->hashes.push_back(std::move(h));
        op->decide = std::move(decide);
        op->done = std::move(done);
        auto self = shared_from_this();
        enqueue(p, [self, op](Finish finish) { self->refs_attempt(op, std::move(finish)); });
    }
};

RedisStore::RedisStore(redis::Client& client, std::string prefix, std::string topic, Millis retention)
    : impl_(std::make_shared<Impl>(client, std::move(prefix), std::move(topic), retention)) {}

RedisStore::~RedisStore() = default;

Result<void> RedisStore::check_layout(redis::SyncClient& sync, const std::string& prefix) {
    const std::string key = prefix + ":layout";
    const std::string mine = std::to_string(kLayoutVersion);
    auto r = sync.command({"SET", key, mine, "NX", "GET"});
    if (r.is_error()) return Error{"redis", "checking the Redis layout version: " + r.str};
    if (r.is_nil() || r.str == mine) return {};
    return Error{"layout", fmt::format("Redis under prefix '{}' holds schedule layout {}, this engine uses layout {}: "
                                       "start the engine version that wrote it, or rebuild into an empty Redis "
                                       "(see docs/operations.md)",
                                       prefix, r.str, mine)};
}

void RedisStore::read_offset(std::int32_t partition,
                             std::function<void(Result<std::optional<std::int64_t>>)> done) {
    impl_->client.command({"HGET", impl_->keys(partition).offsets(), impl_->topic}, [done = std::move(done)](redis::Reply r) {
        if (r.is_nil()) return done(std::optional<std::int64_t>{});
        if (r.type != redis::Reply::Type::string) return done(redis_error(r, "reading the stored offset"));
        auto v = to_int(r.str);
        if (!v) return done(Error{"redis", "the stored offset is not a number"});
        done(std::optional<std::int64_t>{*v});
    });
}

void RedisStore::apply(std::int32_t partition, std::vector<IngestItem> items, TimePoint now,
                       std::function<void(Result<ApplyResult>)> done) {
    auto op = std::make_shared<Impl::ApplyOp>();
    op->p = partition;
    op->hashes.reserve(items.size());
    for (const auto& it : items)
        op->hashes.push_back(it.invalid ? std::string() : licence_key_hash(it.event.program, it.event.licence_id));
    op->items = std::move(items);
    op->now = now;
    op->done = std::move(done);
    auto impl = impl_;
    impl_->enqueue(partition, [impl, op](Impl::Finish finish) { impl->apply_attempt(op, std::move(finish)); });
}

void RedisStore::claim(std::int32_t partition, TimePoint now, Millis lease, int max, ClaimToken token,
                       std::function<bool(const ReminderRef&)> skip,
                       std::function<void(Result<ClaimBatch>)> done) {
    auto op = std::make_shared<Impl::ClaimOp>(
        Impl::ClaimOp{partition, now, lease, std::max(1, max), token, std::move(skip), std::move(done)});
    auto impl = impl_;
    impl_->enqueue(partition, [impl, op](Impl::Finish finish) { impl->claim_attempt(op, std::move(finish)); });
}

void RedisStore::record(std::int32_t partition, TimePoint now, std::vector<AttemptRecord> records,
                        std::function<void(Result<std::vector<RecordStatus>>)> done) {
    std::vector<std::string> hashes;
    hashes.reserve(records.size());
    for (const auto& a : records) hashes.push_back(a.ref.licence);
    impl_->run_refs<std::vector<RecordStatus>>(
        partition, now, std::move(hashes),
        [records = std::move(records)](Impl::RecordMap& map, const DecisionContext& ctx, std::vector<PendingOutcome>& out) {
            std::vector<RecordStatus> statuses;
            statuses.reserve(records.size());
            for (const auto& a : records) {
                auto it = map.find(a.ref.licence);
                if (it == map.end() || !it->second.record.exists()) {
                    statuses.push_back(RecordStatus::fenced);
                    continue;
                }
                const RecordStatus s = record_attempt(it->second.record, a, ctx, out);
                if (s != RecordStatus::fenced) it->second.touched = true;
                statuses.push_back(s);
            }
            return statuses;
        },
        std::move(done));
}

void RedisStore::release(std::int32_t partition, TimePoint now, ClaimToken token, std::vector<ReminderRef> refs,
                         std::function<void(Result<std::int64_t>)> done) {
    std::vector<std::string> hashes;
    hashes.reserve(refs.size());
    for (const auto& r : refs) hashes.push_back(r.licence);
    impl_->run_refs<std::int64_t>(
        partition, now, std::move(hashes),
        [refs = std::move(refs), token, now](Impl::RecordMap& map, const DecisionContext&, std::vector<PendingOutcome>&) {
            std::int64_t n = 0;
            for (const auto& ref : refs) {
                auto it = map.find(ref.licence);
                if (it == map.end() || !it->second.record.exists()) continue;
                if (release_entry(it->second.record, ref, token, now)) {
                    it->second.touched = true;
                    ++n;
                }
            }
            return n;
        },
        std::move(done));
}

void RedisStore::read_outbox(std::int32_t partition, int max_entries,
                             std::function<void(Result<std::vector<OutboxEntry>>)> done) {
    impl_->client.command(
        {"XRANGE", impl_->keys(partition).outbox(), "-", "+", "COUNT", std::to_string(max_entries)},
        [done = std::move(done)](redis::Reply r) {
            if (r.type != redis::Reply::Type::array) return done(redis_error(r, "reading the outbox"));
            std::vector<OutboxEntry> out;
            out.reserve(r.elements.size());
            for (auto& e : r.elements) {
                if (e.elements.size() != 2) continue;
                OutboxEntry o;
                o.id = std::move(e.elements[0].str);
                auto& fields = e.elements[1].elements;
                for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
                    if (fields[i].str != "b") continue;
                    auto outcomes = render_outbox(fields[i + 1].str);
                    if (!outcomes) return done(Error{"corrupt-outbox", "outbox entry " + o.id + ": " + outcomes.error().message});
                    o.outcomes = std::move(outcomes.value());
                }
                out.push_back(std::move(o));
            }
            done(std::move(out));
        });
}

void RedisStore::delete_outbox(std::int32_t partition, std::vector<std::string> ids,
                               std::function<void(Result<void>)> done) {
    if (ids.empty()) return done(Result<void>{});
    std::vector<std::string> args;
    args.reserve(ids.size() + 2);
    args.emplace_back("XDEL");
    args.push_back(impl_->keys(partition).outbox());
    for (auto& id : ids) args.push_back(std::move(id));
    impl_->client.command(std::move(args), [done = std::move(done)](redis::Reply r) {
        if (r.is_error()) return done(redis_error(r, "deleting relayed outbox entries"));
        done(Result<void>{});
    });
}

}  // namespace rappel::scheduler
