#define BOOST_TEST_MODULE scheduler_plan
#include <boost/test/unit_test.hpp>
