#pragma once
// A DynamoDB item as the Terraform lock table uses it: string (S), number (N) and boolean (BOOL)
// attributes by name; any other attribute type read from the table is kept as its raw JSON.

#include <map>
#include <string>

namespace tfsnap::dynamodb {

struct attribute_value {
    enum class kind { s, n, boolean, raw };
    kind type = kind::s;
    std::string value;  // the string; the number as text; "true"/"false"; or the raw JSON

    static attribute_value string(std::string v) { return {kind::s, std::move(v)}; }
    static attribute_value number(std::string v) { return {kind::n, std::move(v)}; }
    static attribute_value boolean(bool v) { return {kind::boolean, v ? "true" : "false"}; }
    friend bool operator==(const attribute_value&, const attribute_value&) = default;
};
using item = std::map<std::string, attribute_value>;

}  // namespace tfsnap::dynamodb
