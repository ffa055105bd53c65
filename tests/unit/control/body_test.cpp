// The POST bodies: strict schemas, types, required fields, and the dry-run/token rule.
#include "tfsnap/control/body.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace tfsnap::control {
namespace {

using namespace std::chrono_literals;

struct bad_case {
    std::string body;
    std::string code;
    std::string field;
};

template <class Parse>
void expect_refusals(Parse parse, const std::vector<bad_case>& cases) {
    for (const auto& c : cases) {
        SCOPED_TRACE(c.body);
        const auto r = parse(c.body);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error->status, 400u);
        EXPECT_EQ(r.error->code, c.code) << r.error->message;
        EXPECT_EQ(r.error->field, c.field) << r.error->message;
        EXPECT_FALSE(r.error->message.empty());
    }
}

TEST(ControlBody, RestoreDefaults) {
    const auto r = parse_restore_body(R"({"snapshot_id":"2025-01-15T10-30-00Z","reason":"oops"})");
    ASSERT_TRUE(r.ok()) << r.error->message;
    EXPECT_EQ(r.value.snapshot_id, "2025-01-15T10-30-00Z");
    EXPECT_FALSE(r.value.version_id);
    EXPECT_FALSE(r.value.at);
    EXPECT_EQ(r.value.mode, "state-only");
    EXPECT_TRUE(r.value.dry_run);
    EXPECT_EQ(r.value.reason, "oops");
    EXPECT_FALSE(r.value.force_lineage);
    EXPECT_TRUE(r.value.roll_forward_serial);  // the default
    EXPECT_EQ(r.value.token, "");
}

TEST(ControlBody, RestoreEveryField) {
    const auto r = parse_restore_body(R"({"at":"2025-01-15T11:30:00+01:00","mode":"full","dry_run":false,
        "reason":"roll back","force_lineage":true,"roll_forward_serial":false,"token":"abc.def"})");
    ASSERT_TRUE(r.ok()) << r.error->message;
    ASSERT_TRUE(r.value.at);
    EXPECT_EQ(*r.value.at, std::chrono::sys_days{std::chrono::year{2025} / 1 / 15} + 10h + 30min);
    EXPECT_EQ(r.value.mode, "full");
    EXPECT_FALSE(r.value.dry_run);
    EXPECT_TRUE(r.value.force_lineage);
    EXPECT_FALSE(r.value.roll_forward_serial);
    EXPECT_EQ(r.value.token, "abc.def");

    const auto v = parse_restore_body(R"({"version_id":"3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY","reason":"r"})");
    ASSERT_TRUE(v.ok()) << v.error->message;
    EXPECT_EQ(v.value.version_id, "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
}

TEST(ControlBody, RestoreRefusals) {
    const std::string snap = R"("snapshot_id":"2025-01-15T10-30-00Z")";
    expect_refusals(
        parse_restore_body,
        {
            {"", "missing_field", "snapshot_id"},
            {"{}", "missing_field", "snapshot_id"},
            {"[]", "invalid_json", ""},
            {"null", "invalid_json", ""},
            {"{", "invalid_json", ""},
            {"{} {}", "invalid_json", ""},
            {"{\"reason\":\"\xff\"}", "invalid_json", ""},
            {"{" + snap + ",\"reason\":\"a\",\"reason\":\"b\"}", "invalid_json", "reason"},
            {"{" + snap + ",\"reason\":\"r\",\"snapshotid\":1}", "unknown_field", "snapshotid"},
            {"{" + snap + ",\"reason\":\"r\",\"colour\":\"blue\"}", "unknown_field", "colour"},
            {R"({"snapshot_id":42,"reason":"r"})", "invalid_field", "snapshot_id"},
            {R"({"snapshot_id":null,"reason":"r"})", "invalid_field", "snapshot_id"},
            {R"({"snapshot_id":"latest","reason":"r"})", "invalid_field", "snapshot_id"},
            {R"({"snapshot_id":"../../etc","reason":"r"})", "invalid_field", "snapshot_id"},
            {R"({"version_id":"","reason":"r"})", "invalid_field", "version_id"},
            {R"({"version_id":"a b","reason":"r"})", "invalid_field", "version_id"},
            {R"({"at":"yesterday","reason":"r"})", "invalid_field", "at"},
            {R"({"at":1700000000,"reason":"r"})", "invalid_field", "at"},
            {"{" + snap + R"(,"version_id":"v","reason":"r"})", "missing_field", ""},
            {"{" + snap + R"(,"mode":"everything","reason":"r"})", "invalid_field", "mode"},
            {"{" + snap + R"(,"dry_run":"false","reason":"r"})", "invalid_field", "dry_run"},
            {"{" + snap + R"(,"dry_run":0,"reason":"r"})", "invalid_field", "dry_run"},
            {"{" + snap + R"(,"force_lineage":1,"reason":"r"})", "invalid_field", "force_lineage"},
            {"{" + snap + R"(,"roll_forward_serial":"yes","reason":"r"})", "invalid_field",
             "roll_forward_serial"},
            {"{" + snap + "}", "missing_field", "reason"},
            {"{" + snap + R"(,"reason":"  "})", "missing_field", "reason"},
            {"{" + snap + R"(,"reason":7})", "invalid_field", "reason"},
            {"{" + snap + R"(,"reason":")" + std::string(1025, 'x') + "\"}", "invalid_field", "reason"},
            {"{" + snap + R"(,"reason":"r","dry_run":false})", "missing_field", "token"},
            {"{" + snap + R"(,"reason":"r","dry_run":false,"token":""})", "missing_field", "token"},
            {"{" + snap + R"(,"reason":"r","token":"abc"})", "invalid_field", "token"},
            {"{" + snap + R"(,"reason":"r","dry_run":true,"token":"abc"})", "invalid_field", "token"},
            {"{" + snap + R"(,"reason":"r","dry_run":false,"token":"a b"})", "invalid_field", "token"},
            {"{" + snap + R"(,"reason":"r","dry_run":false,"token":["t"]})", "invalid_field", "token"},
        });
}

