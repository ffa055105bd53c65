// The control server over a real Unix socket in a temporary directory: requests and their
// peer credentials, authorization (a forked client that drops to nobody when the test runs as
// root), JSON errors, limits and deadlines, binding (stale, live and non-socket paths), socket
// activation, long polls, shutdown with no task left over, and curl.
//
// Every test drives one io_context with a deadline and checks that run() returned and that no
// work was left on the io_context.
#include "tfsnap/control/server.hpp"
#include "tfsnap/control/error.hpp"
#include "tfsnap/control/system_resolver.hpp"
#include "tfsnap/process/run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tfsnap::control {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
using local_socket = asio::local::stream_protocol::socket;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto test_deadline = 20s;

std::string user_name(uid_t uid) {
    const passwd* pw = ::getpwuid(uid);
    return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

// ---------------------------------------------------------------------------------------------
// Responses as a client sees them

struct reply {
    unsigned status = 0;
    std::string body;
    std::string content_type;
    std::string allow;
    bool keep_alive = false;

    // The "error" member of a JSON error body: its code ("" when the body is not one).
    std::string error_code() const {
        rapidjson::Document doc;
        doc.Parse(body.c_str());
        if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error") || !doc["error"].IsObject() ||
            !doc["error"].HasMember("code") || !doc["error"]["code"].IsString() ||
            !doc["error"].HasMember("message") || !doc["error"]["message"].IsString())
            return "";
        return doc["error"]["code"].GetString();
    }
};

template <class Parser>
reply to_reply(Parser& p) {
    const auto& res = p.get();
    reply r;
    r.status = res.result_int();
    r.body = res.body();
    r.content_type = std::string(res[bhttp::field::content_type]);
    r.allow = std::string(res[bhttp::field::allow]);
    r.keep_alive = res.keep_alive();
    return r;
}

std::optional<reply> parse_reply(const std::string& raw) {
    bhttp::response_parser<bhttp::string_body> p;
    p.eager(true);
    error_code ec;
    p.put(asio::buffer(raw), ec);
    if (ec || !p.is_done())
        return std::nullopt;
    return to_reply(p);
}

// A client on the same io_context.
class client {
public:
    explicit client(asio::any_io_executor ex) : sock_(ex) {}

    // Arguments by reference: callers pass named locals (GCC 12 and temporaries in co_await).
    asio::awaitable<error_code> connect(const std::string& path) {
        const asio::local::stream_protocol::endpoint ep(path);
        const auto [ec] = co_await sock_.async_connect(ep, use_tuple);
        co_return ec;
    }

    asio::awaitable<error_code> send(const std::string& raw) {
        const auto buffer = asio::buffer(raw);
        const auto [ec, n] = co_await asio::async_write(sock_, buffer, use_tuple);
        (void)n;
        co_return ec;
    }

    // The next response, or nullopt if none came in time.
    asio::awaitable<std::optional<reply>> receive() {
        bhttp::response_parser<bhttp::string_body> p;
        p.body_limit(1 << 20);
        asio::steady_timer timer(sock_.get_executor());
        timer.expires_after(5s);
        const auto r = co_await (bhttp::async_read(sock_, buf_, p, use_tuple) || timer.async_wait(use_tuple));
        if (r.index() != 0 || std::get<0>(std::get<0>(r)))
            co_return std::nullopt;
        co_return to_reply(p);
    }

    asio::awaitable<std::optional<reply>> roundtrip(const std::string& raw) {
        const auto ec = co_await send(raw);
        if (ec)
            co_return std::nullopt;
        auto r = co_await receive();
        co_return r;
    }

    // True when the server closes the connection within `limit` (nothing more to read).
    asio::awaitable<bool> closed_by_server(std::chrono::milliseconds limit) {
        std::array<char, 256> scratch{};
        const auto buffer = asio::buffer(scratch);
        asio::steady_timer timer(sock_.get_executor());
        timer.expires_after(limit);
        if (buf_.size() > 0)
            co_return false;
        const auto r = co_await (sock_.async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
        co_return r.index() == 0 && std::get<0>(std::get<0>(r)) != error_code();
    }

    void close() {
        error_code ignored;
        sock_.close(ignored);
    }

    local_socket& socket() { return sock_; }

private:
    local_socket sock_;
    beast::flat_buffer buf_;
};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(use_tuple);
}

// Waits (5 s at most) until `count` reaches `target`: a handler has got as far as it counts.
asio::awaitable<void> until(const int& count, int target) {
    for (int i = 0; i < 1000 && count < target; ++i)
        co_await sleep_for(5ms);
}

std::string get(std::string_view target, std::string_view extra = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra) + "\r\n";
}

std::string post(std::string_view target, std::string_view body, std::string_view extra = "") {
    return "POST " + std::string(target) +
           " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" +
           std::string(body);
}

// ---------------------------------------------------------------------------------------------
// The fixture: a temporary directory, an io_context, a server, and what its handler saw.

struct seen_request {
    std::string route;
    std::string body;
    peer_credentials peer;
    std::string principal;
    role granted = role::reader;
};

class ControlServer : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tfsnap-control-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        path_ = (dir_ / "control.sock").string();
        me_ = "user:" + user_name(::geteuid());
    }
    void TearDown() override {
        error_code ec;
        fs::remove_all(dir_, ec);
    }

    server_config config() const {
        server_config c;
        c.socket_path = path_;
        c.access.readers = {me_};
        c.access.operators = {me_};
        c.header_timeout = 5s;
        c.read_timeout = 5s;
        c.write_timeout = 5s;
        return c;
    }

    // Answers every request with 200 and {"route":...,"uid":...,"body":...}, and records it.
    handler echo() {
        return [this](request_context ctx) -> asio::awaitable<response> {
            seen_request s;
            s.route = std::string(to_string(ctx.route().route));
            s.body = ctx.req().body();
            s.peer = ctx.peer();
            s.principal = ctx.auth().principal;
            s.granted = ctx.auth().granted;
            seen_.push_back(s);
            rapidjson::StringBuffer buf;
            rapidjson::Writer<rapidjson::StringBuffer> w(buf);
            w.StartObject();
            w.Key("route");
            w.String(s.route.c_str());
            w.Key("uid");
            w.Uint(s.peer.uid);
            w.Key("body");
            w.String(s.body.c_str());
            w.EndObject();
            co_return json_response(200, buf.GetString());
        };
    }

    struct harness {
        server& srv;
        std::function<void(asio::cancellation_type)> stop;
    };
    using client_fn = std::function<asio::awaitable<void>(harness&)>;

    // Serves with `cfg` and `h` while `body` runs; then stops the server with a total
    // cancellation (unless `body` did) and checks that everything ended.
    void drive(server_config cfg, handler h, client_fn body) {
        server srv(io_.get_executor(), std::move(cfg), std::move(h), log_);
        const auto ec = srv.listen();
        ASSERT_FALSE(ec) << ec.message() << ": " << srv.error_detail();
        drive(srv, std::move(body));
    }

    void drive(server& srv, client_fn body) {
        asio::cancellation_signal stop_signal;
        bool run_done = false;
        std::exception_ptr run_error;
        asio::co_spawn(io_, srv.run(),
                       asio::bind_cancellation_slot(stop_signal.slot(), [&](std::exception_ptr e) {
                           run_done = true;
                           run_error = e;
                       }));
        harness h{srv, [&](asio::cancellation_type t) {
                      if (!run_done)
                          stop_signal.emit(t);
                  }};
        bool client_done = false;
        std::exception_ptr client_error;
        asio::co_spawn(io_, body(h), [&](std::exception_ptr e) {
            client_done = true;
            client_error = e;
            h.stop(asio::cancellation_type::total);
        });
        io_.restart();
        io_.run_for(test_deadline);
        EXPECT_TRUE(client_done) << "the client did not finish before the deadline";
        EXPECT_TRUE(run_done) << "run() did not return";
        EXPECT_TRUE(io_.stopped()) << "work was left outstanding on the io_context";
        EXPECT_EQ(srv.connections(), 0u);
        if (run_error)
            std::rethrow_exception(run_error);
        if (client_error)
            std::rethrow_exception(client_error);
    }

    asio::io_context io_;
    core::memory_sink sink_;
    core::logger log_{sink_, core::log_level::debug};
    fs::path dir_;
    std::string path_;
    std::string me_;
    std::vector<seen_request> seen_;
};

