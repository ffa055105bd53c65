#include "ctl_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace tfsnap::daemon {

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local_stream = beast::basic_stream<asio::local::stream_protocol>;

// Runs the operation started on `ioc` to completion; returns its error.
template <class Start>
boost::system::error_code run(asio::io_context& ioc, Start&& start) {
    boost::system::error_code result = asio::error::operation_aborted;
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
}
}  // namespace

ctl_failure ctl_client::request(const std::string& method, const std::string& target, const std::string& body,
                                std::chrono::seconds timeout, ctl_response& out) const {
    asio::io_context ioc;
    local_stream stream(ioc);
    stream.expires_after(timeout);
    const asio::local::stream_protocol::endpoint ep(path_);
    if (auto ec = run(ioc, [&](auto h) { stream.async_connect(ep, std::move(h)); }))
        return {ec, ctl_stage::connect};

    http::request<http::string_body> req(method == "POST" ? http::verb::post : http::verb::get, target, 11);
    req.set(http::field::host, "localhost");
    req.set(http::field::user_agent, "tfsnapctl/" TFSNAP_VERSION);
    req.set(http::field::connection, "close");
    if (method == "POST") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
    }
    if (auto ec = run(ioc, [&](auto h) { http::async_write(stream, req, std::move(h)); }))
        return {ec, ctl_stage::exchange};

    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (auto ec = run(ioc, [&](auto h) { http::async_read(stream, buf, parser, std::move(h)); }))
        return {ec, ctl_stage::exchange};
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
    return {};
}

}  // namespace tfsnap::daemon
