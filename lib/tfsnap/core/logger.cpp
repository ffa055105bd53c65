#include "tfsnap/core/logger.hpp"

#include <ostream>

namespace tfsnap::core {

std::string_view to_string(log_level l) noexcept {
    switch (l) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::notice:
            return "notice";
        case log_level::warning:
            return "warning";
        case log_level::error:
            return "error";
    }
    return "unknown";
}

int syslog_priority(log_level l) noexcept {
    switch (l) {
        case log_level::debug:
            return 7;
        case log_level::info:
            return 6;
        case log_level::notice:
            return 5;
        case log_level::warning:
            return 4;
        case log_level::error:
            return 3;
    }
    return 6;
}

void logger::log(log_level level, std::string_view message, std::initializer_list<log_field> fields) const {
    if (!enabled(level))
        return;
    sink_->write(level, message, std::span<const log_field>(fields.begin(), fields.size()));
}

namespace {

void append_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            default:
                if (u < 0x20 || u == 0x7f) {
                    out += "\\x";
                    out += hex[u >> 4];
                    out += hex[u & 0xf];
                } else {
                    out += c;
                }
        }
    }
}

bool needs_quotes(std::string_view v) {
    if (v.empty())
        return true;
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || u < 0x20 || u == 0x7f)
            return true;
    }
    return false;
}

}  // namespace

std::string format_log_line(log_level level, std::string_view message, std::span<const log_field> fields) {
    std::string line;
    line.reserve(64 + message.size());
    line += to_string(level);
    line += ' ';
    append_escaped(line, message);
    for (const auto& f : fields) {
        line += ' ';
        line += f.key;
        line += '=';
        if (needs_quotes(f.value)) {
            line += '"';
            append_escaped(line, f.value);
            line += '"';
        } else {
            line += f.value;
        }
    }
    return line;
}

void stream_sink::write(log_level level, std::string_view message, std::span<const log_field> fields) {
    auto line = format_log_line(level, message, fields);
    line += '\n';
    std::lock_guard lock(mutex_);
    out_ << line << std::flush;
}

void memory_sink::write(log_level level, std::string_view message, std::span<const log_field> fields) {
    records_.push_back({level, std::string(message), {fields.begin(), fields.end()}});
}

}  // namespace tfsnap::core
