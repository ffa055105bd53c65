// daemon/api.* against a fake backend: each route becomes the action it should (a job of the
// right kind for the right environment, or a refusal before any job exists), answered in JSON.
#include "api.hpp"

#include "tfsnap/core/rfc3339.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <map>

namespace tfsnap::daemon {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What the API may ask of the daemon, recorded; answers set by each test.
class fake_backend final : public api_backend {
public:
    explicit fake_backend(const fs::path& dir, asio::any_io_executor ex)
        : changes_(ex), catalog_(dir / "state") {
        cfg_.file = "/etc/tfsnap/tfsnapd.yaml";
        cfg_.state_dir = (dir / "state").string();
        config::environment prod;
        prod.name = "prod";
        prod.bucket = "tf-state";
        prod.key = "prod/terraform.tfstate";
        prod.region = "eu-west-1";
        config::environment dev;
        dev.name = "dev";
        dev.source = config::source_kind::file;
        dev.path = "/srv/dev/terraform.tfstate";
        cfg_.environments = {prod, dev};
        (void)catalog_.open();
    }

    const config::daemon_config& config() const override { return cfg_; }
    daemon_status status() const override {
        return daemon_status{"2 envs · 0 running", 0, std::nullopt, std::chrono::system_clock::now() - 125s};
    }
    std::string host() const override { return "testhost"; }
    submit_answer submit(job_request r) override {
        submitted.push_back(r);
        if (busy_with != 0)
            return submit_answer{0, busy_with};
        return submit_answer{41 + submitted.size(), 0};
    }
    std::optional<scheduler::job_record> job(std::uint64_t id) const override {
        const auto it = records.find(id);
        if (it == records.end())
            return std::nullopt;
        return it->second;
    }
    std::vector<scheduler::job_record> jobs() const override {
        std::vector<scheduler::job_record> out;
        for (const auto& [id, r] : records)
            out.push_back(r);
        return out;
    }
    control::change_notifier& changes() override { return changes_; }
    catalog::catalog& catalog() override { return catalog_; }
    asio::awaitable<s3::list_result> versions(const config::environment&) override {
        ++versions_asked;
        co_return s3::list_result{};
    }
    asio::awaitable<backup::prune_report> retention(const config::environment&) override {
        backup::prune_report p;
        p.dry_run = true;
        p.kept = 3;
        co_return p;
    }
    asio::awaitable<restore::restore_plan> plan(const config::environment& env,
                                                restore::restore_request req) override {
        planned.push_back(req);
        restore::restore_plan p;
        p.environment = env.name;
        p.action = req.undelete ? restore::restore_action::undelete : restore::restore_action::restore;
        p.token = "tok";
        co_return p;
    }
    restore::token_result check_token(const config::environment&, const restore::restore_request&,
                                      const std::string& token) override {
        restore::token_result r;
        if (token != "good")
            r.ec = make_error_code(restore::token_errc::tampered);
        return r;
    }
    const std::vector<environment_health>& health(core::time_point) override { return health_; }
    std::string reload() override { return "reloaded"; }
    std::string metrics() override { return "tfsnap_build_info{version=\"x\"} 1\n"; }

    std::vector<job_request> submitted;
    std::vector<restore::restore_request> planned;
    std::map<std::uint64_t, scheduler::job_record> records;
    std::uint64_t busy_with = 0;
    int versions_asked = 0;

private:
    config::daemon_config cfg_;
    std::vector<environment_health> health_{{"prod", "failing", "last check failed 3min ago: access denied"},
                                            {"dev", "ok", "last check snapshot"}};
    control::change_notifier changes_;
    catalog::catalog catalog_;
};

struct reply {
    unsigned status = 0;
    rapidjson::Document doc;
    std::string body;
};

class Api : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tfsnap-api-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        backend_.emplace(dir_, io_.get_executor());
        api_.emplace(*backend_);
        const passwd* pw = ::getpwuid(::geteuid());
        me_ = pw != nullptr ? pw->pw_name : "uid" + std::to_string(::geteuid());
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // One request over a real control socket, answered by the API.
    reply request(const std::string& method, const std::string& target, const std::string& body = "") {
        control::server_config sc;
        sc.socket_path = (dir_ / "control.sock").string();
        sc.access.readers = {"user:" + me_};
        sc.access.operators = {"user:" + me_};
        control::server srv(
            io_.get_executor(), sc,
            [this](control::request_context rq) { return api_->handle(std::move(rq)); }, log_);
        EXPECT_FALSE(srv.listen()) << srv.error_detail();
        asio::cancellation_signal stop;
        asio::co_spawn(io_, srv.run(), asio::bind_cancellation_slot(stop.slot(), asio::detached));
        reply out;
        std::string raw = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
        if (method == "POST")
            raw +=
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        raw += "\r\n" + body;
        asio::co_spawn(
            io_,
            [&]() -> asio::awaitable<void> {
                asio::local::stream_protocol::socket sock(io_);
                const asio::local::stream_protocol::endpoint ep(sc.socket_path);
                (void)co_await sock.async_connect(ep, use_tuple);
                const auto buffer = asio::buffer(raw);
                (void)co_await asio::async_write(sock, buffer, use_tuple);
                boost::beast::flat_buffer buf;
                bhttp::response<bhttp::string_body> res;
                const auto [ec, n] = co_await bhttp::async_read(sock, buf, res, use_tuple);
                (void)n;
                if (!ec) {
                    out.status = res.result_int();
                    out.body = res.body();
                }
                stop.emit(asio::cancellation_type::total);
            },
            asio::detached);
        io_.run_for(10s);
        io_.restart();
        out.doc.Parse(out.body.c_str());
        return out;
    }

