#include "scheduler/keys.hpp"

#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

using namespace rappel::scheduler;
using rappel::ChannelKind;
using namespace std::chrono;

namespace {

constexpr year_month_day kDue{year{2027}, February, day{14}};

// The part of a key Redis Cluster hashes: between the first '{' and the next '}'.
std::string hash_tag(const std::string& key) {
    const auto open = key.find('{');
    if (open == std::string::npos) return {};
    const auto close = key.find('}', open + 1);
    if (close == std::string::npos || close == open + 1) return {};
    return key.substr(open + 1, close - open - 1);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keys)

BOOST_AUTO_TEST_CASE(reminder_id_is_pinned) {
    // printf 'drivers-licence\x1fC1\x1f2027-02-14\x1f60d\x1fsms' | sha256sum
    //   ddcefa2e1748458318108a458ff9033898aaf10612e3d41a531e23d8aecb7556
    BOOST_TEST(reminder_id("drivers-licence", "C1", kDue, "60d", ChannelKind::sms) ==
               "rddcefa2e1748458318108a45");
}

BOOST_AUTO_TEST_CASE(reminder_id_depends_on_every_field) {
    const std::string base = reminder_id("drivers-licence", "C1", kDue, "60d", ChannelKind::sms);
    const std::vector<std::string> variants = {
        reminder_id("health-card", "C1", kDue, "60d", ChannelKind::sms),
        reminder_id("drivers-licence", "C2", kDue, "60d", ChannelKind::sms),
        reminder_id("drivers-licence", "C1", year{2027} / February / day{15}, "60d", ChannelKind::sms),
        reminder_id("drivers-licence", "C1", year{2028} / February / day{14}, "60d", ChannelKind::sms),
        reminder_id("drivers-licence", "C1", kDue, "30d", ChannelKind::sms),
        reminder_id("drivers-licence", "C1", kDue, "60d", ChannelKind::email),
        reminder_id("drivers-licence", "C1", kDue, "60d", ChannelKind::voice),
        // the separator keeps field boundaries apart
        reminder_id("drivers-licenceC", "1", kDue, "60d", ChannelKind::sms),
    };
    std::set<std::string> all{base};
    for (const auto& v : variants) {
        BOOST_TEST(v.size() == 25u);
        BOOST_TEST(v.front() == 'r');
        all.insert(v);
    }
    BOOST_TEST(all.size() == variants.size() + 1);
    BOOST_TEST(reminder_id("drivers-licence", "C1", kDue, "60d", ChannelKind::sms) == base);
}

BOOST_AUTO_TEST_CASE(licence_key_hash_is_pinned) {
    // printf 'drivers-licence\x1fC1' | sha256sum
    BOOST_TEST(licence_key_hash("drivers-licence", "C1") == "d3c4746c81e19cd5737a780b");
    BOOST_TEST(licence_key_hash("drivers-licence", "C2") != licence_key_hash("drivers-licence", "C1"));
    BOOST_TEST(licence_key_hash("drivers-licenceC", "1") != licence_key_hash("drivers-licence", "C1"));
}

BOOST_AUTO_TEST_CASE(key_names) {
    const Keys k("rp", 17);
    BOOST_TEST(k.partition() == 17);
    BOOST_TEST(k.tag() == "{p17}");
    BOOST_TEST(k.base() == "rp:{p17}:");
    BOOST_TEST(k.schedule() == "rp:{p17}:S");
    BOOST_TEST(k.licence("0123abcd") == "rp:{p17}:L:0123abcd");
    BOOST_TEST(k.offsets() == "rp:{p17}:O");
    BOOST_TEST(k.outbox() == "rp:{p17}:X");
}

BOOST_AUTO_TEST_CASE(every_key_of_a_partition_shares_its_hash_tag) {
    const Keys k("rappel-test", 17);
    const std::string lic = licence_key_hash("drivers-licence", "C1");
    for (const auto& key : {k.schedule(), k.licence(lic), k.offsets(), k.outbox()}) {
        BOOST_TEST(hash_tag(key) == "p17", key);
        BOOST_TEST(key.rfind(k.base(), 0) == 0u, key);
        BOOST_TEST(key.find("C1") == std::string::npos, key);  // no licence text in keys
    }
    BOOST_TEST(hash_tag(Keys("rp", 0).schedule()) == "p0");
    BOOST_TEST(hash_tag(Keys("rp", 3).schedule()) != hash_tag(Keys("rp", 30).schedule()));
}

BOOST_AUTO_TEST_SUITE_END()
