#include "tfsnap/control/metrics_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <map>

namespace tfsnap::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string error_body(std::string_view code, std::string_view message) {
    // codes and messages here are fixed ASCII text: nothing to escape
    return std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":")" +
           std::string(message) + "\"}}";
}
}  // namespace

// The connections being served, so that run() can close them when it stops.
struct metrics_listener::tracker {
    std::map<std::uint64_t, beast::tcp_stream*> live;
    std::uint64_t next = 0;
};

metrics_listener::metrics_listener(asio::any_io_executor ex, metrics_listener_config cfg,
                                   std::function<std::string()> render, core::logger log)
    : ex_(ex),
      cfg_(std::move(cfg)),
      render_(std::move(render)),
      log_(log),
      acceptor_(ex),
      tracker_(std::make_shared<tracker>()) {}

metrics_listener::~metrics_listener() = default;

error_code metrics_listener::listen() {
    const std::string host = cfg_.host == "localhost" ? "127.0.0.1" : cfg_.host;
    const std::string where =
        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(cfg_.port);
    error_code ec;
    const auto addr = asio::ip::make_address(host, ec);
    if (ec) {
        error_detail_ = "metrics.listen " + where + ": not an IP address";
        return ec;
    }
    const tcp::endpoint ep(addr, cfg_.port);
    error_code ignored;
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(ep, ec);
    if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error_detail_ = "metrics.listen " + where + ": " + ec.message();
        acceptor_.close(ignored);
        return ec;
    }
    port_ = acceptor_.local_endpoint(ignored).port();
    return {};
}

asio::awaitable<void> metrics_listener::run() {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    for (;;) {
        auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
        if (!ec) {
            if (open_ >= cfg_.max_connections) {
                ++stats_.rejected;
                error_code ignored;
                sock.close(ignored);
                continue;
            }
            ++stats_.accepted;
            ++open_;
            asio::co_spawn(ex_, serve(std::move(sock)), asio::detached);
            continue;
        }
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (ec == asio::error::operation_aborted || cs.cancelled() != asio::cancellation_type::none)
            break;
        log_.error("metrics listener accept failed",
                   {{"event", "metrics-accept-failed"}, {"error", ec.message()}});
        asio::steady_timer pause(ex_);
        pause.expires_after(std::chrono::milliseconds(100));
        const auto [pec] = co_await pause.async_wait(use_tuple);
        if (pec)
            break;
    }
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state();
    error_code ignored;
    acceptor_.close(ignored);
    for (auto& [id, stream] : tracker_->live)
        stream->socket().close(ignored);
    asio::steady_timer t(ex_);
    while (open_ > 0) {
        t.expires_after(std::chrono::milliseconds(10));
        co_await t.async_wait(use_tuple);
    }
}

asio::awaitable<void> metrics_listener::serve(tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    const auto id = tracker_->next++;
    auto tracked = tracker_;
    tracked->live.emplace(id, &stream);
    beast::flat_buffer buf;
    try {
        for (;;) {
            bhttp::request_parser<bhttp::empty_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(cfg_.max_header_bytes));
            parser.body_limit(0);
            stream.expires_after(cfg_.header_timeout);
            auto [rec, n] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
            (void)n;
            bhttp::response<bhttp::string_body> res;
            res.version(11);
            bool close = false;
            if (rec) {
                if (rec == bhttp::error::end_of_stream || rec == beast::error::timeout ||
                    rec == asio::error::operation_aborted || rec == asio::error::connection_reset ||
                    rec == asio::error::eof || rec == asio::error::bad_descriptor)
                    break;
                const bool too_big = rec == bhttp::error::body_limit;
                res.result(too_big ? bhttp::status::payload_too_large : bhttp::status::bad_request);
                res.body() = too_big ? error_body("payload_too_large", "GET /metrics takes no body")
                                     : error_body("bad_request", "malformed HTTP request");
                res.set(bhttp::field::content_type, "application/json");
                close = true;
            } else {
                const auto& req = parser.get();
                std::string_view target = req.target();
                target = target.substr(0, target.find('?'));
                if (target != "/metrics") {
                    res.result(bhttp::status::not_found);
                    res.set(bhttp::field::content_type, "application/json");
                    res.body() = error_body("not_found", "only GET /metrics is served here");
                } else if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
                    res.result(bhttp::status::method_not_allowed);
                    res.set(bhttp::field::allow, "GET, HEAD");
                    res.set(bhttp::field::content_type, "application/json");
                    res.body() = error_body("method_not_allowed", "use GET");
                } else {
                    res.result(bhttp::status::ok);
                    res.set(bhttp::field::content_type, cfg_.content_type);
                    res.body() = render_();
                    if (req.method() == bhttp::verb::head) {
                        res.content_length(res.body().size());
                        res.body().clear();
                    }
                }
                close = !req.keep_alive();
            }
            res.keep_alive(!close);
            if (res.find(bhttp::field::content_length) == res.end())
                res.prepare_payload();
            stream.expires_after(cfg_.write_timeout);
            auto [wec, w] = co_await bhttp::async_write(stream, res, use_tuple);
            (void)w;
            ++stats_.requests;
            if (wec || close)
                break;
        }
    } catch (const std::exception& e) {
        log_.warning(std::string("metrics listener: ") + e.what(), {{"event", "metrics-request-failed"}});
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    tracked->live.erase(id);
    --open_;
}

}  // namespace tfsnap::control
