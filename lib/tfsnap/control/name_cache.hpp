#pragma once
// User and group lookups for the control server: off its event loop, and cached.
//
// NSS (files, LDAP, sssd) may block for as long as its slowest source takes. name_cache runs
// the lookups of a blocking `name_resolver` (system_name_resolver in tfsnapd) on threads of its
// own (at most `threads`, started on first use) and keeps every answer, found or not found, for
// `ttl`. The event loop only ever reads the cache:
//   - the name_resolver functions answer from the cache alone (nullopt for a name it does not
//     hold) and never block, so that authorize() can run on the loop;
//   - prepare(), lookup_user_name() and lookup_user_groups() make sure that what they need is
//     cached. An expired entry is looked up again and its previous answer used meanwhile (so a
//     slow NSS delays nobody once a name was answered; a change shows within `ttl` and one
//     lookup). A name never answered is looked up and the caller awaits the answer (the loop
//     serves other connections meanwhile) for at most `lookup_timeout`; after that it counts as
//     not found for this call, and the lookup goes on and fills the cache when NSS answers.
// At most one lookup of a name is in flight at a time; callers that need it meanwhile share it.
//
// Cancellation: the awaiting functions throw operation_aborted when their coroutine is cancelled
// (the lookup itself goes on).
// Thread safety: call everything on the executor given to the constructor (the server's I/O
// thread). The lookup threads touch only the resolver and a queue; answers come back to the
// executor through asio::post.
// Lifetime: the lookup threads are detached, so that a lookup stuck in NSS never holds up the
// destructor or the process's exit; they end once the cache is gone and their lookup returns.
// The executor's execution context must outlive the cache (answers that arrive after the
// destructor has begun are dropped). The resolver is shared with the threads.

#include "tfsnap/config/config.hpp"
#include "tfsnap/control/authorize.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfsnap::control {

struct name_cache_config {
    std::chrono::milliseconds ttl{30000};            // how long an answer (found or not) is reused
    std::chrono::milliseconds lookup_timeout{5000};  // how long a caller awaits a lookup
    std::size_t threads = 2;                         // lookup threads at most
    std::size_t max_entries = 4096;                  // beyond: expired, then the oldest, go first
};

namespace detail {
struct lookup_queue;
struct name_cache_state;
}  // namespace detail

class name_cache final : public name_resolver {
public:
    using clock_function = std::function<std::chrono::steady_clock::time_point()>;

    name_cache(boost::asio::any_io_executor ex, std::shared_ptr<const name_resolver> backend,
               name_cache_config cfg);
    // With a clock of the caller's (tests); the default is std::chrono::steady_clock::now.
    name_cache(boost::asio::any_io_executor ex, std::shared_ptr<const name_resolver> backend,
               name_cache_config cfg, clock_function now);
    ~name_cache() override;
    name_cache(const name_cache&) = delete;
    name_cache& operator=(const name_cache&) = delete;

    // From the cache only (expired answers included); never blocks.
    std::optional<std::uint32_t> user_id(std::string_view name) const override;
    std::optional<std::uint32_t> group_id(std::string_view name) const override;
    std::optional<std::string> user_name(std::uint32_t uid) const override;
    std::optional<std::vector<std::uint32_t>> user_groups(std::uint32_t uid,
                                                          std::uint32_t gid) const override;

    // Every "user:" and "group:" principal of `access` (readers and operators) cached, as
    // described above. Returns the principals never answered whose lookup did not answer within
    // lookup_timeout (for the log).
    boost::asio::awaitable<std::vector<std::string>> prepare(config::control_config access);
    boost::asio::awaitable<std::optional<std::string>> lookup_user_name(std::uint32_t uid);
    boost::asio::awaitable<std::optional<std::vector<std::uint32_t>>> lookup_user_groups(std::uint32_t uid,
                                                                                         std::uint32_t gid);

    // For answers looked up from now on, and entries read from now on (a reload).
    void set_ttl(std::chrono::milliseconds ttl) noexcept;
    const name_cache_config& config() const noexcept { return cfg_; }

    struct stats {
        std::uint64_t lookups = 0;   // asked of the resolver
        std::uint64_t answered = 0;  // of those, answered (the others are in flight)
        std::uint64_t timeouts = 0;  // a caller stopped waiting for a lookup
    };
    stats counters() const noexcept;
    std::size_t entries() const noexcept;

private:
    boost::asio::awaitable<std::vector<std::string>> ensure(std::vector<std::string> keys);
    void start_lookup(const std::string& key);

    boost::asio::any_io_executor ex_;
    std::shared_ptr<const name_resolver> backend_;
    name_cache_config cfg_;
    std::shared_ptr<detail::name_cache_state> state_;
    std::shared_ptr<detail::lookup_queue> queue_;
};

}  // namespace tfsnap::control
