#include "tfsnap/control/server.hpp"

#include "tfsnap/control/error.hpp"
#include "tfsnap/control/system_resolver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <variant>
#include <vector>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59  // Linux >= 4.13; older C libraries lack the name
#endif

namespace tfsnap::control {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using local_socket = asio::local::stream_protocol::socket;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace detail {

// What request_context::long_poll needs of its connection.
struct session {
    local_socket& sock;
    server& srv;
};

}  // namespace detail

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How much a connection closed after an error response reads of what the client still sends.
constexpr std::size_t linger_bytes = std::size_t{1} << 20;

error_code errno_code(int e) noexcept {
    return {e, boost::system::system_category()};
}

std::string errno_text(int e) {
    return std::strerror(e);
}

std::string millis(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

bool is_aborted(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& err) {
        return err.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

std::string what_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& err) {
        return err.what();
    } catch (...) {
        return "unknown exception";
    }
}

struct peer_lookup {
    peer_credentials peer;
    // false: the kernel has no SO_PEERGROUPS (Linux < 4.13); the groups are the user's in the
    // group database, which the session looks up through the name cache
    bool groups_known = false;
};

// The kernel's view of the peer: no NSS here, this runs on the event loop at accept time.
std::optional<peer_lookup> peer_of(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return std::nullopt;
    peer_lookup out;
    peer_credentials& p = out.peer;
    p.pid = cred.pid;
    p.uid = cred.uid;
    p.gid = cred.gid;
    std::vector<gid_t> groups(64);
    for (;;) {
        auto glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
            groups.resize(glen / sizeof(gid_t));
            p.groups.assign(groups.begin(), groups.end());
            out.groups_known = true;
            break;
        }
        if (errno == ERANGE && glen / sizeof(gid_t) > groups.size() && groups.size() < 65536) {
            groups.resize(glen / sizeof(gid_t));
            continue;
        }
        break;
    }
    return out;
}

// Writes `msg` within `limit`; false if it could not.
template <class Body>
asio::awaitable<bool> write_within(local_socket& sock, bhttp::response<Body>& msg,
                                   std::chrono::milliseconds limit) {
    asio::steady_timer timer(sock.get_executor());
    timer.expires_after(limit);
    const auto r = co_await (bhttp::async_write(sock, msg, use_tuple) || timer.async_wait(use_tuple));
    co_return r.index() == 0 && !std::get<0>(std::get<0>(r));
}

// Half-closes, then reads and drops what the client still sends, for `limit` at most, so that
// the client reads the response rather than a reset.
asio::awaitable<void> linger_close(local_socket& sock, std::chrono::milliseconds limit) {
    error_code ignored;
    sock.shutdown(asio::socket_base::shutdown_send, ignored);
    asio::steady_timer timer(sock.get_executor());
    timer.expires_after(limit);
    std::array<char, 4096> scratch{};
    const auto buffer = asio::buffer(scratch);
    std::size_t total = 0;
    while (total < linger_bytes) {
        const auto r = co_await (sock.async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
        if (r.index() != 0 || std::get<0>(std::get<0>(r)))
            break;
        total += std::get<1>(std::get<0>(r));
    }
    sock.close(ignored);
}

// Completes when the client has closed its end (or the socket failed); pipelined data is not
// a hang-up, and is left for the next request.
asio::awaitable<void> watch_hangup(local_socket& sock) {
    for (;;) {
        const auto [ec] = co_await sock.async_wait(asio::socket_base::wait_read, use_tuple);
        if (ec)
            co_return;
        char c = 0;
        const auto n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            co_return;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (n < 0)
            co_return;
        // the next request is already here: the client is, too
        asio::steady_timer forever(sock.get_executor());
        forever.expires_at(asio::steady_timer::time_point::max());
        co_await forever.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> throw_if_cancelled_now() {
    const auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted);
}

// The error response for a failed read of a request (nullopt: just close).
std::optional<error_response> read_error_response(const error_code& ec, const server_config& cfg) {
    if (ec == bhttp::error::header_limit) {
        return json_error(
            431, "header_too_large",
            "the request header is larger than " + std::to_string(cfg.max_header_bytes) + " bytes");
    }
    if (ec == bhttp::error::body_limit) {
        return json_error(413, "payload_too_large",
                          "the request body is larger than " + std::to_string(cfg.max_body) + " bytes");
    }
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message)
        return std::nullopt;
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())
        return json_error(400, "bad_request", "malformed HTTP request: " + ec.message());
    return std::nullopt;
}

}  // namespace

