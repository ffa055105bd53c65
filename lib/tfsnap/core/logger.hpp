#pragma once
// Structured logging interface.
//
// A log record is a level, a message, and key/value fields (env, job, snapshot, event, ...).
// Sinks decide the rendering: `stream_sink` writes one plain line per record (used when not
// under journald); the journald sink arrives with the systemd module.
//
// Field values are plain strings: a `core::secret` has no conversion to string, so a secret
// cannot be passed as a field without an explicit `reveal()`, which reviews catch.
//
// Thread safety: `stream_sink::write` may be called from any thread (it serialises lines).

#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfsnap::core {

enum class log_level { debug = 0, info, notice, warning, error };

// "debug", "info", ... ; and the syslog priority journald expects (7 = debug ... 3 = err).
std::string_view to_string(log_level l) noexcept;
int syslog_priority(log_level l) noexcept;

struct log_field {
    std::string key;  // upper or lower snake case; sinks may rename (journald upper-cases)
    std::string value;
};

class log_sink {
public:
    virtual ~log_sink() = default;
    virtual void write(log_level level, std::string_view message, std::span<const log_field> fields) = 0;
};

// Front end: filters by level and forwards to a sink. Cheap to copy (holds a pointer).
class logger {
public:
    explicit logger(log_sink& sink, log_level min_level = log_level::info) noexcept
        : sink_(&sink), min_(min_level) {}

    void log(log_level level, std::string_view message, std::initializer_list<log_field> fields = {}) const;
    void debug(std::string_view m, std::initializer_list<log_field> f = {}) const {
        log(log_level::debug, m, f);
    }
    void info(std::string_view m, std::initializer_list<log_field> f = {}) const {
        log(log_level::info, m, f);
    }
    void notice(std::string_view m, std::initializer_list<log_field> f = {}) const {
        log(log_level::notice, m, f);
    }
    void warning(std::string_view m, std::initializer_list<log_field> f = {}) const {
        log(log_level::warning, m, f);
    }
    void error(std::string_view m, std::initializer_list<log_field> f = {}) const {
        log(log_level::error, m, f);
    }

    bool enabled(log_level level) const noexcept { return level >= min_; }
    void set_min_level(log_level level) noexcept { min_ = level; }

private:
    log_sink* sink_;
    log_level min_;
};

// One line per record: `LEVEL message key=value key="value with spaces"`.
// Control characters in messages and values are escaped, so one record is always one line.
class stream_sink final : public log_sink {
public:
    explicit stream_sink(std::ostream& out) noexcept : out_(out) {}
    void write(log_level level, std::string_view message, std::span<const log_field> fields) override;

private:
    std::ostream& out_;
    std::mutex mutex_;
};

// Keeps records in memory; for tests.
class memory_sink final : public log_sink {
public:
    struct record {
        log_level level;
        std::string message;
        std::vector<log_field> fields;
    };
    void write(log_level level, std::string_view message, std::span<const log_field> fields) override;
    const std::vector<record>& records() const noexcept { return records_; }

private:
    std::vector<record> records_;
};

// Renders one record the way stream_sink writes it (without the trailing newline).
std::string format_log_line(log_level level, std::string_view message, std::span<const log_field> fields);

}  // namespace tfsnap::core
