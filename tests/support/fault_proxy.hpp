#pragma once
// An HTTP/1.1 proxy on 127.0.0.1 that injects faults into chosen requests, for tests of how
// tfsnap copes with a misbehaving network or server. It sits between a client and an upstream
// HTTP server (radosgw or dynalite in the tests), plain HTTP only.
//
// Each client connection gets its own upstream connection (opened on the first request that is
// forwarded, reopened when upstream closes it); both are kept alive. Requests are forwarded
// unchanged, Host included, so a SigV4 signature made for the proxy's address still verifies
// upstream. `Expect: 100-continue` is answered by the proxy and not forwarded. Bodies are
// streamed in both directions through a fixed-size buffer: a body of any size costs the proxy
// the same memory (except a request body a rule must look into: see `request_match::body`).
//
// Requests are numbered from 1 in the order their heads arrive, over all connections. What a
// request gets is decided in this order:
//   1. a fault registered for its number with `on_request`;
//   2. the first active rule (`add_rule`) that matches it: a fault, or a hold;
//   3. the random faults (`set_random_faults`): a seeded share of requests gets a fault drawn
//      from a list of kinds;
//   4. otherwise it is forwarded (after the random `delay_max` latency, if set).
//
// Faults:
//   pass            forwarded as usual;
//   reset           after the request head is read, the client connection is reset (RST, through
//                   SO_LINGER {1, 0}); nothing is forwarded;
//   stall           the request is read, nothing is answered for `stall_for`, then the client
//                   connection is closed; nothing is forwarded;
//   slow_down       not forwarded; answered 503 (S3: a `SlowDown` error; DynamoDB: a JSON
//                   `ServiceUnavailable` error), and the connection stays usable;
//   internal_error  not forwarded; answered 500 (S3: `InternalError`; DynamoDB: a JSON
//                   `InternalServerError`), and the connection stays usable;
//   truncate        forwarded; the response head is relayed unchanged (its Content-Length too) but
//                   only `truncate_after` body bytes (all of a shorter body), then the client
//                   connection is closed.
// If upstream cannot be reached the client gets 502 and the connection is closed.
//
// Holds (rules only): `hold` keeps the request unforwarded until the rule is released or
// `hold_for` has passed, then forwards it; `hold_response` forwards the request at once (the
// server acts on it) and keeps its response from the client the same way. A held request whose
// client closes its connection is dropped, never forwarded later (`hold` reads a request body of
// known length up to `max_match_body` first, to tell; with a longer one it cannot, and forwards
// it when the hold ends). A hold never lasts longer than `fault_proxy_options::max_hold`.
//
// Deadlines: every read and write has a deadline (`fault_proxy_options`), so a dead peer
// cannot hold a connection forever.
//
// Threads: the proxy runs on its own thread and io_context; all public member functions may
// be called from any thread.
//
// Lifetime: the destructor stops accepting, closes every connection on both sides (cancelling
// stalls and holds) and joins the thread; no task outlives the object.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::test {

enum class fault_kind { pass, reset, stall, slow_down, truncate, internal_error };

std::string_view to_string(fault_kind k) noexcept;
// "pass", "reset", "stall", "slow_down", "truncate", "internal_error"; nullopt for anything else.
std::optional<fault_kind> parse_fault_kind(std::string_view s) noexcept;

struct fault {
    fault_kind kind = fault_kind::pass;
    std::chrono::milliseconds stall_for{
        0};                          // stall: hold the request this long without answering, then close
    std::size_t truncate_after = 0;  // truncate: body bytes relayed before the connection is closed
};

// Whose error bodies the proxy makes up for slow_down and internal_error.
enum class error_dialect { s3, dynamodb };

