#include "tfsnap/catalog/catalog.hpp"

#include "tfsnap/config/validate.hpp"
#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/core/json.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace tfsnap::catalog {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view manifest_file = "MANIFEST.json";
constexpr std::string_view index_file = "INDEX.json";
constexpr std::string_view state_file = "state";
constexpr std::string_view index_format = "tfsnap-catalog-index";

status fail(errc e, const fs::path& p, std::string message) {
    return {make_error_code(e), {p.string(), std::move(message)}};
}

status io(const core::file_error& e) {
    return fail(errc::io_error, e.path, e.message());
}

status io(std::string_view op, const fs::path& p, int err) {
    return io(core::file_error{err, std::string(op), p});
}

status check_env(std::string_view env) {
    if (!config::is_valid_name(env))
        return {make_error_code(errc::invalid_environment),
                {{}, "environment names are [A-Za-z0-9._-]{1,64}"}};
    return {};
}

status check_id(std::string_view id) {
    if (!manifest::is_valid_snapshot_id(id))
        return {make_error_code(errc::invalid_snapshot_id),
                {{}, "snapshot ids are YYYY-MM-DDTHH-MM-SSZ[-N]"}};
    return {};
}

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.substr(0, prefix.size()) == prefix;
}

bool is_scratch(std::string_view name) noexcept {
    return starts_with(name, catalog::temp_prefix) || starts_with(name, catalog::deleted_prefix);
}

void sort_entries(std::vector<index_entry>& entries) {
    std::sort(entries.begin(), entries.end(), [](const index_entry& a, const index_entry& b) {
        return manifest::snapshot_id_less(a.snapshot_id, b.snapshot_id);
    });
}

// Renames without replacing an existing target; false with errno EEXIST when the target exists.
bool rename_noreplace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
        return true;
    if (errno != EINVAL && errno != ENOSYS)
        return false;
    // The file system cannot refuse a replacement itself; one owner per catalog makes the
    // check-then-rename safe.
    std::error_code ec;
    if (fs::exists(to, ec)) {
        errno = EEXIST;
        return false;
    }
    return ::rename(from.c_str(), to.c_str()) == 0;
}

status read_manifest_at(const fs::path& dir, std::string_view env, std::string_view id,
                        manifest::manifest& out) {
    const fs::path path = dir / manifest_file;
    std::string text;
    if (const auto e = core::read_file(path, text)) {
        if (e.err == ENOENT)
            return fail(errc::not_found, dir, "no manifest");
        return io(e);
    }
    auto r = manifest::read(text);
    if (r.ec)
        return fail(errc::corrupt_manifest, path, r.ec.message() + ": " + r.detail);
    if (r.value.environment != env || r.value.snapshot_id != id)
        return fail(errc::manifest_mismatch, path, "names environment and snapshot other than its path");
    out = std::move(r.value);
    return {};
}

}  // namespace

index_entry entry_of(const manifest::manifest& m) {
    index_entry e;
    e.snapshot_id = m.snapshot_id;
    e.created_at = m.created_at;
    e.version_id = m.terraform_state.version_id;
    if (m.state)
        e.serial = m.state->serial;
    e.expires_at = m.expires_at;
    e.pinned_until = m.pinned_until;
    e.has_copy = m.copy.has_value();
    return e;
}

catalog::catalog(fs::path state_dir) : root_(std::move(state_dir) / "catalog") {}

fs::path catalog::temp_name(const fs::path& dir, std::string_view what) {
    return dir / (std::string(temp_prefix) + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
                  std::to_string(++counter_));
}

