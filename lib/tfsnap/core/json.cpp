#include "tfsnap/core/json.hpp"

#include <rapidjson/error/en.h>

namespace tfsnap::core::detail {

json_status json_failure(rapidjson::ParseErrorCode code, std::size_t offset, bool too_deep,
                         std::size_t max_depth) {
    json_status s;
    s.code = code;
    s.offset = offset;
    const std::string at = " (at byte " + std::to_string(offset) + ")";
    if (too_deep) {
        s.ec = errc::json_too_deep;
        s.message = "nests deeper than " + std::to_string(max_depth) + " levels" + at;
    } else {
        s.ec = errc::invalid_json;
        s.message = std::string("not valid JSON: ") + rapidjson::GetParseError_En(code) + at;
    }
    return s;
}

}  // namespace tfsnap::core::detail
