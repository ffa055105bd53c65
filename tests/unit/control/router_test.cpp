// The control API's routes: every route, its role and parameters, and the 400/404/405 errors.
#include "tfsnap/control/router.hpp"

#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::control {
namespace {

using namespace std::chrono_literals;

struct route_case {
    std::string method;
    std::string target;
    route_id route;
    role needed;
    std::string env{};
    std::string job_id{};
    query_params query{};
};

TEST(ControlRouter, MatchesEveryRoute) {
    const std::vector<route_case> cases = {
        {"GET", "/v1/status", route_id::status, role::reader},
        {"GET", "/v1/environments", route_id::environments, role::reader},
        {"GET", "/v1/environments/prod/snapshots", route_id::snapshots, role::reader, "prod"},
        {"GET", "/v1/environments/prod/versions", route_id::versions, role::reader, "prod"},
        {"GET", "/v1/environments/prod/retention", route_id::retention, role::reader, "prod"},
        {"GET", "/v1/environments/prod/retention?dry_run=1", route_id::retention, role::reader, "prod", "",
         query_params{.dry_run = true}},
        {"GET", "/v1/environments/prod/retention?dry_run=true", route_id::retention, role::reader, "prod", "",
         query_params{.dry_run = true}},
        {"POST", "/v1/environments/prod/backups", route_id::backups, role::operator_, "prod"},
        {"POST", "/v1/environments/prod/restores", route_id::restores, role::operator_, "prod"},
        {"POST", "/v1/environments/prod/undeletes", route_id::undeletes, role::operator_, "prod"},
        {"POST", "/v1/environments/prod/verifications", route_id::verifications, role::operator_, "prod"},
        {"POST", "/v1/environments/prod/prunes", route_id::prunes, role::operator_, "prod"},
        {"GET", "/v1/jobs", route_id::jobs, role::reader},
        {"GET", "/v1/jobs/42", route_id::job, role::reader, "", "42"},
        {"GET", "/v1/jobs/backup-7_x?wait=30s", route_id::job, role::reader, "", "backup-7_x",
         query_params{.wait = 30s}},
        {"GET", "/v1/jobs/42?wait=2m", route_id::job, role::reader, "", "42", query_params{.wait = 120s}},
        {"GET", "/v1/jobs/42?wait=15", route_id::job, role::reader, "", "42", query_params{.wait = 15s}},
        {"GET", "/v1/jobs/42?wait=5m", route_id::job, role::reader, "", "42", query_params{.wait = 300s}},
        {"GET", "/v1/audit", route_id::audit, role::reader},
        {"GET", "/v1/audit?env=prod&limit=20", route_id::audit, role::reader, "", "",
         query_params{.env = "prod", .limit = 20}},
        {"GET", "/v1/audit?limit=10000&", route_id::audit, role::reader, "", "",
         query_params{.limit = 10000}},
        {"POST", "/v1/reload", route_id::reload, role::operator_},
        {"GET", "/metrics", route_id::metrics, role::reader},
        // %-escapes: decoded per segment, and in the query ('+' is a space there)
        {"GET", "/v1/environments/my%2Denv/snapshots", route_id::snapshots, role::reader, "my-env"},
        {"GET", "/v1/audit?e%6Ev=a%2eb", route_id::audit, role::reader, "", "", query_params{.env = "a.b"}},
        {"GET", "/v1/status?", route_id::status, role::reader},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.method + " " + c.target);
        const auto m = match(c.method, c.target);
        ASSERT_TRUE(m.ok()) << m.error->code << ": " << m.error->message;
        EXPECT_EQ(m.route, c.route);
        EXPECT_EQ(m.needed, c.needed);
        EXPECT_EQ(m.env, c.env);
        EXPECT_EQ(m.job_id, c.job_id);
        EXPECT_EQ(m.query, c.query);
    }
}

struct error_case {
    std::string method;
    std::string target;
    unsigned status;
    std::string code;
    std::string field{};
    std::string allow{};
};

