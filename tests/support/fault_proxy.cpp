#include "fault_proxy.hpp"
#include "loopback_listen.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
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
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string_view>
#include <thread>
#include <variant>

#include <sys/socket.h>
#include <sys/types.h>

namespace tfsnap::test {

std::string_view to_string(fault_kind k) noexcept {
    switch (k) {
        case fault_kind::pass:
            return "pass";
        case fault_kind::reset:
            return "reset";
        case fault_kind::stall:
            return "stall";
        case fault_kind::slow_down:
            return "slow_down";
        case fault_kind::truncate:
            return "truncate";
        case fault_kind::internal_error:
            return "internal_error";
    }
    return "pass";
}

std::optional<fault_kind> parse_fault_kind(std::string_view s) noexcept {
    for (const auto k : {fault_kind::pass, fault_kind::reset, fault_kind::stall, fault_kind::slow_down,
                         fault_kind::truncate, fault_kind::internal_error}) {
        if (to_string(k) == s) {
            return k;
        }
    }
    return std::nullopt;
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t max_head = 64 * 1024;
// The one relay buffer per direction: bodies pass through it piece by piece, so memory does
// not grow with the body.
constexpr std::size_t relay_chunk = 64 * 1024;
constexpr std::size_t log_capacity = 100'000;

struct made_up_error {
    http::status status;
    std::string_view content_type;
    std::string_view body;
};

made_up_error error_for(fault_kind k, error_dialect d) {
    const bool throttle = k == fault_kind::slow_down;
    if (d == error_dialect::dynamodb) {
        // What DynamoDB itself answers: throttling is a 400 ThrottlingException (nothing was
        // processed), a server failure a 500 InternalServerError, in the JSON 1.0 error shape.
        if (throttle) {
            return {http::status::bad_request, "application/x-amz-json-1.0",
                    R"({"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",)"
                    R"("message":"Rate of requests exceeds the allowed throughput."})"};
        }
        return {http::status::internal_server_error, "application/x-amz-json-1.0",
                R"({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",)"
                R"("message":"Internal server error"})"};
    }
    if (throttle) {
        return {
            http::status::service_unavailable, "application/xml",
            R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>)"
            R"(<Message>Please reduce your request rate.</Message><RequestId>tfsnap-fault-proxy</RequestId></Error>)"};
    }
    return {http::status::internal_server_error, "application/xml",
            R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>)"
            R"(<Message>We encountered an internal error. Please try again.</Message>)"
            R"(<RequestId>tfsnap-fault-proxy</RequestId></Error>)"};
}

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

// A rule as the proxy keeps it: the regexes compiled once.
struct rule_state {
    rule spec;
    std::optional<std::regex> path, header_value;
    rule_status status;
};

// What to do with one request.
struct decision {
    enum class what { pass, fault, hold, hold_response } act = what::pass;
    fault f{};
    std::size_t rule = 0;
    std::chrono::milliseconds hold_for{0};
    std::chrono::milliseconds delay{0};
    std::size_t hold_after_bytes = 0;
    bool needs_body = false;  // a rule may match once the body is known: read it, then decide again
};

}  // namespace

struct fault_proxy::impl {
    struct connection {
        explicit connection(tcp::socket s) : client(std::move(s)), timer(client.get_executor()) {}
        beast::tcp_stream client;
        std::optional<beast::tcp_stream> upstream;  // open while it holds a usable connection
        asio::steady_timer timer;                   // stalls, holds, delays
        std::size_t held_by = 0;                    // the rule holding this connection's request
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

    // ------------------------------------------------------------------ decisions (any thread)

    static bool head_matches(const rule_state& r, const http::request_header<>& req) {
        const auto& m = r.spec.match;
        if (!m.method.empty() && !iequals(m.method, std::string_view(req.method_string()))) {
            return false;
        }
        if (r.path) {
            const std::string target(req.target());
            if (!std::regex_search(target, *r.path)) {
                return false;
            }
        }
        if (!m.header.empty()) {
            const auto it = req.find(m.header);
            if (it == req.end()) {
                return false;
            }
            if (r.header_value) {
                const std::string value(it->value());
                if (!std::regex_search(value, *r.header_value)) {
                    return false;
                }
            }
        }
        return true;
    }

