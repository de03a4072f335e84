#pragma once
// Dispatch: a timer wakes at the earliest due instant of the owned partitions; due ones are
// claimed (never what this engine still has in flight or waiting to be recorded), composed,
// sent, and their results recorded in batches per partition, retried until the Store
// answers. A reminder holds its send slot until its result is recorded (or it is released).
#include "engine/core/context.hpp"

#include <boost/asio/steady_timer.hpp>

#include <map>

namespace rappel::core {

class Dispatch {
public:
    explicit Dispatch(Context& ctx);
    // Something may be due now: check soon.
    void wake();
    void stop_timer();
    // Every partition's recorded results flushed and no claim or record in progress.
    bool idle() const;
    // Sends still waiting for their channel.
    std::size_t sending() const;

private:
    void arm(TimePoint when);
    void tick();
    void claim(std::int32_t p, std::size_t capacity);
    void on_claimed(std::int32_t p, scheduler::ClaimToken token, Result<scheduler::ClaimBatch> r);
    void send(std::int32_t p, scheduler::ClaimedReminder item);
    void on_result(std::int32_t p, const scheduler::ReminderRef& ref, const std::string& provider,
                   channels::SendResult res);
    void flush_records(std::int32_t p);
    void arm_record_timer();
    void on_recorded(std::int32_t p, std::shared_ptr<std::vector<scheduler::AttemptRecord>> records,
                     Result<std::vector<scheduler::RecordStatus>> r);

    Context& ctx_;
    boost::asio::steady_timer timer_;
    TimePoint armed_ = TimePoint::max();
    scheduler::ClaimToken token_base_;
    std::uint64_t token_seq_ = 0;
    // Sends of each partition handed to a channel whose result has not come back (each send
    // gets exactly one result, even when shutdown released its claim meanwhile).
    std::map<std::int32_t, std::size_t> sending_;
    // Results wait for their partition's other sends (or a full batch, or this timer), so
    // one record call covers a burst and the sends go out first.
    boost::asio::steady_timer record_timer_;
    bool record_timer_armed_ = false;

};

}  // namespace rappel::core
