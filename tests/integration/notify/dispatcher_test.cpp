// The webhook dispatcher against a scripted HTTP server on 127.0.0.1: what a delivery sends,
// which answers are retried, the deadline, cancellation, url_credential, and the bound on
// pending deliveries. Short timeouts keep the whole suite within a few seconds.
#include "tfsnap/notify/dispatcher.hpp"
#include "tfsnap/notify/render.hpp"

#include "support/loopback_http_server.hpp"
#include "support/loopback_listen.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace tfsnap;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using test::canned_response;
using test::loopback_http_server;
using test::recorded_request;

// The path and query of every URL here hold XXXX where a real webhook has its token.
constexpr const char* secret_path = "/services/T000/B000/XXXX?token=XXXX";

notify::event failure_event() {
    notify::event e;
    e.kind = notify::event_kind::failure;
    e.environment = "prod";
    e.job_id = "7";
    e.job_kind = "backup";
    e.result = "failed";
    e.message = "GetObject: HTTP 403 AccessDenied";
    e.at = core::time_point(std::chrono::seconds{1795314626});
    return e;
}

config::webhook_config hook_for(const std::string& url) {
    config::webhook_config h;
    h.url = url;
    h.events = {"failure"};
    h.timeout = std::chrono::seconds{2};
    h.retries = 3;
    h.deadline = std::chrono::seconds{5};
    return h;
}

std::string field(const core::memory_sink::record& r, std::string_view key) {
    for (const auto& f : r.fields) {
        if (f.key == key)
            return f.value;
    }
    return "<absent>";
}

class Dispatcher : public ::testing::Test {
protected:
    static notify::dispatcher_options fast() {
        notify::dispatcher_options o;
        o.base_delay = 20ms;
        o.max_delay = 100ms;
        o.random = [] { return 0.5; };
        return o;
    }

    void make(notify::dispatcher_options o = fast()) {
        d_ = std::make_unique<notify::dispatcher>(io_.get_executor(), client_, log_, "test-host",
                                                  std::move(o));
    }

    // Runs the I/O loop until `done()` holds or `limit` has passed; returns whether it held.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
        const auto end = steady::now() + limit;
        while (!done()) {
            if (steady::now() >= end)
                return false;
            io_.restart();
            io_.run_for(5ms);
            if (io_.stopped())
                std::this_thread::sleep_for(1ms);
        }
        return true;
    }

    void TearDown() override {
        if (d_) {
            EXPECT_EQ(d_->in_flight(), 0u) << "deliveries left in flight";
            d_->cancel();
            EXPECT_TRUE(run_until([&] { return d_->in_flight() == 0; }, 2000ms));
            d_.reset();
        }
        client_.close_idle();
        io_.restart();
        io_.poll();
    }

    std::vector<core::memory_sink::record> logged(std::string_view message) const {
        std::vector<core::memory_sink::record> out;
        for (const auto& r : sink_.records()) {
            if (r.message == message)
                out.push_back(r);
        }
        return out;
    }

    std::string all_logs() const {
        std::string out;
        for (const auto& r : sink_.records())
            out += core::format_log_line(r.level, r.message, r.fields) + "\n";
        return out;
    }

    asio::io_context io_;
    http::client client_{io_.get_executor(), http::client_config{}};
    core::memory_sink sink_;
    core::logger log_{sink_, core::log_level::debug};
    std::unique_ptr<notify::dispatcher> d_;
};

TEST_F(Dispatcher, PostsTheJsonDocument) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.status = 204}; });
    make();
    d_->configure({hook_for(server.url() + secret_path)});
    const auto e = failure_event();
    d_->publish(e);
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; })) << all_logs();

    EXPECT_EQ(d_->counters().delivered, 1u);
    EXPECT_EQ(d_->counters().failed, 0u);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].target, secret_path);
    EXPECT_EQ(requests[0].header("content-type"), "application/json");
    EXPECT_TRUE(requests[0].header("user-agent").starts_with("tfsnap")) << requests[0].header("user-agent");
    EXPECT_EQ(requests[0].body, notify::render_json(e, "test-host"));

    const auto ok = logged("webhook delivered");
    ASSERT_EQ(ok.size(), 1u) << all_logs();
    EXPECT_EQ(ok[0].level, core::log_level::info);
    EXPECT_EQ(field(ok[0], "webhook"), server.url());
    EXPECT_EQ(field(ok[0], "event"), "failure");
    EXPECT_EQ(field(ok[0], "env"), "prod");
    EXPECT_EQ(field(ok[0], "status"), "204");
    EXPECT_EQ(all_logs().find("XXXX"), std::string::npos) << all_logs();
}

