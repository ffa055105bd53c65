// caching_provider: refresh ahead of expiry, one shared refresh for concurrent callers, and
// keeping valid credentials through a failed refresh. Driven by core::fake_clock; the providers
// and the transport are scripted, and a held exchange stands for a refresh in flight.
//
// The refresh-ahead behaviour follows the AWS SDKs and Tools reference guide, "Understand the
// credential provider chain" ("the SDKs attempt to renew credentials automatically ... before
// they expire") and the STS/IMDS/ECS documents' Expiration field.
#include "tfsnap/aws/caching_provider.hpp"
#include "tfsnap/aws/make_provider.hpp"
#include "tfsnap/aws/responses.hpp"

#include "aws_test_util.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <gtest/gtest.h>

namespace {

using namespace tfsnap;
using namespace tfsnap::aws;
using namespace tfsnap::aws::test;
using namespace std::chrono_literals;

credentials_result temporary(std::string akid, core::time_point expiration) {
    credentials_result r;
    r.creds.access_key_id = std::move(akid);
    r.creds.secret_access_key = core::secret("SECRET-" + r.creds.access_key_id);
    r.creds.session_token = core::secret("TOKEN-" + r.creds.access_key_id);
    r.expiration = expiration;
    r.source = "scripted";
    return r;
}

credentials_result failure() {
    credentials_result r;
    r.ec = errc::sts_error;
    r.error.provider = "assume-role";
    r.error.service_code = "Throttling";
    r.error.message = "scripted failure";
    return r;
}

// A provider whose answers are scripted per call; with `hold`, calls wait until `release`.
class scripted_provider final : public credentials_provider {
public:
    std::function<credentials_result(int)> answer;
    int calls = 0;

    void hold(asio::io_context& io) {
        gate_ = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    }
    void release() {
        if (gate_)
            gate_->cancel();
        gate_.reset();
    }

    asio::awaitable<credentials_result> get() override {
        const int n = ++calls;
        if (auto gate = gate_) {
            co_await gate->async_wait(asio::as_tuple(asio::use_awaitable));
            if (gate_ == gate) {
                // woken while still held: this caller was cancelled
                credentials_result r;
                r.ec = asio::error::operation_aborted;
                co_return r;
            }
        }
        co_return answer(n);
    }

private:
    std::shared_ptr<asio::steady_timer> gate_;
};

class Caching : public ::testing::Test, public context_fixture {
protected:
    asio::io_context io;
    std::shared_ptr<scripted_provider> inner = std::make_shared<scripted_provider>();

