#pragma once
// The git history of the catalog (`catalog.git: true`): the catalog directory is a git work
// tree, every snapshot becomes a commit and a tag named `backup-state/<env>/<snapshot_id>`
// (the names an existing ops workflow uses), and every prune becomes a commit. Tags are never
// deleted: they are the history of what was taken.
//
// What is committed: the manifests and indexes. Never committed (the .gitignore written by
// init() excludes them): the catalog's temporary and half-deleted entries (".tmp-*",
// ".del-*"), and the local copies of state files (`*/*/state*`, i.e. `<env>/<id>/state` and
// `state.enc`), which can hold secrets and would stay in the history for ever.
//
// Every git command runs through process::run with `options::timeout`, in the catalog
// directory, with an explicit --git-dir and --work-tree (git never searches parent
// directories), and without depending on any user or system configuration:
// GIT_CONFIG_NOSYSTEM=1, GIT_CONFIG_GLOBAL=/dev/null, GIT_TERMINAL_PROMPT=0, LC_ALL=C, the
// identity and signing settings given with -c, hooks off, and the GIT_DIR-like variables of
// the daemon's environment removed.
//
// The history is secondary: the caller logs a failure and carries on; a failure here never
// fails or loses a snapshot (the catalog is already written when record_* runs). A later
// record_snapshot commits whatever an earlier failed one left uncommitted.
//
// Errors: a `status` with a catalog_git::errc and error_info{command, message}. The message of
// a git failure includes git's output (bounded); an existing tag is errc::tag_exists.
// Environment names and snapshot ids are validated before any command is built.
// Cancellation: every call honours the awaiting coroutine's cancellation slot. The git command
// in progress gets SIGTERM (git removes its lock files), then SIGKILL after 5 s, and the call
// returns errc::cancelled without running the next command.
// Thread safety: none; one recorder per catalog, used from one executor. Calls must not
// overlap (git's index lock would refuse them): an overlapping call returns errc::busy.
// Blocking file I/O (small files) runs on the caller's thread, as in catalog::catalog.

#include "tfsnap/catalog_git/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tfsnap::catalog_git {

struct options {
    std::string git = "git";                   // looked up in PATH without a '/'
    std::chrono::milliseconds timeout{30000};  // for each git command
    std::string author_name = "tfsnap";
    std::string author_email = "tfsnap@localhost";
};

struct status {
    boost::system::error_code ec;
    error_info info;

    explicit operator bool() const noexcept { return static_cast<bool>(ec); }
};

class recorder {
public:
    // `catalog_root` is the catalog directory itself (`<state_dir>/catalog`).
    recorder(std::filesystem::path catalog_root, options o);

    // Makes the catalog a git repository if it is not one yet (`git init`, branch "main"),
    // writes the .gitignore when it is missing or differs, and commits: everything already in
    // the catalog for a new repository ("tfsnap: start the catalog history"), the .gitignore
    // otherwise ("tfsnap: update .gitignore"). Creates the catalog directory if needed. Also
    // removes a stale .git/index.lock (run it at startup, when no git command can be running).
    // On a repository that is already set up it runs no command that changes anything.
    boost::asio::awaitable<status> init();

    // After the catalog stored snapshot `snapshot_id` of `env`: stages <env> (`git add -A`),
    // commits "backup-state/<env>/<snapshot_id>" (even when nothing changed, so that the tag
    // has a commit of its own) and tags it with the same name. The tag is checked first: when
    // it exists, nothing is committed and the result is errc::tag_exists.
    boost::asio::awaitable<status> record_snapshot(std::string env, std::string snapshot_id);

    // After the catalog removed `ids` of `env` (pruning): stages <env> and commits, with
    // `message` as the subject ("remove-state/<env>" when blank) and the removed snapshots'
    // tag names in the body. No commit when nothing changed under <env>; nothing at all for
    // an empty `ids`. Tags are kept.
    boost::asio::awaitable<status> record_removal(std::string env, std::vector<std::string> ids,
                                                  std::string message);

    // "backup-state/<env>/<snapshot_id>"
    static std::string tag_name(std::string_view env, std::string_view snapshot_id);
    // The .gitignore that init() writes.
    static std::string_view gitignore() noexcept;
    // Whether `env` can be part of a tag name and a git path: config::is_valid_name, and no
    // leading '.', no "..", no trailing ".lock" (git-check-ref-format).
    static bool is_valid_environment(std::string_view env) noexcept;

    const std::filesystem::path& root() const noexcept { return root_; }

private:
    struct git_outcome;
    boost::asio::awaitable<git_outcome> git(std::vector<std::string> args, bool in_repo, std::string input);
    // Validates the names, then checks that init() has run.
    status check(std::string_view env, std::span<const std::string> ids) const;

    std::filesystem::path root_;
    options options_;
    bool busy_ = false;
};

}  // namespace tfsnap::catalog_git
