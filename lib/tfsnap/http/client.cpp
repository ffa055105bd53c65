#include "tfsnap/http/client.hpp"

#include "tfsnap/http/detail/exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <array>
#include <list>
#include <optional>
#include <vector>

namespace tfsnap::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using boost::system::error_code;
using detail::deadline;
using detail::steady;
using detail::step_error;
using detail::use_tuple;

namespace {

struct connection {
    std::string origin;
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;
    steady::time_point idle_since;
    bool reused = false;

    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

struct host_pool {
    std::vector<std::unique_ptr<connection>> idle;
    std::size_t open = 0;  // idle + in use
    std::list<asio::steady_timer*> waiters;
};

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

struct client::impl {
    asio::any_io_executor ex;
    const client_config& cfg;
    // Made at the first https request: a client that only ever talks plain HTTP (a local S3
    // endpoint, a test server) never loads the CA store.
    std::optional<asio::ssl::context> ssl;
    error_code init_error;
    std::string init_detail;
    std::map<std::string, host_pool> pools;

    impl(asio::any_io_executor e, const client_config& c) : ex(std::move(e)), cfg(c) {}

    // The TLS context, made once; its error (an unreadable CA bundle) is every https request's.
    bool tls_ready() {
        if (ssl)
            return !init_error;
        ssl.emplace(asio::ssl::context::tls_client);
        error_code ec;
        ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1,
                         ec);
        if (!cfg.verify_peer) {
            ssl->set_verify_mode(asio::ssl::verify_none, ec);
            return true;
        }
        ssl->set_verify_mode(asio::ssl::verify_peer, ec);
        if (cfg.ca_file.empty()) {
            ssl->set_default_verify_paths(ec);
        } else {
            ssl->load_verify_file(cfg.ca_file, ec);
        }
        if (ec) {
            init_error = errc::tls_handshake_failed;
            init_detail = cfg.ca_file.empty() ? "cannot load the system CA store"
                                              : "cannot load the CA bundle " + cfg.ca_file;
        }
        return !init_error;
    }

    void wake_one(host_pool& pool) {
        for (auto* t : pool.waiters) {
            if (t->cancel() > 0)
                return;  // a waiter already woken does not count
        }
    }

    void release(std::unique_ptr<connection> c, bool reusable) {
        auto& pool = pools[c->origin];
        if (reusable) {
            c->idle_since = steady::now();
            pool.idle.push_back(std::move(c));
        } else {
            --pool.open;
        }
        wake_one(pool);
    }

