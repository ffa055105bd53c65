#include "harness_env.hpp"

#include <cstdlib>
#include <fstream>

namespace tfsnap::test {

std::string harness_env::get(const std::string& name) const {
    const auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
}

std::optional<harness_env> load_harness_env(std::string* why) {
    const char* path = std::getenv("TFSNAP_HARNESS_ENV");
    if (path == nullptr || *path == '\0') {
        if (why)
            *why = "TFSNAP_HARNESS_ENV is not set (run through ctest, which starts the servers)";
        return std::nullopt;
    }
    std::ifstream in(path);
    if (!in) {
        if (why)
            *why = std::string("cannot read ") + path + " (did harness.s3_up run?)";
        return std::nullopt;
    }
    harness_env env;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with("export "))
            continue;
        line.erase(0, 7);
        const auto eq = line.find('=');
        if (eq == std::string::npos)
            continue;
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
            value = value.substr(1, value.size() - 2);
        }
        env.vars[line.substr(0, eq)] = value;
    }
    return env;
}

}  // namespace tfsnap::test
