#include "tfsnap/core/json.hpp"

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <limits>
#include <string>

namespace tfsnap::core {
namespace {

std::string nested(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

TEST(ParseJson, ReadsADocument) {
    rapidjson::Document doc;
    const auto s = parse_json(doc, R"( {"a": [1, "x", {"b": null}]} )");
    ASSERT_TRUE(s.ok()) << s.message;
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(doc["a"][1].GetString(), std::string("x"));
}

TEST(ParseJson, InvalidJsonSaysWhereWithoutQuotingIt) {
    rapidjson::Document doc;
    const auto s = parse_json(doc, R"({"secret": "hunter2" x})");
    EXPECT_EQ(s.ec, errc::invalid_json);
    EXPECT_EQ(s.offset, 21U);
    EXPECT_EQ(s.message, "not valid JSON: Missing a comma or '}' after an object member. (at byte 21)");
    EXPECT_EQ(s.message.find("hunter2"), std::string::npos);
    EXPECT_TRUE(doc.IsNull());
    EXPECT_EQ(parse_json(doc, "").ec, errc::invalid_json);
}

TEST(ParseJson, DepthLimitIsExact) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json(doc, nested(json_max_depth)).ok());
    const auto s = parse_json(doc, nested(json_max_depth + 1));
    EXPECT_EQ(s.ec, errc::json_too_deep);
    EXPECT_EQ(s.offset, json_max_depth);
    EXPECT_EQ(s.message, "nests deeper than 512 levels (at byte 512)");
    EXPECT_TRUE(doc.IsNull());
    EXPECT_TRUE(parse_json(doc, R"({"a":{"b":[1]}})", 3).ok());
    EXPECT_EQ(parse_json(doc, R"({"a":{"b":[1]}})", 2).ec, errc::json_too_deep);
}

// This overflowed the stack with RapidJSON's default (recursive) reader: 100,000 nested arrays.
TEST(ParseJson, HostileNestingIsNoCrash) {
    rapidjson::Document doc;
    EXPECT_EQ(parse_json(doc, nested(100000)).ec, errc::json_too_deep);
    EXPECT_EQ(parse_json(doc, std::string(1000000, '[')).ec, errc::json_too_deep);
    std::string objects;
    for (int i = 0; i < 100000; ++i)
        objects += R"({"a":)";
    EXPECT_EQ(parse_json(doc, objects).ec, errc::json_too_deep);
    // a generous bound still parses iteratively; the DOM can then be walked with one's own stack
    EXPECT_TRUE(parse_json(doc, nested(100000), 100000).ok());
}

// What is accepted is safe to write back: Accept recurses at most json_max_depth times.
TEST(ParseJson, AcceptedDocumentsWriteBack) {
    rapidjson::Document doc;
    const std::string text = nested(json_max_depth);
    ASSERT_TRUE(parse_json(doc, text).ok());
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    ASSERT_TRUE(doc.Accept(w));
    EXPECT_EQ(std::string(buf.GetString(), buf.GetSize()), text);
}

TEST(ParseJson, TrailingBytesAreRefused) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json(doc, "{} \n\t").ok());
    EXPECT_EQ(parse_json(doc, "{} {}").ec, errc::invalid_json);
    // RapidJSON alone stops at a NUL byte and reports success
    const auto s = parse_json(doc, std::string("{}\0{}", 5));
    EXPECT_EQ(s.ec, errc::invalid_json);
    EXPECT_EQ(s.offset, 2U);
    EXPECT_TRUE(doc.IsNull());
}

TEST(ParseJson, FlagsPassThrough) {
    rapidjson::Document doc;
    const std::string bad_utf8 = "[\"\xff\"]";
    EXPECT_TRUE(parse_json(doc, bad_utf8).ok());
    EXPECT_EQ(parse_json<rapidjson::kParseValidateEncodingFlag>(doc, bad_utf8).ec, errc::invalid_json);
}

// RapidJSON 1.1.0 validates the raw bytes but decodes "\udc00" (a lone surrogate) to invalid
// UTF-8; its own validating parse of that text written back then fails (found by fuzz_catalog_index).
TEST(ParseJson, ValidatingParseRefusesLoneSurrogates) {
    rapidjson::Document doc;
    for (const char* text : {R"(["\udc00"])", R"({"\udfff": 1})", R"(["a\udc00b"])"}) {
        const auto s = parse_json<rapidjson::kParseValidateEncodingFlag>(doc, text);
        EXPECT_EQ(s.ec, errc::invalid_json) << text;
        EXPECT_EQ(s.code, rapidjson::kParseErrorStringInvalidEncoding) << text;
        EXPECT_TRUE(doc.IsNull());
    }
    // a lone high surrogate RapidJSON refuses by itself
    EXPECT_EQ(parse_json<rapidjson::kParseValidateEncodingFlag>(doc, R"(["a\ud800\u0041"])").ec,
              errc::invalid_json);
    // a pair is one character; without the flag, bytes pass as they are
    EXPECT_TRUE(parse_json<rapidjson::kParseValidateEncodingFlag>(doc, R"(["\ud83d\ude00"])").ok());
    EXPECT_EQ(std::string(doc[0].GetString()), "\xf0\x9f\x98\x80");
    EXPECT_TRUE(parse_json(doc, R"(["\udc00"])").ok());
}

