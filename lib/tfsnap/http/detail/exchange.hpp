#pragma once
// One HTTP/1.1 request/response exchange over an already connected stream, generic over the
// stream type so that unit tests can drive it over beast::test::stream. Used by client.cpp.
//
// `set_timeout(duration)` arms the stream's deadline before each step (tcp_stream's
// expires_after in production, nothing for test streams, which fail on command instead).

#include "tfsnap/http/body.hpp"
#include "tfsnap/http/client.hpp"
#include "tfsnap/http/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace tfsnap::http::detail {

using steady = std::chrono::steady_clock;
inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);
inline constexpr std::size_t chunk_size = 64 * 1024;

// The request's overall deadline, and each step's share of it.
struct deadline {
    steady::time_point whole;

    std::optional<steady::duration> step(std::chrono::milliseconds limit) const {
        const auto left = whole - steady::now();
        if (left <= steady::duration::zero())
            return std::nullopt;
        return std::min<steady::duration>(left, limit);
    }
};

// A closed or reset connection, as a reused keep-alive connection shows it when the server
// dropped it while it was idle.
inline bool is_connection_gone(const boost::system::error_code& ec) {
    namespace aerr = boost::asio::error;
    return ec == aerr::eof || ec == aerr::connection_reset || ec == aerr::broken_pipe ||
           ec == boost::asio::ssl::error::stream_truncated || ec == boost::beast::http::error::end_of_stream;
}

// The parser's own errors: the peer did not speak valid HTTP/1.1.
inline bool is_parse_error(const boost::system::error_code& ec) {
    namespace he = boost::beast::http;
    return ec.category() == he::make_error_code(he::error::bad_version).category() &&
           ec != he::error::need_buffer && ec != he::error::end_of_stream &&
           ec != he::error::partial_message && ec != he::error::header_limit && ec != he::error::body_limit;
}

inline boost::system::error_code step_error(const boost::system::error_code& ec, errc otherwise) {
    if (ec == boost::beast::error::timeout)
        return errc::timeout;
    if (ec == boost::asio::error::operation_aborted)
        return ec;  // cancelled by the caller
    return otherwise;
}

template <class Body>
void prepare_message(boost::beast::http::request<Body>& m, const request& req, const url& u,
                     const client_config& cfg) {
    namespace bhttp = boost::beast::http;
    m.method(req.method);
    m.target(req.target);
    m.version(11);
    for (const auto& f : req.headers)
        m.insert(f.name_string(), f.value());
    if (m.find(bhttp::field::host) == m.end())
        m.set(bhttp::field::host, u.host_header());
    if (m.find(bhttp::field::user_agent) == m.end())
        m.set(bhttp::field::user_agent, cfg.user_agent);
    m.keep_alive(true);
    m.prepare_payload();
}

template <class Stream, class Body, class SetTimeout>
boost::asio::awaitable<boost::system::error_code> write_message(Stream& s,
                                                                boost::beast::http::request<Body>& m,
                                                                const client_config& cfg, const deadline& d,
                                                                error_info& info, SetTimeout& set_timeout) {
    namespace bhttp = boost::beast::http;
    info.phase = "send";
    bhttp::serializer<true, Body> sr{m};
    while (!sr.is_done()) {
        const auto left = d.step(cfg.write_timeout);
        if (!left)
            co_return errc::timeout;
        set_timeout(*left);
        auto [ec, n] = co_await bhttp::async_write_some(s, sr, use_tuple);
        if (ec) {
            info.detail = ec.message();
            // file_body reports its read errors through the system category with no socket involved
            if (ec == boost::beast::errc::io_error || ec == boost::beast::errc::bad_file_descriptor) {
                co_return errc::body_source_failed;
            }
            co_return step_error(ec, errc::send_failed);
        }
    }
    co_return boost::system::error_code{};
}

struct exchange_state {
    bool reused = false;    // in: the connection served a request before
    bool stale = false;     // out: it was closed before any response byte arrived
    bool reusable = false;  // out: it can go back to the pool
};

