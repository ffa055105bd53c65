#pragma once
// Logging to the systemd journal with structured fields, and the test that picks it.
//
// journal_sink writes each record with sd_journal_sendv(3) as
//     PRIORITY=<core::syslog_priority>   MESSAGE=<message>   SYSLOG_IDENTIFIER=<identifier>
//     TFSNAP_<KEY>=<value>               one per field: env -> TFSNAP_ENV, job -> TFSNAP_JOB, ...
// so `journalctl -u tfsnapd TFSNAP_ENV=myorg` selects one environment's records. Values are
// sent as they are (the native protocol carries newlines and binary data); field names are
// reduced to what journald accepts (journal_field_name).
//
// Errors: a record journald does not take (a full socket buffer, no memory, ...) goes to the
// fallback sink when there is one, and is counted in failures(). write() never throws for an
// I/O failure. When there is no journal socket at all, libsystemd drops records and reports
// success ("fail silently if the journal is not available", journal-send.c): choose this sink
// only when stderr_is_journal(), which also means journald is running.
//
// Thread safety: write() may be called from any thread if the fallback's write may.
// Lifetime: the fallback must outlive the sink.

#include "tfsnap/core/logger.hpp"

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::systemd {

inline constexpr std::string_view default_syslog_identifier = "tfsnapd";

class journal_sink final : public core::log_sink {
public:
    // sd_journal_sendv()'s signature: 0 or -errno.
    using send_function = int (*)(const struct iovec* iov, int n);

    explicit journal_sink(std::string identifier = std::string(default_syslog_identifier),
                          core::log_sink* fallback = nullptr);
    // With another transport than sd_journal_sendv(); for tests.
    journal_sink(std::string identifier, core::log_sink* fallback, send_function send);

    void write(core::log_level level, std::string_view message,
               std::span<const core::log_field> fields) override;

    // Records journald refused (each also went to the fallback, if any).
    std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

private:
    std::string identifier_;
    core::log_sink* fallback_;
    send_function send_;
    std::atomic<std::uint64_t> failures_{0};
};

// "TFSNAP_" + the key upper-cased, with every byte outside [A-Z0-9_] replaced by '_', cut to
// journald's 64-byte limit on field names. An empty key becomes TFSNAP_FIELD. Pure.
std::string journal_field_name(std::string_view key);

// The "NAME=value" items of one record, in the order they are sent. Pure.
std::vector<std::string> journal_entry(std::string_view identifier, core::log_level level,
                                       std::string_view message, std::span<const core::log_field> fields);

// Whether stderr is connected to the journal: $JOURNAL_STREAM ("<device>:<inode>", set by
// systemd for StandardError=journal) matches fstat() of fd 2. A child that inherited the
// variable but has its stderr redirected gets false (systemd.exec(5), $JOURNAL_STREAM). The daemon
// logs through journal_sink when true, and through core::stream_sink otherwise.
bool stderr_is_journal() noexcept;
// The same test for any descriptor.
bool is_journal_stream(int fd) noexcept;
// The comparison itself: `journal_stream` is the variable's value. Pure.
bool journal_stream_matches(std::string_view journal_stream, std::uint64_t device,
                            std::uint64_t inode) noexcept;

}  // namespace tfsnap::systemd
