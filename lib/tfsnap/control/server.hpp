#pragma once
// The control API's HTTP/1.1 server on a Unix stream socket (Beast; `curl --unix-socket` works).
//
// Per request: read the header (within header_timeout), route it (router.hpp), authorize the
// peer (authorize.hpp, with the credentials the kernel gives for the connection), and only then
// read the body (within read_timeout, at most max_body bytes), call the handler, and write its
// response (within write_timeout). Errors before the handler are JSON error responses:
//   400 bad_request / invalid_* / unknown_parameter  (router.hpp), or a malformed request
//   403 forbidden                  the peer lacks the route's role; then closed
//   404 not_found, 405 method_not_allowed (with Allow)
//   408 request_timeout            part of a request came, the rest not in time; then closed
//   413 payload_too_large          Content-Length or the body beyond max_body; then closed
//   431 header_too_large           a header beyond max_header_bytes; then closed
//   500 internal_error             the handler threw
//   503 too_many_connections       a connection beyond the limits below; then closed (beyond
//                                  max_connections refusals at once, connections are just closed)
//   505 http_version_not_supported anything but HTTP/1.1; then closed
//
// Fairness (access.max_connections, max_connections_per_uid, reserved_for_operators and
// max_long_polls_per_uid, from control_config), decided when a connection is accepted, from its
// SO_PEERCRED uid:
//   - beyond max_connections open connections, everyone gets 503;
//   - a uid other than 0 with max_connections_per_uid connections open gets 503;
//   - the last reserved_for_operators of max_connections are only for root and the operators
//     (control.operators): anyone else gets 503 once max_connections - reserved_for_operators
//     are open. Whether a peer is an operator is resolved through the name cache (below), so a
//     cold cache may make that connection wait for NSS (never the event loop).
//   - long polls (request_context::long_poll): a uid other than 0 with max_long_polls_per_uid
//     polls waiting gets poll_result::limited at once, and the handler answers
//     too_many_long_polls() (429 with Retry-After).
// Name lookups (principals, peers' user names and, without SO_PEERGROUPS, their groups) go
// through a name_cache (name_cache.hpp): off the event loop, cached for access.name_cache_ttl,
// awaited for at most name_lookup_timeout.
// A connection is kept alive unless the client asks otherwise; an idle one is closed without a
// response when header_timeout passes. `Expect: 100-continue` is honoured. After an error
// response whose request body was not read, the connection is closed (after reading what the
// client still sends, for at most linger_timeout, so that it sees the response).
//
// Peer credentials: SO_PEERCRED (pid, uid, gid as of connect()) and SO_PEERGROUPS
// (supplementary groups as of connect(), Linux >= 4.13); where SO_PEERGROUPS is unavailable,
// the groups of the uid's user in the group database (getgrouplist).
//
// listen(): binds `socket_path`. An existing socket there is probed: if something accepts the
// connection, errc::already_listening ("another tfsnapd is listening on PATH"); if the
// connection is refused it is stale and replaced. Anything else at the path (a file, a
// directory, a symlink) is never removed: errc::not_a_socket. Then the socket gets `mode` and,
// when `group` names a group, that group (a group that does not resolve is logged and skipped;
// one that resolves but cannot be set is an error), and only then starts listening. A socket that listen()
// created is removed when run() ends if it is still the same file. adopt(): takes a listening AF_UNIX stream
// socket from the service manager (socket activation); it is never chmod-ed, chown-ed or removed. Both return
// an error_code (errc, or a system errno) with the path and the reason in error_detail().
//
// Cancellation: run() accepts until it is cancelled (any type). It then closes the acceptor,
// wakes idle connections (closed) and long polls (which return poll_result::stopping, so that
// the handler can answer; the connection closes after that response), and waits for every
// connection task. A terminal cancellation, in the first cancellation or during that wait, is
// passed on to every connection task (a handler's awaits throw operation_aborted; the
// connection closes without a response). run() then returns normally. run() resets the
// cancellation state of the coroutine it runs in so that every type gets through (co_spawn it
// with its own slot, as tfsnapd does).
// Thread safety: none; the server, its handler and its tasks run on one executor (tfsnapd's one
// I/O thread).
// Lifetime: the server must outlive run(); call run() at most once.

#include "tfsnap/config/config.hpp"
#include "tfsnap/control/authorize.hpp"
#include "tfsnap/control/change_notifier.hpp"
#include "tfsnap/control/name_cache.hpp"
#include "tfsnap/control/router.hpp"
#include "tfsnap/core/logger.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tfsnap::control {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

struct server_config {
    std::string socket_path = "/run/tfsnap/control.sock";  // for listen(); adopt() ignores it
    unsigned mode = 0660;
    std::string group;  // chgrp the socket to this group; empty: leave it as created
    std::chrono::milliseconds header_timeout{10000};  // until a request's header is complete
    std::chrono::milliseconds read_timeout{30000};    // the body, after the header
    std::chrono::milliseconds write_timeout{30000};   // each response
    // after an error response that ends a connection: reading what the client still sends
    std::chrono::milliseconds linger_timeout{1000};
    std::chrono::milliseconds accept_retry_pause{100};  // after a failed accept (EMFILE, ...)
    std::size_t max_header_bytes = 16 * 1024;
    std::uint64_t max_body = 64 * 1024;
    // Readers, operators and the limits above (its `socket` is not used here).
    config::control_config access;
    // Resolves names (principals, peers' user names); null: the system's databases
    // (system_resolver.hpp). Blocking calls are fine: they run on the name cache's threads.
    std::shared_ptr<const name_resolver> names;
    std::chrono::milliseconds name_lookup_timeout{5000};  // a request waits this long for NSS
};

