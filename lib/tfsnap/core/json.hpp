#pragma once
// JSON that comes from outside the process (S3 objects, AWS responses, control requests, files
// on disk) read without recursion and with a bound on nesting.
//
// RapidJSON's default reader recurses once per nested array or object, so 100,000 nested `[`
// (200 KB) overflow the stack and kill the process. Every parse here uses its iterative reader
// (its stack lives on the heap) and stops at `max_depth` open containers with
// errc::json_too_deep. A DOM built this way is at most `max_depth` deep, so the recursive walks
// RapidJSON does on a DOM afterwards (Accept into a Writer, CopyFrom, operator==) stay within a
// few hundred frames.
//
// Errors: core::errc::invalid_json (not JSON, trailing bytes after the value, or the handler
// stopped) or core::errc::json_too_deep, with the byte offset and a message that never quotes
// the input (it may be someone else's secret).
//
// Thread safety: free functions with no shared state.

#include "tfsnap/core/error.hpp"

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace tfsnap::core {

// Nesting allowed in tfsnap's own files and in AWS's answers (manifests, the index, journals,
// control bodies, DynamoDB items, STS / IMDS / ECS credentials): none needs more than a handful
// of levels, and 512 levels of recursion over the result stay well inside any thread's stack.
inline constexpr std::size_t json_max_depth = 512;

struct json_status {
    boost::system::error_code ec;                                 // errc::invalid_json or errc::json_too_deep
    rapidjson::ParseErrorCode code = rapidjson::kParseErrorNone;  // RapidJSON's reason, when it has one
    std::size_t offset = 0;                                       // the byte where the parse stopped
    std::string message;  // "nests deeper than 512 levels (at byte 1024)"; never quotes the input

    bool ok() const noexcept { return !ec; }
};

namespace detail {

json_status json_failure(rapidjson::ParseErrorCode code, std::size_t offset, bool too_deep,
                         std::size_t max_depth);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) noexcept;

// Forwards every SAX event to `Handler`, refusing to open container number max_depth + 1. With
// `check_strings`, a string or key whose decoded bytes are not valid UTF-8 stops the parse too:
// RapidJSON 1.1.0's kParseValidateEncodingFlag checks the raw input but lets a \u escape of a
// lone surrogate ("\udc00") through as invalid UTF-8, which its own validating parse of the
// written-back text then refuses.
template <class Handler>
class depth_limited {
public:
    using Ch = char;

    depth_limited(Handler& inner, std::size_t max_depth, bool check_strings) noexcept
        : inner_(inner), max_depth_(max_depth), check_strings_(check_strings) {}

    bool Null() { return inner_.Null(); }
    bool Bool(bool b) { return inner_.Bool(b); }
    bool Int(int i) { return inner_.Int(i); }
    bool Uint(unsigned u) { return inner_.Uint(u); }
    bool Int64(std::int64_t i) { return inner_.Int64(i); }
    bool Uint64(std::uint64_t u) { return inner_.Uint64(u); }
    bool Double(double d) { return inner_.Double(d); }
    bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) { return inner_.RawNumber(s, n, copy); }
    bool String(const Ch* s, rapidjson::SizeType n, bool copy) {
        return valid(s, n) && inner_.String(s, n, copy);
    }
    bool Key(const Ch* s, rapidjson::SizeType n, bool copy) { return valid(s, n) && inner_.Key(s, n, copy); }
    bool StartObject() { return open() && inner_.StartObject(); }
    bool EndObject(rapidjson::SizeType n) {
        --depth_;
        return inner_.EndObject(n);
    }
    bool StartArray() { return open() && inner_.StartArray(); }
    bool EndArray(rapidjson::SizeType n) {
        --depth_;
        return inner_.EndArray(n);
    }

    bool too_deep() const noexcept { return too_deep_; }
    bool bad_string() const noexcept { return bad_string_; }

private:
    bool valid(const Ch* s, rapidjson::SizeType n) noexcept {
        if (check_strings_ && !is_valid_utf8({s, n})) {
            bad_string_ = true;
            return false;
        }
        return true;
    }

    bool open() noexcept {
        if (depth_ == max_depth_) {
            too_deep_ = true;
            return false;
        }
        ++depth_;
        return true;
    }

    Handler& inner_;
    std::size_t max_depth_;
    bool check_strings_;
    std::size_t depth_ = 0;
    bool too_deep_ = false;
    bool bad_string_ = false;
};

}  // namespace detail

// Streams `in` through `handler` (a RapidJSON SAX handler) with the iterative reader and
// `Flags` (kParseIterativeFlag is always added). A handler that returns false stops the parse
// with errc::invalid_json and code kParseErrorTermination: the handler knows why. With
// kParseValidateEncodingFlag, decoded strings must be valid UTF-8 too (lone surrogates in \u
// escapes are refused as kParseErrorStringInvalidEncoding).
template <unsigned Flags = rapidjson::kParseDefaultFlags, class InputStream, class Handler>
json_status parse_json_sax(InputStream& in, Handler& handler, std::size_t max_depth = json_max_depth) {
    constexpr bool check_strings = (Flags & rapidjson::kParseValidateEncodingFlag) != 0;
    detail::depth_limited<Handler> limited{handler, max_depth, check_strings};
    rapidjson::Reader reader;
    const rapidjson::ParseResult r = reader.Parse<Flags | rapidjson::kParseIterativeFlag>(in, limited);
    if (!r.IsError())
        return {};
    if (limited.bad_string())
        return detail::json_failure(rapidjson::kParseErrorStringInvalidEncoding, r.Offset(), false,
                                    max_depth);
    return detail::json_failure(r.Code(), r.Offset(), limited.too_deep(), max_depth);
}

// Parses `text` into `doc` (which is null on any error). Bytes after the value other than
// whitespace are an error, a NUL byte included (RapidJSON alone stops at one).
template <unsigned Flags = rapidjson::kParseDefaultFlags>
json_status parse_json(rapidjson::Document& doc, std::string_view text,
                       std::size_t max_depth = json_max_depth) {
    doc.SetNull();
    rapidjson::MemoryStream in{text.data(), text.size()};
    json_status status;
    auto generate = [&](rapidjson::Document& handler) {
        status = parse_json_sax<Flags>(in, handler, max_depth);
        if (status.ok() && in.Tell() != text.size())
            status = detail::json_failure(rapidjson::kParseErrorDocumentRootNotSingular, in.Tell(), false,
                                          max_depth);
        return status.ok();
    };
    doc.Populate(generate);
    if (!status.ok())
        doc.SetNull();
    return status;
}

}  // namespace tfsnap::core
