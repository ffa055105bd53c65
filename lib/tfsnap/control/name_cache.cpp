#include "tfsnap/control/name_cache.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

namespace tfsnap::control {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;

namespace detail {

// The work the lookup threads share. Jobs get the queue so that they can check `closed` and
// post their answer under its mutex (the cache's destructor sets `closed` under it, so nothing
// is posted once the executor may be going away).
struct lookup_queue {
    using job = std::function<void(lookup_queue&)>;
    std::mutex m;
    std::condition_variable cv;
    std::deque<job> jobs;
    std::size_t threads = 0;
    std::size_t idle = 0;
    bool closed = false;
};

namespace {

void work(const std::shared_ptr<lookup_queue>& q) {
    std::unique_lock lock(q->m);
    for (;;) {
        ++q->idle;
        q->cv.wait(lock, [&] { return q->closed || !q->jobs.empty(); });
        --q->idle;
        if (q->closed) {
            --q->threads;
            return;
        }
        auto job = std::move(q->jobs.front());
        q->jobs.pop_front();
        lock.unlock();
        job(*q);
        job = nullptr;
        lock.lock();
    }
}

}  // namespace

struct name_answer {
    bool found = false;
    std::uint32_t id = 0;
    std::string name;
    std::vector<std::uint32_t> groups;
};

// What lives on the executor: the answers, and the lookups in flight with their waiters.
struct name_cache_state {
    struct entry {
        name_answer value;
        steady::time_point fetched;
    };
    struct pending {
        explicit pending(const asio::any_io_executor& ex) : done(ex) {
            done.expires_at(steady::time_point::max());
        }
        asio::steady_timer done;  // cancelled when the answer is in
        bool finished = false;
    };

    name_cache::clock_function now;
    std::chrono::milliseconds ttl{0};
    std::size_t max_entries = 0;
    std::map<std::string, entry> entries;
    std::map<std::string, std::shared_ptr<pending>> in_flight;
    name_cache::stats stats;

    const entry* find(const std::string& key) const {
        const auto it = entries.find(key);
        return it == entries.end() ? nullptr : &it->second;
    }

    bool fresh(const std::string& key) const {
        const auto* e = find(key);
        return e != nullptr && now() - e->fetched < ttl;
    }

    void deliver(const std::string& key, name_answer a) {
        ++stats.answered;
        entries[key] = entry{std::move(a), now()};
        if (entries.size() > max_entries)
            evict();
        const auto it = in_flight.find(key);
        if (it != in_flight.end()) {
            it->second->finished = true;
            it->second->done.cancel();
            in_flight.erase(it);
        }
    }

    void evict() {
        const auto t = now();
        std::erase_if(entries, [&](const auto& kv) { return t - kv.second.fetched >= ttl; });
        while (entries.size() > max_entries) {
            const auto oldest = std::min_element(
                entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.second.fetched < b.second.fetched; });
            entries.erase(oldest);
        }
    }
};

}  // namespace detail

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Keys: a kind letter, ':' and the argument.
std::string user_key(std::string_view name) {
    return "u:" + std::string(name);
}
std::string group_key(std::string_view name) {
    return "g:" + std::string(name);
}
std::string name_key(std::uint32_t uid) {
    return "n:" + std::to_string(uid);
}
std::string groups_key(std::uint32_t uid, std::uint32_t gid) {
    return "G:" + std::to_string(uid) + ":" + std::to_string(gid);
}

// Asks the resolver what `key` stands for (on a lookup thread). A resolver that throws has not
// found anything.
detail::name_answer ask(const name_resolver& r, const std::string& key) {
    detail::name_answer a;
    const std::string arg = key.substr(2);
    try {
        switch (key[0]) {
            case 'u':
                if (const auto id = r.user_id(arg)) {
                    a.found = true;
                    a.id = *id;
                }
                break;
            case 'g':
                if (const auto id = r.group_id(arg)) {
                    a.found = true;
                    a.id = *id;
                }
                break;
            case 'n':
                if (const auto n = r.user_name(static_cast<std::uint32_t>(std::stoul(arg)))) {
                    a.found = true;
                    a.name = *n;
                }
                break;
            case 'G': {
                const auto colon = arg.find(':');
                const auto uid = static_cast<std::uint32_t>(std::stoul(arg.substr(0, colon)));
                const auto gid = static_cast<std::uint32_t>(std::stoul(arg.substr(colon + 1)));
                if (auto g = r.user_groups(uid, gid)) {
                    a.found = true;
                    a.groups = std::move(*g);
                }
                break;
            }
            default:
                break;
        }
    } catch (...) {
        a = {};
    }
    return a;
}

}  // namespace

name_cache::name_cache(asio::any_io_executor ex, std::shared_ptr<const name_resolver> backend,
                       name_cache_config cfg)
    : name_cache(std::move(ex), std::move(backend), cfg, [] { return steady::now(); }) {}

name_cache::name_cache(asio::any_io_executor ex, std::shared_ptr<const name_resolver> backend,
                       name_cache_config cfg, clock_function now)
    : ex_(std::move(ex)),
      backend_(std::move(backend)),
      cfg_(cfg),
      state_(std::make_shared<detail::name_cache_state>()),
      queue_(std::make_shared<detail::lookup_queue>()) {
    cfg_.threads = std::max<std::size_t>(cfg_.threads, 1);
    cfg_.max_entries = std::max<std::size_t>(cfg_.max_entries, 16);
    state_->now = std::move(now);
    state_->ttl = cfg_.ttl;
    state_->max_entries = cfg_.max_entries;
}

