#define BOOST_TEST_MODULE redis_script
#include <boost/test/unit_test.hpp>

#include "engine/redis/redis_client.hpp"

using rappel::redis::Reply;
using rappel::redis::Script;

BOOST_AUTO_TEST_CASE(sha1_matches_known_vectors) {
    BOOST_TEST(Script("").sha1() == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    BOOST_TEST(Script("abc").sha1() == "a9993e364706816aba3e25717850c26c9cd0d89d");
    Script s("return 1");
    BOOST_TEST(s.body() == "return 1");
    BOOST_TEST(s.sha1() == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

BOOST_AUTO_TEST_CASE(sha1_is_binary_safe) {
    const std::string with_nul("a\0b", 3);
    BOOST_TEST(Script(with_nul).sha1() != Script("a").sha1());
    BOOST_TEST(Script(with_nul).sha1().size() == 40u);
}

BOOST_AUTO_TEST_CASE(make_error_builds_error_reply) {
    Reply r = Reply::make_error("boom");
    BOOST_TEST(r.is_error());
    BOOST_TEST(!r.is_nil());
    BOOST_TEST(r.str == "boom");
    BOOST_TEST(Reply{}.is_nil());
}
