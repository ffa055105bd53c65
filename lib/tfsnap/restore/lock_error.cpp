#include "tfsnap/restore/lock_error.hpp"

namespace tfsnap::restore {

const char* describe(lock_errc e) noexcept {
    switch (e) {
        case lock_errc::lock_held:
            return "the state lock is held by someone else";
        case lock_errc::not_our_lock:
            return "the state lock is not ours to release";
        case lock_errc::lock_corrupt:
            return "the state lock exists but its LockInfo cannot be read";
        case lock_errc::lock_changed:
            return "the state lock changed while it was being released";
        case lock_errc::lock_unconfirmed:
            return "the state lock could not be confirmed after writing it";
        case lock_errc::lock_overwritten:
            return "our lockfile replaced another holder's and could not be removed";
        case lock_errc::bad_lock_info:
            return "the LockInfo to write has no ID";
        case lock_errc::invalid_restore_id:
            return "invalid restore id";
        case lock_errc::journal_malformed:
            return "malformed restore journal";
        case lock_errc::no_client:
            return "no client for this kind of lock";
    }
    return "unknown tfsnap.restore.locks error";
}

const boost::system::error_category& lock_category() noexcept {
    // No condition traits: a held lock is not a transient failure for the retry classifier;
    // waiting for a holder is a decision for the operator, not a backoff loop.
    static const core::enum_category<lock_errc> category{"tfsnap.restore.locks", &describe};
    return category;
}

}  // namespace tfsnap::restore
