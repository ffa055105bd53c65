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
#include <cstdint>
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

// A JSON number's text (already checked by the reader) read exactly: integers as RapidJSON
// types them (Int, Uint, Int64, Uint64, or a double beyond 64 bits), other numbers with
// std::from_chars, which rounds correctly. too_big: beyond a double's range.
struct exact_number {
    enum class kind { int32, uint32, int64, uint64, real, too_big };
    kind type = kind::too_big;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;
};
exact_number read_exact_number(std::string_view text) noexcept;

// Forwards every SAX event to `Handler`, refusing to open container number max_depth + 1. With
// `check_strings`, a string or key whose decoded bytes are not valid UTF-8 stops the parse too:
// RapidJSON 1.1.0's kParseValidateEncodingFlag checks the raw input but lets a \u escape of a
// lone surrogate ("\udc00") through as invalid UTF-8, which its own validating parse of the
// written-back text then refuses. With `exact_numbers`, numbers arrive as text
// (kParseNumbersAsStringsFlag) and are read with read_exact_number.
template <class Handler>
class depth_limited {
public:
    using Ch = char;

    depth_limited(Handler& inner, std::size_t max_depth, bool check_strings, bool exact_numbers) noexcept
        : inner_(inner),
          max_depth_(max_depth),
          check_strings_(check_strings),
          exact_numbers_(exact_numbers) {}

    bool Null() { return inner_.Null(); }
    bool Bool(bool b) { return inner_.Bool(b); }
    bool Int(int i) { return inner_.Int(i); }
    bool Uint(unsigned u) { return inner_.Uint(u); }
    bool Int64(std::int64_t i) { return inner_.Int64(i); }
    bool Uint64(std::uint64_t u) { return inner_.Uint64(u); }
    bool Double(double d) { return inner_.Double(d); }
    bool RawNumber(const Ch* s, rapidjson::SizeType n, bool copy) {
        if (!exact_numbers_)
            return inner_.RawNumber(s, n, copy);
        const exact_number v = read_exact_number({s, n});
        switch (v.type) {
            case exact_number::kind::int32:
                return inner_.Int(static_cast<int>(v.i));
            case exact_number::kind::uint32:
                return inner_.Uint(static_cast<unsigned>(v.u));
            case exact_number::kind::int64:
                return inner_.Int64(v.i);
            case exact_number::kind::uint64:
                return inner_.Uint64(v.u);
            case exact_number::kind::real:
                return inner_.Double(v.d);
            case exact_number::kind::too_big:
                break;
        }
        number_too_big_ = true;
        return false;
    }
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
    bool number_too_big() const noexcept { return number_too_big_; }

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
    bool exact_numbers_;
    std::size_t depth_ = 0;
    bool too_deep_ = false;
    bool bad_string_ = false;
    bool number_too_big_ = false;
};

}  // namespace detail

// Streams `in` through `handler` (a RapidJSON SAX handler) with the iterative reader and
// `Flags` (kParseIterativeFlag is always added). A handler that returns false stops the parse
// with errc::invalid_json and code kParseErrorTermination: the handler knows why. With
// kParseValidateEncodingFlag, decoded strings must be valid UTF-8 too (lone surrogates in \u
// escapes are refused as kParseErrorStringInvalidEncoding). kParseFullPrecisionFlag is done
// here, with read_exact_number: RapidJSON 1.1.0's own full-precision path is undefined for a
// zero significand with an exponent ("0E-111" calls __builtin_clzll(0), diyfp.h).
template <unsigned Flags = rapidjson::kParseDefaultFlags, class InputStream, class Handler>
json_status parse_json_sax(InputStream& in, Handler& handler, std::size_t max_depth = json_max_depth) {
    constexpr bool check_strings = (Flags & rapidjson::kParseValidateEncodingFlag) != 0;
    constexpr bool exact_numbers = (Flags & rapidjson::kParseFullPrecisionFlag) != 0;
    constexpr unsigned reader_flags =
        exact_numbers
            ? (Flags & ~unsigned{rapidjson::kParseFullPrecisionFlag}) | rapidjson::kParseNumbersAsStringsFlag
            : Flags;
    detail::depth_limited<Handler> limited{handler, max_depth, check_strings, exact_numbers};
    rapidjson::Reader reader;
    const rapidjson::ParseResult r = reader.Parse<reader_flags | rapidjson::kParseIterativeFlag>(in, limited);
    if (!r.IsError())
        return {};
    if (limited.bad_string())
        return detail::json_failure(rapidjson::kParseErrorStringInvalidEncoding, r.Offset(), false,
                                    max_depth);
    if (limited.number_too_big())
        return detail::json_failure(rapidjson::kParseErrorNumberTooBig, r.Offset(), false, max_depth);
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