// ---------------------------------------------------------------------------------------------

TEST_F(ControlServer, ServesTheCurrentUserWithKeepAlive) {
    std::vector<std::optional<reply>> replies;
    drive(config(), echo(), [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            auto a = co_await c.roundtrip(q);
            replies.push_back(a);
        }
        {
            const std::string q = get("/v1/environments/prod/snapshots");
            auto a = co_await c.roundtrip(q);
            replies.push_back(a);
        }
        {
            const std::string q = post("/v1/environments/prod/backups", R"({"schedule":"x"})");
            auto a = co_await c.roundtrip(q);
            replies.push_back(a);
        }
        {
            const std::string q = get("/metrics", "Connection: close\r\n");
            auto a = co_await c.roundtrip(q);
            replies.push_back(a);
        }
        const bool closed = co_await c.closed_by_server(2000ms);
        EXPECT_TRUE(closed);
    });
    ASSERT_EQ(replies.size(), 4u);
    for (const auto& r : replies) {
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200u);
        EXPECT_EQ(r->content_type, "application/json");
    }
    EXPECT_TRUE(replies[0]->keep_alive);
    EXPECT_FALSE(replies[3]->keep_alive);
    EXPECT_EQ(replies[0]->body,
              R"({"route":"status","uid":)" + std::to_string(::geteuid()) + R"(,"body":""})");
    ASSERT_EQ(seen_.size(), 4u);
    EXPECT_EQ(seen_[1].route, "snapshots");
    EXPECT_EQ(seen_[2].body, R"({"schedule":"x"})");
    EXPECT_EQ(seen_[3].route, "metrics");
    // SO_PEERCRED: this very process
    EXPECT_EQ(seen_[0].peer.uid, ::geteuid());
    EXPECT_EQ(seen_[0].peer.gid, ::getegid());
    EXPECT_EQ(seen_[0].peer.pid, ::getpid());
    EXPECT_EQ(seen_[0].principal, ::geteuid() == 0 ? "uid 0" : me_);
    EXPECT_EQ(seen_[0].granted, role::operator_);
}

