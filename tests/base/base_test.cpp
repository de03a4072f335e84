#define BOOST_TEST_MODULE base
#include <boost/test/unit_test.hpp>

#include "engine/base/clock.hpp"
#include "engine/base/random.hpp"
#include "engine/base/time_format.hpp"

using namespace rappel;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(rfc3339_round_trips_and_normalises_offsets) {
    auto t = parse_rfc3339("2026-11-20T15:04:05Z");
    BOOST_REQUIRE(t);
    BOOST_CHECK_EQUAL(format_rfc3339(*t), "2026-11-20T15:04:05.000Z");
    auto with_offset = parse_rfc3339("2026-11-20T10:04:05.250-05:00");
    BOOST_REQUIRE(with_offset);
    BOOST_CHECK_EQUAL(format_rfc3339(*with_offset), "2026-11-20T15:04:05.250Z");
    BOOST_CHECK_EQUAL(format_rfc3339(*parse_rfc3339("2027-02-28T23:59:59.123456+00:30")), "2027-02-28T23:29:59.123Z");
}

BOOST_AUTO_TEST_CASE(rfc3339_written_in_place_matches_every_field) {
    using namespace std::chrono;
    // Before the epoch, the last millisecond of a leap day, and a year's first instant.
    const TimePoint pre = sys_days{year{1969} / 12 / 31} + hours{23} + minutes{59} + seconds{58} + milliseconds{7};
    BOOST_CHECK_EQUAL(format_rfc3339(pre), "1969-12-31T23:59:58.007Z");
    const TimePoint leap = sys_days{year{2028} / 2 / 29} + hours{23} + minutes{59} + seconds{59} + milliseconds{999};
    BOOST_CHECK_EQUAL(format_rfc3339(leap), "2028-02-29T23:59:59.999Z");
    std::string out = "at=";
    append_rfc3339(out, sys_days{year{2031} / 1 / 1});
    BOOST_CHECK_EQUAL(out, "at=2031-01-01T00:00:00.000Z");
    BOOST_CHECK_EQUAL(format_date(year{987} / 6 / 5), "0987-06-05");
    BOOST_CHECK_EQUAL(format_date(year{12345} / 1 / 2), "9999-01-02");  // clamped, as documented
    for (long ms : {0L, 1L, 86'399'999L, 1'795'000'123'456L}) {
        const TimePoint t{milliseconds{ms}};
        BOOST_CHECK(parse_rfc3339(format_rfc3339(t)) == t);
    }
}

BOOST_AUTO_TEST_CASE(rfc3339_rejects_what_is_not_a_timestamp) {
    for (const char* bad : {"", "2026-11-20", "2026-11-20T15:04:05", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                            "2026-11-20T24:00:00Z", "2026-11-20T15:04:05.Z", "2026-11-20T15:04:05+0500",
                            "2026-11-20T15:04:05Zjunk", "x026-11-20T15:04:05Z"})
        BOOST_CHECK_MESSAGE(!parse_rfc3339(bad), bad);
}

BOOST_AUTO_TEST_CASE(simulated_clock_runs_faster_and_converts_delays) {
    const auto start = *parse_rfc3339("2027-01-01T00:00:00Z");
    const auto anchor = std::chrono::system_clock::now() - 10ms;
    SimulatedClock c(start, 1000.0, anchor);
    const auto now = c.now();
    BOOST_CHECK(now >= start + 10s);  // at least 10 real ms have passed since the anchor
    BOOST_CHECK(now < start + 1h);
    const auto delay = c.real_delay_until(now + 60s);
    BOOST_CHECK(delay > RealDuration::zero() && delay <= 60ms);
    BOOST_CHECK(c.real_delay_until(start) == RealDuration::zero());
    BOOST_CHECK_EQUAL(c.elapsed_during(2s).count(), 2000000);
}

BOOST_AUTO_TEST_CASE(two_simulated_clocks_with_the_same_anchor_share_a_timeline) {
    const auto start = *parse_rfc3339("2027-01-01T00:00:00Z");
    const auto anchor = std::chrono::system_clock::now() - 1s;
    SimulatedClock a(start, 100.0, anchor), b(start, 100.0, anchor);
    BOOST_CHECK(std::chrono::abs(a.now() - b.now()) < 1s);  // 10 real ms of slack
}

BOOST_AUTO_TEST_CASE(manual_clock_moves_only_when_told) {
    ManualClock c(*parse_rfc3339("2027-01-01T00:00:00Z"));
    const auto t0 = c.now();
    BOOST_CHECK(c.now() == t0);
    c.advance(std::chrono::days{90});
    BOOST_CHECK(c.now() == t0 + std::chrono::days{90});
    BOOST_CHECK(c.real_delay_until(t0) == RealDuration::zero());
    BOOST_CHECK(c.real_delay_until(c.now() + 1h) > RealDuration::zero());
}

BOOST_AUTO_TEST_CASE(seeded_random_is_reproducible_and_uniform01_in_range) {
    SeededRandom a(99), b(99);
    for (int i = 0; i < 100; ++i) BOOST_CHECK_EQUAL(a.next_u64(), b.next_u64());
    for (int i = 0; i < 1000; ++i) {
        const double u = a.uniform01();
        BOOST_REQUIRE(u >= 0.0 && u < 1.0);
    }
}
