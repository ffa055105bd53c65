#include "tfsnap/notify/render.hpp"

#include "tfsnap/core/rfc3339.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <optional>

namespace tfsnap::notify {

namespace {

bool is_continuation(unsigned char c) noexcept {
    return (c & 0xC0) == 0x80;
}

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto c = b(0);
    if (c < 0x80)
        return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (s.size() < n || b(1) < lo || b(1) > hi)
        return 0;
    for (std::size_t i = 2; i < n; ++i) {
        if (!is_continuation(b(i)))
            return 0;
    }
    return n;
}

// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    while (!s.empty()) {
        const auto n = utf8_sequence(s);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            s.remove_prefix(1);
            continue;
        }
        out.append(s.substr(0, n));
        s.remove_prefix(n);
    }
    return out;
}

class json_object {
public:
    json_object() { w_.StartObject(); }

    void add(const char* key, std::string_view value) {
        const std::string text = valid_utf8(value);
        w_.Key(key);
        w_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    }

    std::string finish() {
        w_.EndObject();
        return std::string(buf_.GetString(), buf_.GetSize());
    }

private:
    rapidjson::StringBuffer buf_;
    rapidjson::Writer<rapidjson::StringBuffer> w_{buf_};
};

std::string timestamp(core::time_point at) {
    return core::format_rfc3339(std::chrono::floor<std::chrono::seconds>(at));
}

// Slack treats & < > as control characters (api.slack.com/reference/surfaces/formatting#escaping).
std::string slack_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::optional<std::string> placeholder(std::string_view name, const event& e, std::string_view host) {
    if (name == "event")
        return std::string(to_string(e.kind));
    if (name == "env")
        return e.environment;
    if (name == "job")
        return e.job_id;
    if (name == "job_kind")
        return e.job_kind;
    if (name == "snapshot")
        return e.snapshot_id;
    if (name == "result")
        return e.result;
    if (name == "message")
        return e.message;
    if (name == "host")
        return std::string(host);
    if (name == "at")
        return timestamp(e.at);
    return std::nullopt;
}

}  // namespace

std::string render_json(const event& e, std::string_view host) {
    json_object doc;
    doc.add("source", "tfsnap");
    doc.add("host", host);
    doc.add("event", to_string(e.kind));
    doc.add("environment", e.environment);
    doc.add("job_id", e.job_id);
    doc.add("job_kind", e.job_kind);
    doc.add("snapshot_id", e.snapshot_id);
    doc.add("result", e.result);
    doc.add("message", e.message);
    doc.add("at", timestamp(e.at));
    return doc.finish();
}

std::string render_slack(std::string_view tmpl, const event& e, std::string_view host) {
    std::string text;
    text.reserve(tmpl.size() + e.message.size());
    std::size_t i = 0;
    while (i < tmpl.size()) {
        if (tmpl[i] == '{') {
            const auto close = tmpl.find('}', i + 1);
            if (close != std::string_view::npos) {
                if (const auto value = placeholder(tmpl.substr(i + 1, close - i - 1), e, host)) {
                    text += slack_escape(*value);
                    i = close + 1;
                    continue;
                }
            }
        }
        text += tmpl[i++];
    }
    json_object doc;
    doc.add("text", text);
    return doc.finish();
}

}  // namespace tfsnap::notify