TEST(ControlBody, UnknownFieldSuggestsTheClosest) {
    const auto r =
        parse_restore_body(R"({"snapshot_id":"2025-01-15T10-30-00Z","reason":"r","dryrun":false})");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->message, "unknown field \"dryrun\" (did you mean \"dry_run\"?)");
    const auto e = parse_empty_body(R"({"force":true})");
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error->message, "unknown field \"force\" (this request takes an empty object)");
}

TEST(ControlBody, DeeplyNestedJsonIsRefusedNotACrash) {
    const std::string nested = "{\"reason\":" + std::string(60000, '[') + std::string(60000, ']') + "}";
    const auto r = parse_undelete_body(nested);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->status, 400U);
    EXPECT_EQ(r.error->code, "invalid_json");
    EXPECT_EQ(r.error->message, "the body nests deeper than 512 levels (at byte 521)");
    // within the bound: parsed, then refused for its type
    const std::string shallow = "{\"reason\":" + std::string(500, '[') + std::string(500, ']') + "}";
    EXPECT_EQ(parse_undelete_body(shallow).error->code, "invalid_field");
}

TEST(ControlBody, Backup) {
    for (const auto* body : {"", " \n", "{}"}) {
        const auto r = parse_backup_body(body);
        ASSERT_TRUE(r.ok()) << body;
        EXPECT_FALSE(r.value.schedule);
    }
    const auto r = parse_backup_body(R"({"schedule":"nightly"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value.schedule, "nightly");
    expect_refusals(parse_backup_body, {
                                           {R"({"schedule":5})", "invalid_field", "schedule"},
                                           {R"({"schedule":"../x"})", "invalid_field", "schedule"},
                                           {R"({"schedul":"nightly"})", "unknown_field", "schedul"},
                                           {R"("nightly")", "invalid_json", ""},
                                       });
}

TEST(ControlBody, Undelete) {
    const auto r = parse_undelete_body(R"({"reason":"deleted by mistake"})");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.value.dry_run);
    EXPECT_EQ(r.value.reason, "deleted by mistake");
    const auto x = parse_undelete_body(R"({"reason":"r","dry_run":false,"token":"t.u"})");
    ASSERT_TRUE(x.ok());
    EXPECT_FALSE(x.value.dry_run);
    EXPECT_EQ(x.value.token, "t.u");
    expect_refusals(parse_undelete_body, {
                                             {"{}", "missing_field", "reason"},
                                             {R"({"reason":"r","dry_run":false})", "missing_field", "token"},
                                             {R"({"reason":"r","snapshot_id":"2025-01-15T10-30-00Z"})",
                                              "unknown_field", "snapshot_id"},
                                         });
}

TEST(ControlBody, Verification) {
    EXPECT_TRUE(parse_verification_body("").ok());
    const auto r = parse_verification_body(R"({"snapshot_id":"2025-01-15T10-30-00Z-2"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value.snapshot_id, "2025-01-15T10-30-00Z-2");
    expect_refusals(parse_verification_body, {
                                                 {R"({"snapshot_id":"x"})", "invalid_field", "snapshot_id"},
                                                 {R"({"all":true})", "unknown_field", "all"},
                                             });
}

TEST(ControlBody, Empty) {
    EXPECT_TRUE(parse_empty_body("").ok());
    EXPECT_TRUE(parse_empty_body("{}").ok());
    EXPECT_TRUE(parse_empty_body(" { } ").ok());
    expect_refusals(parse_empty_body, {
                                          {R"({"dry_run":true})", "unknown_field", "dry_run"},
                                          {"[]", "invalid_json", ""},
                                          {"x", "invalid_json", ""},
                                      });
}

}  // namespace
}  // namespace tfsnap::control