    asio::awaitable<error_code> connect(const url& u, connection& c, const deadline& d, error_info& info) {
        using namespace asio::experimental::awaitable_operators;
        info.phase = "resolve";
        auto left = d.step(cfg.resolve_timeout);
        if (!left)
            co_return errc::timeout;
        tcp::resolver resolver(ex);
        asio::steady_timer timer(ex, *left);
        const auto pinned = cfg.resolve_overrides.find(u.host);
        const std::string& lookup = pinned == cfg.resolve_overrides.end() ? u.host : pinned->second;
        auto resolved = co_await (resolver.async_resolve(lookup, std::to_string(u.port), use_tuple) ||
                                  timer.async_wait(use_tuple));
        if (resolved.index() == 1)
            co_return errc::timeout;
        auto [rec, endpoints] = std::get<0>(std::move(resolved));
        if (rec) {
            info.detail = rec.message();
            co_return rec == asio::error::operation_aborted ? rec : error_code(errc::resolve_failed);
        }

        info.phase = "connect";
        left = d.step(cfg.connect_timeout);
        if (!left)
            co_return errc::timeout;
        auto stream = std::make_unique<beast::tcp_stream>(ex);
        stream->expires_after(*left);
        auto [cec, ep] = co_await stream->async_connect(endpoints, use_tuple);
        if (cec) {
            info.detail = cec.message();
            co_return step_error(cec, errc::connect_failed);
        }
        error_code ignored;
        stream->socket().set_option(tcp::no_delay(true), ignored);
        if (!u.tls) {
            c.plain = std::move(stream);
            co_return error_code{};
        }

        info.phase = "handshake";
        c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), *ssl);
        // SNI carries host names only, never IP literals (RFC 6066 section 3)
        if (!is_ip_literal(u.host) && SSL_set_tlsext_host_name(c.tls->native_handle(), u.host.c_str()) != 1) {
            info.detail = "cannot set the TLS server name";
            co_return errc::tls_handshake_failed;
        }
        if (cfg.verify_peer)
            c.tls->set_verify_callback(asio::ssl::host_name_verification(u.host));
        left = d.step(cfg.handshake_timeout);
        if (!left)
            co_return errc::timeout;
        beast::get_lowest_layer(*c.tls).expires_after(*left);
        auto [hec] = co_await c.tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
        if (hec) {
            const long verify = SSL_get_verify_result(c.tls->native_handle());
            if (cfg.verify_peer && verify != X509_V_OK) {
                info.detail = X509_verify_cert_error_string(verify);
                co_return errc::tls_verify_failed;
            }
            info.detail = hec.message();
            co_return step_error(hec, errc::tls_handshake_failed);
        }
        co_return error_code{};
    }

    asio::awaitable<std::pair<error_code, std::unique_ptr<connection>>> acquire(const url& u,
                                                                                const deadline& d,
                                                                                error_info& info, stats& st) {
        const std::string origin = u.origin();
        auto& pool = pools[origin];
        for (;;) {
            while (!pool.idle.empty()) {
                auto c = std::move(pool.idle.back());
                pool.idle.pop_back();
                if (steady::now() - c->idle_since < cfg.idle_timeout) {
                    c->reused = true;
                    ++st.connections_reused;
                    co_return std::make_pair(error_code{}, std::move(c));
                }
                --pool.open;  // idle too long: the server has probably closed it
            }
            if (pool.open < cfg.max_connections_per_host) {
                ++pool.open;
                auto c = std::make_unique<connection>();
                c->origin = origin;
                const auto ec = co_await connect(u, *c, d, info);
                if (ec) {
                    --pool.open;
                    wake_one(pool);
                    co_return std::make_pair(ec, nullptr);
                }
                ++st.connections_opened;
                co_return std::make_pair(error_code{}, std::move(c));
            }
            // every connection is busy: wait for a release, within the deadline
            info.phase = "connect";
            asio::steady_timer t(ex, d.whole);
            pool.waiters.push_back(&t);
            const auto it = std::prev(pool.waiters.end());
            auto [wec] = co_await t.async_wait(use_tuple);
            pool.waiters.erase(it);
            if (!wec) {
                info.detail = "no free connection before the deadline";
                co_return std::make_pair(error_code(errc::timeout), nullptr);
            }
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) {
                co_return std::make_pair(error_code(asio::error::operation_aborted), nullptr);
            }
        }
    }
};

client::client(asio::any_io_executor ex, client_config cfg)
    : ex_(ex), cfg_(std::move(cfg)), impl_(std::make_unique<impl>(ex, cfg_)) {}

client::~client() = default;

void client::close_idle() {
    for (auto& [origin, pool] : impl_->pools) {
        pool.open -= pool.idle.size();
        pool.idle.clear();
    }
}

asio::awaitable<result> client::send(const url& u, const request& req, body_sink& sink) {
    ++stats_.requests;
    result r;
    r.info.target = u.origin();
    if (u.tls && !impl_->tls_ready()) {
        r.ec = impl_->init_error;
        r.info.phase = "handshake";
        r.info.detail = impl_->init_detail;
        co_return r;
    }
    const deadline d{steady::now() + cfg_.request_timeout};
    for (int attempt = 0;; ++attempt) {
        auto [ec, conn] = co_await impl_->acquire(u, d, r.info, stats_);
        if (ec) {
            r.ec = ec;
            co_return r;
        }
        detail::exchange_state st;
        st.reused = conn->reused;
        auto& lowest = conn->lowest();
        const auto set_timeout = [&lowest](steady::duration t) {
            lowest.expires_after(t);
            // Acknowledge at once. Servers that write a response's header and body separately
            // (radosgw does) otherwise wait, under Nagle's algorithm, for our delayed ACK: up to
            // 40 ms per response on a kept-alive connection. Linux clears the flag after use,
            // so it is set again before every step.
            int one = 1;
            ::setsockopt(lowest.socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        };
        if (conn->tls) {
            ec = co_await detail::exchange(*conn->tls, conn->buffer, u, req, cfg_, sink, d, r, st,
                                           set_timeout);
        } else {
            ec = co_await detail::exchange(*conn->plain, conn->buffer, u, req, cfg_, sink, d, r, st,
                                           set_timeout);
        }
        impl_->release(std::move(conn), !ec && st.reusable);
        if (ec && st.stale && req.idempotent && attempt == 0) {
            // the server closed the idle connection before it saw our request: try a new one
            ++stats_.stale_retries;
            continue;
        }
        r.ec = ec;
        if (!ec)
            r.info = error_info{.phase = {}, .target = u.origin(), .detail = {}};
        co_return r;
    }
}

}  // namespace tfsnap::http
