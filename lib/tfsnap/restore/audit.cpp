#include "tfsnap/restore/audit.hpp"

#include "tfsnap/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tfsnap::restore {

namespace fs = std::filesystem;

std::string to_json_line(const audit_record& r) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](const char* k, const std::string& v) {
        w.Key(k);
        w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    };
    w.StartObject();
    str("at", r.at);
    str("restore_id", r.restore_id);
    str("environment", r.environment);
    str("action", r.action);
    w.Key("who");
    w.StartObject();
    w.Key("uid");
    w.Int64(r.uid);
    str("user", r.user);
    w.EndObject();
    str("requested_by", r.requested_by);
    str("reason", r.reason);
    w.Key("plan");
    rapidjson::Document plan;
    // Accept recurses: the plan is parsed with the depth bound that keeps that safe
    if (!r.plan_json.empty() && core::parse_json(plan, r.plan_json).ok())
        plan.Accept(w);
    else
        w.Null();
    w.Key("steps");
    w.StartArray();
    for (const auto& s : r.steps) {
        w.StartObject();
        str("name", s.name);
        w.Key("ok");
        w.Bool(s.ok);
        str("detail", s.detail);
        w.Key("ms");
        w.Int64(s.ms);
        w.EndObject();
    }
    w.EndArray();
    str("result", r.result);
    str("new_version_id", r.new_version_id);
    str("message", r.message);
    w.Key("ms");
    w.Int64(r.ms);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

core::file_error append_audit(const fs::path& state_dir, const audit_record& r) {
    const fs::path path = state_dir / "audit.log";
    const std::string line = to_json_line(r);
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return {errno, "cannot open", path};
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            return {err, "cannot write", path};
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        return {err, "cannot fsync", path};
    }
    ::close(fd);
    return {};
}

core::file_error read_audit(const fs::path& state_dir, std::vector<std::string>& lines, int* torn) {
    lines.clear();
    if (torn != nullptr)
        *torn = 0;
    std::string text;
    if (auto e = core::read_file(state_dir / "audit.log", text)) {
        if (e.err == ENOENT)
            return {};
        return e;
    }
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        const bool complete = end != std::string::npos;
        if (!complete)
            end = text.size();
        std::string line = text.substr(start, end - start);
        rapidjson::Document d;
        if (complete && core::parse_json(d, line).ok() && d.IsObject())
            lines.push_back(std::move(line));
        else if (torn != nullptr && !line.empty())
            ++*torn;
        start = end + 1;
    }
    return {};
}

}  // namespace tfsnap::restore
