#pragma once

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tfsnap::tfstate::test {

inline std::filesystem::path states_dir() {
    return TFSNAP_TFSTATE_STATES_DIR;
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in{p, std::ios::binary};
    EXPECT_TRUE(in) << "missing " << p;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

inline rapidjson::Document read_json(const std::filesystem::path& p) {
    rapidjson::Document doc;
    const std::string text = read_file(p);
    doc.Parse(text.data(), text.size());
    EXPECT_FALSE(doc.HasParseError()) << p;
    EXPECT_TRUE(doc.IsObject()) << p;
    return doc;
}

inline std::vector<std::string> strings(const rapidjson::Value& array) {
    std::vector<std::string> out;
    for (const auto& v : array.GetArray()) {
        out.emplace_back(v.GetString(), v.GetStringLength());
    }
    return out;
}

}  // namespace tfsnap::tfstate::test
