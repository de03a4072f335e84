#define BOOST_TEST_MODULE engine_retry
#include <boost/test/unit_test.hpp>

#include "engine/core/retry.hpp"

#include <set>

using namespace rappel;
using namespace std::chrono_literals;

namespace {
config::RetryConfig policy(config::Jitter j) {
    config::RetryConfig p;
    p.backoff_base = 30s;
    p.backoff_cap = 600s;
    p.jitter = j;
    return p;
}
}  // namespace

BOOST_AUTO_TEST_CASE(without_jitter_the_delay_doubles_up_to_the_cap) {
    SeededRandom rnd(1);
    const auto p = policy(config::Jitter::none);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 1, rnd).count(), 30000);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 2, rnd).count(), 60000);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 3, rnd).count(), 120000);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 5, rnd).count(), 480000);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 6, rnd).count(), 600000);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 60, rnd).count(), 600000);
}

BOOST_AUTO_TEST_CASE(full_jitter_stays_within_the_ceiling_and_varies) {
    SeededRandom rnd(42);
    const auto p = policy(config::Jitter::full);
    std::set<long> seen;
    for (int i = 0; i < 200; ++i) {
        const auto d = core::backoff_delay(p, 3, rnd).count();
        BOOST_REQUIRE_GE(d, 0);
        BOOST_REQUIRE_LE(d, 120000);
        seen.insert(d);
    }
    BOOST_CHECK_GT(seen.size(), 150u);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_delays) {
    SeededRandom a(7), b(7);
    const auto p = policy(config::Jitter::full);
    for (int i = 1; i < 10; ++i) BOOST_CHECK_EQUAL(core::backoff_delay(p, i, a).count(), core::backoff_delay(p, i, b).count());
}

BOOST_AUTO_TEST_CASE(retry_after_wins_when_longer) {
    SeededRandom rnd(3);
    const auto p = policy(config::Jitter::none);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 1, rnd, std::chrono::seconds{90}).count(), 90000);
    BOOST_CHECK_EQUAL(core::backoff_delay(p, 2, rnd, std::chrono::seconds{5}).count(), 60000);
}
