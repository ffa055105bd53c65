#include "tfsnap/catalog_git/recorder.hpp"

#include "tfsnap/config/validate.hpp"
#include "tfsnap/core/atomic_file.hpp"
#include "tfsnap/manifest/manifest.hpp"
#include "tfsnap/process/run.hpp"

#include <unistd.h>

#include <system_error>

namespace tfsnap::catalog_git {

namespace fs = std::filesystem;
namespace asio = boost::asio;

struct recorder::git_outcome {
    process::result r;
    std::string command;  // "git commit"
};

namespace {

constexpr std::string_view ignore_rules =
    "# Written by tfsnap (catalog.git); tfsnap rewrites it when it differs.\n"
    "# Unfinished and half-deleted catalog entries.\n"
    ".tmp-*\n"
    ".del-*\n"
    "# Local copies of state files (<env>/<id>/state, state.enc): they can hold secrets, and\n"
    "# anything committed stays in the history for ever.\n"
    "*/*/state*\n";

constexpr std::size_t output_in_message = 2048;

status fail(errc e, std::string message, std::string command = {}) {
    return {e, {std::move(command), std::move(message)}};
}

// The status for a git command that did not succeed, with git's own words in the message.
status from_result(const process::result& r, const std::string& command) {
    errc e = errc::git_failed;
    if (r.ec == process::errc::not_found)
        e = errc::git_not_found;
    else if (r.ec == process::errc::timed_out)
        e = errc::git_timed_out;
    else if (r.ec == process::errc::cancelled)
        e = errc::cancelled;
    std::string message = process::describe(r, command);
    std::string_view out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.remove_suffix(1);
    // describe() already quoted a one-line output
    if (out.find('\n') != std::string_view::npos) {
        if (out.size() > output_in_message) {
            out.remove_prefix(out.size() - output_in_message);
            message += "\n[...]";
        }
        message += "\n";
        message += out;
    }
    return fail(e, std::move(message), command);
}

// Marks the recorder busy for the lifetime of one call.
class busy_guard {
public:
    explicit busy_guard(bool& flag) noexcept : flag_(flag), owned_(!flag) { flag_ = true; }
    busy_guard(const busy_guard&) = delete;
    busy_guard& operator=(const busy_guard&) = delete;
    ~busy_guard() {
        if (owned_)
            flag_ = false;
    }
    bool owned() const noexcept { return owned_; }

private:
    bool& flag_;
    bool owned_;
};

status busy() {
    return fail(errc::busy, "another catalog history update is in progress");
}

// The command line and environment of one git command. (Built outside the coroutines: GCC 12
// mishandles initializer lists inside a coroutine body.)
process::spec git_spec(const fs::path& root, const options& opts, std::vector<std::string> args, bool in_repo,
                       std::string input) {
    process::spec s;
    s.argv = {opts.git};
    if (in_repo) {
        // explicit paths: git must never find (and change) a repository around the catalog
        s.argv.push_back("--git-dir=" + (root / ".git").string());
        s.argv.push_back("--work-tree=" + root.string());
    }
    for (std::string c : {"user.name=" + opts.author_name, "user.email=" + opts.author_email,
                          std::string("commit.gpgsign=false"), std::string("tag.gpgsign=false"),
                          std::string("core.hooksPath=/dev/null"), std::string("core.excludesFile=/dev/null"),
                          std::string("core.attributesFile=/dev/null"),
                          // an automatic gc stays inside the timeout and the process group
                          std::string("gc.autoDetach=false")}) {
        s.argv.push_back("-c");
        s.argv.push_back(std::move(c));
    }
    for (auto& a : args)
        s.argv.push_back(std::move(a));
    s.cwd = root.string();
    s.env_set = {{"GIT_CONFIG_NOSYSTEM", "1"},
                 {"GIT_CONFIG_GLOBAL", "/dev/null"},
                 {"GIT_TERMINAL_PROMPT", "0"},
                 {"LC_ALL", "C"}};
    s.env_unset = {"GIT_DIR",
                   "GIT_WORK_TREE",
                   "GIT_INDEX_FILE",
                   "GIT_COMMON_DIR",
                   "GIT_OBJECT_DIRECTORY",
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                   "GIT_NAMESPACE",
                   "GIT_CEILING_DIRECTORIES",
                   "GIT_CONFIG",
                   "GIT_CONFIG_PARAMETERS",
                   "GIT_CONFIG_COUNT",
                   "GIT_EXEC_PATH",
                   "GIT_AUTHOR_NAME",
                   "GIT_AUTHOR_EMAIL",
                   "GIT_AUTHOR_DATE",
                   "GIT_COMMITTER_NAME",
                   "GIT_COMMITTER_EMAIL",
                   "GIT_COMMITTER_DATE"};
    s.timeout = opts.timeout;
    s.output_limit = 64 * 1024;
    if (!input.empty())
        s.stdin_data = std::move(input);
    return s;
}

template <class... Args>
std::vector<std::string> cmd(Args&&... args) {
    std::vector<std::string> v;
    v.reserve(sizeof...(Args));
    (v.emplace_back(std::forward<Args>(args)), ...);
    return v;
}

}  // namespace

recorder::recorder(fs::path catalog_root, options o)
    : root_(std::move(catalog_root)), options_(std::move(o)) {}

std::string recorder::tag_name(std::string_view env, std::string_view snapshot_id) {
    std::string t = "backup-state/";
    t += env;
    t += '/';
    t += snapshot_id;
    return t;
}

std::string_view recorder::gitignore() noexcept {
    return ignore_rules;
}

bool recorder::is_valid_environment(std::string_view env) noexcept {
    constexpr std::string_view lock = ".lock";
    return config::is_valid_name(env) && env.front() != '.' && env.find("..") == std::string_view::npos &&
           !(env.size() >= lock.size() && env.substr(env.size() - lock.size()) == lock);
}

status recorder::check(std::string_view env, std::span<const std::string> ids) const {
    if (!is_valid_environment(env))
        return fail(errc::invalid_environment,
                    "environment name cannot be recorded in git: \"" + std::string(env.substr(0, 64)) + "\"");
    for (const auto& id : ids)
        if (!manifest::is_valid_snapshot_id(id))
            return fail(errc::invalid_snapshot_id, "invalid snapshot id: \"" + id.substr(0, 64) + "\"");
    std::error_code ec;
    if (!fs::exists(root_ / ".git", ec))
        return fail(errc::not_initialized,
                    root_.string() + " is not a git repository yet (init() was not run)");
    return {};
}

asio::awaitable<recorder::git_outcome> recorder::git(std::vector<std::string> args, bool in_repo,
                                                     std::string input) {
    git_outcome o;
    o.command = "git " + args.front();
    o.r = co_await process::run(git_spec(root_, options_, std::move(args), in_repo, std::move(input)));
    co_return o;
}

asio::awaitable<status> recorder::init() {
    busy_guard guard(busy_);
    if (!guard.owned())
        co_return busy();
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec)
        co_return fail(errc::io_error, "cannot create " + root_.string() + ": " + ec.message());