status catalog::open(int* repaired) {
    if (repaired != nullptr)
        *repaired = 0;
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec)
        return io("cannot create", root_, ec.value());
    trusted_ = false;
    const fs::path marker = root_ / std::string(clean_marker);
    if (fs::exists(marker, ec)) {
        // closed cleanly: the indexes are as the last writer left them. The marker goes first,
        // durably, so that a crash from here on means a full repair at the next start.
        fs::remove(marker, ec);
        if (ec)
            return io("cannot remove", marker, ec.value());
        if (const auto e = core::fsync_dir(root_))
            return io(e);
        trusted_ = true;
    }
    std::vector<std::string> envs;
    if (auto s = environments(envs))
        return s;
    for (const auto& env : envs) {
        const fs::path dir = env_dir(env);
        std::vector<fs::path> scratch;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (is_scratch(name)) {
                scratch.push_back(it->path());
            } else if (!trusted_ && manifest::is_valid_snapshot_id(name) && it->is_directory(ec)) {
                std::error_code ec2;
                for (fs::directory_iterator in(it->path(), ec2), end2; !ec2 && in != end2; in.increment(ec2))
                    if (is_scratch(in->path().filename().string()))
                        scratch.push_back(in->path());
            }
        }
        if (ec)
            return io("cannot list", dir, ec.value());
        for (const auto& p : scratch) {
            fs::remove_all(p, ec);
            if (ec)
                return io("cannot remove", p, ec.value());
        }

        if (trusted_)
            continue;  // closed cleanly: the index is as its last writer left it
        std::vector<index_entry> fresh, on_disk;
        if (auto s = scan(env, fresh))
            return s;
        if (load_index(env, on_disk) || on_disk != fresh) {
            if (auto s = write_index(env, fresh))
                return s;
            if (repaired != nullptr)
                ++*repaired;
        }
    }
    return {};
}

// A change that failed part way may have left an index behind its manifests: no CLEAN marker
// at close, so that the next open() repairs it.
status catalog::guarded(status s) {
    if (s)
        dirty_ = true;
    return s;
}

status catalog::close() {
    if (dirty_)
        return fail(errc::io_error, root_ / std::string(clean_marker),
                    "an index write failed since the catalog was opened: the next start repairs every index");
    const fs::path marker = root_ / std::string(clean_marker);
    // the indexes are written without fsync: on disk before the marker says they can be trusted
    if (const auto e = core::sync_file_system(root_))
        return io(e);
    if (const auto e =
            core::write_file_synced(marker, "closed cleanly; the next start trusts the indexes\n", 0600))
        return io(e);
    if (const auto e = core::fsync_dir(root_))
        return io(e);
    return {};
}

status catalog::environments(std::vector<std::string>& out) {
    out.clear();
    std::error_code ec;
    for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::error_code ec2;
        if (config::is_valid_name(name) && it->is_directory(ec2))
            out.push_back(name);
    }
    if (ec && ec != std::errc::no_such_file_or_directory)
        return io("cannot list", root_, ec.value());
    std::sort(out.begin(), out.end());
    return {};
}

status catalog::scan(std::string_view env, std::vector<index_entry>& out) {
    out.clear();
    if (auto s = check_env(env))
        return s;
    const fs::path dir = env_dir(env);
    std::error_code ec;
    std::vector<std::string> ids;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::error_code ec2;
        if (manifest::is_valid_snapshot_id(name) && it->is_directory(ec2))
            ids.push_back(name);
    }
    if (ec && ec != std::errc::no_such_file_or_directory)
        return io("cannot list", dir, ec.value());
    for (const auto& id : ids) {
        manifest::manifest m;
        if (auto s = read_manifest_at(dir / id, env, id, m))
            return s;
        out.push_back(entry_of(m));
    }
    sort_entries(out);
    return {};
}

status catalog::rebuild_index(std::string_view env, std::vector<index_entry>* out) {
    std::vector<index_entry> entries;
    if (auto s = scan(env, entries))
        return s;
    if (auto s = write_index(env, entries))
        return s;
    if (out != nullptr)
        *out = std::move(entries);
    return {};
}

status catalog::load_index(std::string_view env, std::vector<index_entry>& out) {
    const fs::path path = env_dir(env) / index_file;
    std::string text;
    if (const auto e = core::read_file(path, text)) {
        if (e.err == ENOENT)
            return fail(errc::not_found, path, "no index");
        return io(e);
    }
    if (!parse_index(text, out))
        return fail(errc::corrupt_index, path, "not a catalog index");
    return {};
}

status catalog::write_index(std::string_view env, const std::vector<index_entry>& entries) {
    const fs::path dir = env_dir(env);
    // not fsynced: the index is rebuilt from the (durable) manifests after any start without the
    // CLEAN marker, and close() syncs the file system before it writes the marker
    if (const auto e = core::replace_file(dir / index_file, temp_name(dir, index_file),
                                          serialize_index(env, entries), 0600)) {
        dirty_ = true;  // an index may lag its manifests: no CLEAN marker, the next open repairs it
        return io(e);
    }
    return {};
}

