#pragma once
// tfsnapctl's HTTP/1.1 client for tfsnapd's control socket: one synchronous request per call,
// over a fresh AF_UNIX connection, with a deadline on the whole exchange. No coroutines: the
// Asio calls are asynchronous operations run to completion on a private io_context, so that
// beast::basic_stream's expiry applies.

#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>

namespace tfsnap::daemon {

struct ctl_response {
    unsigned status = 0;
    std::string body;
};

enum class ctl_stage { connect, exchange };

struct ctl_failure {
    boost::system::error_code ec;  // unset: `response` holds the daemon's answer
    ctl_stage stage = ctl_stage::connect;
};

class ctl_client {
public:
    explicit ctl_client(std::string socket_path) : path_(std::move(socket_path)) {}

    const std::string& path() const noexcept { return path_; }

    // method "GET" or "POST"; target such as "/v1/status"; body sent as application/json
    // (POST only). `timeout` bounds connect, write and read together.
    ctl_failure request(const std::string& method, const std::string& target, const std::string& body,
                        std::chrono::seconds timeout, ctl_response& out) const;

private:
    std::string path_;
};

}  // namespace tfsnap::daemon
