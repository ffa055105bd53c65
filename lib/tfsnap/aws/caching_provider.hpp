#pragma once
// Keeps the credentials another provider returns and refreshes them ahead of expiry.
//
// What it does
//   - Temporary credentials (with an expiration) are kept until `refresh_ahead` before they
//     expire; long-term keys until `static_reload` after they were read.
//   - Concurrent get() calls share one refresh: while a refresh is in flight, other callers
//     wait for its outcome instead of starting their own, so ten requests that find the
//     credentials due cause one STS (or IMDS, ...) exchange.
//   - A refresh that fails while the kept credentials are still valid returns the kept ones
//     and logs a warning; the next attempt is made after `retry_interval`. Once the kept
//     credentials have expired, the error is returned.
//   - Credentials that are already expired when a source returns them are an error
//     (errc::expired), handled like any failed refresh.
//   Every decision reads the injected clock, so it is tested under core::fake_clock.
//
// Errors: those of the wrapped provider (see credentials_provider.hpp).
// Cancellation: a waiting caller that is cancelled returns operation_aborted at once; the
//   refresh it waited for goes on for the others. If the caller doing the refresh is cancelled,
//   the waiters start a new refresh.
// Thread safety: one thread (the io_context's), like every provider.
// Lifetime: must outlive every get() in flight; shares ownership of the wrapped provider.

#include "tfsnap/aws/credentials_provider.hpp"

#include <memory>
#include <optional>

namespace tfsnap::aws {

class caching_provider final : public credentials_provider {
public:
    caching_provider(provider_ptr inner, const core::wall_clock& clock, core::logger log,
                     cache_options options);
    ~caching_provider() override;

    boost::asio::awaitable<credentials_result> get() override;

    // For tests and status output: how many refreshes were started.
    std::size_t refresh_count() const noexcept { return refreshes_; }

private:
    struct refresh_state;

    bool fresh(core::time_point now) const;
    boost::asio::awaitable<credentials_result> refresh();
    credentials_result settle(credentials_result r, core::time_point now);

    provider_ptr inner_;
    const core::wall_clock& clock_;
    core::logger log_;
    cache_options options_;

    std::optional<credentials_result> kept_;
    core::time_point refresh_at_{};
    std::optional<core::time_point> last_attempt_;
    std::shared_ptr<refresh_state> in_flight_;
    std::size_t refreshes_ = 0;
};

}  // namespace tfsnap::aws