response json_response(unsigned status, std::string body) {
    response res;
    res.version(11);
    res.result(status);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = std::move(body);
    return res;
}

response error_reply(const error_response& e) {
    auto res = json_response(e.status, to_json(e));
    if (!e.allow.empty())
        res.set(bhttp::field::allow, e.allow);
    return res;
}

asio::awaitable<poll_result> request_context::long_poll(change_notifier& changes,
                                                        std::chrono::milliseconds max_wait) const {
    const auto gen = changes.generation();
    server& srv = session_->srv;
    if (srv.stopping_)
        co_return poll_result::stopping;
    const std::uint32_t uid = peer_->uid;
    if (uid != 0) {
        auto& open = srv.polls_of_uid_[uid];
        if (open >=
            static_cast<std::size_t>(std::max<std::int64_t>(srv.cfg_.access.max_long_polls_per_uid, 1))) {
            ++srv.stats_.limited_polls;
            co_return poll_result::limited;
        }
        ++open;
    }
    // the count goes down however the wait ends (an exception included)
    struct release {
        server& srv;
        std::uint32_t uid;
        ~release() {
            if (uid == 0)
                return;
            const auto it = srv.polls_of_uid_.find(uid);
            if (it != srv.polls_of_uid_.end() && --it->second == 0)
                srv.polls_of_uid_.erase(it);
        }
    } counted{srv, uid};
    asio::steady_timer timer(session_->sock.get_executor());
    timer.expires_after(max_wait);
    const auto r = co_await (changes.wait_since(gen) || timer.async_wait(use_tuple) ||
                             watch_hangup(session_->sock) || srv.stop_wait());
    // a branch may have "won" only because this coroutine was cancelled
    co_await throw_if_cancelled_now();
    switch (r.index()) {
        case 0:
            co_return poll_result::changed;
        case 1:
            co_return poll_result::timed_out;
        case 2:
            co_return poll_result::client_gone;
        default:
            co_return poll_result::stopping;
    }
}

response request_context::too_many_long_polls() const {
    const auto limit = session_->srv.cfg_.access.max_long_polls_per_uid;
    auto res =
        error_reply(json_error(429, "too_many_long_polls",
                               "uid " + std::to_string(peer_->uid) + " already has " + std::to_string(limit) +
                                   " long polls waiting, its limit (control.max_long_polls_per_uid); "
                                   "ask again without ?wait=, or in a second"));
    res.set(bhttp::field::retry_after, "1");
    return res;
}

asio::awaitable<std::string> request_context::user_name() const {
    const std::uint32_t uid = peer_->uid;
    auto name = co_await session_->srv.names_.lookup_user_name(uid);
    if (!name)
        name = "uid" + std::to_string(uid);
    co_return std::move(*name);
}

namespace {

name_cache_config cache_config(const server_config& cfg) {
    name_cache_config c;
    c.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.access.name_cache_ttl);
    c.lookup_timeout = cfg.name_lookup_timeout;
    return c;
}

}  // namespace

server::server(asio::any_io_executor ex, server_config cfg, handler h, core::logger log)
    : ex_(ex),
      cfg_(std::move(cfg)),
      handler_(std::move(h)),
      log_(log),
      names_(ex, cfg_.names ? cfg_.names : std::make_shared<system_name_resolver>(), cache_config(cfg_)),
      acceptor_(ex),
      stop_timer_(ex),
      tasks_done_(ex) {
    stop_timer_.expires_at(asio::steady_timer::time_point::max());
}

void server::set_access(config::control_config access) {
    cfg_.access = std::move(access);
    names_.set_ttl(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.access.name_cache_ttl));
}

server::~server() {
    error_code ignored;
    acceptor_.close(ignored);
    remove_socket_file();
}

error_code server::fail(error_code ec, std::string detail) {
    error_detail_ = std::move(detail);
    error_code ignored;
    acceptor_.close(ignored);
    remove_socket_file();
    return ec;
}

