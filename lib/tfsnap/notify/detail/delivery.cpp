#include "tfsnap/notify/detail/delivery.hpp"

#include "tfsnap/config/validate.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace tfsnap::notify::detail {

namespace {

// A webhook URL is short; anything much larger is not one.
constexpr std::size_t max_credential_bytes = 16 * 1024;

}  // namespace

boost::system::error_code status_outcome(unsigned status) noexcept {
    if (status >= 200 && status < 300)
        return {};
    if (status == 408 || status == 429 || (status >= 500 && status < 600))
        return errc::unavailable;
    return errc::rejected;
}

std::string_view trim_trailing_space(std::string_view text) noexcept {
    while (!text.empty() &&
           (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

credential_url read_credential_url(std::string_view directory, std::string_view name) {
    credential_url out;
    if (directory.empty()) {
        out.ec = errc::credential_unavailable;
        out.detail =
            "CREDENTIALS_DIRECTORY is not set (no LoadCredential=" + std::string(name) + ":... in the unit)";
        return out;
    }
    const std::string path = std::string(directory) + "/" + std::string(name);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        out.ec = errc::credential_unavailable;
        out.detail = "cannot read the credential " + std::string(name) +
                     " in CREDENTIALS_DIRECTORY: " + std::strerror(err);
        return out;
    }
    std::string text;
    text.resize(max_credential_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) {
        out.ec = errc::credential_unavailable;
        out.detail = "reading the credential " + std::string(name) + " failed";
        return out;
    }
    text.resize(static_cast<std::size_t>(in.gcount()));
    core::secret held(std::move(text));
    if (held.size() > max_credential_bytes) {
        out.ec = errc::invalid_url;
        out.detail = "the credential " + std::string(name) + " is larger than 16 KiB; it holds no URL";
        return out;
    }
    const auto url = trim_trailing_space(held.reveal());
    if (auto why = config::check_webhook_url(url)) {
        out.ec = errc::invalid_url;
        out.detail = "the credential " + std::string(name) + ": " + *why;
        return out;
    }
    out.url = core::secret(std::string(url));
    return out;
}

}  // namespace tfsnap::notify::detail