name_cache::~name_cache() {
    std::deque<detail::lookup_queue::job> dropped;
    {
        std::lock_guard lock(queue_->m);
        queue_->closed = true;
        dropped.swap(queue_->jobs);
    }
    queue_->cv.notify_all();
}

void name_cache::set_ttl(std::chrono::milliseconds ttl) noexcept {
    cfg_.ttl = ttl;
    state_->ttl = ttl;
}

name_cache::stats name_cache::counters() const noexcept {
    return state_->stats;
}

std::size_t name_cache::entries() const noexcept {
    return state_->entries.size();
}

std::optional<std::uint32_t> name_cache::user_id(std::string_view name) const {
    const auto* e = state_->find(user_key(name));
    if (e == nullptr || !e->value.found)
        return std::nullopt;
    return e->value.id;
}

std::optional<std::uint32_t> name_cache::group_id(std::string_view name) const {
    const auto* e = state_->find(group_key(name));
    if (e == nullptr || !e->value.found)
        return std::nullopt;
    return e->value.id;
}

std::optional<std::string> name_cache::user_name(std::uint32_t uid) const {
    const auto* e = state_->find(name_key(uid));
    if (e == nullptr || !e->value.found)
        return std::nullopt;
    return e->value.name;
}

std::optional<std::vector<std::uint32_t>> name_cache::user_groups(std::uint32_t uid,
                                                                  std::uint32_t gid) const {
    const auto* e = state_->find(groups_key(uid, gid));
    if (e == nullptr || !e->value.found)
        return std::nullopt;
    return e->value.groups;
}

void name_cache::start_lookup(const std::string& key) {
    ++state_->stats.lookups;
    auto job = [backend = backend_, key, weak = std::weak_ptr<detail::name_cache_state>(state_),
                ex = ex_](detail::lookup_queue& q) {
        auto answer = ask(*backend, key);
        std::lock_guard lock(q.m);
        if (q.closed)
            return;
        asio::post(ex, [weak, key, answer = std::move(answer)]() mutable {
            if (const auto st = weak.lock())
                st->deliver(key, std::move(answer));
        });
    };
    bool start_thread = false;
    {
        std::lock_guard lock(queue_->m);
        queue_->jobs.push_back(std::move(job));
        if (queue_->idle == 0 && queue_->threads < cfg_.threads) {
            ++queue_->threads;
            start_thread = true;
        }
    }
    if (start_thread) {
        try {
            std::thread([q = queue_] { detail::work(q); }).detach();
        } catch (const std::system_error&) {
            // no thread now: the lookup waits for one (a later lookup tries again); its callers
            // time out meanwhile
            std::lock_guard lock(queue_->m);
            --queue_->threads;
        }
    }
    queue_->cv.notify_one();
}

asio::awaitable<std::vector<std::string>> name_cache::ensure(std::vector<std::string> keys) {
    const auto st = state_;
    std::vector<std::pair<std::string, std::shared_ptr<detail::name_cache_state::pending>>> waits;
    for (const auto& key : keys) {
        if (st->fresh(key))
            continue;
        // an expired answer is used while it is looked up again: only a name never answered
        // makes the caller wait
        const bool answered_before = st->find(key) != nullptr;
        if (const auto it = st->in_flight.find(key); it != st->in_flight.end()) {
            if (!answered_before)
                waits.emplace_back(key, it->second);
            continue;
        }
        auto p = std::make_shared<detail::name_cache_state::pending>(ex_);
        st->in_flight.emplace(key, p);
        if (!answered_before)
            waits.emplace_back(key, p);
        start_lookup(key);
    }
    std::vector<std::string> late;
    if (waits.empty())
        co_return late;
    asio::steady_timer deadline(ex_);
    deadline.expires_after(cfg_.lookup_timeout);
    bool expired = false;
    for (auto& [key, p] : waits) {
        // an answer delivered before this wait began has already cancelled `done`
        if (!expired && !p->finished) {
            const auto r = co_await (p->done.async_wait(use_tuple) || deadline.async_wait(use_tuple));
            const auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none)
                throw boost::system::system_error(asio::error::operation_aborted);
            expired = r.index() == 1 && !p->finished;
        }
        if (!p->finished) {
            ++st->stats.timeouts;
            late.push_back(key);
        }
    }
    co_return late;
}

asio::awaitable<std::vector<std::string>> name_cache::prepare(config::control_config access) {
    std::vector<std::string> keys;
    std::vector<std::string> principals;
    for (const auto* list : {&access.operators, &access.readers}) {
        for (const auto& p : *list) {
            const std::string_view v = p;
            std::string key;
            if (v.starts_with("user:"))
                key = user_key(v.substr(5));
            else if (v.starts_with("group:"))
                key = group_key(v.substr(6));
            if (key.empty() || std::find(keys.begin(), keys.end(), key) != keys.end())
                continue;
            keys.push_back(std::move(key));
            principals.push_back(p);
        }
    }
    const auto late = co_await ensure(keys);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (std::find(late.begin(), late.end(), keys[i]) != late.end())
            out.push_back(principals[i]);
    }
    co_return out;
}

asio::awaitable<std::optional<std::string>> name_cache::lookup_user_name(std::uint32_t uid) {
    std::vector<std::string> keys{name_key(uid)};
    co_await ensure(std::move(keys));
    co_return user_name(uid);
}

asio::awaitable<std::optional<std::vector<std::uint32_t>>> name_cache::lookup_user_groups(std::uint32_t uid,
                                                                                          std::uint32_t gid) {
    std::vector<std::string> keys{groups_key(uid, gid)};
    co_await ensure(std::move(keys));
    co_return user_groups(uid, gid);
}

}  // namespace tfsnap::control