TEST_F(ControlServer, ErrorsAreJson) {
    std::vector<std::optional<reply>> r;
    bool closed_after_505 = false;
    bool closed_after_413 = false;
    bool closed_after_400 = false;
    bool closed_after_431 = false;
    drive(config(), echo(), [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/nope");
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
        client with_body(io_.get_executor());
        {
            const auto connected = co_await with_body.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = post("/v1/status", "{}");
            auto a = co_await with_body.roundtrip(q);
            r.push_back(a);
        }
        {
            const std::string q = get("/v1/environments/..%2Fx/snapshots");
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
        {
            const std::string q = get("/v1/audit?colour=blue");
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
        {
            const std::string q = get("/v1/jobs/1?wait=1h");
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
        {
            const std::string q = post("/v1/environments/prod/restores", R"({"x":1})");
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
        {
            const std::string q = "GET /v1/status HTTP/1.0\r\nHost: localhost\r\n\r\n";
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
        closed_after_505 = co_await c.closed_by_server(2000ms);

        client big(io_.get_executor());
        {
            const auto connected = co_await big.connect(path_);
            EXPECT_FALSE(connected);
        }
        const std::string huge(70000, 'x');
        {
            const std::string q = post("/v1/environments/prod/restores", huge);
            auto a = co_await big.roundtrip(q);
            r.push_back(a);
        }
        closed_after_413 = co_await big.closed_by_server(2000ms);

        client chunked(io_.get_executor());
        {
            const auto connected = co_await chunked.connect(path_);
            EXPECT_FALSE(connected);
        }
        std::string chunks = "POST /v1/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 20; ++i)
            chunks += "1000\r\n" + std::string(0x1000, ' ') + "\r\n";
        chunks += "0\r\n\r\n";
        {
            const std::string q = chunks;
            auto a = co_await chunked.roundtrip(q);
            r.push_back(a);
        }

        client junk(io_.get_executor());
        {
            const auto connected = co_await junk.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = "GET /v1/status HTTP/1.1\r\nHost localhost\r\n\r\n";
            auto a = co_await junk.roundtrip(q);
            r.push_back(a);
        }
        closed_after_400 = co_await junk.closed_by_server(2000ms);

        client fat(io_.get_executor());
        {
            const auto connected = co_await fat.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status", "X-Big: " + std::string(20000, 'b') + "\r\n");
            auto a = co_await fat.roundtrip(q);
            r.push_back(a);
        }
        closed_after_431 = co_await fat.closed_by_server(2000ms);
    });
    ASSERT_EQ(r.size(), 11u);
    const std::vector<std::pair<unsigned, std::string>> expected = {
        {404, "not_found"},
        {405, "method_not_allowed"},
        {400, "invalid_environment"},
        {400, "unknown_parameter"},
        {400, "invalid_parameter"},
        {200, ""},  // the body schema is the handler's business
        {505, "http_version_not_supported"},
        {413, "payload_too_large"},
        {413, "payload_too_large"},
        {400, "bad_request"},
        {431, "header_too_large"},
    };
    for (std::size_t i = 0; i < expected.size(); ++i) {
        SCOPED_TRACE(i);
        ASSERT_TRUE(r[i]);
        EXPECT_EQ(r[i]->status, expected[i].first);
        EXPECT_EQ(r[i]->content_type, "application/json");
        if (!expected[i].second.empty()) {
            EXPECT_EQ(r[i]->error_code(), expected[i].second) << r[i]->body;
        }
    }
    EXPECT_EQ(r[1]->allow, "GET");
    EXPECT_TRUE(r[0]->keep_alive);   // errors before the body keep a connection without a body
    EXPECT_FALSE(r[1]->keep_alive);  // ... but not one whose body went unread
    EXPECT_TRUE(closed_after_505);
    EXPECT_TRUE(closed_after_413);
    EXPECT_TRUE(closed_after_400);
    EXPECT_TRUE(closed_after_431);
    // only the one routed, authorized request reached the handler
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(seen_[0].route, "restores");
}

TEST_F(ControlServer, BodyUpToTheLimitWithExpectContinue) {
    std::optional<reply> r;
    const std::string body = "\"" + std::string(64 * 1024 - 2, 'y') + "\"";
    drive(config(), echo(), [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        // the header first; the body only after "100 Continue"
        std::string head = post("/v1/environments/prod/restores", body, "Expect: 100-continue\r\n");
        head.resize(head.size() - body.size());
        {
            const auto sent = co_await c.send(head);
            EXPECT_FALSE(sent);
        }
        const auto cont = co_await c.receive();
        EXPECT_TRUE(cont && cont->status == 100);
        {
            const auto sent = co_await c.send(body);
            EXPECT_FALSE(sent);
        }
        r = co_await c.receive();
    });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(seen_[0].body, body);
}

TEST_F(ControlServer, HandlerExceptionIs500AndTheConnectionGoesOn) {
    std::vector<std::optional<reply>> r;
    int calls = 0;
    handler h = [&](request_context) -> asio::awaitable<response> {
        if (++calls == 1)
            throw std::runtime_error("boom");
        co_return json_response(200, "{}");
    };
    drive(config(), h, [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
        {
            const std::string q = get("/v1/status");
            auto a = co_await c.roundtrip(q);
            r.push_back(a);
        }
    });
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(r[0] && r[1]);
    EXPECT_EQ(r[0]->status, 500u);
    EXPECT_EQ(r[0]->error_code(), "internal_error");
    EXPECT_EQ(r[0]->body.find("boom"), std::string::npos);  // details go to the log, not the client
    EXPECT_EQ(r[1]->status, 200u);
    bool logged = false;
    for (const auto& rec : sink_.records())
        logged = logged || (rec.message == "control request failed" && rec.level == core::log_level::error);
    EXPECT_TRUE(logged);
}

// ---------------------------------------------------------------------------------------------
// Authorization with a client of another uid

struct forked {
    pid_t pid = -1;
    int out = -1;  // the child's report: the raw response
};

// Forks a client that (when `drop`) becomes uid/gid `drop` with only that group, connects to
// `path`, sends `request` (which should say Connection: close) and writes what it reads to a
// pipe. Exit codes: 0 ok, 10 could not drop, 11 could not connect.
forked fork_client(const std::string& path, const std::string& request,
                   std::optional<std::pair<uid_t, gid_t>> drop) {
    int fds[2];
    if (::pipe(fds) != 0)
        return {};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        if (drop) {
            const gid_t g = drop->second;
            if (::setgroups(1, &g) != 0 || ::setgid(g) != 0 || ::setuid(drop->first) != 0)
                ::_exit(10);
        }
        const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0 || ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
            ::_exit(11);
        timeval tv{5, 0};
        ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        for (std::size_t off = 0; off < request.size();) {
            const auto n = ::write(s, request.data() + off, request.size() - off);
            if (n <= 0)
                ::_exit(12);
            off += static_cast<std::size_t>(n);
        }
        char buf[4096];
        for (;;) {
            const auto n = ::read(s, buf, sizeof buf);
            if (n <= 0)
                break;
            if (::write(fds[1], buf, static_cast<std::size_t>(n)) != n)
                ::_exit(13);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    return {pid, fds[0]};
}

// Reads the forked client's report to the end and reaps it.
asio::awaitable<std::pair<int, std::string>> collect(forked f) {
    asio::posix::stream_descriptor pipe(co_await asio::this_coro::executor, f.out);
    std::string raw;
    std::array<char, 4096> chunk{};
    const auto buffer = asio::buffer(chunk);
    asio::steady_timer timer(pipe.get_executor());
    timer.expires_after(10s);
    for (;;) {
        const auto r = co_await (pipe.async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
        if (r.index() != 0 || std::get<0>(std::get<0>(r)))
            break;
        raw.append(chunk.data(), std::get<1>(std::get<0>(r)));
    }
    int status = 0;
    ::waitpid(f.pid, &status, 0);
    co_return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, raw);
}

TEST_F(ControlServer, AuthorizesThePeerByUserAndGroup) {
    // As root, the client becomes nobody:nogroup (root itself is always allowed); otherwise it
    // stays the current user.
    const bool root = ::geteuid() == 0;
    std::optional<std::pair<uid_t, gid_t>> drop;
    std::string user_principal = me_;
    std::string group_principal;
    std::string socket_group;
    if (root) {
        const passwd* pw = ::getpwnam("nobody");
        const group* gr = ::getgrnam("nogroup");
        if (pw == nullptr || gr == nullptr)
            GTEST_SKIP() << "no nobody user or nogroup group to drop to";
        drop = std::make_pair(pw->pw_uid, gr->gr_gid);
        user_principal = "user:nobody";
        group_principal = "group:nogroup";
        socket_group = "nogroup";
        fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    } else {
        const group* gr = ::getgrgid(::getegid());
        ASSERT_NE(gr, nullptr);
        group_principal = std::string("group:") + gr->gr_name;
    }
    const uid_t client_uid = drop ? drop->first : ::geteuid();

    struct attempt {
        std::vector<std::string> readers;
        std::vector<std::string> operators;
        std::string request;
        unsigned status;
        std::string role{};
        std::vector<std::string> principals{};
    };
    const std::string close = "Connection: close\r\n";
    const std::vector<attempt> attempts = {
        {{user_principal}, {}, get("/v1/status", close), 200},
        {{group_principal}, {}, get("/v1/jobs", close), 200},
        {{}, {group_principal}, post("/v1/reload", "{}", close), 200},
        {{"user:root"}, {}, get("/v1/status", close), 403, "reader", {"user:root"}},
        {{user_principal}, {"user:root"}, post("/v1/reload", "{}", close), 403, "operator", {"user:root"}},
        {{}, {}, get("/metrics", close), 403, "reader", {}},
    };
    for (const auto& a : attempts) {
        SCOPED_TRACE(a.request.substr(0, a.request.find('\r')) +
                     " readers=" + (a.readers.empty() ? "" : a.readers[0]));
        auto cfg = config();
        cfg.group = socket_group;
        cfg.access.readers = a.readers;
        cfg.access.operators = a.operators;
        seen_.clear();
        std::pair<int, std::string> report;
        struct stat st {};
        drive(cfg, echo(), [&](harness&) -> asio::awaitable<void> {
            ::stat(path_.c_str(), &st);
            const forked child = fork_client(path_, a.request, drop);
            report = co_await collect(child);
        });
        ASSERT_EQ(report.first, 0) << "the forked client failed";
        EXPECT_EQ(st.st_mode & 07777, 0660u);
        if (root) {
            EXPECT_EQ(st.st_gid, drop->second);
        }
        const auto r = parse_reply(report.second);
        ASSERT_TRUE(r) << report.second;
        EXPECT_EQ(r->status, a.status) << r->body;
        if (a.status == 200) {
            ASSERT_EQ(seen_.size(), 1u);
            EXPECT_EQ(seen_[0].peer.uid, client_uid);
            if (drop) {
                EXPECT_EQ(seen_[0].peer.gid, drop->second);
                EXPECT_EQ(seen_[0].peer.groups, std::vector<std::uint32_t>{drop->second});
            }
            continue;
        }
        EXPECT_TRUE(seen_.empty());
        rapidjson::Document doc;
        doc.Parse(r->body.c_str());
        ASSERT_FALSE(doc.HasParseError()) << r->body;
        const auto& err = doc["error"];
        EXPECT_STREQ(err["code"].GetString(), "forbidden");
        EXPECT_EQ(err["role"].GetString(), a.role);
        std::vector<std::string> principals;
        for (const auto& p : err["principals"].GetArray())
            principals.emplace_back(p.GetString());
        EXPECT_EQ(principals, a.principals);
        EXPECT_NE(std::string(err["message"].GetString()).find("needs the " + a.role + " role"),
                  std::string::npos);
    }
}

// ---------------------------------------------------------------------------------------------
// Fairness: clients of other uids that hold connections open

// uid and gid to become
using identity = std::optional<std::pair<uid_t, gid_t>>;

// The identity of a user of the system (nullopt when it does not exist).
identity user_identity(const char* name) {
    const passwd* pw = ::getpwnam(name);
    if (pw == nullptr)
        return std::nullopt;
    return std::make_pair(pw->pw_uid, pw->pw_gid);
}

// A forked client that (when `drop`) becomes another user, opens `connections` connections to
// `path` one after the other, sends `request` on each and reads the response, and reports one
// line per connection: "<status> <open|closed> <body>" (closed: the server ended the connection
// after the response). It keeps every connection open until release(). Exit codes: 0 ok, 10
// could not drop, 11 could not connect.
class holder {
public:
    holder(asio::any_io_executor ex, const std::string& path, const std::string& request, int connections,
           identity drop)
        : out_(ex), connections_(connections) {
        int report[2];
        int hold[2];
        if (::pipe(report) != 0 || ::pipe(hold) != 0)
            throw std::runtime_error("pipe");
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.data(), path.size());
        pid_ = ::fork();
        if (pid_ == 0) {
            // nothing of the parent's but these two: another holder's pipe kept open here would
            // keep that holder's child from ever seeing its end
            for (int fd = 3; fd < 4096; ++fd) {
                if (fd != report[1] && fd != hold[0])
                    ::close(fd);
            }
            if (drop) {
                const gid_t g = drop->second;
                if (::setgroups(1, &g) != 0 || ::setgid(g) != 0 || ::setuid(drop->first) != 0)
                    ::_exit(10);
            }
            std::vector<int> open;
            for (int i = 0; i < connections; ++i) {
                const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
                if (s < 0 || ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
                    ::_exit(11);
                open.push_back(s);
                std::string line = exchange(s, request) + "\n";
                if (::write(report[1], line.data(), line.size()) != static_cast<ssize_t>(line.size()))
                    ::_exit(13);
            }
            char c = 0;
            while (::read(hold[0], &c, 1) > 0) {
            }
            ::_exit(0);
        }
        ::close(report[1]);
        ::close(hold[0]);
        out_.assign(report[0]);
        hold_ = hold[1];
    }

    // Every connection's report (fewer when the child failed or 10 s passed).
    asio::awaitable<std::vector<std::string>> reports() {
        std::array<char, 4096> chunk{};
        const auto buffer = asio::buffer(chunk);
        asio::steady_timer timer(out_.get_executor());
        timer.expires_after(10s);
        while (lines().size() < static_cast<std::size_t>(connections_)) {
            const auto r = co_await (out_.async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
            if (r.index() != 0 || std::get<0>(std::get<0>(r)))
                break;
            raw_.append(chunk.data(), std::get<1>(std::get<0>(r)));
        }
        co_return lines();
    }

    // Lets the child close its connections and exit; its exit code.
    asio::awaitable<int> release() {
        ::close(hold_);
        hold_ = -1;
        std::array<char, 4096> chunk{};
        const auto buffer = asio::buffer(chunk);
        asio::steady_timer timer(out_.get_executor());
        timer.expires_after(10s);
        for (;;) {
            const auto r = co_await (out_.async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
            if (r.index() != 0 || std::get<0>(std::get<0>(r)))
                break;
        }
        int status = 0;
        ::waitpid(pid_, &status, 0);
        co_return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    ~holder() {
        if (hold_ >= 0)
            ::close(hold_);
    }

private:
    // In the child: sends `request` and reads one response on `s`; its report line.
    static std::string exchange(int s, const std::string& request) {
        for (std::size_t off = 0; off < request.size();) {
            const auto n = ::write(s, request.data() + off, request.size() - off);
            if (n <= 0)
                return "0 closed write failed";
            off += static_cast<std::size_t>(n);
        }
        timeval tv{10, 0};
        ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string in;
        char buf[4096];
        std::size_t header_end = std::string::npos;
        std::size_t length = 0;
        while (header_end == std::string::npos || in.size() < header_end + 4 + length) {
            const auto n = ::read(s, buf, sizeof buf);
            if (n <= 0)
                return "0 closed no response";
            in.append(buf, static_cast<std::size_t>(n));
            if (header_end == std::string::npos && (header_end = in.find("\r\n\r\n")) != std::string::npos) {
                const auto cl = in.find("Content-Length: ");
                if (cl != std::string::npos && cl < header_end)
                    length = std::stoul(in.substr(cl + 16));
            }
        }
        const std::string status = in.substr(9, 3);
        // whether the server closes: at once after an error, not within 50 ms after a success
        const bool error = status[0] != '2';
        const timeval wait = error ? timeval{2, 0} : timeval{0, 50000};
        ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        const auto n = ::read(s, buf, sizeof buf);
        return status + (n == 0 ? " closed " : " open ") + in.substr(header_end + 4, length);
    }

    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        std::size_t at = 0;
        for (auto nl = raw_.find('\n'); nl != std::string::npos; nl = raw_.find('\n', at)) {
            out.push_back(raw_.substr(at, nl - at));
            at = nl + 1;
        }
        return out;
    }

    pid_t pid_ = -1;
    asio::posix::stream_descriptor out_;
    int hold_ = -1;
    int connections_ = 0;
    std::string raw_;
};

std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
    return static_cast<std::size_t>(
        std::count_if(lines.begin(), lines.end(), [&](const auto& l) { return l.rfind(prefix, 0) == 0; }));
}

class ControlFairness : public ControlServer {
protected:
    void SetUp() override {
        ControlServer::SetUp();
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root, to connect as other users (nobody, daemon)";
        reader_ = user_identity("nobody");
        operator_ = user_identity("daemon");
        if (!reader_ || !operator_)
            GTEST_SKIP() << "no nobody or daemon user";
        // other users reach the socket: the directory is searchable, the socket 0666
        fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    }

    server_config fair_config() const {
        auto c = config();
        c.mode = 0666;
        c.access.readers = {"user:nobody"};
        c.access.operators = {"user:daemon"};
        return c;
    }

    identity reader_;
    identity operator_;
};

TEST_F(ControlFairness, AReaderHoldingManyConnectionsLocksOutNeitherOperatorsNorRoot) {
    // the defaults: 32 in all, 8 per uid, the last 8 for operators
    auto cfg = fair_config();
    ASSERT_EQ(cfg.access.max_connections, 32);
    ASSERT_EQ(cfg.access.max_connections_per_uid, 8);
    ASSERT_EQ(cfg.access.reserved_for_operators, 8);
    std::vector<std::string> reader, op;
    std::optional<reply> root;
    int reader_exit = -1, op_exit = -1;
    std::uint64_t per_uid = 0;
    drive(cfg, echo(), [&](harness& h) -> asio::awaitable<void> {
        holder r(io_.get_executor(), path_, get("/v1/status"), 32, reader_);
        reader = co_await r.reports();
        holder o(io_.get_executor(), path_, get("/v1/status"), 2, operator_);
        op = co_await o.reports();
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            root = co_await c.roundtrip(q);
        }
        per_uid = h.srv.counters().rejected_per_uid;
        c.close();
        reader_exit = co_await r.release();
        op_exit = co_await o.release();
    });
    ASSERT_EQ(reader.size(), 32u);
    EXPECT_EQ(count_prefix(reader, "200 open "), 8u) << reader[0];
    EXPECT_EQ(count_prefix(reader, "503 closed "), 24u) << reader.back();
    EXPECT_NE(reader.back().find(R"("code":"too_many_connections")"), std::string::npos) << reader.back();
    EXPECT_NE(reader.back().find("control.max_connections_per_uid"), std::string::npos) << reader.back();
    EXPECT_EQ(per_uid, 24u);
    ASSERT_EQ(op.size(), 2u);
    EXPECT_EQ(op[0].substr(0, 9), "200 open ");
    EXPECT_EQ(op[1].substr(0, 9), "200 open ");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->status, 200u);
    EXPECT_EQ(reader_exit, 0);
    EXPECT_EQ(op_exit, 0);
}

TEST_F(ControlFairness, TheLastConnectionsAreKeptForOperatorsAndRoot) {
    // readers fill the shared part (6 of 8); the last 2 are for root and operators
    auto cfg = fair_config();
    cfg.access.max_connections = 8;
    cfg.access.max_connections_per_uid = 8;
    cfg.access.reserved_for_operators = 2;
    std::vector<std::string> reader, op, reader_again;
    std::optional<reply> root;
    std::uint64_t reserved = 0;
    drive(cfg, echo(), [&](harness& h) -> asio::awaitable<void> {
        holder r(io_.get_executor(), path_, get("/v1/status"), 8, reader_);
        reader = co_await r.reports();
        holder o(io_.get_executor(), path_, get("/v1/status"), 1, operator_);
        op = co_await o.reports();
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            root = co_await c.roundtrip(q);
        }
        reserved = h.srv.counters().rejected_reserved;
        c.close();
        co_await r.release();
        co_await o.release();
    });
    ASSERT_EQ(reader.size(), 8u);
    EXPECT_EQ(count_prefix(reader, "200 open "), 6u);
    EXPECT_EQ(count_prefix(reader, "503 closed "), 2u);
    EXPECT_NE(reader.back().find("kept for root and operators (control.reserved_for_operators)"),
              std::string::npos)
        << reader.back();
    EXPECT_EQ(reserved, 2u);
    ASSERT_EQ(op.size(), 1u);
    EXPECT_EQ(op[0].substr(0, 9), "200 open ");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->status, 200u);
}

TEST_F(ControlFairness, ADeniedConnectionIsClosed) {
    auto cfg = fair_config();
    cfg.access.readers = {};
    std::vector<std::string> denied, allowed;
    drive(cfg, echo(), [&](harness&) -> asio::awaitable<void> {
        // keep-alive requests: a 403 closes anyway; an operator's 200 does not
        holder n(io_.get_executor(), path_, get("/v1/status"), 1, reader_);
        denied = co_await n.reports();
        holder o(io_.get_executor(), path_, get("/v1/status"), 1, operator_);
        allowed = co_await o.reports();
        co_await n.release();
        co_await o.release();
    });
    ASSERT_EQ(denied.size(), 1u);
    EXPECT_EQ(denied[0].substr(0, 11), "403 closed ") << denied[0];
    EXPECT_NE(denied[0].find(R"("code":"forbidden")"), std::string::npos) << denied[0];
    ASSERT_EQ(allowed.size(), 1u);
    EXPECT_EQ(allowed[0].substr(0, 9), "200 open ") << allowed[0];
    EXPECT_TRUE(seen_.size() == 1u);
}

TEST_F(ControlFairness, LongPollsAreBoundedPerUid) {
    auto cfg = fair_config();
    cfg.access.max_long_polls_per_uid = 2;
    change_notifier jobs(io_.get_executor());
    int started = 0;
    std::vector<poll_result> results;
    handler h = [&](request_context ctx) -> asio::awaitable<response> {
        ++started;
        const std::chrono::milliseconds wait = 30s;
        const auto r = co_await ctx.long_poll(jobs, wait);
        results.push_back(r);
        if (r == poll_result::limited)
            co_return ctx.too_many_long_polls();
        co_return json_response(200, R"({"state":"succeeded"})");
    };
    std::vector<std::string> a, b, limited, other_user;
    std::optional<reply> root;
    drive(cfg, h, [&](harness&) -> asio::awaitable<void> {
        holder first(io_.get_executor(), path_, get("/v1/jobs/1?wait=30s"), 1, reader_);
        holder second(io_.get_executor(), path_, get("/v1/jobs/1?wait=30s"), 1, reader_);
        co_await until(started, 2);
        EXPECT_EQ(started, 2);
        // a third of the same uid is answered at once
        holder third(io_.get_executor(), path_, get("/v1/jobs/1?wait=30s"), 1, reader_);
        limited = co_await third.reports();
        EXPECT_TRUE(results.size() == 1u);
        // another uid, and root, still wait
        holder op(io_.get_executor(), path_, get("/v1/jobs/1?wait=30s"), 1, operator_);
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/jobs/1?wait=30s");
            const auto sent = co_await c.send(q);
            EXPECT_FALSE(sent);
        }
        co_await until(started, 5);
        EXPECT_EQ(results.size(), 1u);
        jobs.notify_all();
        a = co_await first.reports();
        b = co_await second.reports();
        other_user = co_await op.reports();
        root = co_await c.receive();
        co_await first.release();
        co_await second.release();
        co_await third.release();
        co_await op.release();
    });
    ASSERT_EQ(limited.size(), 1u);
    EXPECT_EQ(limited[0].substr(0, 9), "429 open ") << limited[0];
    EXPECT_NE(limited[0].find(R"("code":"too_many_long_polls")"), std::string::npos) << limited[0];
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    ASSERT_EQ(other_user.size(), 1u);
    EXPECT_EQ(a[0].substr(0, 4), "200 ");
    EXPECT_EQ(b[0].substr(0, 4), "200 ");
    EXPECT_EQ(other_user[0].substr(0, 4), "200 ");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->status, 200u);
    ASSERT_EQ(results.size(), 5u);
    EXPECT_EQ(results[0], poll_result::limited);
    EXPECT_EQ(std::count(results.begin(), results.end(), poll_result::changed), 4);
}

// A resolver that sleeps before it answers for "slowpoke", and records the threads it ran on.
class slow_resolver final : public name_resolver {
public:
    explicit slow_resolver(std::chrono::milliseconds delay) : delay_(delay) {}
    std::optional<std::uint32_t> user_id(std::string_view name) const override {
        note();
        if (name == "slowpoke") {
            entered_ = true;
            std::this_thread::sleep_for(delay_);
            return 4242;
        }
        return system_.user_id(name);
    }
    std::optional<std::uint32_t> group_id(std::string_view name) const override {
        note();
        return system_.group_id(name);
    }
    std::optional<std::string> user_name(std::uint32_t uid) const override {
        note();
        return system_.user_name(uid);
    }
    bool entered() const { return entered_; }
    bool ran_on(std::thread::id t) const {
        std::lock_guard lock(m_);
        return std::find(threads_.begin(), threads_.end(), t) != threads_.end();
    }

private:
    void note() const {
        std::lock_guard lock(m_);
        threads_.push_back(std::this_thread::get_id());
    }
    std::chrono::milliseconds delay_;
    system_name_resolver system_;
    mutable std::atomic<bool> entered_{false};
    mutable std::mutex m_;
    mutable std::vector<std::thread::id> threads_;
};

TEST_F(ControlFairness, ASlowNameLookupDoesNotStallOtherConnections) {
    auto names = std::make_shared<slow_resolver>(1500ms);
    auto cfg = fair_config();
    cfg.access.readers = {"user:slowpoke", "user:nobody"};
    cfg.names = names;
    std::vector<std::string> slow;
    std::optional<reply> quick;
    std::chrono::steady_clock::duration quick_took{};
    std::chrono::steady_clock::duration longest_gap{};
    bool slow_answered_first = true;
    drive(cfg, echo(), [&](harness&) -> asio::awaitable<void> {
        // nobody's request needs the principals resolved: slowpoke takes 1.5 s
        holder a(io_.get_executor(), path_, get("/v1/status"), 1, reader_);
        // the event loop keeps turning while the lookup sleeps: no gap between these wake-ups
        // comes near the lookup's 1.5 s
        auto last = std::chrono::steady_clock::now();
        for (int i = 0; i < 500 && !names->entered(); ++i) {
            co_await sleep_for(5ms);
            const auto now = std::chrono::steady_clock::now();
            longest_gap = std::max(longest_gap, now - last);
            last = now;
        }
        EXPECT_TRUE(names->entered());
        for (int i = 0; i < 20; ++i) {
            co_await sleep_for(5ms);
            const auto now = std::chrono::steady_clock::now();
            longest_gap = std::max(longest_gap, now - last);
            last = now;
        }
        // meanwhile another connection is served at once
        client c(io_.get_executor());
        const auto t0 = std::chrono::steady_clock::now();
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/nope");
            quick = co_await c.roundtrip(q);
        }
        quick_took = std::chrono::steady_clock::now() - t0;
        slow_answered_first = !seen_.empty();
        slow = co_await a.reports();
        co_await a.release();
    });
    ASSERT_TRUE(quick);
    EXPECT_EQ(quick->status, 404u);
    EXPECT_LT(quick_took, 500ms);
    EXPECT_LT(longest_gap, 500ms);
    EXPECT_FALSE(slow_answered_first);
    ASSERT_EQ(slow.size(), 1u);
    EXPECT_EQ(slow[0].substr(0, 4), "200 ") << slow[0];       // once the lookup answered
    EXPECT_FALSE(names->ran_on(std::this_thread::get_id()));  // never on the event loop
}

