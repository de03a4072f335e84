#define BOOST_TEST_MODULE templates
#include <boost/test/unit_test.hpp>