void server::remove_socket_file() {
    if (!created_file_)
        return;
    created_file_ = false;
    struct stat st {};
    // only our own socket: another instance may have replaced it since
    if (::lstat(cfg_.socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == file_dev_ &&
        st.st_ino == file_ino_)
        ::unlink(cfg_.socket_path.c_str());
}

error_code server::listen() {
    error_detail_.clear();
    const std::string& path = cfg_.socket_path;
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return fail(errc::path_too_long, "the control socket path \"" + path + "\" is empty or longer than " +
                                             std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return fail(
                errc::not_a_socket,
                path + " exists and is not a socket; it was left alone (remove it or choose another path)");
        }
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            const int e = errno;
            return fail(errno_code(e), "cannot create a socket: " + errno_text(e));
        }
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.data(), path.size());
        const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        const int e = rc == 0 ? 0 : errno;
        ::close(fd);
        // EAGAIN: a listener whose backlog is full is still a listener
        if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
            return fail(errc::already_listening, "another tfsnapd is listening on " + path);
        if (e != ECONNREFUSED)
            return fail(errno_code(e), "cannot probe the existing socket " + path + ": " + errno_text(e));
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            const int ue = errno;
            return fail(errno_code(ue), "cannot remove the stale socket " + path + ": " + errno_text(ue));
        }
        log_.notice("removed a stale control socket", {{"event", "control-stale-socket"}, {"path", path}});
    } else if (errno != ENOENT) {
        const int e = errno;
        return fail(errno_code(e), "cannot inspect " + path + ": " + errno_text(e));
    }

    error_code ec;
    acceptor_.open(asio::local::stream_protocol(), ec);
    if (!ec) {
        const asio::local::stream_protocol::endpoint endpoint(path);
        acceptor_.bind(endpoint, ec);
    }
    if (ec)
        return fail(ec, "cannot bind " + path + ": " + ec.message());
    struct stat made {};
    if (::lstat(path.c_str(), &made) == 0) {
        created_file_ = true;
        file_dev_ = made.st_dev;
        file_ino_ = made.st_ino;
    }
    // before listen(): nobody can connect while the permissions are still the umask's
    if (::chmod(path.c_str(), cfg_.mode) != 0) {
        const int e = errno;
        return fail(errno_code(e), "cannot chmod " + path + ": " + errno_text(e));
    }
    if (!cfg_.group.empty()) {
        // once, before the event loop serves anyone
        const auto gid = system_name_resolver().group_id(cfg_.group);
        if (!gid) {
            log_.warning("the control socket's group does not exist; the socket keeps its group",
                         {{"event", "control-socket-group-missing"}, {"path", path}, {"group", cfg_.group}});
        } else if (::lchown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(*gid)) != 0) {
            const int e = errno;
            return fail(errno_code(e),
                        "cannot give " + path + " to group " + cfg_.group + ": " + errno_text(e));
        }
    }
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return fail(ec, "cannot listen on " + path + ": " + ec.message());
    log_.info("control socket listening", {{"event", "control-listening"}, {"path", path}});
    return {};
}

error_code server::adopt(int fd) {
    error_detail_.clear();
    const std::string what = "descriptor " + std::to_string(fd);
    struct stat st {};
    int domain = 0;
    int type = 0;
    int listening = 0;
    socklen_t len = sizeof(int);
    const bool is_socket = ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    const bool ok =
        is_socket && ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX &&
        (len = sizeof(int), ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) && type == SOCK_STREAM &&
        (len = sizeof(int), ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0) &&
        listening != 0;
    if (!ok) {
        ::close(fd);
        return fail(errc::bad_socket, what + " is not a listening Unix stream socket");
    }
    error_code ec;
    acceptor_.assign(asio::local::stream_protocol(), fd, ec);
    if (ec) {
        ::close(fd);
        return fail(ec, "cannot use " + what + ": " + ec.message());
    }
    log_.info("control socket adopted", {{"event", "control-adopted"}, {"fd", std::to_string(fd)}});
    return {};
}

asio::awaitable<void> server::stop_wait() {
    if (!stopping_)
        co_await stop_timer_.async_wait(use_tuple);
    if (!stopping_)
        throw boost::system::system_error(asio::error::operation_aborted);
}