TEST_F(ControlServer, TheHandlerGetsThePeersUserName) {
    std::string name;
    handler h = [&](request_context ctx) -> asio::awaitable<response> {
        name = co_await ctx.user_name();
        co_return json_response(200, "{}");
    };
    drive(config(), h, [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            co_await c.roundtrip(q);
        }
    });
    EXPECT_EQ(name, user_name(::geteuid()));
}

// ---------------------------------------------------------------------------------------------
// Binding

TEST_F(ControlServer, ReplacesAStaleSocket) {
    {
        // a socket file nobody listens on any more (a crashed daemon's)
        local_socket dead(io_);
        dead.open();
        dead.bind(asio::local::stream_protocol::endpoint(path_));
    }
    ASSERT_TRUE(fs::is_socket(path_));
    std::optional<reply> r;
    drive(config(), echo(), [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            r = co_await c.roundtrip(q);
        }
    });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    bool logged = false;
    for (const auto& rec : sink_.records())
        logged = logged || rec.message == "removed a stale control socket";
    EXPECT_TRUE(logged);
    // the socket file goes with the server
    EXPECT_FALSE(fs::exists(fs::symlink_status(path_)));
}

TEST_F(ControlServer, RefusesALiveSocket) {
    asio::local::stream_protocol::acceptor other(io_, asio::local::stream_protocol::endpoint(path_));
    struct stat before {};
    ASSERT_EQ(::stat(path_.c_str(), &before), 0);
    server srv(io_.get_executor(), config(), echo(), log_);
    const auto ec = srv.listen();
    EXPECT_EQ(ec, errc::already_listening);
    EXPECT_EQ(srv.error_detail(), "another tfsnapd is listening on " + path_);
    struct stat after {};
    ASSERT_EQ(::stat(path_.c_str(), &after), 0);
    EXPECT_EQ(before.st_ino, after.st_ino);  // left alone
    // and the other listener still works
    local_socket probe(io_);
    error_code cec;
    probe.connect(asio::local::stream_protocol::endpoint(path_), cec);
    EXPECT_FALSE(cec);
}