TEST_F(Dispatcher, SlackTemplateSendsText) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.body = "ok"}; });
    make();
    auto h = hook_for(server.url() + secret_path);
    h.slack_template = ":rotating_light: {event} {env}: {message}";
    d_->configure({h});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.requests()[0].body,
              R"({"text":":rotating_light: failure prod: GetObject: HTTP 403 AccessDenied"})");
    EXPECT_EQ(d_->counters().delivered, 1u);
}

TEST_F(Dispatcher, A500IsRetriedAndDeliveredOnce) {
    std::atomic<int> calls{0};
    loopback_http_server server(
        [&](const recorded_request&) { return canned_response{.status = calls++ == 0 ? 500u : 200u}; });
    make();
    d_->configure({hook_for(server.url() + secret_path)});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));

    EXPECT_EQ(d_->counters().delivered, 1u);
    EXPECT_EQ(d_->counters().failed, 0u);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].body, requests[1].body);
    const auto ok = logged("webhook delivered");
    ASSERT_EQ(ok.size(), 1u) << all_logs();
    EXPECT_EQ(field(ok[0], "attempts"), "2");
    EXPECT_EQ(logged("webhook delivery failed").size(), 0u);
    const auto retry = logged("webhook attempt failed; retrying");
    ASSERT_EQ(retry.size(), 1u);
    EXPECT_EQ(field(retry[0], "status"), "500");
}

TEST_F(Dispatcher, ThrottlingAndRequestTimeoutAreRetried) {
    std::atomic<int> calls{0};
    loopback_http_server server([&](const recorded_request&) {
        const unsigned statuses[] = {429, 408, 503, 200};
        return canned_response{.status = statuses[std::min(calls++, 3)]};
    });
    make();
    d_->configure({hook_for(server.url() + secret_path)});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(server.requests().size(), 4u);
    EXPECT_EQ(d_->counters().delivered, 1u);
}

TEST_F(Dispatcher, GivesUpAfterTheRetries) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.status = 503}; });
    make();
    auto h = hook_for(server.url() + secret_path);
    h.retries = 2;
    d_->configure({h});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(server.requests().size(), 3u);
    EXPECT_EQ(d_->counters().failed, 1u);
    const auto failed = logged("webhook delivery failed");
    ASSERT_EQ(failed.size(), 1u) << all_logs();
    EXPECT_EQ(failed[0].level, core::log_level::warning);
    EXPECT_EQ(field(failed[0], "status"), "503");
    EXPECT_EQ(field(failed[0], "attempts"), "3");
    EXPECT_EQ(field(failed[0], "error"), "the webhook endpoint is unavailable or throttling");
}

TEST_F(Dispatcher, A400IsNotRetried) {
    loopback_http_server server([](const recorded_request&) {
        return canned_response{.status = 400, .body = "Cannot POST /services/T000/B000/XXXX"};
    });
    make();
    d_->configure({hook_for(server.url() + secret_path)});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));

    EXPECT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(d_->counters().delivered, 0u);
    EXPECT_EQ(d_->counters().failed, 1u);
    const auto failed = logged("webhook delivery failed");
    ASSERT_EQ(failed.size(), 1u) << all_logs();
    EXPECT_EQ(field(failed[0], "status"), "400");
    EXPECT_EQ(field(failed[0], "attempts"), "1");
    EXPECT_EQ(field(failed[0], "error"), "the webhook endpoint rejected the notification");
    EXPECT_EQ(field(failed[0], "webhook"), server.url());
    // neither the URL's path nor a response that echoes it reaches the log
    EXPECT_EQ(all_logs().find("XXXX"), std::string::npos) << all_logs();
}

