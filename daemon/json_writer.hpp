#pragma once
// A small JSON writer over RapidJSON for the daemon's answers (the API, job results), and the
// RFC 3339 form of the daemon's times.

#include "tfsnap/core/clock.hpp"
#include "tfsnap/core/rfc3339.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

namespace tfsnap::daemon {

class json_writer {
public:
    json_writer& key(std::string_view k) {
        w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        return *this;
    }
    json_writer& str(std::string_view v) {
        w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        return *this;
    }
    json_writer& num(double v) {
        w_.Double(v);
        return *this;
    }
    json_writer& integer(long long v) {
        w_.Int64(v);
        return *this;
    }
    json_writer& boolean(bool v) {
        w_.Bool(v);
        return *this;
    }
    json_writer& null() {
        w_.Null();
        return *this;
    }
    // `v` must be a complete JSON object written by this program.
    json_writer& raw(std::string_view v) {
        w_.RawValue(v.data(), v.size(), rapidjson::kObjectType);
        return *this;
    }
    json_writer& begin_object() {
        w_.StartObject();
        return *this;
    }
    json_writer& end_object() {
        w_.EndObject();
        return *this;
    }
    json_writer& begin_array() {
        w_.StartArray();
        return *this;
    }
    json_writer& end_array() {
        w_.EndArray();
        return *this;
    }
    json_writer& field(std::string_view k, std::string_view v) { return key(k).str(v); }
    std::string take() { return std::string(buf_.GetString(), buf_.GetSize()); }

private:
    rapidjson::StringBuffer buf_;
    rapidjson::Writer<rapidjson::StringBuffer> w_{buf_};
};

inline std::string rfc3339(core::time_point t) {
    return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

}  // namespace tfsnap::daemon