    bool created = false;
    if (!fs::exists(root_ / ".git", ec)) {
        auto o = co_await git(cmd("init", "--quiet", "--initial-branch=main"), false, std::string());
        if (o.r.ec)
            co_return from_result(o.r, o.command);
        created = true;
    }
    // Left by a git that was killed (SIGKILL, a crash); git removes it itself on SIGTERM.
    fs::remove(root_ / ".git" / "index.lock", ec);

    const fs::path ignore_path = root_ / ".gitignore";
    std::string current;
    bool rewrite = true;
    if (!core::read_file(ignore_path, current))
        rewrite = current != ignore_rules;
    if (rewrite) {
        const fs::path temp = root_ / (".tmp-gitignore-" + std::to_string(::getpid()));
        if (const auto e = core::write_file_atomic(ignore_path, temp, ignore_rules, 0600))
            co_return fail(errc::io_error, e.message());
    }

    bool has_head = true;
    if (!created && !rewrite) {
        auto o = co_await git(cmd("rev-parse", "--quiet", "--verify", "HEAD"), true, std::string());
        if (o.r.ec && !(o.r.ec == process::errc::exit_status && o.r.exit_code == 1))
            co_return from_result(o.r, o.command);
        has_head = !o.r.ec;
    }
    if (created || rewrite || !has_head) {
        auto add = co_await git(cmd("add", "--all", "--", "."), true, std::string());
        if (add.r.ec)
            co_return from_result(add.r, add.command);
        const std::string message =
            created || !has_head ? "tfsnap: start the catalog history" : "tfsnap: update .gitignore";
        auto commit = co_await git(cmd("commit", "--quiet", "--no-verify", "--allow-empty", "-m", message),
                                   true, std::string());
        if (commit.r.ec)
            co_return from_result(commit.r, commit.command);
    }
    co_return status{};
}