TEST(ControlRouter, RefusesWithTheRightError) {
    const std::vector<error_case> cases = {
        // unknown paths
        {"GET", "/", 404, "not_found"},
        {"GET", "/v1", 404, "not_found"},
        {"GET", "/v2/status", 404, "not_found"},
        {"GET", "/v1/status/", 404, "not_found"},
        {"GET", "/v1//status", 404, "not_found"},
        {"GET", "/v1/environments/prod", 404, "not_found"},
        {"GET", "/v1/environments/prod/snapshots/x", 404, "not_found"},
        {"GET", "/v1/environments//snapshots", 404, "not_found"},
        {"GET", "/V1/status", 404, "not_found"},
        {"GET", "/metrics/", 404, "not_found"},
        // known path, wrong method
        {"POST", "/v1/status", 405, "method_not_allowed", "", "GET"},
        {"DELETE", "/v1/jobs/42", 405, "method_not_allowed", "", "GET"},
        {"GET", "/v1/environments/prod/backups", 405, "method_not_allowed", "", "POST"},
        {"GET", "/v1/reload", 405, "method_not_allowed", "", "POST"},
        {"HEAD", "/v1/status", 405, "method_not_allowed", "", "GET"},
        {"get", "/v1/status", 405, "method_not_allowed", "", "GET"},
        {"PUT", "/metrics", 405, "method_not_allowed", "", "GET"},
        // method checked before the parameters
        {"GET", "/v1/environments/..%2Fetc/backups", 405, "method_not_allowed", "", "POST"},
        // path parameters
        {"GET", "/v1/environments/.hidden/snapshots", 400, "invalid_environment"},
        {"GET", "/v1/environments/..%2F..%2Fetc/snapshots", 400, "invalid_environment"},
        {"GET", "/v1/environments/a%20b/snapshots", 400, "invalid_environment"},
        {"GET", "/v1/environments/a%00b/snapshots", 400, "invalid_environment"},
        {"POST", "/v1/environments/" + std::string(65, 'a') + "/backups", 400, "invalid_environment"},
        {"GET", "/v1/jobs/4.2", 400, "invalid_job_id"},
        {"GET", "/v1/jobs/" + std::string(65, '1'), 400, "invalid_job_id"},
        // malformed targets
        {"GET", "v1/status", 400, "bad_request"},
        {"GET", "http://localhost/v1/status", 400, "bad_request"},
        {"GET", "*", 400, "bad_request"},
        {"GET", "/v1/status#top", 400, "bad_request"},
        {"GET", "/v1/environments/a%2/snapshots", 400, "bad_request"},
        {"GET", "/v1/environments/a%zz/snapshots", 400, "bad_request"},
        {"GET", "/v1/audit?env=%", 400, "bad_request"},
        // query parameters: unknown, repeated, bad values
        {"GET", "/v1/status?verbose=1", 400, "unknown_parameter", "verbose"},
        {"GET", "/v1/jobs?wait=30s", 400, "unknown_parameter", "wait"},
        {"GET", "/v1/audit?env=prod&env=dev", 400, "unknown_parameter", "env"},
        {"POST", "/v1/environments/prod/restores?dry_run=1", 400, "unknown_parameter", "dry_run"},
        {"GET", "/v1/environments/prod/retention?dry_run=0", 400, "invalid_parameter", "dry_run"},
        {"GET", "/v1/environments/prod/retention?dry_run=yes", 400, "invalid_parameter", "dry_run"},
        {"GET", "/v1/jobs/42?wait=soon", 400, "invalid_parameter", "wait"},
        {"GET", "/v1/jobs/42?wait=", 400, "invalid_parameter", "wait"},
        {"GET", "/v1/jobs/42?wait=301", 400, "invalid_parameter", "wait"},
        {"GET", "/v1/jobs/42?wait=1h", 400, "invalid_parameter", "wait"},
        {"GET", "/v1/jobs/42?wait=-1", 400, "invalid_parameter", "wait"},
        {"GET", "/v1/audit?limit=0", 400, "invalid_parameter", "limit"},
        {"GET", "/v1/audit?limit=10001", 400, "invalid_parameter", "limit"},
        {"GET", "/v1/audit?limit=1e3", 400, "invalid_parameter", "limit"},
        {"GET", "/v1/audit?limit=99999999999999999999", 400, "invalid_parameter", "limit"},
        {"GET", "/v1/audit?env=..", 400, "invalid_parameter", "env"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.method + " " + c.target);
        const auto m = match(c.method, c.target);
        ASSERT_FALSE(m.ok());
        EXPECT_EQ(m.error->status, c.status);
        EXPECT_EQ(m.error->code, c.code);
        EXPECT_EQ(m.error->field, c.field);
        EXPECT_EQ(m.error->allow, c.allow);
        EXPECT_FALSE(m.error->message.empty());
    }
}