TEST(IsValidUtf8, Strict) {
    using detail::is_valid_utf8;
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    EXPECT_FALSE(is_valid_utf8("\xc0\x80"));          // overlong NUL
    EXPECT_FALSE(is_valid_utf8("\xe0\x80\x80"));      // overlong
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
    EXPECT_FALSE(is_valid_utf8("\x80"));
    EXPECT_TRUE(is_valid_utf8(std::string_view("\0", 1)));
}

// Full precision is done with std::from_chars: exact round trips, and none of RapidJSON 1.1.0's
// full-precision path, which calls __builtin_clzll(0) for "0E-111" (found by fuzz_dynamodb_json).
TEST(ParseJson, FullPrecisionNumbersAreExact) {
    rapidjson::Document doc;
    const auto s = parse_json<rapidjson::kParseFullPrecisionFlag>(
        doc,
        "[0E-111, 0.1, 184467440737095516195, -2147483648, -2147483649, 4294967295, 4294967296,"
        " 18446744073709551615, -9223372036854775808, 2.2250738585072011e-308, 1e-400, -0, 123.456e2]");
    ASSERT_TRUE(s.ok()) << s.message;
    EXPECT_EQ(doc[0].GetDouble(), 0.0);
    EXPECT_EQ(doc[1].GetDouble(), 0.1);
    EXPECT_EQ(doc[2].GetDouble(), 184467440737095516195.0);
    EXPECT_TRUE(doc[3].IsInt());
    EXPECT_EQ(doc[3].GetInt(), -2147483647 - 1);
    EXPECT_TRUE(doc[4].IsInt64() && !doc[4].IsInt());
    EXPECT_TRUE(doc[5].IsUint());
    EXPECT_TRUE(doc[6].IsUint64() && !doc[6].IsUint());
    EXPECT_EQ(doc[7].GetUint64(), 18446744073709551615ULL);
    EXPECT_EQ(doc[8].GetInt64(), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(doc[9].GetDouble(), 2.2250738585072011e-308);
    EXPECT_EQ(doc[10].GetDouble(), 0.0);  // underflow is zero, as RapidJSON reads it
    EXPECT_EQ(doc[11].GetInt(), 0);
    EXPECT_EQ(doc[12].GetDouble(), 12345.6);
    // what is written back reads as the same numbers
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    doc.Accept(w);
    rapidjson::Document again;
    ASSERT_TRUE(
        parse_json<rapidjson::kParseFullPrecisionFlag>(again, std::string(buf.GetString(), buf.GetSize()))
            .ok());
    EXPECT_TRUE(again == doc);
    // beyond a double is an error, as without the flag
    const auto big = parse_json<rapidjson::kParseFullPrecisionFlag>(doc, "[1e400]");
    EXPECT_EQ(big.code, rapidjson::kParseErrorNumberTooBig);
    EXPECT_EQ(parse_json(doc, "[1e400]").code, rapidjson::kParseErrorNumberTooBig);
    EXPECT_EQ(parse_json<rapidjson::kParseFullPrecisionFlag>(doc, "[01]").ec, errc::invalid_json);
}

struct counting_handler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, counting_handler> {
    int values = 0;
    bool stop_at_string = false;
    bool Default() {
        ++values;
        return true;
    }
    bool String(const char*, rapidjson::SizeType, bool) { return !stop_at_string && Default(); }
};

TEST(ParseJsonSax, StreamsAndStops) {
    counting_handler h;
    rapidjson::MemoryStream in{"[1,[2,[3]],\"s\"]", 15};
    ASSERT_TRUE(parse_json_sax(in, h).ok());
    EXPECT_EQ(h.values, 10);  // 4 values, 3 arrays opened and closed

    counting_handler stopper;
    stopper.stop_at_string = true;
    rapidjson::MemoryStream again{"[1,\"s\"]", 7};
    const auto s = parse_json_sax(again, stopper);
    EXPECT_EQ(s.ec, errc::invalid_json);
    EXPECT_EQ(s.code, rapidjson::kParseErrorTermination);

    const std::string deep = nested(100000);
    rapidjson::MemoryStream deep_in{deep.data(), deep.size()};
    counting_handler d;
    EXPECT_EQ(parse_json_sax(deep_in, d, 64).ec, errc::json_too_deep);
}

}  // namespace
}  // namespace tfsnap::core