struct fault_proxy_options {
    std::chrono::milliseconds connect_timeout{5'000};  // opening the upstream connection
    std::chrono::milliseconds io_timeout{30'000};      // each read or write once a request has begun
    std::chrono::milliseconds idle_timeout{60'000};    // waiting for the next request on a client connection
    std::chrono::milliseconds max_hold{120'000};       // no hold lasts longer, whatever a rule asks
    error_dialect dialect = error_dialect::s3;
};

// A seeded share of requests gets a fault drawn uniformly from `kinds`. The draws are made in
// request order from one generator, so a run with the same seed and the same request order gets
// the same faults.
struct random_faults {
    double share = 0;  // 0..1
    std::uint64_t seed = 1;
    std::vector<fault_kind> kinds{};  // empty: no faults
    std::chrono::milliseconds stall_for{35'000};
    std::size_t truncate_after = 0;  // the largest cut: each truncate relays uniform [0, this] bytes
    // Each forwarded request waits uniform [0, delay_max] first: widens the windows between steps.
    // A request whose client leaves during its delay is dropped, as a held one is.
    std::chrono::milliseconds delay_max{0};
};

// What a rule matches. Every field that is set must match.
struct request_match {
    std::string method{};        // "PUT"; empty: any
    std::string path{};          // ECMAScript regex searched in the target (path and query)
    std::string header{};        // a header name (case-insensitive), e.g. "X-Amz-Target"
    std::string header_value{};  // regex searched in that header's value ("" : the header is present)
    // A substring of the request body. The body is read whole before the decision (at most
    // `max_match_body` bytes; a longer body does not match) and forwarded from memory.
    std::string body{};
};
inline constexpr std::size_t max_match_body = 1 << 20;

enum class rule_action { hold, hold_response, fault };

struct rule {
    request_match match{};
    rule_action action = rule_action::hold;
    std::chrono::milliseconds hold_for{60'000};  // hold/hold_response: forward after this, if not released
    // hold_response: relay the response head and this many body bytes first, then hold the rest
    // (the client has begun to receive the body: e.g. a download's file exists).
    std::size_t hold_after_bytes = 0;
    fault what{};           // action fault
    std::size_t times = 1;  // requests it acts on; 0: every one that matches
};

struct rule_status {
    bool exists = false;
    std::size_t matched = 0;  // requests it acted on
    std::size_t holding = 0;  // held right now
    std::size_t dropped = 0;  // held requests whose client went away (never forwarded)
    bool released = false;
};

struct fault_counts {
    std::size_t reset = 0, stall = 0, slow_down = 0, truncate = 0, internal_error = 0;
    std::size_t truncated_bodies = 0;  // truncates that really cut a body short
    std::size_t held = 0, dropped = 0;
    std::size_t total() const noexcept { return reset + stall + slow_down + truncate + internal_error; }
};

struct logged_request {
    std::size_t n = 0;
    std::string method, target;
    std::string amz_target;  // the X-Amz-Target header (DynamoDB's operation), or ""
    std::string action;      // "pass", a fault kind, "held", "held_response", "dropped"
    std::size_t rule = 0;    // the rule that acted on it, or 0
    unsigned status = 0;     // the response status relayed or made up; 0: none
    std::int64_t at_us = 0;  // when its head arrived: microseconds since the Unix epoch (to order
                             // the requests of several proxies)
};

class fault_proxy {
public:
    // Listens on 127.0.0.1 on a free port and serves on its own thread. Throws
    // boost::system::system_error if the socket cannot be bound.
    fault_proxy(std::string upstream_host, std::uint16_t upstream_port);
    fault_proxy(std::string upstream_host, std::uint16_t upstream_port, fault_proxy_options options);
    ~fault_proxy();

    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    // Gives the n-th request through the proxy (1-based, counted over all connections) the
    // fault f, replacing any fault already registered for n.
    void on_request(std::size_t n, fault f);
    // Removes every fault registered by number, every rule (releasing what they hold) and the
    // random faults; the request count and the counters go on.
    void clear();

    void set_random_faults(random_faults r);

    // Adds a rule after those already there; returns its id (from 1). Throws std::regex_error on
    // a bad regex.
    std::size_t add_rule(rule r);
    // Lets what the rule holds go on now, and stops it from acting again.
    void release(std::size_t rule_id);
    // release(), then forgets the rule.
    void remove_rule(std::size_t rule_id);
    rule_status status_of(std::size_t rule_id) const;

    fault_counts injected() const;
    // The requests from number `since` + 1 on (the last 100,000 are kept).
    std::vector<logged_request> request_log(std::size_t since = 0) const;

    std::uint16_t port() const;
    std::string url() const;  // "http://127.0.0.1:PORT"
    std::size_t requests_seen() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tfsnap::test