    std::shared_ptr<caching_provider> make_cache() {
        return std::make_shared<caching_provider>(inner, clock, core::logger(sink, core::log_level::debug),
                                                  cache_options{});
    }
    credentials_result get(const provider_ptr& p) { return run(io, p->get()); }
};

TEST_F(Caching, RefreshesFiveMinutesBeforeExpiry) {
    inner->answer = [this](int n) { return temporary("ASIA" + std::to_string(n), clock.now() + 1h); };
    const auto cache = make_cache();
    EXPECT_EQ(get(cache).creds.access_key_id, "ASIA1");
    clock.advance(54min + 59s);
    EXPECT_EQ(get(cache).creds.access_key_id, "ASIA1");
    EXPECT_EQ(inner->calls, 1);
    clock.advance(1s);  // 12:55:00, five minutes before 13:00
    const auto r = get(cache);
    EXPECT_EQ(r.creds.access_key_id, "ASIA2");
    EXPECT_EQ(r.expiration, test_epoch() + 55min + 1h);
    EXPECT_EQ(inner->calls, 2);
    EXPECT_EQ(cache->refresh_count(), 2u);
}

TEST_F(Caching, FailedRefreshReturnsTheValidCredentialsUntilTheyExpire) {
    inner->answer = [this](int n) { return n == 1 ? temporary("ASIAOLD", clock.now() + 1h) : failure(); };
    const auto cache = make_cache();
    ASSERT_TRUE(get(cache).ok());

    clock.advance(56min);
    auto r = get(cache);
    ASSERT_TRUE(r.ok()) << format(r.ec, r.error);
    EXPECT_EQ(r.creds.access_key_id, "ASIAOLD");
    EXPECT_EQ(inner->calls, 2);
    ASSERT_EQ(log_count(core::log_level::warning), 1u);
    const auto log = all_log_text();
    EXPECT_NE(log.find("refreshing AWS credentials failed"), std::string::npos) << log;
    EXPECT_NE(log.find("Throttling"), std::string::npos) << log;
    EXPECT_EQ(log.find("SECRET-ASIAOLD"), std::string::npos);
    EXPECT_EQ(log.find("TOKEN-ASIAOLD"), std::string::npos);

    clock.advance(10s);  // within retry_interval: no new attempt
    EXPECT_EQ(get(cache).creds.access_key_id, "ASIAOLD");
    EXPECT_EQ(inner->calls, 2);

    clock.advance(21s);  // 31 s after the failed attempt
    EXPECT_EQ(get(cache).creds.access_key_id, "ASIAOLD");
    EXPECT_EQ(inner->calls, 3);

    clock.set(test_epoch() + 1h);  // expired: the error comes through
    r = get(cache);
    EXPECT_EQ(r.ec, errc::sts_error);
    EXPECT_EQ(r.error.service_code, "Throttling");
    EXPECT_EQ(inner->calls, 4);
}

TEST_F(Caching, RecoversAfterAFailureOnceCredentialsComeBack) {
    inner->answer = [this](int n) { return n == 1 ? failure() : temporary("ASIANEW", clock.now() + 1h); };
    const auto cache = make_cache();
    EXPECT_EQ(get(cache).ec, errc::sts_error);
    const auto r = get(cache);  // nothing kept: the next call tries again at once
    EXPECT_EQ(r.creds.access_key_id, "ASIANEW");
    EXPECT_EQ(inner->calls, 2);
}

TEST_F(Caching, LongTermKeysAreReadAgainAfterTheReloadInterval) {
    inner->answer = [](int n) {
        auto r = temporary("AKID" + std::to_string(n), {});
        r.expiration.reset();
        return n == 3 ? failure() : r;
    };
    const auto cache = make_cache();
    EXPECT_EQ(get(cache).creds.access_key_id, "AKID1");
    clock.advance(14min + 59s);
    EXPECT_EQ(get(cache).creds.access_key_id, "AKID1");
    clock.advance(1s);
    EXPECT_EQ(get(cache).creds.access_key_id, "AKID2");
    clock.advance(15min);
    const auto r = get(cache);  // the reload fails; keys without expiry stay valid
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.creds.access_key_id, "AKID2");
    EXPECT_EQ(inner->calls, 3);
}

TEST_F(Caching, CredentialsAlreadyExpiredAreAnError) {
    inner->answer = [this](int) { return temporary("ASIASTALE", clock.now() - 1s); };
    const auto r = get(make_cache());
    EXPECT_EQ(r.ec, errc::expired);
    EXPECT_NE(r.error.message.find("scripted"), std::string::npos);
}

TEST_F(Caching, ConcurrentCallersShareOneRefresh) {
    inner->answer = [this](int n) { return temporary("ASIA" + std::to_string(n), clock.now() + 1h); };
    inner->hold(io);
    const auto cache = make_cache();
    std::vector<credentials_result> results;
    for (int i = 0; i < 10; ++i) {
        asio::co_spawn(io, cache->get(), [&](std::exception_ptr e, credentials_result r) {
            EXPECT_FALSE(e);
            results.push_back(std::move(r));
        });
    }
    io.poll();
    EXPECT_EQ(inner->calls, 1) << "one refresh in flight; nine callers wait for it";
    EXPECT_TRUE(results.empty());
    inner->release();
    io.restart();
    io.run_for(test_deadline);
    EXPECT_TRUE(io.stopped());
    ASSERT_EQ(results.size(), 10u);
    for (const auto& r : results) {
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r.creds.access_key_id, "ASIA1");
    }
    EXPECT_EQ(inner->calls, 1);
}

