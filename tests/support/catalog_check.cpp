// tfsnap_catalog_check: reads a tfsnapd state_dir and checks the invariants a crash must never
// break, changing nothing. For the reliability tests, which run it after every restart.
//
//   tfsnap_catalog_check STATE_DIR
//
// Checks, for every environment under STATE_DIR/catalog:
//   - every snapshot directory has a MANIFEST.json that parses (manifest::read), whose id and
//     environment are the directory's, with checksums that are lower-case hex of the right
//     length (MD5 32, SHA-256 64);
//   - INDEX.json exists, parses, and equals the index rebuilt from the manifests (catalog::scan);
// and under the whole STATE_DIR: no temporary or half-deleted file (".tmp-*", ".del-*", "*.tmp").
//
// Prints one JSON object: {"ok", "problems": [...], "environments": {ENV: [{"snapshot_id",
// "version_id", "md5", "sha256", "schedule", "pinned_until"}]}, "journals": [...],
// "leftovers": [...]}; "journals" lists the files under STATE_DIR/restore-journal. Exit status 0
// when every check holds, 1 when one does not, 64 on a usage error.
#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/manifest/manifest.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace tfsnap;

bool is_hex(std::string_view s, std::size_t length) {
    return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

bool is_leftover(std::string_view name) {
    return name.starts_with(catalog::catalog::temp_prefix) ||
           name.starts_with(catalog::catalog::deleted_prefix) || name.ends_with(".tmp");
}

std::vector<std::string> sorted_names(const fs::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        out.push_back(it->path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: tfsnap_catalog_check STATE_DIR\n";
        return 64;
    }
    const fs::path state_dir = argv[1];
    std::vector<std::string> problems;
    std::map<std::string, std::vector<manifest::manifest>> found;
    std::vector<std::string> leftovers;

    std::error_code ec;
    for (fs::recursive_directory_iterator it(state_dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (is_leftover(it->path().filename().string()))
            leftovers.push_back(it->path().string());
    }
    if (ec)
        problems.push_back("cannot walk " + state_dir.string() + ": " + ec.message());
    for (const auto& l : leftovers)
        problems.push_back("a temporary or half-deleted file is left: " + l);

    catalog::catalog cat(state_dir);
    std::vector<std::string> envs;
    if (auto s = cat.environments(envs))
        problems.push_back("cannot list the environments: " + s.info.message);
    for (const auto& env : envs) {
        const fs::path dir = cat.root() / env;
        auto& manifests = found[env];
        for (const auto& name : sorted_names(dir)) {
            if (!manifest::is_valid_snapshot_id(name) || !fs::is_directory(dir / name, ec))
                continue;
            const fs::path file = dir / name / "MANIFEST.json";
            std::string text;
            if (const auto e = core::read_file(file, text)) {
                problems.push_back("snapshot " + env + "/" + name +
                                   " has no readable MANIFEST.json: " + e.message());
                continue;
            }
            const auto r = manifest::read(text);
            if (r.ec) {
                problems.push_back(file.string() + " does not parse: " + r.ec.message() + " (" + r.detail +
                                   ")");
                continue;
            }
            const auto& m = r.value;
            if (m.snapshot_id != name || m.environment != env)
                problems.push_back(file.string() + " names " + m.environment + "/" + m.snapshot_id);
            if (!m.checksums)
                problems.push_back(file.string() + " has no checksums");
            else if (!is_hex(m.checksums->md5, 32) || !is_hex(m.checksums->sha256, 64))
                problems.push_back(file.string() + " has malformed checksums: md5 \"" + m.checksums->md5 +
                                   "\", sha256 \"" + m.checksums->sha256 + "\"");
            manifests.push_back(m);
        }
        std::vector<catalog::index_entry> rebuilt, on_disk;
        if (auto s = cat.scan(env, rebuilt)) {
            problems.push_back("the index of " + env + " cannot be rebuilt: " + s.info.message);
            continue;
        }
        std::string text;
        if (const auto e = core::read_file(dir / "INDEX.json", text)) {
            problems.push_back("the index of " + env + " cannot be read: " + e.message());
            continue;
        }
        if (!catalog::catalog::parse_index(text, on_disk)) {
            problems.push_back("the index of " + env + " does not parse");
            continue;
        }
        if (on_disk != rebuilt)
            problems.push_back("the index of " + env + " lists " + std::to_string(on_disk.size()) +
                               " snapshot(s) and differs from its rebuild (" +
                               std::to_string(rebuilt.size()) + " snapshot(s))");
    }

    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    w.StartObject();
    w.Key("ok");
    w.Bool(problems.empty());
    w.Key("problems");
    w.StartArray();
    for (const auto& p : problems)
        w.String(p);
    w.EndArray();
    w.Key("environments");
    w.StartObject();
    for (const auto& [env, manifests] : found) {
        w.Key(env.c_str(), static_cast<rapidjson::SizeType>(env.size()));
        w.StartArray();
        for (const auto& m : manifests) {
            w.StartObject();
            w.Key("snapshot_id");
            w.String(m.snapshot_id);
            w.Key("version_id");
            w.String(m.terraform_state.version_id);
            w.Key("md5");
            w.String(m.checksums ? m.checksums->md5 : "");
            w.Key("sha256");
            w.String(m.checksums ? m.checksums->sha256 : "");
            w.Key("schedule");
            w.String(m.schedule);
            w.Key("pinned_until");
            m.pinned_until ? w.String(*m.pinned_until) : w.Null();
            w.EndObject();
        }
        w.EndArray();
    }
    w.EndObject();
    w.Key("journals");
    w.StartArray();
    for (const auto& j : sorted_names(state_dir / "restore-journal"))
        w.String(j);
    w.EndArray();
    w.Key("leftovers");
    w.StartArray();
    for (const auto& l : leftovers)
        w.String(l);
    w.EndArray();
    w.EndObject();
    std::cout << b.GetString() << "\n";
    return problems.empty() ? 0 : 1;
}