    static std::string str(const rapidjson::Value& v, const char* k) {
        return v.IsObject() && v.HasMember(k) && v[k].IsString() ? v[k].GetString() : std::string();
    }

    fs::path dir_;
    asio::io_context io_;
    core::memory_sink sink_;
    core::logger log_{sink_};
    std::optional<fake_backend> backend_;
    std::optional<api> api_;
    std::string me_;
};

TEST_F(Api, ABackupIsABackupJobOfTheEnvironmentWithItsScheduleAndUser) {
    const auto r = request("POST", "/v1/environments/prod/backups", R"({"schedule":"hourly"})");
    ASSERT_EQ(r.status, 202u) << r.body;
    EXPECT_EQ(str(r.doc, "job_id"), "42");
    ASSERT_EQ(backend_->submitted.size(), 1u);
    const auto& j = backend_->submitted[0];
    EXPECT_EQ(j.kind, scheduler::job_kind::backup);
    EXPECT_EQ(j.environment, "prod");
    EXPECT_EQ(j.schedule, "hourly");
    EXPECT_EQ(j.requested_by, me_ + "@testhost");
}

TEST_F(Api, VerifyAndPruneAreTheirOwnKinds) {
    EXPECT_EQ(request("POST", "/v1/environments/dev/verifications", "{}").status, 202u);
    EXPECT_EQ(request("POST", "/v1/environments/prod/prunes", "{}").status, 202u);
    ASSERT_EQ(backend_->submitted.size(), 2u);
    EXPECT_EQ(backend_->submitted[0].kind, scheduler::job_kind::verify);
    EXPECT_EQ(backend_->submitted[0].environment, "dev");
    EXPECT_EQ(backend_->submitted[1].kind, scheduler::job_kind::prune);
}

TEST_F(Api, ABusyLaneIs409NamingItsJob) {
    backend_->busy_with = 7;
    const auto r = request("POST", "/v1/environments/prod/backups", "{}");
    EXPECT_EQ(r.status, 409u) << r.body;
    ASSERT_TRUE(r.doc.IsObject() && r.doc.HasMember("error"));
    EXPECT_EQ(str(r.doc["error"], "code"), "busy");
    EXPECT_EQ(str(r.doc["error"], "job_id"), "7");
}

TEST_F(Api, AnUnknownEnvironmentIs404AndNoJob) {
    const auto r = request("POST", "/v1/environments/nope/backups", "{}");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(str(r.doc["error"], "code"), "unknown_environment");
    EXPECT_TRUE(backend_->submitted.empty());
}

TEST_F(Api, ADryRunIsAPlanNotAJob) {
    const auto r =
        request("POST", "/v1/environments/prod/restores", R"({"version_id":"v1","reason":"bad apply"})");
    EXPECT_EQ(r.status, 200u) << r.body;
    ASSERT_EQ(backend_->planned.size(), 1u);
    EXPECT_EQ(backend_->planned[0].version_id, "v1");
    EXPECT_EQ(backend_->planned[0].user, me_);
    EXPECT_TRUE(backend_->submitted.empty());
}