status catalog::update_index(std::string_view env, const index_entry* upsert, std::string_view erase_id) {
    std::vector<index_entry> entries;
    if (load_index(env, entries))
        // The change is already on disk, so a scan includes it.
        return rebuild_index(env);
    std::erase_if(entries, [&](const index_entry& e) {
        return e.snapshot_id == erase_id || (upsert != nullptr && e.snapshot_id == upsert->snapshot_id);
    });
    if (upsert != nullptr)
        entries.push_back(*upsert);
    sort_entries(entries);
    return write_index(env, entries);
}

status catalog::list(std::string_view env, std::vector<index_entry>& out) {
    out.clear();
    if (auto s = check_env(env))
        return s;
    std::error_code ec;
    if (!fs::exists(env_dir(env), ec))
        return {};
    if (!load_index(env, out))
        return {};
    return rebuild_index(env, &out);
}

status catalog::read_manifest(std::string_view env, std::string_view id, manifest::manifest& out) {
    if (auto s = check_env(env))
        return s;
    if (auto s = check_id(id))
        return s;
    return read_manifest_at(env_dir(env) / std::string(id), env, id, out);
}

status catalog::write_manifest_file(const fs::path& snapshot_dir, const manifest::manifest& m, bool atomic) {
    const fs::path path = snapshot_dir / manifest_file;
    const auto e = atomic ? core::write_file_atomic(path, temp_name(snapshot_dir, manifest_file),
                                                    manifest::write(m), 0600)
                          : core::write_file_synced(path, manifest::write(m), 0600);
    return e ? io(e) : status{};
}

status catalog::add(manifest::manifest& m, std::chrono::sys_seconds taken,
                    std::optional<std::string_view> state_copy) {
    if (state_copy) {
        if (!m.copy)
            m.copy.emplace();
        m.copy->mode = "local";
        m.copy->path = std::string(state_file);
    }
    return add_entry(m, taken, [&](const fs::path& tmp) -> status {
        if (state_copy)
            if (const auto e = core::write_file_synced(tmp / state_file, *state_copy, 0600))
                return io(e);
        return {};
    });
}

status catalog::add(manifest::manifest& m, std::chrono::sys_seconds taken, const fs::path& file,
                    std::string_view name) {
    if (name != "state" && name != "state.enc")
        return {make_error_code(core::errc::invalid_argument),
                {file.string(), "attachment name not allowed"}};
    return add_entry(m, taken, [&](const fs::path& tmp) -> status {
        if (::rename(file.c_str(), (tmp / std::string(name)).c_str()) != 0)
            return io("cannot move", file, errno);
        return {};
    });
}

namespace {

// The first sequence number after every existing snapshot of that second, so ids only grow
// (a pruned "...Z" is not reused after "...Z-2"): listing order stays creation order.
unsigned first_free_sequence(const fs::path& dir, std::chrono::sys_seconds taken) {
    const std::string base = manifest::format_snapshot_id(taken, 1);
    unsigned next = 1;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.compare(0, base.size(), base) != 0 || !manifest::is_valid_snapshot_id(name))
            continue;
        unsigned seq = 1;
        if (name.size() > base.size())
            seq = static_cast<unsigned>(std::stoul(name.substr(base.size() + 1)));
        next = std::max(next, seq + 1);
    }
    return next;
}

}  // namespace

std::string catalog::next_id(std::string_view env, std::chrono::sys_seconds taken) const {
    return manifest::format_snapshot_id(taken, first_free_sequence(env_dir(env), taken));
}

status catalog::ensure_env_dir(std::string_view env) {
    if (auto s = check_env(env))
        return s;
    const fs::path dir = env_dir(env);
    if (::mkdir(dir.c_str(), 0700) == 0) {
        if (const auto e = core::fsync_dir(root_))
            return io(e);
    } else if (errno != EEXIST) {
        return io("cannot create", dir, errno);
    }
    return {};
}

status catalog::scratch_path(std::string_view env, std::string_view what, fs::path& out) {
    if (auto s = ensure_env_dir(env))
        return s;
    out = temp_name(env_dir(env), what);
    return {};
}

status catalog::add_entry(manifest::manifest& m, std::chrono::sys_seconds taken,
                          const std::function<status(const fs::path&)>& fill) {
    return guarded(add_entry_unguarded(m, taken, fill));
}

