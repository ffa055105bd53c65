#include "tfsnap/aws/caching_provider.hpp"

#include "tfsnap/aws/responses.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tfsnap::aws {

namespace asio = boost::asio;

// One refresh in flight. The timer never expires by itself: it is the condition the waiters
// wait on, and the refreshing coroutine cancels it to wake them all at once.
struct caching_provider::refresh_state {
    explicit refresh_state(const asio::any_io_executor& ex)
        : signal(ex, asio::steady_timer::time_point::max()) {}

    asio::steady_timer signal;
    bool done = false;
    bool abandoned = false;  // the refreshing caller was cancelled or threw: waiters try again
    credentials_result outcome;
};

caching_provider::caching_provider(provider_ptr inner, const core::wall_clock& clock, core::logger log,
                                   cache_options options)
    : inner_(std::move(inner)), clock_(clock), log_(log), options_(options) {}

caching_provider::~caching_provider() = default;

bool caching_provider::fresh(core::time_point now) const {
    if (!kept_)
        return false;
    if (kept_->expiration && now >= *kept_->expiration)
        return false;
    if (now < refresh_at_)
        return true;
    // Due for a refresh, but still valid: after a recent attempt (that failed, or that returned
    // credentials already inside the refresh window) wait before trying again.
    return last_attempt_ && now - *last_attempt_ < options_.retry_interval;
}

asio::awaitable<credentials_result> caching_provider::get() {
    for (;;) {
        const auto now = clock_.now();
        if (fresh(now))
            co_return *kept_;
        if (in_flight_) {
            const auto state = in_flight_;
            co_await state->signal.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!state->done) {
                credentials_result r;
                r.ec = asio::error::operation_aborted;
                r.error.provider = "cache";
                r.error.message = "cancelled while waiting for a credentials refresh";
                co_return r;
            }
            if (state->abandoned)
                continue;
            co_return state->outcome;
        }
        co_return co_await refresh();
    }
}

asio::awaitable<credentials_result> caching_provider::refresh() {
    const auto state = std::make_shared<refresh_state>(co_await asio::this_coro::executor);
    in_flight_ = state;
    ++refreshes_;
    const auto finish = [this, &state] {
        state->done = true;
        if (in_flight_ == state)
            in_flight_.reset();
        state->signal.cancel();
    };
    credentials_result r;
    try {
        r = co_await inner_->get();
    } catch (...) {
        state->abandoned = true;
        finish();
        throw;
    }
    if (r.ec == asio::error::operation_aborted) {
        // Our caller was cancelled: the cache is unchanged, and the waiters refresh themselves.
        state->abandoned = true;
        finish();
        co_return r;
    }
    const auto now = clock_.now();
    last_attempt_ = now;
    state->outcome = settle(std::move(r), now);
    finish();
    co_return state->outcome;
}

credentials_result caching_provider::settle(credentials_result r, core::time_point now) {
    if (r.ok() && r.expiration && *r.expiration <= now) {
        const std::string source = r.source;
        const auto expired_at = *r.expiration;
        r = credentials_result{};
        r.ec = errc::expired;
        r.error.provider = "cache";
        r.error.message = "the credentials from " + source + " expired at " + format_iso8601(expired_at) +
                          "; is the clock right?";
    }
    if (r.ok()) {
        refresh_at_ = r.expiration ? *r.expiration - options_.refresh_ahead : now + options_.static_reload;
        const bool news = !kept_ || kept_->source != r.source || r.expiration;
        log_.log(news ? core::log_level::info : core::log_level::debug, "AWS credentials loaded",
                 {{"source", r.source},
                  {"expires_at", r.expiration ? format_iso8601(*r.expiration) : std::string("never")},
                  {"event", "aws_credentials"}});
        kept_ = r;
        return r;
    }
    if (kept_ && (!kept_->expiration || now < *kept_->expiration)) {
        log_.warning(
            "refreshing AWS credentials failed; using the previous ones while they are valid",
            {{"source", kept_->source},
             {"expires_at", kept_->expiration ? format_iso8601(*kept_->expiration) : std::string("never")},
             {"error", format(r.ec, r.error)},
             {"event", "aws_credentials_refresh_failed"}});
        return *kept_;
    }
    kept_.reset();
    return r;
}

}  // namespace tfsnap::aws
