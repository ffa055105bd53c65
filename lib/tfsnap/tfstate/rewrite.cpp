#include "tfsnap/tfstate/rewrite.hpp"

#include "tfsnap/core/json.hpp"
#include "tfsnap/tfstate/detail/go_json.hpp"
#include "tfsnap/tfstate/error.hpp"
#include "tfsnap/tfstate/limits.hpp"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>

namespace tfsnap::tfstate {

namespace {

// Why the handler stopped the parse early.
enum class stop { none, not_object, bad_serial, ambiguous };

// Depth counts open containers: keys of the root object arrive at depth 1. With
// kParseNumbersAsStringsFlag every number arrives as RawNumber, after the reader has consumed it,
// so the stream's offset then is the end of its text.
class serial_handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, serial_handler> {
public:
    explicit serial_handler(const rapidjson::MemoryStream& stream) noexcept : stream_(stream) {}

    bool Null() { return value("null"); }
    bool Bool(bool) { return value("a boolean"); }
    bool Int(int) { return value("a number"); }  // not called with kParseNumbersAsStringsFlag
    bool Uint(unsigned) { return value("a number"); }
    bool Int64(std::int64_t) { return value("a number"); }
    bool Uint64(std::uint64_t) { return value("a number"); }
    bool Double(double) { return value("a number"); }
    bool String(const char*, rapidjson::SizeType, bool) { return value("a string"); }

    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ == 0)
            return not_object();
        if (!pending_)
            return true;
        pending_ = false;
        const std::string_view text{s, n};
        const std::size_t end = stream_.Tell();
        std::uint64_t v = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        // from_chars accepts neither a sign nor leading '+'; anything it leaves is a fraction or an
        // exponent, which Go refuses for a uint64 even when the value is whole ("1.0", "1e3")
        if (ec == std::errc::result_out_of_range)
            return bad("a number above 18446744073709551615");
        if (ec != std::errc{} || ptr != text.data() + text.size())
            return bad(text.starts_with('-') ? "a negative number"
                                             : "a number with a fraction or an exponent");
        value_ = v;
        length_ = text.size();
        offset_ = end - text.size();
        return true;
    }

    bool StartObject() {
        if (!container("an object"))
            return false;
        ++depth_;
        return true;
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (depth_ == 1 && detail::go_key_matches({s, n}, "serial")) {
            if (++found_ > 1) {
                stop_ = stop::ambiguous;
                return false;
            }
            pending_ = true;
        }
        return true;
    }
    bool EndObject(rapidjson::SizeType) {
        --depth_;
        return true;
    }
    bool StartArray() {
        if (depth_ == 0)
            return not_object();
        if (!container("an array"))
            return false;
        ++depth_;
        return true;
    }
    bool EndArray(rapidjson::SizeType) {
        --depth_;
        return true;
    }

    stop stopped() const noexcept { return stop_; }
    int found() const noexcept { return found_; }
    const char* what() const noexcept { return what_; }
    std::size_t offset() const noexcept { return offset_; }
    std::size_t length() const noexcept { return length_; }
    std::uint64_t serial() const noexcept { return value_; }

private:
    bool value(const char* what) {
        if (depth_ == 0)
            return not_object();
        if (pending_)
            return bad(what);
        return true;
    }
    bool container(const char* what) {
        if (pending_)
            return bad(what);
        return true;
    }
    bool bad(const char* what) {
        stop_ = stop::bad_serial;
        what_ = what;
        return false;
    }
    bool not_object() {
        stop_ = stop::not_object;
        return false;
    }

    const rapidjson::MemoryStream& stream_;
    int depth_ = 0;
    int found_ = 0;
    bool pending_ = false;  // the last key at depth 1 was serial; its value comes next
    stop stop_ = stop::none;
    const char* what_ = "";
    std::size_t offset_ = 0;
    std::size_t length_ = 0;
    std::uint64_t value_ = 0;
};

}  // namespace

serial_location locate_serial(std::string_view state_bytes) {
    serial_location out;
    rapidjson::MemoryStream stream{state_bytes.data(), state_bytes.size()};
    serial_handler handler{stream};
    const core::json_status result =
        core::parse_json_sax<rapidjson::kParseNumbersAsStringsFlag>(stream, handler, max_nesting);
    if (result.ec == core::errc::json_too_deep) {
        out.ec = errc::too_deep;
        out.message = "the state " + result.message + ", deeper than Terraform itself reads";
        return out;
    }
    switch (handler.stopped()) {
        case stop::not_object:
            out.ec = errc::not_a_state;
            out.message = "not a JSON object";
            return out;
        case stop::bad_serial:
            out.ec = errc::bad_serial;
            out.message =
                std::string("the top-level \"serial\" is ") + handler.what() + ", not a non-negative integer";
            return out;
        case stop::ambiguous:
            out.ec = errc::ambiguous_serial;
            out.message =
                "the state has more than one top-level \"serial\" key (as Terraform matches keys: "
                "case-insensitively, after unescaping)";
            return out;
        case stop::none:
            break;
    }
    if (!result.ok()) {
        out.ec = errc::not_a_state;
        out.message = result.message;
        return out;
    }
    if (handler.found() == 0) {
        out.ec = errc::no_serial;
        out.message = "the state has no top-level \"serial\"";
        return out;
    }
    out.offset = handler.offset();
    out.length = handler.length();
    out.value = handler.serial();
    return out;
}

rewrite_result set_serial(std::string_view state_bytes, std::uint64_t serial) {
    rewrite_result out;
    const serial_location at = locate_serial(state_bytes);
    if (!at.ok()) {
        out.ec = at.ec;
        out.message = at.message;
        return out;
    }
    char digits[24];
    const auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), serial);
    (void)ec;  // 24 characters hold any uint64
    const std::string_view text{digits, static_cast<std::size_t>(end - digits)};
    out.bytes.reserve(state_bytes.size() - at.length + text.size());
    out.bytes.append(state_bytes.substr(0, at.offset));
    out.bytes.append(text);
    out.bytes.append(state_bytes.substr(at.offset + at.length));
    out.old_serial = at.value;
    return out;
}

std::optional<std::uint64_t> top_level_serial(std::string_view state_bytes) {
    const serial_location at = locate_serial(state_bytes);
    if (!at.ok())
        return std::nullopt;
    return at.value;
}

}  // namespace tfsnap::tfstate
