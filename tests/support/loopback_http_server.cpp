#include "loopback_http_server.hpp"
#include "loopback_listen.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

namespace tfsnap::test {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::uint64_t max_request_body = 16 * 1024 * 1024;
constexpr std::uint32_t max_request_head = 64 * 1024;
// Long enough for any test, short enough that a client that vanished without closing cannot
// pin a connection for the rest of a test run.
constexpr std::chrono::seconds idle_timeout{60};
constexpr std::chrono::seconds io_timeout{30};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

recorded_request record(const http::request<http::string_body>& req) {
    recorded_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req) {
        r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
    }
    r.body = req.body();
    return r;
}

}  // namespace

std::string recorded_request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) {
            return v;
        }
    }
    return {};
}

struct loopback_http_server::impl {
    struct connection {
        explicit connection(tcp::socket s) : stream(std::move(s)), timer(stream.get_executor()) {}
        beast::tcp_stream stream;
        asio::steady_timer timer;  // the handler's `delay`
    };

    explicit impl(handler h) : handler_(std::move(h)), acceptor_(io_) {
        port_ = listen_on_loopback(acceptor_);
        asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
        thread_ = std::thread([this] { io_.run(); });
    }

    ~impl() {
        // stop() runs on the server thread, so it cannot race with the coroutines it stops. Once
        // every socket and timer is closed, each coroutine finishes and io_.run() returns.
        asio::post(io_, [this] { stop(); });
        thread_.join();
    }

    void stop() {
        stopping_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        for (const auto& c : connections_) {
            c->timer.cancel();
            c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            c->stream.close();
        }
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
            ++accepted_;
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            auto c = std::make_shared<connection>(std::move(socket));
            connections_.insert(c);
            asio::co_spawn(io_, serve(c), [this, c](std::exception_ptr) { connections_.erase(c); });
        }
    }

    canned_response answer(const recorded_request& r) {
        try {
            return handler_(r);
        } catch (const std::exception& e) {
            return canned_response{.status = 500, .body = e.what(), .close_after = true};
        } catch (...) {
            return canned_response{.status = 500, .body = "the handler threw", .close_after = true};
        }
    }

    asio::awaitable<bool> write_response(connection& c, const http::request<http::string_body>& req,
                                         const canned_response& canned) {
        http::response<http::string_body> res{static_cast<http::status>(canned.status), req.version()};
        bool framed = false;
        for (const auto& [name, value] : canned.headers) {
            res.insert(name, value);
            framed = framed || iequals(name, "content-length") || iequals(name, "transfer-encoding");
        }
        res.body() = canned.body;
        if (!framed) {
            res.content_length(res.body().size());
        }
        const bool keep_alive = req.keep_alive() && !canned.close_after;
        res.keep_alive(keep_alive);

        c.stream.expires_after(io_timeout);
        if (req.method() == http::verb::head) {
            http::response_serializer<http::string_body> sr{res};
            auto [ec, n] = co_await http::async_write_header(c.stream, sr, use_tuple);
            co_return !ec && keep_alive;
        }
        auto [ec, n] = co_await http::async_write(c.stream, res, use_tuple);
        co_return !ec && keep_alive;
    }

    asio::awaitable<void> serve(std::shared_ptr<connection> c) {
        beast::flat_buffer buffer;
        while (!stopping_) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(max_request_head);
            parser.body_limit(max_request_body);

            c->stream.expires_after(idle_timeout);
            auto [ec, n] = co_await http::async_read_header(c->stream, buffer, parser, use_tuple);
            if (ec || stopping_) {
                break;
            }
            if (iequals(parser.get()[http::field::expect], "100-continue")) {
                http::response<http::empty_body> cont{http::status::continue_, 11};
                c->stream.expires_after(io_timeout);
                auto [wec, wn] = co_await http::async_write(c->stream, cont, use_tuple);
                if (wec || stopping_) {
                    break;
                }
            }
            if (!parser.is_done()) {
                c->stream.expires_after(io_timeout);
                auto [rec, rn] = co_await http::async_read(c->stream, buffer, parser, use_tuple);
                if (rec == http::error::body_limit) {
                    http::response<http::string_body> too_large{http::status::payload_too_large, 11};
                    too_large.body() = "request body over 16 MiB";
                    too_large.keep_alive(false);
                    too_large.prepare_payload();
                    c->stream.expires_after(io_timeout);
                    co_await http::async_write(c->stream, too_large, use_tuple);
                    break;
                }
                if (rec || stopping_) {
                    break;
                }
            }

            const http::request<http::string_body> req = parser.release();
            recorded_request rec = record(req);
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(rec);
            }
            const canned_response canned = answer(rec);
            if (canned.delay.count() > 0) {
                c->timer.expires_after(canned.delay);
                co_await c->timer.async_wait(use_tuple);
                if (stopping_) {
                    break;
                }
            }
            if (!co_await write_response(*c, req, canned) || stopping_) {
                break;
            }
        }
        boost::system::error_code ignored;
        c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        c->stream.close();
    }

    handler handler_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::thread thread_;

    // Touched only on the server thread.
    bool stopping_ = false;
    std::set<std::shared_ptr<connection>> connections_;

    std::atomic<std::size_t> accepted_{0};
    mutable std::mutex mutex_;
    std::vector<recorded_request> requests_;
};

loopback_http_server::loopback_http_server(handler h) : impl_(std::make_unique<impl>(std::move(h))) {}

loopback_http_server::~loopback_http_server() = default;

std::uint16_t loopback_http_server::port() const {
    return impl_->port_;
}

std::string loopback_http_server::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port_);
}

std::vector<recorded_request> loopback_http_server::requests() const {
    std::lock_guard lock(impl_->mutex_);
    return impl_->requests_;
}

std::size_t loopback_http_server::connections_accepted() const {
    return impl_->accepted_.load();
}

}  // namespace tfsnap::test
