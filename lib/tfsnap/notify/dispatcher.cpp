#include "tfsnap/notify/dispatcher.hpp"

#include "tfsnap/config/validate.hpp"
#include "tfsnap/notify/detail/delivery.hpp"
#include "tfsnap/notify/error.hpp"
#include "tfsnap/notify/render.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <cstdlib>

namespace tfsnap::notify {

namespace asio = boost::asio;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr const char* user_agent = "tfsnap/" TFSNAP_VERSION;

std::string millis(steady::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

struct dispatcher::delivery {
    config::webhook_config hook;
    std::string body;
    std::string event;  // to_string(kind)
    std::string environment;
    std::string job_id;
};

// What the last attempt got, for the outcome's log line.
struct dispatcher::attempt_state {
    int attempts = 0;
    unsigned status = 0;  // 0: no response
    error_code ec;
    std::string detail;  // the transport's or the credential's detail; never the URL
};

dispatcher::dispatcher(asio::any_io_executor ex, http::client& http, core::logger log, std::string host,
                       dispatcher_options opts)
    : ex_(std::move(ex)),
      http_(http),
      log_(log),
      host_(std::move(host)),
      opts_(std::move(opts)),
      random_(opts_.random ? opts_.random : http::default_random_unit()),
      idle_(ex_) {}

dispatcher::~dispatcher() = default;

void dispatcher::configure(std::vector<config::webhook_config> hooks) {
    hooks_ = std::move(hooks);
}

void dispatcher::publish(const event& e) noexcept {
    try {
        for (const auto& hook : hooks_) {
            if (!subscribes(hook, e.kind))
                continue;
            if (stopped_ || running_.size() >= opts_.max_pending) {
                drop(e);
                continue;
            }
            delivery d;
            d.hook = hook;
            d.body =
                hook.slack_template ? render_slack(*hook.slack_template, e, host_) : render_json(e, host_);
            d.event = std::string(to_string(e.kind));
            d.environment = e.environment;
            d.job_id = e.job_id;
            start(std::move(d));
        }
    } catch (...) {
        // out of memory at worst: the notification is lost, the job that published it goes on
        ++stats_.dropped;
    }
}

void dispatcher::drop(const event& e) {
    ++stats_.dropped;
    if (stopped_) {
        log_.debug("webhook notification dropped: shutting down",
                   {{"event", std::string(to_string(e.kind))}, {"env", e.environment}});
        return;
    }
    ++dropped_in_overload_;
    if (overloaded_)
        return;
    overloaded_ = true;
    log_.warning("webhook notifications dropped: too many deliveries pending",
                 {{"pending", std::to_string(running_.size())},
                  {"event", std::string(to_string(e.kind))},
                  {"env", e.environment}});
}

void dispatcher::start(delivery d) {
    const auto id = next_id_++;
    auto& entry = running_[id];
    entry.signal = std::make_unique<asio::cancellation_signal>();
    entry.event = d.event;
    entry.environment = d.environment;
    auto slot = entry.signal->slot();
    try {
        asio::co_spawn(
            ex_, deliver(std::move(d)),
            asio::bind_cancellation_slot(slot, [this, id](std::exception_ptr e) { finished(id, e); }));
    } catch (...) {
        running_.erase(id);
        throw;
    }
}

void dispatcher::cancel() {
    stopped_ = true;
    std::vector<std::uint64_t> ids;
    ids.reserve(running_.size());
    for (const auto& [id, r] : running_)
        ids.push_back(id);
    // by id: a delivery that completes during emit() must not invalidate the iteration
    for (const auto id : ids) {
        if (const auto it = running_.find(id); it != running_.end())
            it->second.signal->emit(asio::cancellation_type::terminal);
    }
}

asio::awaitable<bool> dispatcher::drained(steady::time_point until) {
    asio::steady_timer deadline(ex_);
    deadline.expires_at(until);
    using namespace asio::experimental::awaitable_operators;
    while (!running_.empty()) {
        if (steady::now() >= until)
            co_return false;
        idle_.expires_at(steady::time_point::max());
        const auto r = co_await (idle_.async_wait(use_tuple) || deadline.async_wait(use_tuple));
        if (r.index() == 1)
            co_return running_.empty();
    }
    co_return true;
}

void dispatcher::finished(std::uint64_t id, std::exception_ptr e) {
    auto node = running_.extract(id);
    if (e) {
        // deliver() handles its own failures; this is a cancellation before it began, or a bug
        ++stats_.failed;
        std::string what = "unknown exception";
        bool cancelled = false;
        try {
            std::rethrow_exception(e);
        } catch (const boost::system::system_error& err) {
            cancelled = err.code() == asio::error::operation_aborted;
            what = err.what();
        } catch (const std::exception& err) {
            what = err.what();
        } catch (...) {
        }
        const std::string event = node.empty() ? std::string() : node.mapped().event;
        const std::string env = node.empty() ? std::string() : node.mapped().environment;
        if (cancelled) {
            log_.warning("webhook delivery cancelled", {{"event", event}, {"env", env}});
        } else {
            log_.error("webhook delivery failed unexpectedly",
                       {{"event", event}, {"env", env}, {"error", what}});
        }
    }
    if (running_.empty())
        idle_.cancel();
    if (overloaded_ && running_.size() < opts_.max_pending) {
        overloaded_ = false;
        log_.notice("webhook deliveries below the limit again",
                    {{"dropped", std::to_string(dropped_in_overload_)}});
        dropped_in_overload_ = 0;
    }
}

asio::awaitable<void> dispatcher::deliver(delivery d) {
    attempt_state st;
    std::string webhook = d.hook.url_credential.empty() ? config::url_origin(d.hook.url)
                                                        : "credential " + d.hook.url_credential;
    error_code ec;
    try {
        // start on a fresh handler: publish() never waits for the credential file or a connect
        co_await asio::post(ex_, asio::use_awaitable);
        std::optional<http::url> target;
        if (d.hook.url_credential.empty()) {
            target = http::parse_url(d.hook.url);
        } else {
            const char* from_env = std::getenv("CREDENTIALS_DIRECTORY");
            const std::string dir = opts_.credentials_directory.value_or(from_env ? from_env : "");
            auto cred = detail::read_credential_url(dir, d.hook.url_credential);
            if (cred.ec) {
                ec = cred.ec;
                st.detail = std::move(cred.detail);
            } else {
                webhook =
                    config::url_origin(cred.url.reveal()) + " (credential " + d.hook.url_credential + ")";
                target = http::parse_url(cred.url.reveal());
            }
        }
        if (!ec && !target) {
            ec = errc::invalid_url;
            st.detail = "the URL cannot be parsed";
        }
        if (!ec)
            ec = co_await send_with_retries(*target, d, st);
    } catch (const boost::system::system_error& err) {
        ec = err.code();  // cancelled at a suspension point
    }
    report(d, st, webhook, ec);
}

asio::awaitable<error_code> dispatcher::send_with_retries(const http::url& u, const delivery& d,
                                                          attempt_state& st) {
    using namespace asio::experimental::awaitable_operators;
    http::request req;
    req.method = boost::beast::http::verb::post;
    req.target = u.path;
    req.headers.set(boost::beast::http::field::content_type, "application/json");
    req.headers.set(boost::beast::http::field::user_agent, user_agent);
    req.body = http::body_source::memory(d.body);
    // at least once: an attempt that timed out is sent again, which may notify twice
    req.idempotent = true;

    const auto deadline = steady::now() + d.hook.deadline;
    const steady::duration timeout = d.hook.timeout;
    const http::retry_policy policy{d.hook.retries + 1, opts_.base_delay, opts_.max_delay};
    const auto op = [this, &u, &req, deadline, timeout, &st] {
        return attempt(u, req, deadline, timeout, st);
    };
    const auto on_retry = [this, &d, &st](const error_code& ec, int attempts,
                                          std::chrono::milliseconds delay) {
        log_.debug("webhook attempt failed; retrying",
                   {{"event", d.event},
                    {"env", d.environment},
                    {"attempt", std::to_string(attempts)},
                    {"status", st.status != 0 ? std::to_string(st.status) : "none"},
                    {"error", ec.message()},
                    {"delay", millis(delay)}});
    };
    asio::steady_timer deadline_timer(ex_, d.hook.deadline);
    auto retrying = http::with_retries(policy, true, random_, op, on_retry);
    auto expiring = deadline_timer.async_wait(use_tuple);
    auto done = co_await (std::move(retrying) || std::move(expiring));
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
        co_return asio::error::operation_aborted;
    if (done.index() == 1)
        co_return errc::deadline_exceeded;
    co_return std::get<0>(done).ec;
}

asio::awaitable<error_code> dispatcher::attempt(const http::url& u, const http::request& req,
                                                steady::time_point deadline, steady::duration timeout,
                                                attempt_state& st) {
    using namespace asio::experimental::awaitable_operators;
    ++st.attempts;
    st.status = 0;
    st.ec = {};
    st.detail.clear();
    const auto limit = std::min(timeout, deadline - steady::now());
    http::discard_sink sink;
    asio::steady_timer timer(ex_, limit);
    auto sending = http_.send(u, req, sink);
    auto expiring = timer.async_wait(use_tuple);
    auto r = co_await (std::move(sending) || std::move(expiring));
    if (r.index() == 1) {
        const auto [ec] = std::get<1>(r);
        if (ec) {
            st.ec = ec;  // cancelled
        } else {
            st.ec = http::errc::timeout;
            st.detail = "no response within " + millis(limit);
        }
        co_return st.ec;
    }
    const auto& res = std::get<0>(r);
    if (res.ec) {
        st.ec = res.ec;
        st.detail = res.info.detail;
        co_return st.ec;
    }
    st.status = res.res.status;
    st.ec = detail::status_outcome(st.status);
    co_return st.ec;
}

void dispatcher::report(const delivery& d, const attempt_state& st, const std::string& webhook,
                        const error_code& ec) {
    const std::string status = st.status != 0 ? std::to_string(st.status) : "none";
    const std::string attempts = std::to_string(st.attempts);
    if (!ec) {
        ++stats_.delivered;
        log_.info("webhook delivered", {{"webhook", webhook},
                                        {"event", d.event},
                                        {"env", d.environment},
                                        {"job", d.job_id},
                                        {"status", status},
                                        {"attempts", attempts}});
        return;
    }
    ++stats_.failed;
    const bool cancelled = ec == asio::error::operation_aborted;
    std::string error = ec.message();
    if (ec == errc::deadline_exceeded) {
        error += " (" + millis(d.hook.deadline) + "); last attempt: ";
        error += st.status != 0 ? "HTTP " + status : st.ec ? st.ec.message() : std::string("no answer yet");
    }
    if (!st.detail.empty())
        error += ": " + st.detail;
    log_.warning(cancelled ? "webhook delivery cancelled" : "webhook delivery failed",
                 {{"webhook", webhook},
                  {"event", d.event},
                  {"env", d.environment},
                  {"job", d.job_id},
                  {"status", status},
                  {"attempts", attempts},
                  {"error", error}});
}

}  // namespace tfsnap::notify
