// The name cache: answers off the calling thread, kept for the TTL (found and not found), one
// lookup per name in flight, a deadline for callers, and the previous answer when NSS is slow.
// A scripted resolver with a gate stands in for NSS; the clock is the test's.
#include "tfsnap/control/name_cache.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace tfsnap::control {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Users and groups from maps; every lookup counted, the threads noted, and (when closed) held
// at a gate until the test opens it.
class scripted_resolver final : public name_resolver {
public:
    std::optional<std::uint32_t> user_id(std::string_view name) const override {
        return answer(users, "user " + std::string(name), name);
    }
    std::optional<std::uint32_t> group_id(std::string_view name) const override {
        return answer(groups, "group " + std::string(name), name);
    }
    std::optional<std::string> user_name(std::uint32_t uid) const override {
        pass("name " + std::to_string(uid));
        for (const auto& [n, id] : users)
            if (id == uid)
                return n;
        return std::nullopt;
    }

    void close_gate() {
        std::lock_guard lock(m_);
        gate_open_ = false;
    }
    void open_gate() {
        {
            std::lock_guard lock(m_);
            gate_open_ = true;
        }
        cv_.notify_all();
    }
    int asked(const std::string& what) const {
        std::lock_guard lock(m_);
        const auto it = asked_.find(what);
        return it == asked_.end() ? 0 : it->second;
    }
    int waiting() const { return waiting_; }
    bool ran_on(std::thread::id t) const {
        std::lock_guard lock(m_);
        return threads_.count(t) != 0;
    }

    std::map<std::string, std::uint32_t, std::less<>> users;
    std::map<std::string, std::uint32_t, std::less<>> groups;

private:
    std::optional<std::uint32_t> answer(const std::map<std::string, std::uint32_t, std::less<>>& m,
                                        const std::string& what, std::string_view name) const {
        pass(what);
        const auto it = m.find(name);
        if (it == m.end())
            return std::nullopt;
        return it->second;
    }
    void pass(const std::string& what) const {
        std::unique_lock lock(m_);
        ++asked_[what];
        threads_[std::this_thread::get_id()] = true;
        ++waiting_;
        cv_.wait(lock, [&] { return gate_open_; });
        --waiting_;
    }

    mutable std::mutex m_;
    mutable std::condition_variable cv_;
    mutable bool gate_open_ = true;
    mutable std::map<std::string, int> asked_;
    mutable std::map<std::thread::id, bool> threads_;
    mutable std::atomic<int> waiting_{0};
};

class NameCache : public ::testing::Test {
protected:
    void SetUp() override {
        names_ = std::make_shared<scripted_resolver>();
        names_->users = {{"alice", 1001}, {"bob", 1002}};
        names_->groups = {{"ops", 2001}};
    }
    void TearDown() override { names_->open_gate(); }

    name_cache make(std::chrono::milliseconds ttl, std::chrono::milliseconds timeout) {
        name_cache_config c;
        c.ttl = ttl;
        c.lookup_timeout = timeout;
        return name_cache(io_.get_executor(), names_, c, [this] { return now_; });
    }

    static config::control_config access() {
        config::control_config a;
        a.operators = {"user:alice", "group:ops"};
        a.readers = {"user:nobody-here", "group:ops"};
        return a;
    }

    // Runs `body` on the io_context (10 s at most); fails the test if it did not finish.
    void run(std::function<asio::awaitable<void>()> body) {
        bool done = false;
        std::exception_ptr error;
        asio::co_spawn(io_, body(), [&](std::exception_ptr e) {
            done = true;
            error = e;
        });
        io_.restart();
        io_.run_for(10s);
        ASSERT_TRUE(done) << "did not finish in time";
        if (error)
            std::rethrow_exception(error);
    }

    asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
        asio::steady_timer t(io_);
        t.expires_after(d);
        co_await t.async_wait(asio::use_awaitable);
    }

    asio::io_context io_;
    std::shared_ptr<scripted_resolver> names_;
    std::chrono::steady_clock::time_point now_{std::chrono::hours{1000}};
};

TEST_F(NameCache, AnswersFoundAndNotFoundAreKeptForTheTtl) {
    auto cache = make(30s, 5s);
    std::vector<std::string> late;
    run([&]() -> asio::awaitable<void> {
        late = co_await cache.prepare(access());
        EXPECT_TRUE(late.empty());
        EXPECT_EQ(cache.user_id("alice"), 1001u);
        EXPECT_EQ(cache.group_id("ops"), 2001u);
        EXPECT_EQ(cache.user_id("nobody-here"), std::nullopt);
        // within the TTL: nothing is asked again, not even what was not found
        now_ += 29s;
        co_await cache.prepare(access());
        EXPECT_EQ(names_->asked("user alice"), 1);
        EXPECT_EQ(names_->asked("group ops"), 1);  // readers and operators share it
        EXPECT_EQ(names_->asked("user nobody-here"), 1);
        // past it: asked again (the old answers serve meanwhile), and a change shows
        names_->users["nobody-here"] = 1003;
        now_ += 2s;
        co_await cache.prepare(access());
        for (int i = 0; i < 200 && cache.counters().answered < 6; ++i)
            co_await sleep_for(5ms);
        EXPECT_EQ(names_->asked("user alice"), 2);
        EXPECT_EQ(names_->asked("user nobody-here"), 2);
        EXPECT_EQ(cache.user_id("nobody-here"), 1003u);
    });
    EXPECT_EQ(cache.counters().lookups, 6u);
    EXPECT_EQ(cache.counters().answered, 6u);
    EXPECT_FALSE(names_->ran_on(std::this_thread::get_id()));
}

