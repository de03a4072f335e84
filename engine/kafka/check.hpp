#pragma once
// Checks librdkafka properties the way the clients will apply them (rd_kafka_conf_set),
// without connecting: unknown names and invalid values are found by `--check`, not at start.
#include <map>
#include <string>
#include <vector>

namespace rappel::kafka {

// One line per refused property: "<name>: <librdkafka's reason>". Empty: all accepted.
std::vector<std::string> check_properties(const std::map<std::string, std::string>& props);

}  // namespace rappel::kafka
