// A table of broken configurations. Each must yield exactly one diagnostic with exactly this
// line, column and text: what is wrong, where, and what to write instead.
#include "bad_case.hpp"

#include "tfsnap/config/load.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace tfsnap::config;
using namespace tfsnap::config::testing;

std::string with_env(const std::string& tail) {
    return std::string(env_prefix) + tail;
}

const bad_case cases[] = {
    {"UnknownTopLevelKey", with_env("stat_dir: /var/lib/tfsnap\n"), 5, 1,
     "stat_dir: unknown key \"stat_dir\"; did you mean \"state_dir\"?"},
    {"UnknownEnvironmentKey", "environments:\n  prod:\n    buckt: tf-state\n    key: k\n", 3, 5,
     "environments.prod.buckt: unknown key \"buckt\"; did you mean \"bucket\"?"},
    {"UnknownKeyNoGuess", with_env("    frobnicate: true\n"), 5, 5,
     "environments.prod.frobnicate: unknown key \"frobnicate\"; valid keys: source, path, bucket, key, "
     "workspace, workspace_key_prefix, region, endpoint, dynamodb_endpoint, path_style, ca_file, "
     "credentials, "
     "lock, schedules, retention, copy, always_snapshot, verify, conditional_writes, encrypt, kms_key_id, "
     "acl, "
     "skip_s3_checksum, terraform_dir, terraform_bin, terraform_timeout"},
    {"UnknownCannedAcl", with_env("    acl: bucket-owner-full\n"), 5, 10,
     "environments.prod.acl: unknown canned ACL \"bucket-owner-full\"; write one of private, public-read, "
     "public-read-write, authenticated-read, aws-exec-read, bucket-owner-read, bucket-owner-full-control, "
     "log-delivery-write, as the backend's acl"},
    {"KmsKeyWithoutEncrypt", with_env("    kms_key_id: alias/terraform\n"), 5, 17,
     "environments.prod.kms_key_id: kms_key_id is set but encrypt is not: Terraform's backend ignores the "
     "key "
     "then; add encrypt: true beside kms_key_id, as in the backend block"},
    {"BadWorkspace", with_env("    workspace: \"a/b\"\n"), 5, 16,
     "environments.prod.workspace: invalid workspace name \"a/b\"; write the workspace as `terraform "
     "workspace "
     "list` shows it, such as staging"},
    {"BadWorkspacePrefix", with_env("    workspace_key_prefix: /env\n"), 5, 27,
     "environments.prod.workspace_key_prefix: invalid workspace_key_prefix \"/env\"; write the backend's "
     "workspace_key_prefix without leading or trailing /, such as env:"},
    {"WrongTypeList", with_env("state_dir: [a, b]\n"), 5, 12,
     "state_dir: expected a string, got a list; write for example \"/var/lib/tfsnap\""},
    {"MissingBucket", "environments:\n  prod:\n    key: prod/terraform.tfstate\n", 2, 3,
     "environments.prod: missing key \"bucket\"; add bucket: NAME-OF-STATE-BUCKET"},
    {"MissingKey", "environments:\n  prod:\n    bucket: tf-state\n", 2, 3,
     "environments.prod: missing key \"key\"; add key: PATH/terraform.tfstate"},
    {"EnvironmentNameWithSlash", "environments:\n  prod/eu:\n    bucket: tf-state\n    key: k\n", 2, 3,
     "environments[\"prod/eu\"]: invalid environment name \"prod/eu\"; use 1-64 of A-Z a-z 0-9 . _ -, not "
     "starting with ., such as prod-eu"},
    {"EnvironmentNameDotDot", "environments:\n  \"..\":\n    bucket: tf-state\n    key: k\n", 2, 3,
     "environments[\"..\"]: invalid environment name \"..\"; use 1-64 of A-Z a-z 0-9 . _ -, not starting "
     "with ., "
     "such as "
     "prod-eu"},
    {"InvalidTimeZone",
     with_env("    schedules:\n      - { name: daily, cron: \"@daily\", timezone: Europe/Berln }\n"), 6, 50,
     "environments.prod.schedules[0].timezone: unknown time zone \"Europe/Berln\"; did you mean "
     "\"Europe/Berlin\"?"},
    {"NegativeRetention", with_env("    retention:\n      keep_daily: -1\n"), 6, 19,
     "environments.prod.retention.keep_daily: must not be negative, got -1; write 0 to keep none, or a "
     "positive "
     "count"},
    {"DuplicateScheduleName",
     with_env("    schedules:\n      - { name: daily, cron: \"0 2 * * *\" }\n      - { name: daily, cron: "
              "\"0 3 * * *\" }\n"),
     7, 17,
     "environments.prod.schedules[1].name: duplicate schedule name \"daily\"; the name is already used at "
     "line 6; "
     "rename one"},
    {"RelativeControlSocket", with_env("control:\n  socket: run/control.sock\n"), 6, 11,
     "control.socket: the path \"run/control.sock\" is not absolute; write a path that starts with '/', such "
     "as "
     "\"/run/tfsnap/control.sock\""},
    {"BadDuration", with_env("defaults:\n  schedule:\n    jitter: 5 minutes\n"), 7, 13,
     "defaults.schedule.jitter: invalid duration \"5 minutes\"; write a number and a unit, such as 90s, 5m, "
     "12h or 7d"},
    {"EnumTypo", with_env("defaults:\n  schedule:\n    missed: run_once\n"), 7, 13,
     "defaults.schedule.missed: invalid value \"run_once\"; did you mean \"run-once\"? valid: run-once or "
     "skip"},
    {"BadKeepWithin", with_env("    retention: { keep_within: a week }\n"), 5, 31,
     "environments.prod.retention.keep_within: invalid duration \"a week\"; write a number and a unit, such "
     "as 90s, 5m, 12h or 7d"},
    {"NegativeMinKeep", with_env("    retention:\n      min_keep: -2\n"), 6, 17,
     "environments.prod.retention.min_keep: must not be negative, got -2; write 0 for no floor, or how many "
     "snapshots to keep at least"},
    {"RetentionKeyTypo", with_env("    retention: { keep_hourley: 3 }\n"), 5, 18,
     "environments.prod.retention.keep_hourley: unknown key \"keep_hourley\"; did you mean \"keep_hourly\"?"},
    {"CountNotANumber", with_env("    retention: { keep_last: seven }\n"), 5, 29,
     "environments.prod.retention.keep_last: expected a whole number, got \"seven\"; write a count such as "
     "7"},
    {"BoolNotABool", with_env("    path_style: maybe\n"), 5, 17,
     "environments.prod.path_style: expected true or false, got \"maybe\"; write true or false"},
    {"BucketName", "environments:\n  prod:\n    bucket: My_Bucket\n    key: k\n", 3, 13,
     "environments.prod.bucket: invalid bucket name \"My_Bucket\"; bucket names are 3-63 of a-z 0-9 . -, "
     "starting "
     "and ending with a letter or digit"},
    {"KeyLeadingSlash", "environments:\n  prod:\n    bucket: tf-state\n    key: /prod/terraform.tfstate\n", 4,
     10,
     "environments.prod.key: the key starts with '/', which Terraform's S3 backend rejects; write the "
     "backend's "
     "key, such as prod/terraform.tfstate"},
    {"EndpointWithoutScheme", with_env("defaults:\n  endpoint: s3.example.com\n"), 6, 13,
     "defaults.endpoint: the endpoint must start with https:// or http://; write a URL such as "
     "http://127.0.0.1:7480, or null for AWS"},
    {"EndpointWithCredentials", with_env("    endpoint: https://AKIAX:hunter2@s3.example.com\n"), 5, 15,
     "environments.prod.endpoint: the endpoint contains user information; credentials never belong in a URL; "
     "write a URL such as http://127.0.0.1:7480, or null for AWS"},
    {"Region", with_env("    region: US East\n"), 5, 13,
     "environments.prod.region: invalid region \"US East\"; write an AWS region such as us-east-1 or "
     "eu-central-1"},
    {"DynamoTable", with_env("    lock: { dynamodb_table: ab }\n"), 5, 29,
     "environments.prod.lock.dynamodb_table: invalid table name \"ab\"; DynamoDB table names are 3-255 of "
     "A-Z a-z "
     "0-9 _ - ."},
    {"ServerSideCopyWithoutBucket", with_env("    copy: { mode: server-side }\n"), 5, 19,
     "environments.prod.copy: mode server-side needs an archive bucket; add bucket: NAME"},
    {"LocalCopyWithoutKey", with_env("    copy:\n      mode: local\n"), 6, 13,
     "environments.prod.copy: mode local needs an encryption key; add key_file: /etc/tfsnap/copy.key (make "
     "one "
     "with tfsnapd keygen --output FILE), or key_credential: NAME"},
    {"LocalCopyTwoKeys", with_env("    copy: { mode: local, key_file: /etc/tfsnap/k, key_credential: k }\n"),
     5, 67,
     "environments.prod.copy.key_credential: key_file and key_credential both name the key; keep one of "
     "them"},
    {"KeyFileWithoutLocalMode", with_env("    copy: { mode: none, key_file: /etc/tfsnap/k }\n"), 5, 35,
     "environments.prod.copy.key_file: key_file is only used with mode local; set mode: local, or remove "
     "key_file"},
    {"ArchiveOnExpiryWithoutBucket", with_env("    copy: { mode: none, on_expiry: archive }\n"), 5, 36,
     "environments.prod.copy: on_expiry archive needs an archive bucket; add bucket: NAME"},
    {"BucketWithoutArchiving", with_env("    copy: { mode: local, key_file: /k, bucket: arch }\n"), 5, 48,
     "environments.prod.copy.bucket: bucket is only used with mode server-side or on_expiry archive; set "
     "mode: server-side, or remove bucket"},
    {"BadSse", with_env("    copy: { mode: server-side, bucket: arch, sse: AES265 }\n"), 5, 51,
     "environments.prod.copy.sse: invalid value \"AES265\"; did you mean \"AES256\"? valid: AES256 or "
     "aws:kms"},
    {"FileSourceWithoutPath", "environments:\n  dev:\n    source: file\n", 2, 3,
     "environments.dev: missing key \"path\"; add path: /ABSOLUTE/PATH/terraform.tfstate"},
    {"FileSourceWithBucket",
     "environments:\n  dev:\n    source: file\n    path: /srv/tf.tfstate\n    bucket: b1b\n", 5, 13,
     "environments.dev.bucket: bucket is only used with source s3; remove bucket, or set source: s3"},
    {"PathWithS3Source", with_env("    path: /srv/terraform.tfstate\n"), 5, 11,
     "environments.prod.path: path is only used with source file; remove path, or set source: file for a "
     "local terraform.tfstate"},
    {"FileSourceServerSideCopy",
     "environments:\n  dev:\n    source: file\n    path: /srv/tf.tfstate\n    copy: { mode: server-side, "
     "bucket: arch }\n",
     5, 11,
     "environments.dev.copy: copy mode server-side needs an S3 source; a local state has no S3 version to "
     "copy; set copy: { mode: none } (the catalog keeps the bytes) or mode: local (encrypted)"},
    {"VerifyCron", with_env("    verify: { cron: \"0 4 * * funday\" }\n"), 5, 30,
     "environments.prod.verify.cron: unknown day-of-week name \"funday\" at column 9; see the cron syntax in "
     "the README; "
     "`tfsnapd cron-next --expr` previews an expression"},
    {"CatalogGitNotBool", with_env("catalog: { git: yes-please }\n"), 5, 17,
     "catalog.git: expected true or false, got \"yes-please\"; write true or false"},
    {"Principal", with_env("control:\n  operators: [admins]\n"), 6, 15,
     "control.operators[0]: invalid principal \"admins\"; write group:NAME or user:NAME, such as "
     "group:tfsnap"},
    {"DuplicateEnvironment", with_env("  prod:\n    bucket: tf-state\n    key: other\n"), 5, 3,
     "environments.prod: duplicate key \"prod\"; it is already set at line 2; keep one"},
    {"CronFieldCount", with_env("    schedules: [{ name: daily, cron: \"0 2 * *\" }]\n"), 5, 46,
     "environments.prod.schedules[0].cron: expected 5 or 6 fields, got 4; see the cron syntax in the README; "
     "`tfsnapd cron-next --expr` previews an expression"},
    // the position is the offending field inside the quoted value
    {"CronOutOfRange", with_env("    schedules: [{ name: daily, cron: \"0 2 32 * *\" }]\n"), 5, 43,
     "environments.prod.schedules[0].cron: day-of-month 32 out of range 1-31 at column 5; see the cron "
     "syntax in "
     "the README; `tfsnapd cron-next --expr` previews an expression"},
    {"CronUnquotedMonthName", with_env("    schedules: [{ name: m, cron: 0 3 1 jnu * }]\n"), 5, 40,
     "environments.prod.schedules[0].cron: unknown month name \"jnu\" at column 7; see the cron syntax in "
     "the "
     "README; `tfsnapd cron-next --expr` previews an expression"},
    {"ScheduleWithoutName", with_env("    schedules:\n      - cron: \"0 2 * * *\"\n"), 6, 9,
     "environments.prod.schedules[0]: missing key \"name\"; add name: daily (unique per environment)"},
    {"ScheduleWithoutCron", with_env("    schedules:\n      - name: daily\n"), 6, 9,
     "environments.prod.schedules[0]: missing key \"cron\"; add cron: \"0 2 * * *\" (or set "
     "defaults.schedule.cron)"},
    {"WebIdentityWithoutRole", with_env("    credentials:\n      web_identity_token_file: /run/token\n"), 6,
     32,
     "environments.prod.credentials.web_identity_token_file: web_identity_token_file is set but role_arn is "
     "not; "
     "add role_arn: arn:aws:iam::ACCOUNT:role/NAME"},
    {"RoleArn", with_env("    credentials: { role_arn: tfsnap-role }\n"), 5, 30,
     "environments.prod.credentials.role_arn: not an IAM role ARN: \"tfsnap-role\"; write "
     "arn:aws:iam::ACCOUNT:role/NAME"},
    {"TabIndentation", "environments:\n  prod:\n\t  bucket: tf-state\n", 3, 1,
     "a tab is used for indentation; YAML indents with spaces only; replace the tab"},
    {"YamlSyntax", "environments: [unclosed\n", 2, 1,
     "YAML syntax error: end of sequence flow not found; fix the YAML syntax at this position"},
    {"EmptyFile", "", 1, 1,
     "the file is empty; start from /usr/share/doc/tfsnap/example.yaml or config/example.yaml"},
    {"NoEnvironments", "state_dir: /var/lib/tfsnap\n", 1, 1,
     "missing key \"environments\"; add environments: with at least one state to protect"},
    {"RelativeCaFile", with_env("defaults:\n  ca_file: certs/ca.pem\n"), 6, 12,
     "defaults.ca_file: the path \"certs/ca.pem\" is not absolute; write a path that starts with '/', such "
     "as "
     "\"/etc/ssl/certs/ca-certificates.crt\""},
    {"ZeroConcurrentJobs", with_env("max_concurrent_jobs: 0\n"), 5, 22,
     "max_concurrent_jobs: must be at least 1, got 0; write how many backups may run at once, such as 4"},
    {"TooManyWorkerThreads", with_env("worker_threads: 65\n"), 5, 17,
     "worker_threads: must be between 1 and 64, got 65; write how many threads hash and parse states, "
     "such as 2 (or leave it out: one per core)"},
    {"ReservedConnectionsNotBelowTheTotal",
     with_env("control:\n  max_connections: 8\n  reserved_for_operators: 8\n"), 7, 27,
     "control.reserved_for_operators: must be smaller than control.max_connections (8), got 8; keep some "
     "connections for readers, such as 2"},
    {"ZeroConnectionsPerUid", with_env("control:\n  max_connections_per_uid: 0\n"), 6, 28,
     "control.max_connections_per_uid: must be at least 1, got 0; write how many connections one user may "
     "hold open, such as 8"},
    {"NameCacheTtlNotADuration", with_env("control: { name_cache_ttl: soon }\n"), 5, 28,
     "control.name_cache_ttl: invalid duration \"soon\"; write a number and a unit, such as 90s, 5m, 12h or "
     "7d"},
    {"RelativeTerraformDir", with_env("    terraform_dir: infra/prod\n"), 5, 20,
     "environments.prod.terraform_dir: the path \"infra/prod\" is not absolute; write a path that starts "
     "with '/', "
     "such as \"/srv/infra/prod\""},
    {"SchedulesNotAList", with_env("    schedules: daily\n"), 5, 16,
     "environments.prod.schedules: expected a list of schedules, got \"daily\"; write for example [{ name: "
     "daily, "
     "cron: \"0 2 * * *\" }]"},
    {"UnknownScheduleKey", with_env("    schedules: [{ name: daily, crn: \"0 2 * * *\" }]\n"), 5, 32,
     "environments.prod.schedules[0].crn: unknown key \"crn\"; did you mean \"cron\"?"},
    {"ReadersNotAList", with_env("control:\n  readers: group:tfsnap\n"), 6, 12,
     "control.readers: expected a list, got \"group:tfsnap\"; write for example [group:tfsnap]"},
    {"CopyBucketWithoutServerSide", with_env("    copy: { mode: none, bucket: tfsnap-archive }\n"), 5, 33,
     "environments.prod.copy.bucket: bucket is only used with mode server-side or on_expiry archive; set "
     "mode: server-side, or "
     "remove "
     "bucket"},
    {"ProfileAndSystemdCredential", with_env("    credentials: { profile: ops, systemd_credential: aws }\n"),
     5, 54,
     "environments.prod.credentials.systemd_credential: profile and systemd_credential both name where the "
     "keys "
     "come from; keep one of them"},
};

