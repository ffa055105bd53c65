#include "tfsnap/notify/error.hpp"

namespace tfsnap::notify {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::rejected:
            return "the webhook endpoint rejected the notification";
        case errc::unavailable:
            return "the webhook endpoint is unavailable or throttling";
        case errc::deadline_exceeded:
            return "the webhook delivery deadline expired";
        case errc::credential_unavailable:
            return "the webhook URL credential cannot be read";
        case errc::invalid_url:
            return "the webhook URL credential holds no valid URL";
    }
    return "unknown tfsnap.notify error";
}

core::traits traits_of(errc e) noexcept {
    // 408 and 429 mean the request was not processed, but a 5xx may have been: transient only
    return e == errc::unavailable ? core::traits{.transient = true, .not_processed = false} : core::traits{};
}

const boost::system::error_category& notify_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.notify", &describe, &traits_of};
    return category;
}

}  // namespace tfsnap::notify