TEST_F(ControlServer, NeverRemovesWhatIsNotASocket) {
    { std::ofstream(path_) << "precious"; }
    {
        server srv(io_.get_executor(), config(), echo(), log_);
        EXPECT_EQ(srv.listen(), errc::not_a_socket);
        EXPECT_NE(srv.error_detail().find("is not a socket"), std::string::npos);
    }
    std::ifstream in(path_);
    std::string content;
    in >> content;
    EXPECT_EQ(content, "precious");

    // nor a symbolic link, even to a stale socket
    fs::remove(path_);
    const std::string target = (dir_ / "elsewhere.sock").string();
    {
        local_socket dead(io_);
        dead.open();
        dead.bind(asio::local::stream_protocol::endpoint(target));
    }
    fs::create_symlink(target, path_);
    {
        server srv(io_.get_executor(), config(), echo(), log_);
        EXPECT_EQ(srv.listen(), errc::not_a_socket);
    }
    EXPECT_TRUE(fs::is_symlink(path_));
    EXPECT_TRUE(fs::is_socket(target));

    // and a directory
    fs::remove(path_);
    fs::create_directory(path_);
    server srv(io_.get_executor(), config(), echo(), log_);
    EXPECT_EQ(srv.listen(), errc::not_a_socket);
    EXPECT_TRUE(fs::is_directory(path_));
}

