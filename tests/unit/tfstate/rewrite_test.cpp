// set_serial(): only the digits of the top-level "serial" change, on hand-written edge cases and on
// states from tests/tfstate/gen_state.py (base: 200 resources, serial 7; large: 100 MB, serial 12).
#include "tfsnap/tfstate/rewrite.hpp"

#include "test_util.hpp"
#include "tfsnap/tfstate/error.hpp"
#include "tfsnap/tfstate/summary.hpp"

#include <chrono>
#include <fstream>
#include <iostream>

namespace tfsnap::tfstate {
namespace {

using test::read_file;
using test::states_dir;

// Asserts that `after` is `before` with exactly the bytes [offset, offset + old_len) replaced by
// `digits`, and nothing else changed.
void expect_only_serial_changed(std::string_view before, std::string_view after, std::size_t offset,
                                std::size_t old_len, std::string_view digits) {
    ASSERT_EQ(after.size(), before.size() - old_len + digits.size());
    ASSERT_LE(offset + old_len, before.size());
    if (before == after) {  // the same serial written again
        EXPECT_EQ(before.substr(offset, old_len), digits);
        return;
    }
    // the common prefix and suffix, found by comparing bytes rather than trusting `offset`
    std::size_t prefix = 0;
    while (prefix < before.size() && prefix < after.size() && before[prefix] == after[prefix])
        ++prefix;
    std::size_t suffix = 0;
    while (suffix < before.size() - prefix && suffix < after.size() - prefix &&
           before[before.size() - 1 - suffix] == after[after.size() - 1 - suffix])
        ++suffix;
    // every differing byte lies within the number
    EXPECT_GE(prefix, offset);
    EXPECT_GE(suffix, before.size() - offset - old_len);
    EXPECT_EQ(before.substr(0, offset), after.substr(0, offset));
    EXPECT_EQ(before.substr(offset + old_len), after.substr(offset + digits.size()));
    EXPECT_EQ(after.substr(offset, digits.size()), digits);
}

std::string_view number_at(std::string_view s, std::size_t offset) {
    std::size_t end = offset;
    while (end < s.size() && ((s[end] >= '0' && s[end] <= '9') || s[end] == '-' || s[end] == '.' ||
                              s[end] == 'e' || s[end] == 'E' || s[end] == '+'))
        ++end;
    return s.substr(offset, end - offset);
}

// set_serial on `state`, checked byte by byte; returns the result.
rewrite_result rewrite_checked(std::string_view state, std::uint64_t serial) {
    const serial_location at = locate_serial(state);
    EXPECT_TRUE(at.ok()) << at.message;
    auto r = set_serial(state, serial);
    EXPECT_TRUE(r.ok()) << r.message;
    if (!at.ok() || !r.ok())
        return r;
    EXPECT_EQ(number_at(state, at.offset).size(), at.length);
    EXPECT_EQ(r.old_serial, at.value);
    expect_only_serial_changed(state, r.bytes, at.offset, at.length, std::to_string(serial));
    return r;
}

TEST(SetSerial, ChangesOnlyTheDigits) {
    const std::string state = R"({"version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": "x"})";
    const auto r = set_serial(state, 8);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.bytes, R"({"version": 4, "terraform_version": "1.9.8", "serial": 8, "lineage": "x"})");
    EXPECT_EQ(r.old_serial, 7U);
    rewrite_checked(state, 8);
    rewrite_checked(state, 7);  // the same serial: the same bytes
    EXPECT_EQ(set_serial(state, 7).bytes, state);
    rewrite_checked(state, 18446744073709551615ULL);
    rewrite_checked(state, 0);
}

TEST(SetSerial, KeepsWhitespaceAndLayoutAroundTheNumber) {
    const std::string state = "\xef\xbb\xbf";  // not JSON for Go either: a BOM is refused
    EXPECT_EQ(set_serial(state + "{\"serial\":1}", 2).ec, errc::not_a_state);

    const std::string spaced = "\r\n\t {\n\t\"serial\"  :\r\n   41\t ,\n  \"a\" : [ 1 , 2 ]\n}\n\n";
    const auto r = rewrite_checked(spaced, 42);
    EXPECT_EQ(r.bytes, "\r\n\t {\n\t\"serial\"  :\r\n   42\t ,\n  \"a\" : [ 1 , 2 ]\n}\n\n");
    EXPECT_EQ(rewrite_checked("{\"serial\":0}", 1000).bytes, "{\"serial\":1000}");
    EXPECT_EQ(rewrite_checked("{\"serial\":123456}", 9).bytes, "{\"serial\":9}");
}

TEST(SetSerial, SerialAsTheLastKeyAfterEverythingElse) {
    const std::string state = R"({
  "version": 4,
  "lineage": "l",
  "outputs": {"serial": {"value": 5, "type": "number"}},
  "resources": [{"mode": "managed", "type": "aws_instance", "name": "serial",
                 "instances": [{"attributes": {"serial": 99, "serial_number": 3, "tags": {"serial": "7"}}}]}],
  "serial": 31
}
)";
    const auto r = rewrite_checked(state, 32);
    EXPECT_NE(r.bytes.find(R"("serial": 32
})"),
              std::string::npos);
    EXPECT_NE(r.bytes.find(R"("serial": 99)"), std::string::npos);
    EXPECT_NE(r.bytes.find(R"({"serial": {"value": 5)"), std::string::npos);
}