TEST_F(Dispatcher, ASilentServerIsGivenUpByTheDeadline) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.delay = 30s}; });
    make();
    auto h = hook_for(server.url() + secret_path);
    h.timeout = std::chrono::seconds{1};
    h.deadline = std::chrono::seconds{2};
    h.retries = 10;
    d_->configure({h});
    const auto start = steady::now();
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }, 6000ms));
    const auto took = steady::now() - start;
    EXPECT_GE(took, 1900ms);
    EXPECT_LT(took, 3500ms);

    EXPECT_EQ(d_->counters().failed, 1u);
    EXPECT_GE(server.requests().size(), 2u);  // the first attempt timed out after 1 s and was retried
    const auto failed = logged("webhook delivery failed");
    ASSERT_EQ(failed.size(), 1u) << all_logs();
    EXPECT_EQ(failed[0].level, core::log_level::warning);
    EXPECT_EQ(field(failed[0], "webhook"), server.url());
    EXPECT_EQ(field(failed[0], "status"), "none");
    EXPECT_TRUE(field(failed[0], "error").starts_with("the webhook delivery deadline expired (2000 ms)"))
        << field(failed[0], "error");
    EXPECT_EQ(all_logs().find("XXXX"), std::string::npos) << all_logs();
    EXPECT_EQ(all_logs().find("/services"), std::string::npos) << all_logs();
}

TEST_F(Dispatcher, ARefusedConnectionIsRetried) {
    asio::ip::tcp::acceptor probe(io_);
    const auto port = test::listen_on_loopback(probe);
    probe.close();  // nothing listens there now
    make();
    auto h = hook_for("http://127.0.0.1:" + std::to_string(port) + secret_path);
    h.retries = 2;
    d_->configure({h});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(d_->counters().failed, 1u);
    const auto failed = logged("webhook delivery failed");
    ASSERT_EQ(failed.size(), 1u) << all_logs();
    EXPECT_EQ(field(failed[0], "attempts"), "3");
    EXPECT_EQ(field(failed[0], "webhook"), "http://127.0.0.1:" + std::to_string(port));
}

TEST_F(Dispatcher, UnsubscribedEventsAreNotSent) {
    loopback_http_server server([](const recorded_request&) { return canned_response{}; });
    make();
    d_->configure({hook_for(server.url() + secret_path)});  // failure only
    auto e = failure_event();
    for (const auto k : {notify::event_kind::success, notify::event_kind::restore,
                         notify::event_kind::state_deleted, notify::event_kind::expiry}) {
        e.kind = k;
        d_->publish(e);
    }
    EXPECT_EQ(d_->in_flight(), 0u);
    e.kind = notify::event_kind::failure;
    d_->publish(e);
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_NE(requests[0].body.find(R"("event":"failure")"), std::string::npos);
    EXPECT_EQ(d_->counters().delivered, 1u);
    EXPECT_EQ(d_->counters().dropped, 0u);
}

TEST_F(Dispatcher, EveryHookSubscribedGetsItsOwnDelivery) {
    loopback_http_server a([](const recorded_request&) { return canned_response{}; });
    loopback_http_server b([](const recorded_request&) { return canned_response{}; });
    make();
    auto second = hook_for(b.url() + "/b");
    second.events = {"success", "failure"};
    d_->configure({hook_for(a.url() + "/a"), second});
    d_->publish(failure_event());
    auto ok = failure_event();
    ok.kind = notify::event_kind::success;
    d_->publish(ok);
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(a.requests().size(), 1u);
    EXPECT_EQ(b.requests().size(), 2u);
    EXPECT_EQ(d_->counters().delivered, 3u);
}

TEST_F(Dispatcher, CancelStopsADeliveryInFlight) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.delay = 30s}; });
    make();
    auto h = hook_for(server.url() + secret_path);
    h.timeout = std::chrono::seconds{20};
    h.deadline = std::chrono::seconds{30};
    d_->configure({h});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return server.requests().size() == 1; }));
    EXPECT_EQ(d_->in_flight(), 1u);

    const auto start = steady::now();
    d_->cancel();
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }, 2000ms));
    EXPECT_LT(steady::now() - start, 1s);
    EXPECT_EQ(d_->counters().failed, 1u);
    EXPECT_EQ(d_->counters().delivered, 0u);
    const auto cancelled = logged("webhook delivery cancelled");
    ASSERT_EQ(cancelled.size(), 1u) << all_logs();
    EXPECT_EQ(field(cancelled[0], "env"), "prod");

    // after cancel(), nothing new starts
    d_->publish(failure_event());
    EXPECT_EQ(d_->in_flight(), 0u);
    EXPECT_EQ(d_->counters().dropped, 1u);
}

