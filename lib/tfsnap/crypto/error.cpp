#include "tfsnap/crypto/hash.hpp"

namespace tfsnap::crypto {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::openssl_failure:
            return "an OpenSSL EVP call failed";
    }
    return "unknown tfsnap.crypto error";
}

const boost::system::error_category& crypto_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.crypto", &describe};
    return category;
}

}  // namespace tfsnap::crypto