TEST(SetSerial, NestedSerialKeysAreNeverTouched) {
    // "serial" deeper down, before the top-level one: in objects, in arrays of objects, as values
    const std::string state =
        R"({"resources":[{"serial":1,"instances":[{"serial":2,"attributes":{"serial":3}}]}],)"
        R"("outputs":{"serial":{"value":{"serial":4}}},"check_results":[["serial",5]],"serial":6,"lineage":"l"})";
    const auto r = rewrite_checked(state, 700);
    EXPECT_EQ(r.old_serial, 6U);
    EXPECT_NE(r.bytes.find(R"("serial":700,"lineage")"), std::string::npos);
    for (const char* kept : {R"("serial":1,)", R"("serial":2,)", R"("serial":3})", R"("serial":4})", "5]]"})
        EXPECT_NE(r.bytes.find(kept), std::string::npos) << kept;
}

TEST(SetSerial, StringsThatLookLikeSerialAreNotKeys) {
    // escaped quotes and backslashes inside strings, keys and values, before the real key
    const std::string state =
        R"({"lineage":"\"serial\": 5","x\"serial":1,"y":"\\","z":"\\\"serial\\\":2","serial_number":3,)"
        R"("note":"{\"serial\":4}","serial":8})";
    const auto r = rewrite_checked(state, 9);
    EXPECT_EQ(r.old_serial, 8U);
    EXPECT_TRUE(r.bytes.ends_with(R"("serial":9})")) << r.bytes;
}

TEST(SetSerial, KeysTerraformReadsAsSerial) {
    // Go's json.Unmarshal matches keys after unescaping and case-insensitively
    // (hashicorp/terraform internal/states/statefile/version4.go readStateV4)
    EXPECT_EQ(rewrite_checked(R"({"s\u0065rial":3})", 4).bytes, R"({"s\u0065rial":4})");
    EXPECT_EQ(rewrite_checked(R"({"Serial":3})", 4).bytes, R"({"Serial":4})");
    EXPECT_EQ(rewrite_checked(R"({"SERIAL":3})", 4).bytes, R"({"SERIAL":4})");
    EXPECT_EQ(rewrite_checked("{\"\xc5\xbf"
                              "erial\":3}",
                              4)
                  .bytes,
              "{\"\xc5\xbf"
              "erial\":4}");
    // and not these
    EXPECT_EQ(set_serial(R"({"serial ":3})", 4).ec, errc::no_serial);
    EXPECT_EQ(set_serial(R"({"serials":3})", 4).ec, errc::no_serial);
    EXPECT_EQ(set_serial(R"({"serial\u0000":3})", 4).ec, errc::no_serial);
}

TEST(SetSerial, RefusesAmbiguity) {
    for (const char* json : {R"({"serial":1,"serial":1})", R"({"serial":1,"Serial":2})",
                             R"({"serial":1,"x":{},"s\u0065rial":2})"}) {
        const auto r = set_serial(json, 5);
        EXPECT_EQ(r.ec, errc::ambiguous_serial) << json;
        EXPECT_TRUE(r.bytes.empty());
        EXPECT_FALSE(top_level_serial(json)) << json;
    }
}