void server::spawn(asio::awaitable<void> work, bool is_session, std::optional<std::uint32_t> uid) {
    const auto id = next_task_++;
    auto& t = tasks_[id];
    t.signal = std::make_unique<asio::cancellation_signal>();
    t.session = is_session;
    t.uid = uid;
    ++(is_session ? sessions_ : rejecting_);
    if (uid)
        ++sessions_of_uid_[*uid];
    asio::co_spawn(ex_, std::move(work),
                   asio::bind_cancellation_slot(t.signal->slot(), [this, id](std::exception_ptr e) {
                       const auto it = tasks_.find(id);
                       --(it->second.session ? sessions_ : rejecting_);
                       if (const auto u = it->second.uid) {
                           const auto c = sessions_of_uid_.find(*u);
                           if (c != sessions_of_uid_.end() && --c->second == 0)
                               sessions_of_uid_.erase(c);
                       }
                       tasks_.erase(it);
                       if (e && !is_aborted(e)) {
                           log_.error("control connection failed",
                                      {{"event", "control-connection-failed"}, {"error", what_of(e)}});
                       }
                       if (stopping_ && tasks_.empty())
                           tasks_done_.cancel();
                   }));
}

void server::cancel_tasks() {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, t] : tasks_)
        ids.push_back(id);
    for (const auto id : ids) {
        const auto it = tasks_.find(id);
        if (it != tasks_.end())
            it->second.signal->emit(asio::cancellation_type::terminal);
    }
}

std::size_t server::shared_connections() const noexcept {
    const auto max = static_cast<std::size_t>(std::max<std::int64_t>(cfg_.access.max_connections, 1));
    const auto reserved = static_cast<std::size_t>(
        std::clamp<std::int64_t>(cfg_.access.reserved_for_operators, 0, static_cast<std::int64_t>(max)));
    return max - reserved;
}

void server::refuse(local_socket sock, error_response why) {
    ++stats_.rejected;
    // beyond max_connections refusals at once not even a 503: a flood gets nothing but closed
    // sockets
    if (rejecting_ >= static_cast<std::size_t>(std::max<std::int64_t>(cfg_.access.max_connections, 1))) {
        error_code ignored;
        sock.close(ignored);
        return;
    }
    spawn(reject(std::move(sock), std::move(why)), false, std::nullopt);
}

void server::admit(local_socket sock) {
    ++stats_.accepted;
    error_code ignored;
    const auto max = static_cast<std::size_t>(std::max<std::int64_t>(cfg_.access.max_connections, 1));
    if (sessions_ >= max) {
        log_.warning("control connection refused: too many connections",
                     {{"event", "control-too-many-connections"}, {"limit", std::to_string(max)}});
        refuse(std::move(sock),
               json_error(503, "too_many_connections",
                          "the control socket has " + std::to_string(max) +
                              " connections open, its limit (control.max_connections); try again later"));
        return;
    }
    auto found = peer_of(sock.native_handle());
    if (!found) {
        const int e = errno;
        log_.warning("control connection dropped: no peer credentials",
                     {{"event", "control-no-credentials"}, {"error", errno_text(e)}});
        sock.close(ignored);
        return;
    }
    const std::uint32_t uid = found->peer.uid;
    bool needs_operator = false;
    if (uid != 0) {
        const auto per_uid =
            static_cast<std::size_t>(std::max<std::int64_t>(cfg_.access.max_connections_per_uid, 1));
        const auto it = sessions_of_uid_.find(uid);
        if (it != sessions_of_uid_.end() && it->second >= per_uid) {
            ++stats_.rejected_per_uid;
            log_.warning("control connection refused: too many connections of one user",
                         {{"event", "control-too-many-connections-of-uid"},
                          {"uid", std::to_string(uid)},
                          {"limit", std::to_string(per_uid)}});
            refuse(std::move(sock),
                   json_error(503, "too_many_connections",
                              "uid " + std::to_string(uid) + " has " + std::to_string(per_uid) +
                                  " connections open, its limit (control.max_connections_per_uid); close one "
                                  "or try again later"));
            return;
        }
        // the last reserved_for_operators connections: whether this peer may have one is decided
        // by its session, which may have to wait for the name cache
        needs_operator = sessions_ >= shared_connections();
    }
    spawn(serve(std::move(sock), std::move(found->peer), found->groups_known, needs_operator), true, uid);
}

asio::awaitable<authorization> server::authorize_peer(const peer_credentials& peer, role needed) {
    // a copy: a reload may replace cfg_.access while the lookups are awaited
    const config::control_config access = cfg_.access;
    if (peer.uid != 0) {
        const auto late = co_await names_.prepare(access);
        for (const auto& p : late)
            log_.warning("a name lookup did not answer in time; the principal matches nobody for now",
                         {{"event", "control-name-lookup-slow"},
                          {"principal", p},
                          {"timeout", millis(cfg_.name_lookup_timeout)}});
    }
    co_return authorize(peer, needed, access, names_);
}