    static bool active(const rule_state& r) {
        return !r.status.released && (r.spec.times == 0 || r.status.matched < r.spec.times);
    }

    // `body`: the request body when it has been read; `body_readable`: whether it could be.
    decision decide(std::size_t n, const http::request_header<>& req, const std::string* body,
                    bool body_readable) {
        std::lock_guard lock(mutex_);
        decision d;
        if (auto it = faults_.find(n); it != faults_.end()) {
            d.act = decision::what::fault;
            d.f = it->second;
            faults_.erase(it);
            return d;
        }
        for (auto& [id, r] : rules_) {
            if (!active(r) || !head_matches(r, req)) {
                continue;
            }
            if (!r.spec.match.body.empty()) {
                if (body == nullptr) {
                    if (body_readable) {
                        d.needs_body = true;
                        return d;
                    }
                    continue;
                }
                if (body->find(r.spec.match.body) == std::string::npos) {
                    continue;
                }
            }
            ++r.status.matched;
            d.rule = id;
            switch (r.spec.action) {
                case rule_action::hold:
                    d.act = decision::what::hold;
                    break;
                case rule_action::hold_response:
                    d.act = decision::what::hold_response;
                    break;
                case rule_action::fault:
                    d.act = decision::what::fault;
                    d.f = r.spec.what;
                    break;
            }
            d.hold_for = std::min(r.spec.hold_for, options_.max_hold);
            d.hold_after_bytes = r.spec.hold_after_bytes;
            return d;
        }
        const auto& rf = random_;
        if (rf.share > 0 && !rf.kinds.empty() &&
            std::uniform_real_distribution<double>(0, 1)(rng_) < rf.share) {
            const auto kind =
                rf.kinds[std::uniform_int_distribution<std::size_t>(0, rf.kinds.size() - 1)(rng_)];
            if (kind != fault_kind::pass) {
                d.act = decision::what::fault;
                d.f.kind = kind;
                d.f.stall_for = std::min(rf.stall_for, options_.max_hold);
                d.f.truncate_after = std::uniform_int_distribution<std::size_t>(0, rf.truncate_after)(rng_);
                return d;
            }
        }
        if (rf.delay_max.count() > 0) {
            d.delay = std::chrono::milliseconds(
                std::uniform_int_distribution<std::int64_t>(0, rf.delay_max.count())(rng_));
        }
        return d;
    }

    void count(fault_kind k) {
        std::lock_guard lock(mutex_);
        switch (k) {
            case fault_kind::pass:
                break;
            case fault_kind::reset:
                ++counts_.reset;
                break;
            case fault_kind::stall:
                ++counts_.stall;
                break;
            case fault_kind::slow_down:
                ++counts_.slow_down;
                break;
            case fault_kind::truncate:
                ++counts_.truncate;
                break;
            case fault_kind::internal_error:
                ++counts_.internal_error;
                break;
        }
    }

    void log_request(std::size_t n, const http::request_header<>& req) {
        std::lock_guard lock(mutex_);
        logged_request e;
        e.n = n;
        e.method = std::string(req.method_string());
        e.target = std::string(req.target());
        if (const auto it = req.find("X-Amz-Target"); it != req.end()) {
            e.amz_target = std::string(it->value());
        }
        e.action = "pass";
        e.at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
        // Heads arrive in number order on one thread, so the log stays sorted by number.
        log_.push_back(std::move(e));
        while (log_.size() > log_capacity) {
            log_.pop_front();
        }
    }

    template <class F>
    void update_log(std::size_t n, F change) {
        std::lock_guard lock(mutex_);
        if (log_.empty() || n < log_.front().n || n > log_.back().n) {
            return;
        }
        auto& e = log_[n - log_.front().n];
        if (e.n == n) {
            change(e);
        }
    }

    void note(std::size_t n, std::string action, std::size_t rule = 0) {
        update_log(n, [&](logged_request& e) {
            e.action = std::move(action);
            if (rule != 0) {
                e.rule = rule;
            }
        });
    }

