#pragma once
// Opens `acceptor` on 127.0.0.1 at a port the kernel picks, and returns that port. For the
// test servers in this folder.

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>

namespace tfsnap::test {

inline std::uint16_t listen_on_loopback(boost::asio::ip::tcp::acceptor& acceptor) {
    using boost::asio::ip::tcp;
    const tcp::endpoint ep{boost::asio::ip::address_v4::loopback(), 0};
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    return acceptor.local_endpoint().port();
}

}  // namespace tfsnap::test
