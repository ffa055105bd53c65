#pragma once
// Errors of the restore module's locks and journal (category "tfsnap.restore.locks").
//
// Named `lock_errc`, not `errc`, so that it cannot collide with an `errc` of the rest of the
// restore module. The values say what tfsnap refused to do and why; the context (the holder, the
// table, the key) is in `lock_result` / the journal's result structs, never in these messages.

#include "tfsnap/core/error.hpp"

namespace tfsnap::restore {

enum class lock_errc {
    lock_held = 1,       // someone else holds the lock; acquire refused (the holder is in held_by)
    not_our_lock,        // release refused: the lock carries another ID (the holder is in held_by)
    lock_corrupt,        // the lock exists but is not LockInfo JSON with an ID: refused, left alone
    lock_changed,        // the lock changed between our read and our conditional delete, twice over
    lock_unconfirmed,    // our lock write could not be confirmed by reading it back: not locked
    lock_overwritten,    // our lockfile replaced someone else's; ours could not be taken off again
    bad_lock_info,       // the LockInfo given to acquire() has no ID
    invalid_restore_id,  // a restore id that is not safe as a file name
    journal_malformed,   // a journal file that does not parse, or names locks it cannot have taken
    no_client,           // recovery: the journal names a lock of a kind no client was given for
};

const char* describe(lock_errc e) noexcept;
const boost::system::error_category& lock_category() noexcept;
inline boost::system::error_code make_error_code(lock_errc e) noexcept {
    return {static_cast<int>(e), lock_category()};
}

}  // namespace tfsnap::restore

template <>
struct boost::system::is_error_code_enum<tfsnap::restore::lock_errc> : std::true_type {};
