#pragma once
// Dispatch: a timer wakes at the earliest due instant of the owned partitions; due ones are
// claimed (never what this engine still has in flight or waiting to be recorded), composed,
// sent, and their results recorded in batches per partition, retried until the Store
// answers. A reminder holds its send slot until its result is recorded (or it is released).
#include "engine/core/context.hpp"

#include <boost/asio/steady_timer.hpp>

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
    void on_recorded(std::int32_t p, std::shared_ptr<std::vector<scheduler::AttemptRecord>> records,
                     Result<std::vector<scheduler::RecordStatus>> r);

    Context& ctx_;
    boost::asio::steady_timer timer_;
    TimePoint armed_ = TimePoint::max();
    scheduler::ClaimToken token_base_;
    std::uint64_t token_seq_ = 0;
};

}  // namespace rappel::core