TEST(SetSerial, RefusesWhatIsNotAJsonObject) {
    for (const char* json :
         {"", " ", "[]", R"([{"serial":1}])", R"("serial")", "12", "null", "true", "{", R"({"serial":1)",
          R"({"serial":1,})", R"({"serial":1} {})", R"({"serial":1}x)", R"({"serial":01})", R"({'serial':1})",
          "{\"a\":\"raw\ncontrol\",\"serial\":1}", R"({"a":[1,2}, "serial":1})"}) {
        const auto r = set_serial(json, 5);
        EXPECT_EQ(r.ec, errc::not_a_state) << json;
        EXPECT_TRUE(r.bytes.empty()) << json;
        EXPECT_FALSE(r.message.empty());
    }
}

TEST(SetSerial, RefusesASerialGoCannotReadIntoUint64) {
    for (const char* json :
         {R"({"serial":"7"})", R"({"serial":-1})", R"({"serial":-0})", R"({"serial":1.0})",
          R"({"serial":1e3})", R"({"serial":1E+2})", R"({"serial":0.5})", R"({"serial":null})",
          R"({"serial":true})", R"({"serial":{}})", R"({"serial":[7]})", R"({"serial":18446744073709551616})",
          R"({"serial":99999999999999999999999})"}) {
        const auto r = set_serial(json, 5);
        EXPECT_EQ(r.ec, errc::bad_serial) << json;
        EXPECT_NE(r.message.find("not a non-negative integer"), std::string::npos) << r.message;
    }
    EXPECT_EQ(top_level_serial(R"({"serial":18446744073709551615})"), 18446744073709551615ULL);
}

TEST(SetSerial, RefusesAStateWithoutSerial) {
    for (const char* json : {"{}", R"({"version":4,"resources":[{"serial":1}]})"}) {
        const auto r = set_serial(json, 5);
        EXPECT_EQ(r.ec, errc::no_serial) << json;
        EXPECT_FALSE(top_level_serial(json));
    }
    // an OpenTofu encrypted state has none either
    EXPECT_EQ(set_serial(R"({"encrypted_data":"AAAA","encryption_version":"v0","meta":{}})", 5).ec,
              errc::no_serial);
}

TEST(SetSerial, MessagesNeverQuoteTheState) {
    const std::string secret = "pw-SENSITIVE-123";
    for (const std::string& json :
         {R"({"outputs":{"db":{"value":")" + secret + R"("}},"serial":")" + secret + R"("})",
          R"({"outputs":{"db":{"value":")" + secret + R"("}}, broken)",
          R"({"outputs":{"db":{"value":")" + secret + R"("}}})"}) {
        const auto r = set_serial(json, 5);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.message.find("SENSITIVE"), std::string::npos) << r.message;
    }
}

TEST(SetSerial, DeepNestingIsNoCrash) {
    // as deep as Terraform reads (10,000 levels, the root object included): rewritten
    const std::string deep = R"({"a":)" + std::string(9999, '[') + std::string(9999, ']') + R"(,"serial":1})";
    const auto r = rewrite_checked(deep, 2);
    EXPECT_EQ(r.old_serial, 1U);
    // deeper: refused as Terraform refuses it, without recursion
    const auto too_deep =
        set_serial(R"({"a":)" + std::string(500000, '[') + std::string(500000, ']') + R"(,"serial":1})", 2);
    EXPECT_EQ(too_deep.ec, errc::too_deep);
    EXPECT_EQ(too_deep.message,
              "the state nests deeper than 10000 levels (at byte 10004), deeper than Terraform itself reads");
    EXPECT_TRUE(too_deep.bytes.empty());
    EXPECT_EQ(set_serial(R"({"a":)" + std::string(500000, '['), 2).ec, errc::too_deep);
    EXPECT_EQ(set_serial(R"({"a":)" + std::string(500, '['), 2).ec, errc::not_a_state);
}

TEST(TopLevelSerial, ReadsIt) {
    EXPECT_EQ(top_level_serial(R"({"serial": 12})"), 12U);
    EXPECT_EQ(top_level_serial(R"({"serial": 0})"), 0U);
    EXPECT_FALSE(top_level_serial("not json"));
}

// ------------------------------------------------------------------------------ generated states

