#include "tfsnap/systemd/journal_sink.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <new>

namespace tfsnap::systemd {

namespace {

// journald ignores fields with longer names (journal_field_valid() in systemd).
constexpr std::size_t max_field_name = 64;

bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
    if (s.empty())
        return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string journal_field_name(std::string_view key) {
    std::string name = "TFSNAP_";
    if (key.empty())
        return name + "FIELD";
    for (const char c : key) {
        if (name.size() == max_field_name)
            break;
        if (c >= 'a' && c <= 'z')
            name += static_cast<char>(c - 'a' + 'A');
        else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            name += c;
        else
            name += '_';
    }
    return name;
}

std::vector<std::string> journal_entry(std::string_view identifier, core::log_level level,
                                       std::string_view message, std::span<const core::log_field> fields) {
    std::vector<std::string> items;
    items.reserve(3 + fields.size());
    items.push_back("PRIORITY=" + std::to_string(core::syslog_priority(level)));
    items.push_back("MESSAGE=" + std::string(message));
    items.push_back("SYSLOG_IDENTIFIER=" + std::string(identifier));
    for (const auto& f : fields) {
        std::string item = journal_field_name(f.key);
        item += '=';
        item += f.value;
        items.push_back(std::move(item));
    }
    return items;
}

namespace {

int send_to_journal(const struct iovec* iov, int n) {
    // Parenthesised: sd-journal.h defines sd_journal_sendv() as a macro that adds CODE_FILE=,
    // CODE_LINE= and CODE_FUNC= of this file, which say nothing about the record's origin.
    return (sd_journal_sendv)(iov, n);
}

}  // namespace

journal_sink::journal_sink(std::string identifier, core::log_sink* fallback)
    : journal_sink(std::move(identifier), fallback, &send_to_journal) {}

journal_sink::journal_sink(std::string identifier, core::log_sink* fallback, send_function send)
    : identifier_(std::move(identifier)),
      fallback_(fallback),
      send_(send != nullptr ? send : &send_to_journal) {}

void journal_sink::write(core::log_level level, std::string_view message,
                         std::span<const core::log_field> fields) {
    const auto items = journal_entry(identifier_, level, message, fields);
    std::vector<iovec> iov;
    iov.reserve(items.size());
    for (const auto& item : items)
        iov.push_back({const_cast<char*>(item.data()), item.size()});
    const int r = send_(iov.data(), static_cast<int>(iov.size()));
    if (r < 0) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        if (fallback_ != nullptr)
            fallback_->write(level, message, fields);
    }
}

bool journal_stream_matches(std::string_view journal_stream, std::uint64_t device,
                            std::uint64_t inode) noexcept {
    const auto colon = journal_stream.find(':');
    if (colon == std::string_view::npos)
        return false;
    std::uint64_t d = 0;
    std::uint64_t i = 0;
    if (!parse_u64(journal_stream.substr(0, colon), d) || !parse_u64(journal_stream.substr(colon + 1), i))
        return false;
    return d == device && i == inode;
}

bool is_journal_stream(int fd) noexcept {
    const char* e = std::getenv("JOURNAL_STREAM");
    if (e == nullptr || *e == '\0')
        return false;
    struct stat st {};
    if (::fstat(fd, &st) < 0)
        return false;
    return journal_stream_matches(e, static_cast<std::uint64_t>(st.st_dev),
                                  static_cast<std::uint64_t>(st.st_ino));
}

bool stderr_is_journal() noexcept {
    return is_journal_stream(STDERR_FILENO);
}

}  // namespace tfsnap::systemd
