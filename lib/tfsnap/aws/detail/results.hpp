#pragma once
// Building credentials_result values in the providers.

#include "tfsnap/aws/credentials_provider.hpp"

#include <string>

namespace tfsnap::aws::detail {

inline credentials_result failed(boost::system::error_code ec, std::string provider, std::string message,
                                 std::string path = {}) {
    credentials_result r;
    r.ec = ec;
    r.error.provider = std::move(provider);
    r.error.message = std::move(message);
    r.error.path = std::move(path);
    return r;
}

inline credentials_result not_configured(std::string provider, std::string message) {
    return failed(errc::not_configured, std::move(provider), std::move(message));
}

inline credentials_result failed(boost::system::error_code ec, error_info info) {
    credentials_result r;
    r.ec = ec;
    r.error = std::move(info);
    return r;
}

}  // namespace tfsnap::aws::detail
