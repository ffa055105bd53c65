#include "tfsnap/tfstate/address.hpp"

namespace tfsnap::tfstate {

std::string quote_json(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out += hex[u >> 4];
                    out += hex[u & 0xf];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

std::string format(const index_key& key) {
    if (const auto* i = std::get_if<std::int64_t>(&key)) {
        return '[' + std::to_string(*i) + ']';
    }
    if (const auto* s = std::get_if<std::string>(&key)) {
        return '[' + quote_json(*s) + ']';
    }
    return {};
}

std::string format(const resource_address& address) {
    std::string out;
    if (!address.module.empty()) {
        out += address.module;
        out += '.';
    }
    if (address.data) {
        out += "data.";
    }
    out += address.type;
    out += '.';
    out += address.name;
    out += format(address.key);
    return out;
}

}  // namespace tfsnap::tfstate