TEST_F(ControlServer, PathTooLongAndMissingDirectory) {
    auto cfg = config();
    cfg.socket_path = "/tmp/" + std::string(200, 'x');
    server a(io_.get_executor(), cfg, echo(), log_);
    EXPECT_EQ(a.listen(), errc::path_too_long);
    cfg.socket_path = (dir_ / "missing" / "control.sock").string();
    server b(io_.get_executor(), cfg, echo(), log_);
    const auto ec = b.listen();
    EXPECT_TRUE(ec);
    EXPECT_NE(b.error_detail().find("cannot bind"), std::string::npos) << b.error_detail();
}

TEST_F(ControlServer, RunWithoutASocketThrows) {
    server srv(io_.get_executor(), config(), echo(), log_);
    bool threw = false;
    asio::co_spawn(io_, srv.run(), [&](std::exception_ptr e) {
        try {
            if (e)
                std::rethrow_exception(e);
        } catch (const boost::system::system_error& err) {
            threw = err.code() == errc::no_acceptor;
        }
    });
    io_.run_for(test_deadline);
    EXPECT_TRUE(threw);
}

TEST_F(ControlServer, AdoptsAListeningSocket) {
    // what systemd passes as LISTEN_FDS
    asio::local::stream_protocol::acceptor given(io_, asio::local::stream_protocol::endpoint(path_));
    const int fd = given.release();
    server srv(io_.get_executor(), config(), echo(), log_);
    ASSERT_FALSE(srv.adopt(fd)) << srv.error_detail();
    std::optional<reply> r;
    drive(srv, [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            r = co_await c.roundtrip(q);
        }
    });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_TRUE(fs::is_socket(path_));  // the service manager's, not ours to remove

    // not a socket, and a socket that is not listening
    const int file = ::open(path_.c_str(), O_RDONLY | O_PATH);
    server bad(io_.get_executor(), config(), echo(), log_);
    EXPECT_EQ(bad.adopt(file), errc::bad_socket);
    const int unbound = ::socket(AF_UNIX, SOCK_STREAM, 0);
    server bad2(io_.get_executor(), config(), echo(), log_);
    EXPECT_EQ(bad2.adopt(unbound), errc::bad_socket);
}