// terraform init and plan run in a job of the environment's lane, not inside the request
TEST_F(Api, AFullModeDryRunIsAPlanJob) {
    const auto r = request("POST", "/v1/environments/prod/restores",
                           R"({"version_id":"v1","reason":"bad apply","mode":"full"})");
    EXPECT_EQ(r.status, 202u) << r.body;
    EXPECT_TRUE(backend_->planned.empty());
    ASSERT_EQ(backend_->submitted.size(), 1u);
    EXPECT_EQ(backend_->submitted[0].kind, scheduler::job_kind::plan);
    EXPECT_EQ(backend_->submitted[0].restore.mode, restore::restore_mode::full);
    EXPECT_EQ(backend_->submitted[0].restore.version_id, "v1");
}

TEST_F(Api, ABadTokenIsRefusedBeforeAnyJobExists) {
    const auto r = request("POST", "/v1/environments/prod/restores",
                           R"({"version_id":"v1","reason":"bad apply","dry_run":false,"token":"forged"})");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(str(r.doc["error"], "code"), "invalid_token");
    EXPECT_TRUE(backend_->submitted.empty());
}

TEST_F(Api, AGoodTokenQueuesARestoreJobCarryingTheRequest) {
    const auto r = request(
        "POST", "/v1/environments/prod/restores",
        R"({"snapshot_id":"2026-12-01T02-00-00Z","reason":"bad apply","dry_run":false,"token":"good"})");
    EXPECT_EQ(r.status, 202u) << r.body;
    ASSERT_EQ(backend_->submitted.size(), 1u);
    const auto& j = backend_->submitted[0];
    EXPECT_EQ(j.kind, scheduler::job_kind::restore);
    EXPECT_EQ(j.token, "good");
    EXPECT_EQ(j.restore.snapshot_id, "2026-12-01T02-00-00Z");
    EXPECT_EQ(j.restore.reason, "bad apply");
    EXPECT_FALSE(j.restore.undelete);
}

TEST_F(Api, AnUndeleteIsItsOwnKind) {
    const auto r = request("POST", "/v1/environments/prod/undeletes",
                           R"({"reason":"deleted","dry_run":false,"token":"good"})");
    EXPECT_EQ(r.status, 202u) << r.body;
    ASSERT_EQ(backend_->submitted.size(), 1u);
    EXPECT_EQ(backend_->submitted[0].kind, scheduler::job_kind::undelete);
    EXPECT_TRUE(backend_->submitted[0].restore.undelete);
}

TEST_F(Api, AJobShowsItsKindProgressAndResult) {
    scheduler::job_record rec;
    rec.id = 9;
    rec.what.environment = "prod";
    rec.what.kind = scheduler::job_kind::restore;
    rec.what.name = "restore";
    rec.status = scheduler::job_status::running;
    rec.step = "write";
    rec.done = 4;
    rec.total = 8;
    rec.result = R"({"result":"ok"})";
    backend_->records[9] = rec;
    const auto r = request("GET", "/v1/jobs/9");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(str(r.doc, "kind"), "restore");
    EXPECT_EQ(str(r.doc, "step"), "write");
    EXPECT_EQ(r.doc["done"].GetInt(), 4);
    EXPECT_EQ(r.doc["total"].GetInt(), 8);
    EXPECT_EQ(str(r.doc["result"], "result"), "ok");
    EXPECT_EQ(request("GET", "/v1/jobs/10").status, 404u);
}

TEST_F(Api, StatusHasUptimeAndEveryEnvironmentsHealth) {
    const auto r = request("GET", "/v1/status");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_GE(r.doc["uptime_seconds"].GetInt64(), 125);
    // every environment counted, the unhealthy ones listed
    EXPECT_EQ(r.doc["health_counts"]["ok"].GetInt(), 1);
    EXPECT_EQ(r.doc["health_counts"]["failing"].GetInt(), 1);
    ASSERT_TRUE(r.doc["health"].IsArray());
    ASSERT_EQ(r.doc["health"].Size(), 1u);
    EXPECT_EQ(str(r.doc["health"][0], "environment"), "prod");
    EXPECT_EQ(str(r.doc["health"][0], "health"), "failing");
}

TEST_F(Api, ALocalStateHasNoVersionsAndS3IsNotAsked) {
    const auto r = request("GET", "/v1/environments/dev/versions");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(str(r.doc["error"], "code"), "no_versions");
    EXPECT_EQ(backend_->versions_asked, 0);
}

}  // namespace
}  // namespace tfsnap::daemon