TEST(ControlRouter, UnknownParameterNamesTheKnownOnes) {
    const auto m = match("GET", "/v1/audit?envv=prod");
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error->message, "unknown query parameter \"envv\" (known: env, limit)");
    const auto none = match("GET", "/v1/status?x");
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error->message, "unknown query parameter \"x\" (this request takes none)");
}

TEST(ControlRouter, JobIds) {
    EXPECT_TRUE(is_valid_job_id("1"));
    EXPECT_TRUE(is_valid_job_id("restore-2025_01"));
    EXPECT_TRUE(is_valid_job_id(std::string(64, 'x')));
    EXPECT_FALSE(is_valid_job_id(""));
    EXPECT_FALSE(is_valid_job_id(std::string(65, 'x')));
    EXPECT_FALSE(is_valid_job_id(".."));
    EXPECT_FALSE(is_valid_job_id("a/b"));
}

TEST(ControlRouter, Names) {
    EXPECT_EQ(to_string(route_id::verifications), "verifications");
    EXPECT_EQ(to_string(route_id::metrics), "metrics");
    EXPECT_EQ(to_string(role::reader), "reader");
    EXPECT_EQ(to_string(role::operator_), "operator");
}

TEST(ControlJsonError, RendersCodeAndMessage) {
    const auto e = json_error(404, "not_found", "no such resource: /x");
    EXPECT_EQ(e.status, 404u);
    EXPECT_EQ(to_json(e), R"({"error":{"code":"not_found","message":"no such resource: /x"}})");
}

TEST(ControlJsonError, EscapesAndAddsTheOptionalMembers) {
    auto e = json_error(403, "forbidden", "say \"no\"\n");
    e.field = "f";
    e.needed = role::operator_;
    e.principals = {"group:admin", "user:alice"};
    const auto body = to_json(e);
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    ASSERT_FALSE(doc.HasParseError()) << body;
    const auto& err = doc["error"];
    EXPECT_STREQ(err["code"].GetString(), "forbidden");
    EXPECT_STREQ(err["message"].GetString(), "say \"no\"\n");
    EXPECT_STREQ(err["field"].GetString(), "f");
    EXPECT_STREQ(err["role"].GetString(), "operator");
    ASSERT_EQ(err["principals"].Size(), 2u);
    EXPECT_STREQ(err["principals"][1].GetString(), "user:alice");
}

TEST(ControlJsonError, RouteErrorsAreJson) {
    for (const auto* target : {"/nope", "/v1/jobs/%zz", "/v1/audit?limit=x"}) {
        const auto m = match("GET", target);
        ASSERT_FALSE(m.ok());
        rapidjson::Document doc;
        const auto body = to_json(*m.error);
        doc.Parse(body.c_str());
        ASSERT_FALSE(doc.HasParseError()) << body;
        EXPECT_TRUE(doc["error"]["code"].IsString());
        EXPECT_TRUE(doc["error"]["message"].IsString());
    }
}

}  // namespace
}  // namespace tfsnap::control