// ---------------------------------------------------------------------------------------------
// Limits and deadlines

TEST_F(ControlServer, ConnectionLimitAnswers503) {
    auto cfg = config();
    cfg.access.max_connections = 2;
    cfg.access.reserved_for_operators = 0;
    std::optional<reply> first, second, refused, later;
    bool refused_closed = false;
    std::uint64_t rejected = 0;
    drive(cfg, echo(), [&](harness& h) -> asio::awaitable<void> {
        client a(io_.get_executor());
        client b(io_.get_executor());
        client c(io_.get_executor());
        {
            const auto connected = co_await a.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const auto connected = co_await b.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            first = co_await a.roundtrip(q);
        }
        {
            const std::string q = get("/v1/status");
            second = co_await b.roundtrip(q);
        }
        EXPECT_EQ(h.srv.connections(), 2u);
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            refused = co_await c.roundtrip(q);
        }
        refused_closed = co_await c.closed_by_server(2000ms);
        // a slot frees up when a client leaves
        a.close();
        for (int i = 0; i < 100 && h.srv.connections() > 1; ++i)
            co_await sleep_for(10ms);
        client d(io_.get_executor());
        {
            const auto connected = co_await d.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            later = co_await d.roundtrip(q);
        }
        rejected = h.srv.counters().rejected;
    });
    ASSERT_TRUE(first && second && refused && later);
    EXPECT_EQ(first->status, 200u);
    EXPECT_EQ(second->status, 200u);
    EXPECT_EQ(refused->status, 503u);
    EXPECT_EQ(refused->error_code(), "too_many_connections");
    EXPECT_FALSE(refused->keep_alive);
    EXPECT_TRUE(refused_closed);
    EXPECT_EQ(later->status, 200u);
    EXPECT_EQ(rejected, 1u);
    EXPECT_EQ(seen_.size(), 3u);
}

TEST_F(ControlServer, HeaderAndBodyDeadlines) {
    auto cfg = config();
    cfg.header_timeout = 200ms;
    cfg.read_timeout = 200ms;
    std::optional<reply> header_late, body_late;
    bool header_closed = false, body_closed = false, idle_closed = false;
    drive(cfg, echo(), [&](harness&) -> asio::awaitable<void> {
        const auto started = std::chrono::steady_clock::now();
        client partial(io_.get_executor());
        {
            const auto connected = co_await partial.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = "GET /v1/status HTTP/1.1\r\nHost: local";
            const auto sent = co_await partial.send(q);
            EXPECT_FALSE(sent);
        }
        header_late = co_await partial.receive();
        header_closed = co_await partial.closed_by_server(2000ms);
        EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);

        client slow(io_.get_executor());
        {
            const auto connected = co_await slow.connect(path_);
            EXPECT_FALSE(connected);
        }
        std::string cut = post("/v1/reload", "{}    ");
        cut.resize(cut.size() - 3);  // the whole header, half the body
        {
            const auto sent = co_await slow.send(cut);
            EXPECT_FALSE(sent);
        }
        body_late = co_await slow.receive();
        body_closed = co_await slow.closed_by_server(2000ms);

        // an idle connection is closed without a word
        client idle(io_.get_executor());
        {
            const auto connected = co_await idle.connect(path_);
            EXPECT_FALSE(connected);
        }
        idle_closed = co_await idle.closed_by_server(2000ms);
    });
    ASSERT_TRUE(header_late);
    EXPECT_EQ(header_late->status, 408u);
    EXPECT_EQ(header_late->error_code(), "request_timeout");
    EXPECT_TRUE(header_closed);
    ASSERT_TRUE(body_late);
    EXPECT_EQ(body_late->status, 408u);
    EXPECT_TRUE(body_closed);
    EXPECT_TRUE(idle_closed);  // and nothing was sent before the close
    EXPECT_TRUE(seen_.empty());
}

// ---------------------------------------------------------------------------------------------
// Long polls and shutdown

