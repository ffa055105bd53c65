#include "tfsnap/crypto/hash.hpp"

namespace tfsnap::crypto {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::openssl_failure:
            return "an OpenSSL EVP call failed";
        case errc::invalid_key:
            return "the key is not 32 raw bytes or 64 hex characters";
        case errc::invalid_credential_name:
            return "invalid systemd credential name";
        case errc::bad_magic:
            return "not a tfsnap sealed file";
        case errc::unsupported_version:
            return "unsupported sealed file version or algorithm";
        case errc::wrong_key:
            return "the file was sealed with a different key";
        case errc::truncated:
            return "the sealed file is truncated";
        case errc::authentication_failed:
            return "authentication failed: the file is corrupt or was modified";
        case errc::trailing_data:
            return "the sealed file has data after its authentication tag";
        case errc::too_large:
            return "too much data";
        case errc::destination_exists:
            return "the destination file exists";
    }
    return "unknown tfsnap.crypto error";
}

const boost::system::error_category& crypto_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.crypto", &describe};
    return category;
}

}  // namespace tfsnap::crypto
