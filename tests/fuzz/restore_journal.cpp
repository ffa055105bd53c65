// restore::parse_journal over a restore journal in <state_dir>/restore-journal (read at start-up
// to release the locks of an interrupted restore). Property: what parses writes back (to_json)
// to a journal that parses to the same entry.
#include "tfsnap/restore/journal.hpp"

#include "fuzz_check.hpp"

namespace {

bool same(const tfsnap::restore::journal_entry& a, const tfsnap::restore::journal_entry& b) {
    if (a.restore_id != b.restore_id || a.environment != b.environment || a.started_at != b.started_at ||
        a.requested_by != b.requested_by || a.reason != b.reason || a.step != b.step ||
        a.locks.size() != b.locks.size())
        return false;
    for (std::size_t i = 0; i < a.locks.size(); ++i) {
        const auto &x = a.locks[i], &y = b.locks[i];
        if (x.kind != y.kind || x.table_or_bucket != y.table_or_bucket || x.lock_key != y.lock_key ||
            x.id != y.id)
            return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::restore;
    std::string why;
    const auto entry = parse_journal(tfsnap::fuzz::as_text(data, size), &why);
    if (!entry) {
        FUZZ_CHECK(!why.empty());
        return 0;
    }
    FUZZ_CHECK(valid_restore_id(entry->restore_id));
    const auto back = parse_journal(to_json(*entry), &why);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(same(*entry, *back));
    return 0;
}
