#pragma once
// An HTTP/1.1 proxy on 127.0.0.1 that injects faults into chosen requests, for tests of how the
// S3 client copes with a misbehaving network or server. It sits between a client and an
// upstream HTTP server (radosgw in the integration tests), plain HTTP only.
//
// Each client connection gets its own upstream connection (opened on the first request that is
// forwarded, reopened when upstream closes it); both are kept alive. Requests are forwarded
// unchanged, Host included, so a SigV4 signature made for the proxy's address still verifies
// upstream. `Expect: 100-continue` is answered by the proxy and not forwarded. Bodies are
// streamed in both directions through a fixed-size buffer: a body of any size costs the proxy
// the same memory.
//
// Requests are numbered from 1 in the order their heads arrive, over all connections. A request
// whose number has a fault registered with `on_request` gets that fault:
//   pass       forwarded as usual;
//   reset      after the request head is read, the client connection is reset (RST, through
//              SO_LINGER {1, 0}); nothing is forwarded;
//   stall      the request is read, nothing is answered for `stall_for`, then the client
//              connection is closed;
//   slow_down  not forwarded; answered with 503 and an S3 `SlowDown` error, and the connection
//              stays usable;
//   truncate   forwarded; the response head is relayed unchanged (its Content-Length too) but
//              only `truncate_after` body bytes (all of a shorter body), then the client
//              connection is closed.
// If upstream cannot be reached the client gets 502 and the connection is closed.
//
// Deadlines: every read and write has a deadline (`fault_proxy_options`), so a dead peer
// cannot hold a connection forever.
//
// Threads: the proxy runs on its own thread and io_context; all public member functions may
// be called from any thread.
//
// Lifetime: the destructor stops accepting, closes every connection on both sides (cancelling
// stalls) and joins the thread; no task outlives the object.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tfsnap::test {

enum class fault_kind { pass, reset, stall, slow_down, truncate };

struct fault {
    fault_kind kind = fault_kind::pass;
    std::chrono::milliseconds stall_for{
        0};                          // stall: hold the request this long without answering, then close
    std::size_t truncate_after = 0;  // truncate: body bytes relayed before the connection is closed
};

struct fault_proxy_options {
    std::chrono::milliseconds connect_timeout{5'000};  // opening the upstream connection
    std::chrono::milliseconds io_timeout{30'000};      // each read or write once a request has begun
    std::chrono::milliseconds idle_timeout{60'000};    // waiting for the next request on a client connection
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
    // Removes every registered fault; the request count goes on.
    void clear();

    std::uint16_t port() const;
    std::string url() const;  // "http://127.0.0.1:PORT"
    std::size_t requests_seen() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tfsnap::test