asio::awaitable<void> server::reject(local_socket sock, error_response why) {
    auto res = error_reply(why);
    res.keep_alive(false);
    res.prepare_payload();
    if (co_await write_within(sock, res, cfg_.write_timeout))
        co_await linger_close(sock, cfg_.linger_timeout);
    error_code ignored;
    sock.close(ignored);
}

asio::awaitable<void> server::serve(local_socket sock, peer_credentials peer, bool groups_known,
                                    bool needs_operator) {
    detail::session session{sock, *this};
    beast::flat_buffer buf;
    const std::string uid = std::to_string(peer.uid);
    const std::string pid = std::to_string(peer.pid);
    error_code ignored;

    if (!groups_known) {
        auto groups = co_await names_.lookup_user_groups(peer.uid, peer.gid);
        if (groups)
            peer.groups = std::move(*groups);
    }
    if (needs_operator) {
        const auto a = co_await authorize_peer(peer, role::operator_);
        if (!a.allowed) {
            ++stats_.rejected_reserved;
            const auto max = cfg_.access.max_connections;
            const auto reserved =
                static_cast<std::int64_t>(max) - static_cast<std::int64_t>(shared_connections());
            log_.warning("control connection refused: the remaining connections are kept for operators",
                         {{"event", "control-connections-reserved"},
                          {"uid", uid},
                          {"pid", pid},
                          {"reserved", std::to_string(reserved)}});
            // answered by a refusal task, so that this session's slot is free at once
            refuse(
                std::move(sock),
                json_error(503, "too_many_connections",
                           "the control socket has " + std::to_string(shared_connections()) +
                               " connections open; the last " + std::to_string(reserved) + " of its " +
                               std::to_string(max) +
                               " are kept for root and operators (control.reserved_for_operators); try again "
                               "later"));
            co_return;
        }
    }

    while (!stopping_) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(cfg_.max_header_bytes));
        parser.body_limit(cfg_.max_body);
        asio::steady_timer timer(sock.get_executor());

        // The header. An idle keep-alive connection ends here too.
        timer.expires_after(cfg_.header_timeout);
        const auto header = co_await (bhttp::async_read_header(sock, buf, parser, use_tuple) ||
                                      timer.async_wait(use_tuple) || stop_wait());
        if (header.index() == 2)
            break;
        if (header.index() == 1) {
            ++stats_.timeouts;
            if (buf.size() > 0 || parser.got_some()) {
                auto res = error_reply(
                    json_error(408, "request_timeout",
                               "the request header did not arrive within " + millis(cfg_.header_timeout)));
                res.keep_alive(false);
                res.prepare_payload();
                if (co_await write_within(sock, res, cfg_.write_timeout))
                    co_await linger_close(sock, cfg_.linger_timeout);
            }
            break;
        }
        if (const auto ec = std::get<0>(std::get<0>(header))) {
            if (const auto e = read_error_response(ec, cfg_)) {
                auto res = error_reply(*e);
                res.keep_alive(false);
                res.prepare_payload();
                if (co_await write_within(sock, res, cfg_.write_timeout))
                    co_await linger_close(sock, cfg_.linger_timeout);
            }
            break;
        }

        auto& req = parser.get();
        const std::string method(req.method_string());
        const std::string target(req.target());
        std::optional<error_response> refusal;
        bool denied = false;
        route_match route;
        authorization auth;
        if (req.version() != 11) {
            refusal = json_error(505, "http_version_not_supported", "the control API speaks HTTP/1.1 only");
        } else {
            route = match(method, target);
            if (!route.ok()) {
                refusal = route.error;
            } else {
                auth = co_await authorize_peer(peer, route.needed);
                if (!auth.allowed) {
                    refusal = auth.denial;
                    denied = true;
                }
            }
        }
        if (refusal) {
            if (denied) {
                ++stats_.denied;
                log_.notice("control request denied", {{"event", "control-denied"},
                                                       {"method", method},
                                                       {"target", target},
                                                       {"uid", uid},
                                                       {"pid", pid},
                                                       {"role", std::string(to_string(route.needed))}});
            }
            // an unread body (or another protocol version) ends the connection, and so does a
            // denial: a peer without the role has no business keeping a connection
            const bool keep =
                !denied && parser.is_done() && req.version() == 11 && req.keep_alive() && !stopping_;
            auto res = error_reply(*refusal);
            res.keep_alive(keep);
            res.prepare_payload();
            if (!co_await write_within(sock, res, cfg_.write_timeout))
                break;
            ++stats_.requests;
            if (!keep) {
                co_await linger_close(sock, cfg_.linger_timeout);
                break;
            }
            continue;
        }

        // The body, now that the peer may send one.
        if (!parser.is_done()) {
            if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
                bhttp::response<bhttp::empty_body> go_on;
                go_on.version(11);
                go_on.result(bhttp::status::continue_);
                if (!co_await write_within(sock, go_on, cfg_.write_timeout))
                    break;
            }
            timer.expires_after(cfg_.read_timeout);
            const auto body =
                co_await (bhttp::async_read(sock, buf, parser, use_tuple) || timer.async_wait(use_tuple));
            std::optional<error_response> e;
            if (body.index() == 1) {
                ++stats_.timeouts;
                e = json_error(408, "request_timeout",
                               "the request body did not arrive within " + millis(cfg_.read_timeout));
            } else if (const auto ec = std::get<0>(std::get<0>(body))) {
                e = read_error_response(ec, cfg_);
                if (!e)
                    break;
            }
            if (e) {
                auto res = error_reply(*e);
                res.keep_alive(false);
                res.prepare_payload();
                if (co_await write_within(sock, res, cfg_.write_timeout))
                    co_await linger_close(sock, cfg_.linger_timeout);
                break;
            }
        }

        const request_context ctx(parser.get(), route, peer, auth, session);
        std::optional<response> res;
        std::exception_ptr failure;
        try {
            res = co_await handler_(ctx);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            // cancelled from outside (a terminal cancellation at shutdown): no response
            co_await throw_if_cancelled_now();
            log_.error("control request failed", {{"event", "control-handler-failed"},
                                                  {"method", method},
                                                  {"target", target},
                                                  {"error", what_of(failure)}});
            res = error_reply(json_error(500, "internal_error", "the request failed; see the daemon's log"));
        }
        const bool keep = parser.get().keep_alive() && !stopping_;
        res->version(11);
        res->keep_alive(keep);
        res->prepare_payload();
        log_.debug("control request", {{"event", "control-request"},
                                       {"method", method},
                                       {"target", target},
                                       {"status", std::to_string(res->result_int())},
                                       {"uid", uid},
                                       {"pid", pid}});
        if (!co_await write_within(sock, *res, cfg_.write_timeout))
            break;
        ++stats_.requests;
        if (!keep)
            break;
    }
    sock.shutdown(asio::socket_base::shutdown_both, ignored);
    sock.close(ignored);
}