status catalog::add_entry_unguarded(manifest::manifest& m, std::chrono::sys_seconds taken,
                                    const std::function<status(const fs::path&)>& fill) {
    if (auto s = ensure_env_dir(m.environment))
        return s;
    const fs::path dir = env_dir(m.environment);
    for (unsigned seq = first_free_sequence(dir, taken); seq < 1000000; ++seq) {
        const std::string id = manifest::format_snapshot_id(taken, seq);
        const fs::path final_dir = dir / id;
        std::error_code ec;
        if (fs::exists(final_dir, ec))
            continue;
        m.snapshot_id = id;
        const fs::path tmp = temp_name(dir, id);
        if (::mkdir(tmp.c_str(), 0700) != 0)
            return io("cannot create", tmp, errno);
        auto abandon = [&](status s) {
            std::error_code ignored;
            fs::remove_all(tmp, ignored);
            return s;
        };
        if (auto s = fill(tmp))
            return abandon(s);
        if (auto s = write_manifest_file(tmp, m, false))
            return abandon(s);
        if (const auto e = core::fsync_dir(tmp))
            return abandon(io(e));
        if (!rename_noreplace(tmp, final_dir)) {
            const int err = errno;
            if (err == EEXIST || err == ENOTEMPTY) {
                abandon({});
                continue;
            }
            return abandon(io("cannot rename", tmp, err));
        }
        if (const auto e = core::fsync_dir(dir))
            return io(e);
        const index_entry entry = entry_of(m);
        return update_index(m.environment, &entry, {});
    }
    return fail(errc::io_error, dir, "no free snapshot id for this second");
}

status catalog::remove(std::string_view env, std::string_view id) {
    return guarded(remove_unguarded(env, id));
}

