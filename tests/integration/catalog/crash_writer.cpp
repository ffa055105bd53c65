// Writes to a catalog in an endless loop (adds, pins, deletes) until it is killed.
// Usage: tfsnap_catalog_crash_writer <state_dir> <seed>

#include "tfsnap/catalog/catalog.hpp"

#include <cstdio>
#include <random>
#include <string>

namespace {

using namespace tfsnap;

int failed(const char* what, const catalog::status& s) {
    std::fprintf(stderr, "crash_writer: %s: %s: %s %s\n", what, s.ec.message().c_str(), s.info.path.c_str(),
                 s.info.message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3)
        return 2;
    catalog::catalog cat(argv[1]);
    if (const auto s = cat.open())
        return failed("open", s);
    std::mt19937 rng(static_cast<unsigned>(std::stoul(argv[2])));
    const std::chrono::sys_seconds base{std::chrono::seconds{1736937000}};
    for (std::uint64_t n = 0;; ++n) {
        const std::string env = rng() % 2 == 0 ? "prod" : "stage";
        manifest::manifest m;
        m.environment = env;
        m.created_at = manifest::format_rfc3339(base);
        m.created_by = "crash_writer";
        m.schedule = "hourly";
        m.terraform_state = {"s3",
                             "bucket",
                             env + "/terraform.tfstate",
                             "eu-central-1",
                             "v" + std::to_string(n),
                             "\"etag\"",
                             "2025-01-15T10:29:41Z",
                             100 + n};
        m.state = manifest::state_summary{manifest::state_kind::state, n, "lineage", "1.9.8", n % 7};
        // A few seconds only, so ids collide and get suffixes.
        const auto taken = base + std::chrono::seconds(rng() % 3);
        const std::string bytes(256, 'x');
        if (const auto s =
                cat.add(m, taken, rng() % 3 == 0 ? std::optional<std::string_view>(bytes) : std::nullopt))
            return failed("add", s);
        std::vector<catalog::index_entry> entries;
        if (const auto s = cat.list(env, entries))
            return failed("list", s);
        if (!entries.empty() && rng() % 3 == 0) {
            const auto& e = entries[rng() % entries.size()];
            std::optional<std::string> pin;
            if (!e.pinned_until)
                pin = "2030-01-01T00:00:00Z";
            if (const auto s = cat.set_pin(env, e.snapshot_id, pin))
                return failed("set_pin", s);
        }
        if (entries.size() > 10)
            if (const auto s = cat.remove(env, entries[rng() % entries.size()].snapshot_id))
                return failed("remove", s);
    }
}
