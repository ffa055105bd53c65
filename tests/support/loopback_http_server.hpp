#pragma once
// A scripted HTTP/1.1 server on 127.0.0.1, for tests that need a peer to talk to: it stands in
// for EC2 IMDS, the ECS credential endpoints and STS, and it is the server the HTTP client is
// tested against.
//
// Every request is read whole (Content-Length or chunked, at most 16 MiB; larger bodies get 413
// and the connection is closed), recorded, and answered with what the handler returns.
// Connections are kept alive as long as the client asks for it and no response sets
// `close_after`. `Expect: 100-continue` is answered with `100 Continue` before the body is read.
//
// Responses: the handler's status, headers (in order) and body. Content-Length is set from the
// body unless the handler sets Content-Length or Transfer-Encoding itself (with
// `Transfer-Encoding: chunked` the body is sent chunked). A response to HEAD carries the
// Content-Length of its body but no body.
//
// Threads: the server runs on its own thread and io_context. The handler is called on that
// thread, one request at a time; it must not block for long (use `delay` to answer late). An
// exception from the handler is answered with 500 and its message as the body. All public
// member functions may be called from any thread.
//
// Lifetime: the destructor stops accepting, closes every connection (cancelling pending delays)
// and joins the thread; no task outlives the object.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfsnap::test {

// Every member of the structs below has a default member initializer, so designated
// initializers may name any subset of them without -Wmissing-field-initializers.
struct recorded_request {
    std::string method{};
    std::string target{};                                        // as received, e.g. "/latest/api/token?x=1"
    std::vector<std::pair<std::string, std::string>> headers{};  // names lower-case, in order
    std::string body{};

    // The first value of the header `name` (compared case-insensitively), or "".
    std::string header(std::string_view name) const;
};

struct canned_response {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};
    std::chrono::milliseconds delay{0};  // wait this long before answering (deadline tests)
    bool close_after = false;            // close the connection after this response
};

class loopback_http_server {
public:
    using handler = std::function<canned_response(const recorded_request&)>;

    // Listens on 127.0.0.1 on a free port and serves on its own thread. Throws
    // boost::system::system_error if the socket cannot be bound.
    explicit loopback_http_server(handler h);
    ~loopback_http_server();

    loopback_http_server(const loopback_http_server&) = delete;
    loopback_http_server& operator=(const loopback_http_server&) = delete;

    std::uint16_t port() const;
    std::string url() const;  // "http://127.0.0.1:PORT"

    std::vector<recorded_request> requests() const;  // every request so far, in arrival order
    std::size_t connections_accepted() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tfsnap::test