asio::awaitable<status> recorder::record_snapshot(std::string env, std::string snapshot_id) {
    if (auto s = check(env, std::span<const std::string>(&snapshot_id, 1)))
        co_return s;
    busy_guard guard(busy_);
    if (!guard.owned())
        co_return busy();
    std::error_code ec;
    if (!fs::is_directory(root_ / env / snapshot_id, ec))
        co_return fail(errc::snapshot_not_found,
                       "no snapshot " + env + "/" + snapshot_id + " in the catalog");

    const std::string tag = tag_name(env, snapshot_id);
    auto exists =
        co_await git(cmd("rev-parse", "--quiet", "--verify", "refs/tags/" + tag), true, std::string());
    if (!exists.r.ec)
        co_return fail(errc::tag_exists, "tag " + tag + " already exists: the snapshot was recorded before",
                       exists.command);
    if (!(exists.r.ec == process::errc::exit_status && exists.r.exit_code == 1))
        co_return from_result(exists.r, exists.command);

    auto add = co_await git(cmd("add", "--all", "--", env), true, std::string());
    if (add.r.ec)
        co_return from_result(add.r, add.command);
    auto commit = co_await git(cmd("commit", "--quiet", "--no-verify", "--allow-empty", "-m", tag), true,
                               std::string());
    if (commit.r.ec)
        co_return from_result(commit.r, commit.command);
    auto tagged = co_await git(cmd("tag", tag), true, std::string());
    if (tagged.r.ec)
        co_return from_result(tagged.r, tagged.command);
    co_return status{};
}

asio::awaitable<status> recorder::record_removal(std::string env, std::vector<std::string> ids,
                                                 std::string message) {
    if (auto s = check(env, ids))
        co_return s;
    if (ids.empty())
        co_return status{};
    busy_guard guard(busy_);
    if (!guard.owned())
        co_return busy();

    auto add = co_await git(cmd("add", "--all", "--", env), true, std::string());
    if (add.r.ec)
        co_return from_result(add.r, add.command);
    // --quiet exits 1 when something is staged under <env>, 0 when nothing is
    auto diff = co_await git(cmd("diff", "--cached", "--quiet", "--", env), true, std::string());
    if (!diff.r.ec)
        co_return status{};
    if (!(diff.r.ec == process::errc::exit_status && diff.r.exit_code == 1))
        co_return from_result(diff.r, diff.command);

    std::string text = message.find_first_not_of(" \t\r\n") == std::string::npos ? "remove-state/" + env
                                                                                 : std::move(message);
    text += "\n\nRemoved snapshots (their tags are kept):\n";
    for (const auto& id : ids)
        text += tag_name(env, id) + "\n";
    // on stdin: any number of ids, and no message text on a command line
    auto commit = co_await git(cmd("commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file=-"),
                               true, std::move(text));
    if (commit.r.ec)
        co_return from_result(commit.r, commit.command);
    co_return status{};
}

}  // namespace tfsnap::catalog_git