TEST_F(Dispatcher, CancelBeforeTheFirstAttempt) {
    loopback_http_server server([](const recorded_request&) { return canned_response{}; });
    make();
    d_->configure({hook_for(server.url() + secret_path)});
    d_->publish(failure_event());
    d_->cancel();
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(d_->counters().failed, 1u);
    EXPECT_EQ(server.requests().size(), 0u);
    EXPECT_EQ(logged("webhook delivery cancelled").size(), 1u) << all_logs();
}

TEST_F(Dispatcher, DropsBeyondMaxPending) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.delay = 200ms}; });
    auto o = fast();
    o.max_pending = 2;
    make(o);
    d_->configure({hook_for(server.url() + secret_path)});
    for (int i = 0; i < 5; ++i)
        d_->publish(failure_event());
    EXPECT_EQ(d_->in_flight(), 2u);
    EXPECT_EQ(d_->counters().dropped, 3u);
    const auto warned = logged("webhook notifications dropped: too many deliveries pending");
    ASSERT_EQ(warned.size(), 1u) << all_logs();
    EXPECT_EQ(warned[0].level, core::log_level::warning);

    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(d_->counters().delivered, 2u);
    const auto resumed = logged("webhook deliveries below the limit again");
    ASSERT_EQ(resumed.size(), 1u) << all_logs();
    EXPECT_EQ(field(resumed[0], "dropped"), "3");
}

TEST_F(Dispatcher, DeliveriesInFlightKeepTheirSettingsOnReload) {
    loopback_http_server server([](const recorded_request&) { return canned_response{.delay = 100ms}; });
    make();
    d_->configure({hook_for(server.url() + secret_path)});
    d_->publish(failure_event());
    d_->configure({});
    d_->publish(failure_event());
    EXPECT_EQ(d_->in_flight(), 1u);
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(d_->counters().delivered, 1u);
}

class DispatcherCredential : public Dispatcher {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tfsnap-notify-cred-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        Dispatcher::TearDown();
        ::unsetenv("CREDENTIALS_DIRECTORY");
        fs::remove_all(dir_);
    }
    fs::path dir_;
};

TEST_F(DispatcherCredential, UrlFromCredentialsDirectory) {
    loopback_http_server server([](const recorded_request&) { return canned_response{}; });
    std::ofstream(dir_ / "slack-webhook") << server.url() << secret_path << "\n";
    ::setenv("CREDENTIALS_DIRECTORY", dir_.c_str(), 1);
    make();
    auto h = hook_for("");
    h.url_credential = "slack-webhook";
    d_->configure({h});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));

    EXPECT_EQ(d_->counters().delivered, 1u) << all_logs();
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].target, secret_path);
    const auto ok = logged("webhook delivered");
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(field(ok[0], "webhook"), server.url() + " (credential slack-webhook)");
    EXPECT_EQ(all_logs().find("XXXX"), std::string::npos) << all_logs();
}

TEST_F(DispatcherCredential, MissingCredentialIsALoggedFailure) {
    auto o = fast();
    o.credentials_directory = dir_.string();
    make(o);
    auto h = hook_for("");
    h.url_credential = "absent";
    d_->configure({h});
    d_->publish(failure_event());
    ASSERT_TRUE(run_until([&] { return d_->in_flight() == 0; }));
    EXPECT_EQ(d_->counters().failed, 1u);
    const auto failed = logged("webhook delivery failed");
    ASSERT_EQ(failed.size(), 1u) << all_logs();
    EXPECT_EQ(field(failed[0], "webhook"), "credential absent");
    EXPECT_EQ(field(failed[0], "attempts"), "0");
    EXPECT_EQ(field(failed[0], "error"),
              "the webhook URL credential cannot be read: cannot read the credential absent in "
              "CREDENTIALS_DIRECTORY: No such file or directory");
}

}  // namespace