// Writes `req` and reads the response into `r.res` and `sink`.
template <class Stream, class SetTimeout>
boost::asio::awaitable<boost::system::error_code> exchange(Stream& s, boost::beast::flat_buffer& buffer,
                                                           const url& u, const request& req,
                                                           const client_config& cfg, body_sink& sink,
                                                           const deadline& d, result& r, exchange_state& st,
                                                           SetTimeout set_timeout) {
    namespace bhttp = boost::beast::http;
    using boost::system::error_code;
    if (auto ec = sink.begin()) {
        r.info.phase = "receive";
        r.info.detail = ec.message();
        co_return errc::body_sink_failed;
    }
    error_code ec;
    switch (req.body.type()) {
        case body_source::kind::none: {
            bhttp::request<bhttp::empty_body> m;
            prepare_message(m, req, u, cfg);
            ec = co_await write_message(s, m, cfg, d, r.info, set_timeout);
            break;
        }
        case body_source::kind::memory: {
            bhttp::request<bhttp::span_body<const char>> m;
            m.body() = {req.body.bytes().data(), req.body.bytes().size()};
            prepare_message(m, req, u, cfg);
            ec = co_await write_message(s, m, cfg, d, r.info, set_timeout);
            break;
        }
        case body_source::kind::file: {
            bhttp::request<bhttp::file_body> m;
            error_code fec;
            m.body().open(req.body.path().c_str(), boost::beast::file_mode::scan, fec);
            if (fec) {
                r.info.phase = "send";
                r.info.detail = fec.message();
                co_return errc::body_source_failed;
            }
            prepare_message(m, req, u, cfg);
            ec = co_await write_message(s, m, cfg, d, r.info, set_timeout);
            break;
        }
    }
    if (ec) {
        st.stale = st.reused && ec == errc::send_failed;
        co_return ec;
    }

    r.info.phase = "receive";
    bhttp::response_parser<bhttp::buffer_body> p;
    p.header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
    p.body_limit(cfg.max_body_bytes);
    if (req.method == bhttp::verb::head)
        p.skip(true);

    auto left = d.step(cfg.read_timeout);
    if (!left)
        co_return errc::timeout;
    set_timeout(*left);
    // Beast reads max(512, free capacity) bytes at a time: without room in the buffer a 1 MiB
    // body takes ~2,000 reads (each a recvmsg, an epoll_wait and a timer update)
    if (buffer.capacity() < chunk_size)
        buffer.reserve(chunk_size);
    auto [hec, hn] = co_await bhttp::async_read_header(s, buffer, p, use_tuple);
    if (hec) {
        r.info.detail = hec.message();
        if (hec == bhttp::error::header_limit)
            co_return errc::header_too_large;
        if (hec == bhttp::error::body_limit)
            co_return errc::body_too_large;  // Content-Length over the limit
        if (is_connection_gone(hec)) {
            st.stale = st.reused && buffer.size() == 0;
            co_return errc::receive_failed;
        }
        if (is_parse_error(hec))
            co_return errc::bad_response;
        co_return step_error(hec, errc::receive_failed);
    }

    if (auto sec = sink.on_status(p.get().result_int())) {
        r.info.detail = sec.message();
        co_return errc::body_sink_failed;
    }
    std::unique_ptr<char[]> chunk;
    while (!p.is_done()) {
        if (!chunk)
            chunk = std::make_unique<char[]>(chunk_size);
        p.get().body().data = chunk.get();
        p.get().body().size = chunk_size;
        left = d.step(cfg.read_timeout);
        if (!left)
            co_return errc::timeout;
        set_timeout(*left);
        auto [bec, bn] = co_await bhttp::async_read(s, buffer, p, use_tuple);
        if (bec == bhttp::error::need_buffer)
            bec = {};
        const std::size_t got = chunk_size - p.get().body().size;
        if (got > 0) {
            if (auto wec = sink.write({chunk.get(), got})) {
                r.info.detail = wec.message();
                co_return wec.category() == http_category() ? wec : error_code(errc::body_sink_failed);
            }
        }
        if (bec) {
            r.info.detail = bec.message();
            if (bec == bhttp::error::partial_message || is_connection_gone(bec))
                co_return errc::truncated_body;
            if (bec == bhttp::error::body_limit)
                co_return errc::body_too_large;
            if (is_parse_error(bec))
                co_return errc::bad_response;
            co_return step_error(bec, errc::receive_failed);
        }
    }
    if (auto fec = sink.finish()) {
        r.info.detail = fec.message();
        co_return errc::body_sink_failed;
    }
    r.res.status = p.get().result_int();
    r.res.headers = p.get().base();
    st.reusable = p.keep_alive();
    co_return error_code{};
}

}  // namespace tfsnap::http::detail