    void note_status(std::size_t n, unsigned status) {
        update_log(n, [&](logged_request& e) { e.status = status; });
    }

    // ------------------------------------------------------------------ proxy thread

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

    // Completes when the client of `c` closes its connection (or it fails). If the client sends
    // bytes instead (a body the proxy has not read), closing can no longer be seen: it then waits
    // until cancelled.
    static asio::awaitable<void> client_leaves(connection& c) {
        auto& s = c.client.socket();
        for (;;) {
            auto [ec] = co_await s.async_wait(tcp::socket::wait_read, use_tuple);
            if (ec) {
                co_return;
            }
            char byte = 0;
            const ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                co_return;
            }
            if (n > 0) {
                asio::steady_timer forever(s.get_executor(), asio::steady_timer::time_point::max());
                co_await forever.async_wait(use_tuple);
                co_return;
            }
        }
    }

    // Holds the request of `c` for rule `id`: until the rule is released, `d` passes, or the
    // client goes away. False when the client went away or the proxy stops: drop the request.
    asio::awaitable<bool> hold(connection& c, std::size_t id, std::chrono::milliseconds d) {
        {
            std::lock_guard lock(mutex_);
            auto it = rules_.find(id);
            if (it == rules_.end() || it->second.status.released) {
                co_return !stopping_;
            }
            ++it->second.status.holding;
            ++counts_.held;
        }
        c.held_by = id;
        c.timer.expires_after(d);
        auto r = co_await (c.timer.async_wait(use_tuple) || client_leaves(c));
        c.held_by = 0;
        const bool gone = r.index() == 1;
        {
            std::lock_guard lock(mutex_);
            if (auto it = rules_.find(id); it != rules_.end()) {
                --it->second.status.holding;
                if (gone) {
                    ++it->second.status.dropped;
                }
            }
            if (gone) {
                ++counts_.dropped;
            }
        }
        co_return !gone && !stopping_;
    }

    void wake_holders(std::size_t id) {
        asio::post(io_, [this, id] {
            for (const auto& c : connections_) {
                if (c->held_by == id) {
                    c->timer.cancel();
                }
            }
        });
    }

