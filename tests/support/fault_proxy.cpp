#include "fault_proxy.hpp"
#include "loopback_listen.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include <sys/socket.h>
#include <sys/types.h>

namespace tfsnap::test {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t max_head = 64 * 1024;
// The one relay buffer per direction: bodies pass through it piece by piece, so memory does
// not grow with the body.
constexpr std::size_t relay_chunk = 64 * 1024;

constexpr std::string_view slow_down_body =
    R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>)"
    R"(<Message>Please reduce your request rate.</Message><RequestId>tfsnap-fault-proxy</RequestId></Error>)";

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

void close_gracefully(beast::tcp_stream& s) {
    boost::system::error_code ignored;
    s.socket().shutdown(tcp::socket::shutdown_send, ignored);
    s.close();
}

void close_with_reset(beast::tcp_stream& s) {
    boost::system::error_code ignored;
    s.socket().set_option(asio::socket_base::linger(true, 0), ignored);
    s.close();
}

// Whether a kept-alive connection with no request on it has been closed by its peer, or sent
// something unasked (such as a 408): either way it must not carry the next request. Closing an
// idle connection is ordinary for a server, and relaying a request into one would turn it into
// a fault the test did not ask for.
bool is_stale(tcp::socket& s) {
    char byte = 0;
    const ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

enum class relay_outcome { done, truncated, failed };

}  // namespace

struct fault_proxy::impl {
    struct connection {
        explicit connection(tcp::socket s) : client(std::move(s)), timer(client.get_executor()) {}
        beast::tcp_stream client;
        std::optional<beast::tcp_stream> upstream;  // open while it holds a usable connection
        asio::steady_timer timer;                   // stalls
    };

    impl(std::string host, std::uint16_t upstream_port, fault_proxy_options options)
        : host_(std::move(host)),
          upstream_port_(upstream_port),
          options_(options),
          acceptor_(io_),
          resolver_(io_) {
        port_ = listen_on_loopback(acceptor_);
        asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
        thread_ = std::thread([this] { io_.run(); });
    }

    ~impl() {
        // stop() runs on the proxy thread, so it cannot race with the coroutines it stops. Once
        // every socket and timer is closed, each coroutine finishes and io_.run() returns.
        asio::post(io_, [this] { stop(); });
        thread_.join();
    }

    void stop() {
        stopping_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        resolver_.cancel();
        for (const auto& c : connections_) {
            c->timer.cancel();
            close_gracefully(c->client);
            if (c->upstream) {
                c->upstream->close();
            }
        }
    }