TEST_F(ControlServer, LongPollWakesOnChangeTimeoutAndHangUp) {
    change_notifier jobs(io_.get_executor());
    std::vector<poll_result> results;
    int started = 0;
    handler h = [&](request_context ctx) -> asio::awaitable<response> {
        ++started;
        const auto wait = ctx.route().query.wait.value_or(std::chrono::seconds{0});
        const auto r = co_await ctx.long_poll(jobs, wait);
        results.push_back(r);
        co_return json_response(200, "{}");
    };
    std::optional<reply> changed, timed_out;
    drive(config(), h, [&](harness&) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/jobs/7?wait=30s");
            const auto sent = co_await c.send(q);
            EXPECT_FALSE(sent);
        }
        co_await until(started, 1);
        jobs.notify_all();
        changed = co_await c.receive();
        {
            const std::string q = get("/v1/jobs/7?wait=0s");
            timed_out = co_await c.roundtrip(q);
        }

        // the client hangs up in the middle of a long poll
        client gone(io_.get_executor());
        {
            const auto connected = co_await gone.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/jobs/8?wait=30s");
            const auto sent = co_await gone.send(q);
            EXPECT_FALSE(sent);
        }
        co_await until(started, 3);
        error_code ignored;
        gone.socket().shutdown(asio::socket_base::shutdown_send, ignored);
        for (int i = 0; i < 200 && results.size() < 3; ++i)
            co_await sleep_for(10ms);
    });
    ASSERT_TRUE(changed && timed_out);
    EXPECT_EQ(changed->status, 200u);
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0], poll_result::changed);
    EXPECT_EQ(results[1], poll_result::timed_out);
    EXPECT_EQ(results[2], poll_result::client_gone);
}

TEST_F(ControlServer, NotificationBetweenLookingAndWaitingIsNotMissed) {
    change_notifier n(io_.get_executor());
    bool woke = false;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
            const auto gen = n.generation();
            n.notify_all();  // before the wait starts
            co_await n.wait_since(gen);
            woke = true;
        },
        [&](std::exception_ptr) { done = true; });
    io_.run_for(test_deadline);
    EXPECT_TRUE(done);
    EXPECT_TRUE(woke);
    EXPECT_TRUE(io_.stopped());
}

TEST_F(ControlServer, GracefulShutdownAnswersLongPollsAndClosesIdleConnections) {
    change_notifier jobs(io_.get_executor());
    std::vector<poll_result> results;
    int started = 0;
    handler h = [&](request_context ctx) -> asio::awaitable<response> {
        ++started;
        const std::chrono::milliseconds wait = 30s;
        const auto r = co_await ctx.long_poll(jobs, wait);
        results.push_back(r);
        co_return json_response(200, R"({"state":"running"})");
    };
    std::optional<reply> polled;
    bool poll_closed = false, idle_closed = false;
    drive(config(), h, [&](harness& hs) -> asio::awaitable<void> {
        client idle(io_.get_executor());
        client poller(io_.get_executor());
        {
            const auto connected = co_await idle.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const auto connected = co_await poller.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/jobs/1?wait=30s");
            const auto sent = co_await poller.send(q);
            EXPECT_FALSE(sent);
        }
        co_await until(started, 1);
        EXPECT_EQ(hs.srv.connections(), 2u);
        hs.stop(asio::cancellation_type::total);
        polled = co_await poller.receive();
        poll_closed = co_await poller.closed_by_server(2000ms);
        idle_closed = co_await idle.closed_by_server(2000ms);
    });
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0], poll_result::stopping);
    ASSERT_TRUE(polled);
    EXPECT_EQ(polled->status, 200u);
    EXPECT_FALSE(polled->keep_alive);
    EXPECT_TRUE(poll_closed);
    EXPECT_TRUE(idle_closed);
    EXPECT_FALSE(fs::exists(fs::symlink_status(path_)));
}

TEST_F(ControlServer, TerminalCancellationAbortsHandlers) {
    bool handler_aborted = false;
    int started = 0;
    handler h = [&](request_context) -> asio::awaitable<response> {
        ++started;
        asio::steady_timer forever(co_await asio::this_coro::executor);
        forever.expires_at(asio::steady_timer::time_point::max());
        try {
            co_await forever.async_wait(asio::use_awaitable);
        } catch (const boost::system::system_error&) {
            handler_aborted = true;
            throw;
        }
        co_return json_response(200, "{}");
    };
    std::optional<reply> r;
    drive(config(), h, [&](harness& hs) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            const auto sent = co_await c.send(q);
            EXPECT_FALSE(sent);
        }
        co_await until(started, 1);
        hs.stop(asio::cancellation_type::total);  // waits for the handler...
        co_await sleep_for(50ms);
        EXPECT_EQ(hs.srv.connections(), 1u);
        hs.stop(asio::cancellation_type::terminal);  // ... until this
        r = co_await c.receive();
    });
    EXPECT_TRUE(handler_aborted);
    EXPECT_FALSE(r);  // closed without a response
}

TEST_F(ControlServer, ReloadedAccessAppliesToTheNextRequest) {
    if (::geteuid() == 0)
        GTEST_SKIP() << "root is always allowed";
    std::optional<reply> before, after;
    drive(config(), echo(), [&](harness& h) -> asio::awaitable<void> {
        client c(io_.get_executor());
        {
            const auto connected = co_await c.connect(path_);
            EXPECT_FALSE(connected);
        }
        {
            const std::string q = get("/v1/status");
            before = co_await c.roundtrip(q);
        }
        h.srv.set_access(config::control_config{});
        {
            const std::string q = get("/v1/status");
            after = co_await c.roundtrip(q);
        }
    });
    ASSERT_TRUE(before && after);
    EXPECT_EQ(before->status, 200u);
    EXPECT_EQ(after->status, 403u);
}

// ---------------------------------------------------------------------------------------------
// curl, the way an admin would ask

TEST_F(ControlServer, CurlOverTheUnixSocket) {
    if (::access("/usr/bin/curl", X_OK) != 0)
        GTEST_SKIP() << "curl is not installed (scripts/deps installs it)";
    process::result ok, missing, post_result;
    drive(config(), echo(), [&](harness&) -> asio::awaitable<void> {
        process::spec s;
        s.argv = {"curl", "-sS", "--max-time", "10", "--unix-socket", path_, "http://localhost/v1/status"};
        s.timeout = 15s;
        ok = co_await process::run(s);
        s.argv = {"curl",
                  "-sS",
                  "--max-time",
                  "10",
                  "--unix-socket",
                  path_,
                  "-w",
                  "\n%{http_code}",
                  "http://localhost/v1/nope"};
        missing = co_await process::run(s);
        s.argv = {"curl",
                  "-sS",
                  "--max-time",
                  "10",
                  "--unix-socket",
                  path_,
                  "-H",
                  "Content-Type: application/json",
                  "-d",
                  R"({"schedule":"adhoc"})",
                  "http://localhost/v1/environments/prod/backups"};
        post_result = co_await process::run(s);
    });
    EXPECT_FALSE(ok.ec) << process::describe(ok, "curl");
    EXPECT_EQ(ok.output, R"({"route":"status","uid":)" + std::to_string(::geteuid()) + R"(,"body":""})");
    EXPECT_FALSE(missing.ec) << process::describe(missing, "curl");
    EXPECT_NE(missing.output.find(R"({"error":{"code":"not_found")"), std::string::npos) << missing.output;
    EXPECT_NE(missing.output.find("\n404"), std::string::npos) << missing.output;
    EXPECT_FALSE(post_result.ec) << process::describe(post_result, "curl");
    EXPECT_NE(post_result.output.find(R"("route":"backups")"), std::string::npos) << post_result.output;
    EXPECT_NE(post_result.output.find(R"(adhoc)"), std::string::npos) << post_result.output;
}

}  // namespace
}  // namespace tfsnap::control
