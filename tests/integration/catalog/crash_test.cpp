// Starts the crash writer, SIGKILLs it after a random delay, checks the catalog, and repeats.
// Between kills: every MANIFEST.json in place parses, and INDEX.json (written atomically) is
// absent or parses. Every 20 kills and at the end: open() leaves no temporary behind, and each
// environment's index equals a rebuild from the manifests.
// Usage: tfsnap_catalog_crash_test <writer> <dir> <kills>

#include "tfsnap/catalog/catalog.hpp"
#include "tfsnap/core/atomic_file.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace tfsnap;

bool check_files(const fs::path& root, int round) {
    bool ok = true;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& p = it->path();
        const std::string name = p.filename().string();
        const std::string parent = p.parent_path().filename().string();
        if (name[0] == '.' || parent[0] == '.')
            continue;
        std::string text;
        if (name == "MANIFEST.json") {
            if (const auto e = core::read_file(p, text)) {
                std::fprintf(stderr, "round %d: %s\n", round, e.message().c_str());
                ok = false;
            } else if (const auto r = manifest::read(text); r.ec) {
                std::fprintf(stderr, "round %d: %s: %s\n", round, p.c_str(), r.detail.c_str());
                ok = false;
            }
        } else if (name == "INDEX.json") {
            std::vector<catalog::index_entry> entries;
            if (core::read_file(p, text) || !catalog::catalog::parse_index(text, entries)) {
                std::fprintf(stderr, "round %d: %s does not parse\n", round, p.c_str());
                ok = false;
            }
        }
    }
    return ok && !ec;
}

bool check_open(const fs::path& dir, int round) {
    catalog::catalog cat(dir);
    int repaired = 0;
    if (const auto s = cat.open(&repaired)) {
        std::fprintf(stderr, "round %d: open: %s %s\n", round, s.info.path.c_str(), s.info.message.c_str());
        return false;
    }
    bool ok = true;
    for (const auto& e : fs::recursive_directory_iterator(cat.root()))
        if (e.path().filename().string()[0] == '.') {
            std::fprintf(stderr, "round %d: %s survived open()\n", round, e.path().c_str());
            ok = false;
        }
    std::vector<std::string> envs;
    if (cat.environments(envs))
        return false;
    for (const auto& env : envs) {
        std::vector<catalog::index_entry> listed, rebuilt;
        if (cat.list(env, listed) || cat.rebuild_index(env, &rebuilt) || listed != rebuilt) {
            std::fprintf(stderr, "round %d: index of %s differs from its manifests\n", round, env.c_str());
            ok = false;
        }
    }
    std::printf("round %d: open() ok, %zu environments, %d indexes repaired\n", round, envs.size(), repaired);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4)
        return 2;
    const fs::path dir = argv[2];
    const int kills = std::stoi(argv[3]);
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::mt19937 rng(std::random_device{}());
    for (int round = 1; round <= kills; ++round) {
        const pid_t pid = ::fork();
        if (pid < 0)
            return 3;
        if (pid == 0) {
            const std::string seed = std::to_string(round);
            ::execl(argv[1], argv[1], dir.c_str(), seed.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(1000 + rng() % 60000));
        ::kill(pid, SIGKILL);
        int wstatus = 0;
        ::waitpid(pid, &wstatus, 0);
        if (!WIFSIGNALED(wstatus)) {
            std::fprintf(stderr, "round %d: the writer exited by itself (status %d)\n", round, wstatus);
            return 1;
        }
        if (!check_files(dir / "catalog", round))
            return 1;
        if ((round % 20 == 0 || round == kills) && !check_open(dir, round))
            return 1;
    }
    fs::remove_all(dir);
    std::printf("%d kills survived\n", kills);
    return 0;
}