class BadConfig : public ::testing::TestWithParam<bad_case> {};

TEST_P(BadConfig, ReportsExactlyOneProblemWithPositionAndFix) {
    expect_one_problem(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Table, BadConfig, ::testing::ValuesIn(cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BadConfigTable, HasAtLeast25Cases) {
    EXPECT_GE(std::size(cases), 25u);
}

TEST(BadConfigMany, ThreeMistakesGiveThreeMessagesInFileOrder) {
    const auto r = load_string(
        "state_dir: var/lib/tfsnap\n"
        "environments:\n"
        "  prod:\n"
        "    bucket: tf-state\n"
        "    key: prod/terraform.tfstate\n"
        "    retention: { keep_daily: -3 }\n"
        "  staging:\n"
        "    bucket: tf-state\n"
        "    key: staging/terraform.tfstate\n"
        "    schedules:\n"
        "      - { name: daily, cron: \"0 2 * * *\", timezone: Mars/Olympus_Mons }\n",
        "three.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 3u);
    EXPECT_EQ(r.diagnostics[0].line, 1);
    EXPECT_EQ(r.diagnostics[0].path, "state_dir");
    EXPECT_EQ(r.diagnostics[1].line, 6);
    EXPECT_EQ(r.diagnostics[1].path, "environments.prod.retention.keep_daily");
    EXPECT_EQ(r.diagnostics[2].line, 11);
    EXPECT_EQ(r.diagnostics[2].path, "environments.staging.schedules[0].timezone");
    EXPECT_EQ(r.diagnostics[2].message, "unknown time zone \"Mars/Olympus_Mons\"");
}

TEST(BadConfigMany, AProblemNeverYieldsAConfig) {
    const auto r = load_string(with_env("    region: NOPE\n"), "x.yaml");
    EXPECT_FALSE(r.config.has_value());
}

}  // namespace