enum class poll_result {
    changed,      // the notifier was notified
    timed_out,    // max_wait passed
    client_gone,  // the client closed its end of the connection
    stopping,     // the server is stopping: answer now, the connection closes afterwards
    limited,      // the peer's uid has max_long_polls_per_uid polls waiting: nothing was waited for
};

namespace detail {
struct session;
}

// What a handler gets. Only the server makes these; they refer to the connection's state and
// are valid until the handler's coroutine completes.
class request_context {
public:
    const request& req() const noexcept { return *req_; }
    const route_match& route() const noexcept { return *route_; }  // route().ok() is always true
    const peer_credentials& peer() const noexcept { return *peer_; }
    const authorization& auth() const noexcept { return *auth_; }  // auth().allowed is always true

    // Waits until `changes` is notified after this call, `max_wait` passes, the client hangs
    // up, or the server stops, whichever is first. Changes made before the call (since the
    // handler last looked at the state, with no co_await in between) count: see
    // change_notifier. Cancellation: throws operation_aborted.
    // A uid other than 0 may have access.max_long_polls_per_uid of these waiting at once; beyond
    // that it returns poll_result::limited at once.
    boost::asio::awaitable<poll_result> long_poll(change_notifier& changes,
                                                  std::chrono::milliseconds max_wait) const;
    // The answer to a poll that was limited: 429 too_many_long_polls, with Retry-After.
    response too_many_long_polls() const;

    // The peer's user name ("uid<N>" when it has none, or NSS did not answer in time), through
    // the name cache. Cancellation: throws operation_aborted.
    boost::asio::awaitable<std::string> user_name() const;

private:
    friend class server;
    request_context(const request& req, const route_match& route, const peer_credentials& peer,
                    const authorization& auth, detail::session& s) noexcept
        : req_(&req), route_(&route), peer_(&peer), auth_(&auth), session_(&s) {}

    const request* req_;
    const route_match* route_;
    const peer_credentials* peer_;
    const authorization* auth_;
    detail::session* session_;
};

// The handler: called for every routed and authorized request with its body read. It returns
// the response; the server sets the HTTP version, keep-alive and Content-Length. An exception
// is logged and answered with 500 (operation_aborted during a terminal cancellation closes the
// connection instead).
using handler = std::function<boost::asio::awaitable<response>(request_context)>;

// A response with `body` as application/json.
response json_response(unsigned status, std::string body);
// The JSON error response for `e` (with its Allow header for a 405).
response error_reply(const error_response& e);

class server {
public:
    server(boost::asio::any_io_executor ex, server_config cfg, handler h, core::logger log);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    boost::system::error_code listen();
    boost::system::error_code adopt(int fd);  // takes ownership of fd, even on error
    const std::string& error_detail() const noexcept { return error_detail_; }

    // Accepts and serves until cancelled; see above. Throws system_error(errc::no_acceptor)
    // without listen() or adopt().
    boost::asio::awaitable<void> run();

    // The readers, operators and limits for requests and connections from now on (a reload).
    // Connections already open stay.
    void set_access(config::control_config access);

    const server_config& config() const noexcept { return cfg_; }
    std::size_t connections() const noexcept { return sessions_; }

    // Counters, for metrics and tests.
    struct stats {
        std::uint64_t accepted = 0;
        std::uint64_t rejected = 0;           // 503: any of the connection limits
        std::uint64_t rejected_per_uid = 0;   // ... of those, max_connections_per_uid
        std::uint64_t rejected_reserved = 0;  // ... of those, the part kept for operators
        std::uint64_t limited_polls = 0;      // long polls refused (max_long_polls_per_uid)
        std::uint64_t requests = 0;           // that got a response
        std::uint64_t denied = 0;             // 403
        std::uint64_t timeouts = 0;           // 408, or an idle connection closed
    };
    const stats& counters() const noexcept { return stats_; }

private:
    friend class request_context;
    struct task {
        std::unique_ptr<boost::asio::cancellation_signal> signal;
        bool session = false;
        std::optional<std::uint32_t> uid;  // a session's peer
    };

    void admit(boost::asio::local::stream_protocol::socket sock);
    void spawn(boost::asio::awaitable<void> work, bool is_session, std::optional<std::uint32_t> uid);
    void refuse(boost::asio::local::stream_protocol::socket sock, error_response why);
    std::size_t shared_connections() const noexcept;
    boost::asio::awaitable<authorization> authorize_peer(const peer_credentials& peer, role needed);
    void cancel_tasks();
    void remove_socket_file();
    boost::system::error_code fail(boost::system::error_code ec, std::string detail);

    boost::asio::awaitable<void> serve(boost::asio::local::stream_protocol::socket sock,
                                       peer_credentials peer, bool groups_known, bool needs_operator);
    boost::asio::awaitable<void> reject(boost::asio::local::stream_protocol::socket sock, error_response why);
    boost::asio::awaitable<void> stop_wait();

    boost::asio::any_io_executor ex_;
    server_config cfg_;
    handler handler_;
    core::logger log_;
    name_cache names_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::string error_detail_;
    bool created_file_ = false;  // listen() made the socket file (adopt() did not)
    std::uint64_t file_dev_ = 0;
    std::uint64_t file_ino_ = 0;

    bool stopping_ = false;
    boost::asio::steady_timer stop_timer_;  // never expires; cancelled when stopping
    boost::asio::steady_timer tasks_done_;  // cancelled when the last task ends while stopping
    std::map<std::uint64_t, task> tasks_;
    std::uint64_t next_task_ = 0;
    std::size_t sessions_ = 0;
    std::size_t rejecting_ = 0;
    std::map<std::uint32_t, std::size_t> sessions_of_uid_;
    std::map<std::uint32_t, std::size_t> polls_of_uid_;
    stats stats_;
};

}  // namespace tfsnap::control