TEST_F(Caching, ACancelledWaiterLeavesTheRefreshToTheOthers) {
    inner->answer = [this](int) { return temporary("ASIA", clock.now() + 1h); };
    inner->hold(io);
    const auto cache = make_cache();
    std::optional<credentials_result> refresher, waiter;
    asio::cancellation_signal cancel_waiter;
    asio::co_spawn(io, cache->get(),
                   [&](std::exception_ptr, credentials_result r) { refresher = std::move(r); });
    asio::co_spawn(
        io, cache->get(),
        asio::bind_cancellation_slot(
            cancel_waiter.slot(), [&](std::exception_ptr, credentials_result r) { waiter = std::move(r); }));
    io.poll();
    cancel_waiter.emit(asio::cancellation_type::terminal);
    io.poll();
    ASSERT_TRUE(waiter);
    EXPECT_EQ(waiter->ec, asio::error::operation_aborted);
    EXPECT_FALSE(refresher);
    inner->release();
    io.restart();
    io.run_for(test_deadline);
    ASSERT_TRUE(refresher);
    EXPECT_TRUE(refresher->ok());
    EXPECT_EQ(inner->calls, 1);
}

TEST_F(Caching, ACancelledRefresherHandsTheRefreshToAWaiter) {
    inner->answer = [this](int n) { return temporary("ASIA" + std::to_string(n), clock.now() + 1h); };
    inner->hold(io);
    const auto cache = make_cache();
    std::optional<credentials_result> refresher, waiter;
    asio::cancellation_signal cancel_refresher;
    asio::co_spawn(
        io, cache->get(),
        asio::bind_cancellation_slot(cancel_refresher.slot(), [&](std::exception_ptr, credentials_result r) {
            refresher = std::move(r);
        }));
    asio::co_spawn(io, cache->get(),
                   [&](std::exception_ptr, credentials_result r) { waiter = std::move(r); });
    io.poll();
    EXPECT_EQ(inner->calls, 1);
    cancel_refresher.emit(asio::cancellation_type::terminal);
    io.poll();
    ASSERT_TRUE(refresher);
    EXPECT_EQ(refresher->ec, asio::error::operation_aborted);
    EXPECT_EQ(inner->calls, 2) << "the waiter started its own refresh";
    EXPECT_EQ(log_count(core::log_level::warning), 0u) << "a cancellation is not a failed refresh";
    inner->release();
    io.restart();
    io.run_for(test_deadline);
    ASSERT_TRUE(waiter);
    ASSERT_TRUE(waiter->ok());
    EXPECT_EQ(waiter->creds.access_key_id, "ASIA2");
}

// The same property end to end: ten concurrent requests for a role's credentials during one
// refresh make exactly one STS AssumeRole call.
TEST_F(Caching, TenConcurrentGetsMakeOneStsCall) {
    net.handler = [this](const http_call&) {
        return reply(200, assume_role_xml("ASIAROLE", format_iso8601(clock.now() + 1h)));
    };
    config::credentials_config cfg;
    cfg.role_arn = "arn:aws:iam::123456789012:role/demo";
    const auto provider = make_provider(
        cfg, make_context({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "env-secret"}}));

    const auto round = [&](bool refresh) {
        net.hold(io);
        std::vector<credentials_result> results;
        for (int i = 0; i < 10; ++i) {
            asio::co_spawn(io, provider->get(), [&](std::exception_ptr e, credentials_result r) {
                EXPECT_FALSE(e);
                results.push_back(std::move(r));
            });
        }
        io.restart();
        io.poll();
        EXPECT_EQ(net.waiting(), refresh ? 1u : 0u);
        net.release();
        io.restart();
        io.run_for(test_deadline);
        EXPECT_TRUE(io.stopped());
        EXPECT_EQ(results.size(), 10u);
        for (const auto& r : results)
            EXPECT_TRUE(r.ok()) << format(r.ec, r.error);
    };
    round(true);
    EXPECT_EQ(net.count_to("https://sts.us-east-1.amazonaws.com/"), 1u);
    clock.advance(30min);
    round(false);  // still fresh: no call at all
    EXPECT_EQ(net.count_to("https://sts."), 1u);
    clock.advance(26min);  // 12:56, inside the refresh window
    round(true);
    EXPECT_EQ(net.count_to("https://sts."), 2u);
}

}  // namespace
