#include "tfsnap/notify/render.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <chrono>
#include <string>

namespace {

using namespace tfsnap;
using notify::event;
using notify::event_kind;

// 2026-11-22T02:30:26.750Z
const core::time_point fixed_at =
    core::time_point(std::chrono::seconds{1795314626}) + std::chrono::milliseconds{750};

event sample() {
    event e;
    e.kind = event_kind::failure;
    e.environment = "prod";
    e.job_id = "42";
    e.job_kind = "backup";
    e.snapshot_id = "2026-11-22T02-30-26Z";
    e.result = "failed";
    e.message = "GetObject tf-state/prod/terraform.tfstate: HTTP 403 AccessDenied";
    e.at = fixed_at;
    return e;
}

// Parses `json` strictly (UTF-8 validated) and returns the string member `key`.
std::string member(const std::string& json, const char* key) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
    EXPECT_FALSE(d.HasParseError()) << rapidjson::GetParseError_En(d.GetParseError()) << " in " << json;
    if (d.HasParseError() || !d.IsObject() || !d.HasMember(key) || !d[key].IsString())
        return "<missing>";
    return std::string(d[key].GetString(), d[key].GetStringLength());
}

TEST(RenderJson, Document) {
    EXPECT_EQ(notify::render_json(sample(), "backup-1"),
              R"({"source":"tfsnap","host":"backup-1","event":"failure","environment":"prod","job_id":"42",)"
              R"("job_kind":"backup","snapshot_id":"2026-11-22T02-30-26Z","result":"failed",)"
              R"("message":"GetObject tf-state/prod/terraform.tfstate: HTTP 403 AccessDenied",)"
              R"("at":"2026-11-22T02:30:26Z"})");
}

TEST(RenderJson, EmptyFieldsAreEmptyStrings) {
    event e;
    e.kind = event_kind::state_deleted;
    e.environment = "dev";
    e.at = fixed_at;
    EXPECT_EQ(notify::render_json(e, "h"),
              R"({"source":"tfsnap","host":"h","event":"state-deleted","environment":"dev","job_id":"",)"
              R"("job_kind":"","snapshot_id":"","result":"","message":"","at":"2026-11-22T02:30:26Z"})");
}

TEST(RenderJson, EscapesQuotesBackslashesAndControlCharacters) {
    auto e = sample();
    e.message = std::string("say \"hi\"\\ now\nline 2\ttab\r\x01\x1f") + '\0' + "end\x7f";
    const auto json = notify::render_json(e, "h");
    EXPECT_NE(json.find(R"("message":"say \"hi\"\\ now\nline 2\ttab\r\u0001\u001F\u0000end)"
                        "\x7f"
                        R"(")"),
              std::string::npos)
        << json;
    EXPECT_EQ(member(json, "message"), e.message);
}

TEST(RenderJson, UnicodePassesThrough) {
    auto e = sample();
    e.environment = "zürich-✓";
    e.message = "deploy 🚀 done — ok";
    const auto json = notify::render_json(e, "höst");
    EXPECT_EQ(member(json, "environment"), "zürich-✓");
    EXPECT_EQ(member(json, "message"), "deploy 🚀 done — ok");
    EXPECT_EQ(member(json, "host"), "höst");
}

TEST(RenderJson, InvalidUtf8BecomesReplacementCharacters) {
    auto e = sample();
    // a stray continuation byte, a truncated sequence, an overlong '/', a surrogate, 0xff
    e.message =
        "a\x80"
        "b\xc3"
        "c\xc0\xaf"
        "d\xed\xa0\x80"
        "e\xff";
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_EQ(member(notify::render_json(e, "h"), "message"),
              "a" + r + "b" + r + "c" + r + r + "d" + r + r + r + "e" + r);
}

TEST(RenderSlack, SubstitutesEveryPlaceholder) {
    const auto json = notify::render_slack(
        "{event}|{env}|{job}|{job_kind}|{snapshot}|{result}|{message}|{host}|{at}", sample(), "backup-1");
    EXPECT_EQ(member(json, "text"),
              "failure|prod|42|backup|2026-11-22T02-30-26Z|failed|GetObject tf-state/prod/terraform.tfstate: "
              "HTTP 403 AccessDenied|backup-1|2026-11-22T02:30:26Z");
}

TEST(RenderSlack, OnlyTextKey) {
    EXPECT_EQ(notify::render_slack(":rotating_light: {event} {env}", sample(), "h"),
              R"({"text":":rotating_light: failure prod"})");
}

TEST(RenderSlack, UnknownPlaceholdersStayAsWritten) {
    EXPECT_EQ(member(notify::render_slack("{nope} {Event} {} {env", sample(), "h"), "text"),
              "{nope} {Event} {} {env");
    EXPECT_EQ(member(notify::render_slack("{{event}} }{env}{", sample(), "h"), "text"), "{failure} }prod{");
}

TEST(RenderSlack, EscapesForJson) {
    auto e = sample();
    e.message = "quote \" backslash \\ newline\nend\x02";
    const auto json = notify::render_slack("\"{message}\"\n", e, "h");
    EXPECT_EQ(json, R"({"text":"\"quote \" backslash \\ newline\nend\u0002\"\n"})");
    EXPECT_EQ(member(json, "text"), "\"" + e.message + "\"\n");
}

TEST(RenderSlack, ValuesCannotMentionOrLink) {
    auto e = sample();
    e.message = "<!channel> a & b > <http://evil|click>";
    EXPECT_EQ(member(notify::render_slack("<!here> {message}", e, "h"), "text"),
              "<!here> &lt;!channel&gt; a &amp; b &gt; &lt;http://evil|click&gt;");
}

TEST(RenderSlack, Unicode) {
    auto e = sample();
    e.environment = "東京";
    EXPECT_EQ(member(notify::render_slack("🚨 {env} \xff", e, "h"), "text"), "🚨 東京 \xEF\xBF\xBD");
}

}  // namespace
