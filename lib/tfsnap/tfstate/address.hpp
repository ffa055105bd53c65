#pragma once
// Resource instance addresses as Terraform prints them:
//   aws_instance.web[0]
//   data.aws_ami.ubuntu
//   module.net.aws_subnet.this["a"]
//   module.a.module.b.x.y
// The module path is taken verbatim from the state's `module` field (Terraform already formats
// it, including module for_each keys). Index keys: integers bare, strings quoted with JSON
// escaping (`"`, `\`, and control characters escaped; other characters kept as they are).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace tfsnap::tfstate {

// No key (a single instance), a count index, or a for_each key.
using index_key = std::variant<std::monostate, std::int64_t, std::string>;

struct resource_address {
    std::string module;  // "" for the root module, else "module.a.module.b"
    bool data = false;   // a data source
    std::string type;
    std::string name;
    index_key key;
};

// `"` + JSON-escaped text + `"`.
std::string quote_json(std::string_view text);
// "", "[3]" or "[\"a\"]"
std::string format(const index_key& key);
std::string format(const resource_address& address);

}  // namespace tfsnap::tfstate