    // Reads a whole request body (of a known length, at most max_match_body) into memory.
    asio::awaitable<std::optional<std::string>> read_body(beast::tcp_stream& in, beast::flat_buffer& buffer,
                                                          http::request_parser<http::buffer_body>& p) {
        std::string body;
        std::array<char, relay_chunk> chunk;
        while (!p.is_done()) {
            p.get().body().data = chunk.data();
            p.get().body().size = chunk.size();
            in.expires_after(options_.io_timeout);
            auto [ec, n] = co_await http::async_read(in, buffer, p, use_tuple);
            if ((ec && ec != http::error::need_buffer) || stopping_) {
                co_return std::nullopt;
            }
            body.append(chunk.data(), chunk.size() - p.get().body().size);
            if (body.size() > max_match_body) {
                co_return std::nullopt;
            }
        }
        co_return body;
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
                                         beast::tcp_stream& out, std::optional<std::size_t> limit,
                                         std::size_t pause_at,
                                         const std::function<asio::awaitable<bool>()>* on_pause) {
        http::serializer<IsRequest, http::buffer_body> sr{p.get()};
        bool paused = false;
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
            if (on_pause != nullptr && !paused && relayed >= pause_at) {
                paused = true;
                if (!co_await (*on_pause)()) {
                    co_return relay_outcome::failed;
                }
            }
            if (!p.is_done()) {
                std::size_t room = chunk.size();
                if (limit) {
                    room = std::min(room, *limit - relayed);
                }
                if (on_pause != nullptr && !paused) {
                    room = std::min(room, pause_at - relayed);
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

    asio::awaitable<bool> send_continue(connection& c) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        c.client.expires_after(options_.io_timeout);
        auto [ec, n] = co_await asio::async_write(c.client, asio::buffer(cont), use_tuple);
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
            const std::size_t number = ++seen_;
            auto& req = req_p.get();
            log_request(number, req);
            bool expects_continue = iequals(req[http::field::expect], "100-continue");
            const bool body_readable =
                !req_p.chunked() && req_p.content_length() && *req_p.content_length() <= max_match_body;

            decision d = decide(number, req, nullptr, body_readable);
            std::optional<std::string> body;  // read whole, for a rule that looks into it
            if (d.needs_body) {
                if (expects_continue) {
                    req.erase(http::field::expect);
                    expects_continue = false;
                    if (!co_await send_continue(*c)) {
                        break;
                    }
                }
                body = co_await read_body(c->client, client_buffer, req_p);
                if (!body) {
                    break;
                }
                d = decide(number, req, &*body, true);
            }

            if (d.act == decision::what::fault) {
                const fault& f = d.f;
                count(f.kind);
                note(number, std::string(to_string(f.kind)), d.rule);
                if (f.kind == fault_kind::reset) {
                    close_with_reset(c->client);
                    break;
                }
                if (f.kind == fault_kind::stall) {
                    if (!body && !expects_continue && !co_await drain(c->client, client_buffer, req_p)) {
                        break;
                    }
                    c->timer.expires_after(std::min(f.stall_for, options_.max_hold));
                    co_await c->timer.async_wait(use_tuple);
                    break;
                }
                if (f.kind == fault_kind::slow_down || f.kind == fault_kind::internal_error) {
                    // A client waiting for 100 Continue sends no body: answer and close instead of
                    // waiting for one.
                    const bool keep = req.keep_alive() && !expects_continue;
                    if (keep && !body && !co_await drain(c->client, client_buffer, req_p)) {
                        break;
                    }
                    const auto e = error_for(f.kind, options_.dialect);
                    note_status(number, static_cast<unsigned>(e.status));
                    if (!co_await answer(*c, e.status, req.version(), keep, e.content_type, e.body) ||
                        !keep) {
                        break;
                    }
                    continue;
                }
            }
            if (d.act == decision::what::hold) {
                // Read first, so that the connection falls quiet: a hold must tell a client that
                // leaves from one whose body is still arriving.
                if (!body && body_readable && !expects_continue) {
                    body = co_await read_body(c->client, client_buffer, req_p);
                    if (!body) {
                        break;
                    }
                }
                note(number, "held", d.rule);
                if (!co_await hold(*c, d.rule, d.hold_for)) {
                    note(number, "dropped", d.rule);
                    break;
                }
            }
            if (d.delay.count() > 0) {
                // Like a hold: a request whose client is gone by the end of its delay is dropped, so
                // that nothing lands after a killed client's restart.
                if (!body && body_readable && !expects_continue) {
                    body = co_await read_body(c->client, client_buffer, req_p);
                    if (!body) {
                        break;
                    }
                }
                c->timer.expires_after(d.delay);
                auto r = co_await (c->timer.async_wait(use_tuple) || client_leaves(*c));
                if (stopping_) {
                    break;
                }
                if (r.index() == 1) {
                    note(number, "dropped");
                    std::lock_guard lock(mutex_);
                    ++counts_.dropped;
                    break;
                }
            }

            if (!co_await connect_upstream(*c, upstream_buffer)) {
                if (!stopping_) {
                    note_status(number, 502);
                    co_await answer(*c, http::status::bad_gateway, req.version(), false, "text/plain",
                                    "fault_proxy: upstream unreachable");
                }
                break;
            }
            if (expects_continue) {
                req.erase(http::field::expect);
                if (!co_await send_continue(*c)) {
                    break;
                }
            }
            const bool is_head = req.method() == http::verb::head;
            const bool client_keep_alive = req_p.keep_alive();

            if (body) {
                // The headers as the client sent them (Content-Length included), the body from memory.
                http::request<http::string_body> whole(std::move(req.base()));
                whole.body() = std::move(*body);
                c->upstream->expires_after(options_.io_timeout);
                auto [ec, n] = co_await http::async_write(*c->upstream, whole, use_tuple);
                if (ec || stopping_) {
                    break;
                }
            } else if (co_await relay(c->client, client_buffer, req_p, *c->upstream, std::nullopt, 0,
                                      nullptr) != relay_outcome::done) {
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
            note_status(number, res_p->get().result_int());
            // hold_response: before the head, or after `hold_after_bytes` of the body
            const std::function<asio::awaitable<bool>()> hold_now = [&]() -> asio::awaitable<bool> {
                note(number, "held_response", d.rule);
                if (!co_await hold(*c, d.rule, d.hold_for)) {
                    note(number, "dropped", d.rule);
                    co_return false;
                }
                co_return true;
            };
            const bool hold_in_body = d.act == decision::what::hold_response && d.hold_after_bytes > 0;
            if (d.act == decision::what::hold_response && !hold_in_body && !co_await hold_now()) {
                break;
            }
            std::optional<std::size_t> limit;
            const bool truncating = d.act == decision::what::fault && d.f.kind == fault_kind::truncate;
            if (truncating) {
                limit = d.f.truncate_after;
            }
            const relay_outcome out = co_await relay(*c->upstream, upstream_buffer, *res_p, c->client, limit,
                                                     d.hold_after_bytes, hold_in_body ? &hold_now : nullptr);
            if (out == relay_outcome::truncated && !res_p->is_done()) {
                std::lock_guard lock(mutex_);
                ++counts_.truncated_bodies;
            }
            if (out != relay_outcome::done || truncating) {
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
    // Guards everything below.
    mutable std::mutex mutex_;
    std::map<std::size_t, fault> faults_;
    std::map<std::size_t, rule_state> rules_;  // by id, in the order they were added
    std::size_t next_rule_ = 1;
    random_faults random_;
    std::mt19937_64 rng_{1};
    fault_counts counts_;
    std::deque<logged_request> log_;
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
    std::vector<std::size_t> ids;
    {
        std::lock_guard lock(impl_->mutex_);
        impl_->faults_.clear();
        impl_->random_ = random_faults{};
        for (const auto& [id, r] : impl_->rules_) {
            ids.push_back(id);
        }
        impl_->rules_.clear();
    }
    // Holders find their rule gone when they wake, and forward their request.
    for (const auto id : ids) {
        impl_->wake_holders(id);
    }
}

void fault_proxy::set_random_faults(random_faults r) {
    std::lock_guard lock(impl_->mutex_);
    impl_->rng_.seed(r.seed);
    impl_->random_ = std::move(r);
}

std::size_t fault_proxy::add_rule(rule r) {
    rule_state s;
    if (!r.match.path.empty()) {
        s.path.emplace(r.match.path, std::regex::ECMAScript);
    }
    if (!r.match.header_value.empty()) {
        s.header_value.emplace(r.match.header_value, std::regex::ECMAScript);
    }
    s.spec = std::move(r);
    s.status.exists = true;
    std::lock_guard lock(impl_->mutex_);
    const std::size_t id = impl_->next_rule_++;
    impl_->rules_.emplace(id, std::move(s));
    return id;
}

void fault_proxy::release(std::size_t rule_id) {
    {
        std::lock_guard lock(impl_->mutex_);
        auto it = impl_->rules_.find(rule_id);
        if (it == impl_->rules_.end()) {
            return;
        }
        it->second.status.released = true;
    }
    impl_->wake_holders(rule_id);
}

void fault_proxy::remove_rule(std::size_t rule_id) {
    release(rule_id);
    std::lock_guard lock(impl_->mutex_);
    impl_->rules_.erase(rule_id);
}

rule_status fault_proxy::status_of(std::size_t rule_id) const {
    std::lock_guard lock(impl_->mutex_);
    const auto it = impl_->rules_.find(rule_id);
    return it == impl_->rules_.end() ? rule_status{} : it->second.status;
}

fault_counts fault_proxy::injected() const {
    std::lock_guard lock(impl_->mutex_);
    return impl_->counts_;
}

std::vector<logged_request> fault_proxy::request_log(std::size_t since) const {
    std::lock_guard lock(impl_->mutex_);
    std::vector<logged_request> out;
    for (const auto& e : impl_->log_) {
        if (e.n > since) {
            out.push_back(e);
        }
    }
    return out;
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
