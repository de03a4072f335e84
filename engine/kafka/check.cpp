#include "engine/kafka/check.hpp"

#include <librdkafka/rdkafka.h>

namespace rappel::kafka {

std::vector<std::string> check_properties(const std::map<std::string, std::string>& props) {
    std::vector<std::string> problems;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [name, value] : props) {
        char errstr[512] = {};
        if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
            problems.push_back(name + ": " + errstr);
    }
    rd_kafka_conf_destroy(conf);
    return problems;
}

}  // namespace rappel::kafka