    fault fault_for(std::size_t n) {
        std::lock_guard lock(mutex_);
        auto it = faults_.find(n);
        if (it == faults_.end()) {
            return {};
        }
        fault f = it->second;
        faults_.erase(it);
        return f;
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
            if (stopping_ || ec == asio::error::operation_aborted || !acceptor_.is_open()) {
                co_return;
            }
            if (ec) {
                continue;  // e.g. out of descriptors for a moment: keep listening
            }
            // Heads and bodies go out in separate writes: without this, Nagle's algorithm and
            // delayed ACKs add 40 ms to every exchange.
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            auto c = std::make_shared<connection>(std::move(socket));
            connections_.insert(c);
            asio::co_spawn(io_, serve(c), [this, c](std::exception_ptr) { connections_.erase(c); });
        }
    }

    // Reads a message body and throws it away, through the relay buffer.
    template <bool IsRequest>
    asio::awaitable<bool> drain(beast::tcp_stream& in, beast::flat_buffer& buffer,
                                http::parser<IsRequest, http::buffer_body>& p) {
        std::array<char, relay_chunk> chunk;
        while (!p.is_done()) {
            p.get().body().data = chunk.data();
            p.get().body().size = chunk.size();
            in.expires_after(options_.io_timeout);
            auto [ec, n] = co_await http::async_read(in, buffer, p, use_tuple);
            if (ec && ec != http::error::need_buffer) {
                co_return false;
            }
            if (stopping_) {
                co_return false;
            }
        }
        co_return true;
    }

    // Writes the head of p's message to `out`, then its body as it arrives from `in`, after the
    // Beast relay example. With a limit, stops after that many body bytes.
    template <bool IsRequest>
    asio::awaitable<relay_outcome> relay(beast::tcp_stream& in, beast::flat_buffer& buffer,
                                         http::parser<IsRequest, http::buffer_body>& p,
                                         beast::tcp_stream& out, std::optional<std::size_t> limit) {
        http::serializer<IsRequest, http::buffer_body> sr{p.get()};
        out.expires_after(options_.io_timeout);
        {
            auto [ec, n] = co_await http::async_write_header(out, sr, use_tuple);
            if (ec || stopping_) {
                co_return relay_outcome::failed;
            }
        }
        std::array<char, relay_chunk> chunk;
        std::size_t relayed = 0;
        for (;;) {
            if (limit && relayed >= *limit) {
                co_return relay_outcome::truncated;
            }
            if (!p.is_done()) {
                std::size_t room = chunk.size();
                if (limit) {
                    room = std::min(room, *limit - relayed);
                }
                p.get().body().data = chunk.data();
                p.get().body().size = room;
                in.expires_after(options_.io_timeout);
                auto [ec, n] = co_await http::async_read(in, buffer, p, use_tuple);
                if ((ec && ec != http::error::need_buffer) || stopping_) {
                    co_return relay_outcome::failed;
                }
                const std::size_t got = room - p.get().body().size;
                relayed += got;
                p.get().body().data = chunk.data();
                p.get().body().size = got;
                p.get().body().more = !p.is_done();
            } else {
                p.get().body().data = nullptr;
                p.get().body().size = 0;
                p.get().body().more = false;
            }
            out.expires_after(options_.io_timeout);
            auto [ec, n] = co_await http::async_write(out, sr, use_tuple);
            if ((ec && ec != http::error::need_buffer) || stopping_) {
                co_return relay_outcome::failed;
            }
            if (p.is_done() && sr.is_done()) {
                co_return relay_outcome::done;
            }
        }
    }

    void drop_upstream(connection& c) {
        if (c.upstream) {
            c.upstream->close();
            c.upstream.reset();
        }
    }

    asio::awaitable<bool> connect_upstream(connection& c, beast::flat_buffer& upstream_buffer) {
        if (c.upstream && upstream_buffer.size() == 0 && !is_stale(c.upstream->socket())) {
            co_return true;
        }
        drop_upstream(c);
        upstream_buffer.clear();
        auto [rec, results] =
            co_await resolver_.async_resolve(host_, std::to_string(upstream_port_), use_tuple);
        if (rec || stopping_) {
            co_return false;
        }
        c.upstream.emplace(io_);
        c.upstream->expires_after(options_.connect_timeout);
        auto [ec, ep] = co_await c.upstream->async_connect(results, use_tuple);
        if (ec || stopping_) {
            c.upstream.reset();
            co_return false;
        }
        boost::system::error_code ignored;
        c.upstream->socket().set_option(tcp::no_delay(true), ignored);
        co_return true;
    }

    asio::awaitable<bool> answer(connection& c, http::status status, unsigned version, bool keep_alive,
                                 std::string_view content_type, std::string_view body) {
        http::response<http::string_body> res{status, version};
        res.set(http::field::content_type, content_type);
        res.body() = std::string(body);
        res.keep_alive(keep_alive);
        res.prepare_payload();
        c.client.expires_after(options_.io_timeout);
        auto [ec, n] = co_await http::async_write(c.client, res, use_tuple);
        co_return !ec && !stopping_;
    }

    // One client connection: read a request head, apply its fault or forward it, repeat.
    asio::awaitable<void> serve(std::shared_ptr<connection> c) {
        beast::flat_buffer client_buffer;
        beast::flat_buffer upstream_buffer;
        while (!stopping_) {
            http::request_parser<http::buffer_body> req_p;
            req_p.header_limit(max_head);
            req_p.body_limit(boost::none);
            c->client.expires_after(options_.idle_timeout);
            {
                auto [ec, n] = co_await http::async_read_header(c->client, client_buffer, req_p, use_tuple);
                if (ec || stopping_) {
                    break;
                }
            }
            const fault f = fault_for(++seen_);
            auto& req = req_p.get();
            const bool expects_continue = iequals(req[http::field::expect], "100-continue");

            if (f.kind == fault_kind::reset) {
                close_with_reset(c->client);
                break;
            }
            if (f.kind == fault_kind::stall) {
                if (!expects_continue && !co_await drain(c->client, client_buffer, req_p)) {
                    break;
                }
                c->timer.expires_after(f.stall_for);
                co_await c->timer.async_wait(use_tuple);
                break;
            }
            if (f.kind == fault_kind::slow_down) {
                // A client waiting for 100 Continue sends no body: answer and close instead of
                // waiting for one.
                const bool keep = req.keep_alive() && !expects_continue;
                if (keep && !co_await drain(c->client, client_buffer, req_p)) {
                    break;
                }
                if (!co_await answer(*c, http::status::service_unavailable, req.version(), keep,
                                     "application/xml", slow_down_body) ||
                    !keep) {
                    break;
                }
                continue;
            }

            if (!co_await connect_upstream(*c, upstream_buffer)) {
                if (!stopping_) {
                    co_await answer(*c, http::status::bad_gateway, req.version(), false, "text/plain",
                                    "fault_proxy: upstream unreachable");
                }
                break;
            }
            if (expects_continue) {
                req.erase(http::field::expect);
                static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
                c->client.expires_after(options_.io_timeout);
                auto [ec, n] = co_await asio::async_write(c->client, asio::buffer(cont), use_tuple);
                if (ec || stopping_) {
                    break;
                }
            }
            const bool is_head = req.method() == http::verb::head;
            const bool client_keep_alive = req_p.keep_alive();

            if (co_await relay(c->client, client_buffer, req_p, *c->upstream, std::nullopt) !=
                relay_outcome::done) {
                break;
            }

            // The final response; interim ones (1xx) are not expected once Expect is gone, and
            // are skipped if they come.
            std::optional<http::response_parser<http::buffer_body>> res_p;
            for (;;) {
                res_p.emplace();
                res_p->header_limit(max_head);
                res_p->body_limit(boost::none);
                res_p->skip(is_head);
                c->upstream->expires_after(options_.io_timeout);
                auto [ec, n] =
                    co_await http::async_read_header(*c->upstream, upstream_buffer, *res_p, use_tuple);
                if (ec || stopping_) {
                    res_p.reset();
                    break;
                }
                if (res_p->get().result_int() / 100 != 1) {
                    break;
                }
            }
            if (!res_p) {
                break;
            }
            std::optional<std::size_t> limit;
            if (f.kind == fault_kind::truncate) {
                limit = f.truncate_after;
            }
            const relay_outcome out = co_await relay(*c->upstream, upstream_buffer, *res_p, c->client, limit);
            if (out != relay_outcome::done || f.kind == fault_kind::truncate) {
                break;
            }
            // After the relay, because a response delimited by EOF is known only once parsed.
            const bool upstream_keep_alive = res_p->keep_alive();
            if (!upstream_keep_alive) {
                drop_upstream(*c);
                upstream_buffer.clear();
            }
            if (!client_keep_alive || !upstream_keep_alive) {
                break;
            }
        }
        close_gracefully(c->client);
        drop_upstream(*c);
    }

    std::string host_;
    std::uint16_t upstream_port_;
    fault_proxy_options options_;

    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    tcp::resolver resolver_;
    std::uint16_t port_ = 0;
    std::thread thread_;

    // Touched only on the proxy thread.
    bool stopping_ = false;
    std::set<std::shared_ptr<connection>> connections_;

    std::atomic<std::size_t> seen_{0};
    mutable std::mutex mutex_;
    std::map<std::size_t, fault> faults_;
};

fault_proxy::fault_proxy(std::string upstream_host, std::uint16_t upstream_port)
    : fault_proxy(std::move(upstream_host), upstream_port, fault_proxy_options{}) {}

fault_proxy::fault_proxy(std::string upstream_host, std::uint16_t upstream_port, fault_proxy_options options)
    : impl_(std::make_unique<impl>(std::move(upstream_host), upstream_port, options)) {}

fault_proxy::~fault_proxy() = default;

void fault_proxy::on_request(std::size_t n, fault f) {
    std::lock_guard lock(impl_->mutex_);
    impl_->faults_[n] = f;
}

void fault_proxy::clear() {
    std::lock_guard lock(impl_->mutex_);
    impl_->faults_.clear();
}

std::uint16_t fault_proxy::port() const {
    return impl_->port_;
}

std::string fault_proxy::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port_);
}

std::size_t fault_proxy::requests_seen() const {
    return impl_->seen_.load();
}

}  // namespace tfsnap::test