asio::awaitable<void> server::run() {
    if (!acceptor_.is_open())
        throw boost::system::system_error(make_error_code(errc::no_acceptor));
    // any cancellation type stops the server (a total one first, at shutdown)
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());

    for (;;) {
        auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
        if (!ec) {
            admit(std::move(sock));
            continue;
        }
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (ec == asio::error::operation_aborted || cs.cancelled() != asio::cancellation_type::none)
            break;
        // EMFILE, ENFILE, ENOBUFS, ECONNABORTED: the listening socket is still good
        log_.error("control socket accept failed",
                   {{"event", "control-accept-failed"}, {"error", ec.message()}});
        asio::steady_timer pause(ex_);
        pause.expires_after(cfg_.accept_retry_pause);
        const auto [pec] = co_await pause.async_wait(use_tuple);
        if (pec)
            break;
    }

    const auto how = (co_await asio::this_coro::cancellation_state).cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await asio::this_coro::reset_cancellation_state();  // terminal only from now on
    stopping_ = true;
    stop_timer_.cancel();
    error_code ignored;
    acceptor_.close(ignored);
    remove_socket_file();
    if ((how & asio::cancellation_type::terminal) != asio::cancellation_type::none)
        cancel_tasks();
    while (!tasks_.empty()) {
        tasks_done_.expires_at(asio::steady_timer::time_point::max());
        co_await tasks_done_.async_wait(use_tuple);
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) {
            cancel_tasks();
            co_await asio::this_coro::reset_cancellation_state();
        }
    }
    log_.info("control server stopped", {{"event", "control-stopped"}});
}

}  // namespace tfsnap::control