TEST_F(NameCache, CallersStopWaitingAtTheDeadlineAndTheAnswerStillComes) {
    auto cache = make(30s, 200ms);
    names_->close_gate();
    std::vector<std::string> late;
    std::optional<std::string> name;
    run([&]() -> asio::awaitable<void> {
        late = co_await cache.prepare(access());
        // alice and ops are held at the gate (two lookup threads); nobody-here waits its turn
        EXPECT_EQ(cache.user_id("alice"), std::nullopt);
        names_->open_gate();
        for (int i = 0; i < 200 && cache.counters().answered < 3; ++i)
            co_await sleep_for(5ms);
        EXPECT_EQ(cache.user_id("alice"), 1001u);
        EXPECT_EQ(cache.group_id("ops"), 2001u);
        // the lookups went on: nothing is asked twice
        co_await cache.prepare(access());
        name = co_await cache.lookup_user_name(1002);
    });
    EXPECT_EQ(late, (std::vector<std::string>{"user:alice", "group:ops", "user:nobody-here"}));
    EXPECT_EQ(names_->asked("user alice"), 1);
    EXPECT_EQ(names_->asked("group ops"), 1);
    EXPECT_EQ(cache.counters().timeouts, 3u);
    EXPECT_EQ(name, "bob");
}

TEST_F(NameCache, AnExpiredAnswerIsUsedWhileItIsLookedUpAgain) {
    auto cache = make(30s, 5s);
    run([&]() -> asio::awaitable<void> {
        co_await cache.prepare(access());
        EXPECT_EQ(cache.user_id("alice"), 1001u);
        now_ += 1min;
        names_->close_gate();
        names_->users["alice"] = 1009;
        // LDAP hangs: operators keep working, at once, with the answers they had
        const auto t0 = std::chrono::steady_clock::now();
        const auto late = co_await cache.prepare(access());
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
        EXPECT_TRUE(late.empty());
        EXPECT_EQ(cache.user_id("alice"), 1001u);
        EXPECT_EQ(cache.group_id("ops"), 2001u);
        // once it answers, the change shows
        names_->open_gate();
        for (int i = 0; i < 200 && cache.counters().answered < 6; ++i)
            co_await sleep_for(5ms);
        EXPECT_EQ(cache.user_id("alice"), 1009u);
    });
    EXPECT_EQ(cache.counters().answered, 6u);
    EXPECT_EQ(cache.counters().timeouts, 0u);
}

TEST_F(NameCache, ConcurrentCallersShareOneLookup) {
    auto cache = make(30s, 5s);
    names_->close_gate();
    int finished = 0;
    run([&]() -> asio::awaitable<void> {
        auto one = [&]() -> asio::awaitable<void> {
            const auto n = co_await cache.lookup_user_name(1001);
            EXPECT_EQ(n, "alice");
            ++finished;
        };
        for (int i = 0; i < 5; ++i)
            asio::co_spawn(io_, one(), [](std::exception_ptr) {});
        for (int i = 0; i < 200 && names_->waiting() < 1; ++i)
            co_await sleep_for(5ms);
        co_await sleep_for(20ms);
        names_->open_gate();
        for (int i = 0; i < 200 && finished < 5; ++i)
            co_await sleep_for(5ms);
    });
    EXPECT_EQ(finished, 5);
    EXPECT_EQ(names_->asked("name 1001"), 1);
    EXPECT_EQ(cache.counters().lookups, 1u);
}

TEST_F(NameCache, TheCacheCanGoWhileALookupIsStuck) {
    names_->close_gate();
    {
        auto cache = make(30s, 50ms);
        run([&]() -> asio::awaitable<void> {
            const auto n = co_await cache.lookup_user_name(1001);
            EXPECT_EQ(n, std::nullopt);  // not in time
        });
        for (int i = 0; i < 200 && names_->waiting() < 1; ++i)
            std::this_thread::sleep_for(5ms);
        EXPECT_EQ(names_->waiting(), 1);
    }  // destroyed with its thread stuck in the resolver
    names_->open_gate();
    // the answer is dropped; nothing is posted to the io_context
    for (int i = 0; i < 200 && names_->waiting() > 0; ++i)
        std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(20ms);
    io_.restart();
    EXPECT_EQ(io_.poll(), 0u);
}

}  // namespace
}  // namespace tfsnap::control