status catalog::remove_unguarded(std::string_view env, std::string_view id) {
    if (auto s = check_env(env))
        return s;
    if (auto s = check_id(id))
        return s;
    const fs::path dir = env_dir(env);
    const fs::path target = dir / std::string(id);
    const fs::path doomed = dir / (std::string(deleted_prefix) + std::string(id) + "-" +
                                   std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    if (::rename(target.c_str(), doomed.c_str()) != 0) {
        if (errno == ENOENT)
            return fail(errc::not_found, target, "no such snapshot");
        return io("cannot rename", target, errno);
    }
    if (const auto e = core::fsync_dir(dir))
        return io(e);
    if (auto s = update_index(env, nullptr, id))
        return s;
    std::error_code ec;
    fs::remove_all(doomed, ec);
    if (ec)
        return io("cannot remove", doomed, ec.value());
    return {};
}

status catalog::set_pin(std::string_view env, std::string_view id, std::optional<std::string> pinned_until) {
    return guarded(set_pin_unguarded(env, id, std::move(pinned_until)));
}

status catalog::set_pin_unguarded(std::string_view env, std::string_view id,
                                  std::optional<std::string> pinned_until) {
    if (pinned_until && !manifest::is_rfc3339_utc(*pinned_until))
        return {make_error_code(core::errc::invalid_argument),
                {{}, "pinned_until is not an RFC 3339 UTC time"}};
    manifest::manifest m;
    if (auto s = read_manifest(env, id, m))
        return s;
    m.pinned_until = std::move(pinned_until);
    if (auto s = write_manifest_file(env_dir(env) / std::string(id), m, true))
        return s;
    const index_entry entry = entry_of(m);
    return update_index(env, &entry, {});
}

status catalog::update(std::string_view env, std::string_view id,
                       const std::function<void(manifest::manifest&)>& change) {
    return guarded(update_unguarded(env, id, change));
}

status catalog::update_unguarded(std::string_view env, std::string_view id,
                                 const std::function<void(manifest::manifest&)>& change) {
    manifest::manifest m;
    if (auto s = read_manifest(env, id, m))
        return s;
    const std::string env_before = m.environment, id_before = m.snapshot_id;
    change(m);
    m.environment = env_before;
    m.snapshot_id = id_before;
    if (m.pinned_until && !manifest::is_rfc3339_utc(*m.pinned_until))
        return {make_error_code(core::errc::invalid_argument),
                {{}, "pinned_until is not an RFC 3339 UTC time"}};
    if (auto s = write_manifest_file(env_dir(env) / std::string(id), m, true))
        return s;
    const index_entry entry = entry_of(m);
    return update_index(env, &entry, {});
}

namespace {
bool is_record_name(std::string_view name) {
    return name == catalog::last_backup_record || name == catalog::verify_record ||
           name == catalog::events_record;
}
}  // namespace

status catalog::write_record(std::string_view env, std::string_view name, std::string_view json) {
    if (!is_record_name(name))
        return {make_error_code(core::errc::invalid_argument), {std::string(name), "not a catalog record"}};
    if (auto s = ensure_env_dir(env))
        return s;
    const fs::path dir = env_dir(env);
    // atomic, not fsynced: a record says what the last job saw; a power loss may take the newest
    // one back to the one before (close() syncs the file system, as for the indexes)
    if (const auto e = core::replace_file(dir / std::string(name), temp_name(dir, name), json, 0600))
        return io(e);
    return {};
}

status catalog::read_record(std::string_view env, std::string_view name, std::string& out) {
    if (auto s = check_env(env))
        return s;
    if (!is_record_name(name))
        return {make_error_code(core::errc::invalid_argument), {std::string(name), "not a catalog record"}};
    const fs::path path = env_dir(env) / std::string(name);
    if (const auto e = core::read_file(path, out)) {
        if (e.err == ENOENT)
            return fail(errc::not_found, path, "no record yet");
        return io(e);
    }
    return {};
}

std::string catalog::serialize_index(std::string_view env, const std::vector<index_entry>& entries) {
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
    auto opt = [&](const std::optional<std::string>& s) {
        if (s)
            str(*s);
        else
            w.Null();
    };
    w.StartObject();
    w.Key("format");
    str(index_format);
    w.Key("version");
    w.Uint(1);
    w.Key("environment");
    str(env);
    w.Key("snapshots");
    w.StartArray();
    for (const auto& e : entries) {
        w.StartObject();
        w.Key("snapshot_id");
        str(e.snapshot_id);
        w.Key("created_at");
        str(e.created_at);
        w.Key("version_id");
        str(e.version_id);
        w.Key("serial");
        if (e.serial)
            w.Uint64(*e.serial);
        else
            w.Null();
        w.Key("expires_at");
        opt(e.expires_at);
        w.Key("pinned_until");
        opt(e.pinned_until);
        w.Key("has_copy");
        w.Bool(e.has_copy);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    std::string out(buf.GetString(), buf.GetSize());
    out += '\n';
    return out;
}

bool catalog::parse_index(std::string_view text, std::vector<index_entry>& out) {
    out.clear();
    rapidjson::Document doc;
    if (!core::parse_json<rapidjson::kParseValidateEncodingFlag>(doc, text).ok() || !doc.IsObject())
        return false;
    auto member = [](const rapidjson::Value& o, const char* name) -> const rapidjson::Value* {
        const auto it = o.FindMember(name);
        return it == o.MemberEnd() ? nullptr : &it->value;
    };
    auto string_of = [&](const rapidjson::Value& o, const char* name, std::string& s) {
        const auto* v = member(o, name);
        if (v == nullptr || !v->IsString())
            return false;
        s.assign(v->GetString(), v->GetStringLength());
        return true;
    };
    auto nullable_string = [&](const rapidjson::Value& o, const char* name, std::optional<std::string>& s) {
        const auto* v = member(o, name);
        if (v == nullptr || v->IsNull()) {
            s.reset();
            return true;
        }
        if (!v->IsString())
            return false;
        s.emplace(v->GetString(), v->GetStringLength());
        return true;
    };
    std::string format;
    const auto* version = member(doc, "version");
    const auto* snapshots = member(doc, "snapshots");
    if (!string_of(doc, "format", format) || format != index_format || version == nullptr ||
        !version->IsUint() || version->GetUint() != 1 || snapshots == nullptr || !snapshots->IsArray())
        return false;
    for (const auto& v : snapshots->GetArray()) {
        if (!v.IsObject())
            return false;
        index_entry e;
        if (!string_of(v, "snapshot_id", e.snapshot_id) || !manifest::is_valid_snapshot_id(e.snapshot_id) ||
            !string_of(v, "created_at", e.created_at) || !string_of(v, "version_id", e.version_id) ||
            !nullable_string(v, "expires_at", e.expires_at) ||
            !nullable_string(v, "pinned_until", e.pinned_until))
            return false;
        const auto* serial = member(v, "serial");
        if (serial != nullptr && !serial->IsNull()) {
            if (!serial->IsUint64())
                return false;
            e.serial = serial->GetUint64();
        }
        const auto* copy = member(v, "has_copy");
        if (copy == nullptr || !copy->IsBool())
            return false;
        e.has_copy = copy->GetBool();
        out.push_back(std::move(e));
    }
    return true;
}

}  // namespace tfsnap::catalog
