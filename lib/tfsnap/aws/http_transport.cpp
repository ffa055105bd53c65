#include "tfsnap/aws/http_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <cctype>

namespace tfsnap::aws {

namespace asio = boost::asio;

namespace {

constexpr std::size_t reply_limit = 1024 * 1024;

asio::awaitable<http_result> exchange(http::client& client, http_call call) {
    using namespace asio::experimental::awaitable_operators;
    http_result out;
    const auto u = http::parse_url(call.url);
    if (!u) {
        out.ec = http::errc::invalid_url;
        co_return out;
    }
    http::request req;
    req.method = boost::beast::http::string_to_verb(call.method);
    if (req.method == boost::beast::http::verb::unknown) {
        out.ec = http::errc::invalid_url;
        co_return out;
    }
    req.target = u->path;
    for (const auto& [k, v] : call.headers)
        req.headers.insert(k, v);
    req.body = http::body_source::memory(call.body);
    http::string_sink sink(reply_limit);

    asio::steady_timer timer(co_await asio::this_coro::executor, call.timeout);
    auto done =
        co_await (client.send(*u, req, sink) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (done.index() == 1) {
        out.ec = http::errc::timeout;
        co_return out;
    }
    auto r = std::get<0>(std::move(done));
    if (r.ec) {
        out.ec = r.ec;
        co_return out;
    }
    out.reply.status = r.res.status;
    for (const auto& f : r.res.headers) {
        std::string name(f.name_string());
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.reply.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    out.reply.body = sink.take();
    co_return out;
}

}  // namespace

transport make_transport(http::client& client) {
    return [&client](http_call call) { return exchange(client, std::move(call)); };
}

http::credentials_source as_credentials_source(provider_ptr provider) {
    return [provider = std::move(provider)]() -> asio::awaitable<http::credentials_lookup> {
        auto r = co_await provider->get();
        co_return http::credentials_lookup{r.ec, std::move(r.creds)};
    };
}

}  // namespace tfsnap::aws