TEST(SetSerialGenerated, BaseStateOnlySerialDigitsChange) {
    const std::string state = read_file(states_dir() / "base.tfstate");
    const auto want = test::read_json(states_dir() / "base.summary.json");
    const auto before = inspect(state);
    ASSERT_TRUE(before.summarised()) << before.message;
    ASSERT_EQ(before.summary.serial, want["serial"].GetUint64());

    const auto r = rewrite_checked(state, 123456789012ULL);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.old_serial, 7U);
    const auto after = inspect(r.bytes);
    ASSERT_TRUE(after.summarised()) << after.message;
    EXPECT_EQ(after.summary.serial, 123456789012ULL);
    EXPECT_EQ(after.summary.lineage, before.summary.lineage);
    EXPECT_EQ(after.summary.managed_resources, before.summary.managed_resources);
    EXPECT_EQ(after.summary.instances, before.summary.instances);
    EXPECT_EQ(after.summary.outputs, before.summary.outputs);

    // as documents: equal once the old serial is set to the new one
    rapidjson::Document a;
    a.Parse(state.data(), state.size());
    rapidjson::Document b;
    b.Parse(r.bytes.data(), r.bytes.size());
    ASSERT_FALSE(a.HasParseError());
    ASSERT_FALSE(b.HasParseError());
    a["serial"].SetUint64(123456789012ULL);
    EXPECT_TRUE(a == b);
}

TEST(SetSerialGenerated, SerialMovedToTheEndOfTheBaseState) {
    // Terraform writes serial near the top; a state edited by hand may have it anywhere
    std::string state = read_file(states_dir() / "base.tfstate");
    const std::string line = "\n  \"serial\": 7,";
    const auto at = state.find(line);
    ASSERT_NE(at, std::string::npos);
    state.erase(at, line.size());
    const auto close = state.rfind('}');
    ASSERT_NE(close, std::string::npos);
    state.insert(close, ",\n  \"serial\": 7\n");
    const auto r = rewrite_checked(state, 8);
    EXPECT_EQ(r.old_serial, 7U);
    const auto after = inspect(r.bytes);
    ASSERT_TRUE(after.summarised()) << after.message;
    EXPECT_EQ(after.summary.serial, 8U);
}

TEST(SetSerialGenerated, NextStateEveryKeyKept) {
    const std::string state = read_file(states_dir() / "next.tfstate");
    const auto r = rewrite_checked(state, 9);
    EXPECT_EQ(r.old_serial, 8U);  // gen_state.py --mutate: serial + 1
}

// In KiB; -1 if unavailable.
long status_kib(const char* field) {
    std::ifstream in{"/proc/self/status"};
    std::string line;
    const std::string prefix = std::string{field} + ":";
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0)
            return std::stol(line.substr(prefix.size()));
    }
    return -1;
}

bool reset_peak_rss() {
    std::ofstream out{"/proc/self/clear_refs"};
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

TEST(SetSerialLarge, HundredMegabytesWithoutADom) {
    const auto path = states_dir() / "large.tfstate";
    const std::string state = read_file(path);
    ASSERT_GE(state.size(), 100U * 1000 * 1000);
    const auto want = test::read_json(states_dir() / "large.summary.json");

    const bool peak_known = reset_peak_rss();
    const long before = status_kib("VmHWM");
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = set_serial(state, 13);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    const long after = status_kib("VmHWM");
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.old_serial, want["serial"].GetUint64());

    const auto at = locate_serial(state);
    ASSERT_TRUE(at.ok());
    expect_only_serial_changed(state, r.bytes, at.offset, at.length, "13");

    const long output_kib = static_cast<long>(r.bytes.size() / 1024);
    const long growth_kib = after - before;
    std::cout << "set_serial on " << state.size() << " bytes: " << ms << " ms, peak RSS growth " << growth_kib
              << " KiB (output " << output_kib << " KiB)\n";
    RecordProperty("set_serial_ms", std::to_string(ms));
    RecordProperty("peak_rss_growth_kib", std::to_string(growth_kib));
    if (peak_known && before >= 0) {
        // the output copy, plus a parser stack of a few KB: no DOM (which would be several times the input)
        EXPECT_LT(growth_kib, output_kib + 16L * 1024);
    }
    EXPECT_LT(ms, 45000);
}

}  // namespace
}  // namespace tfsnap::tfstate
