#include "tfsnap/process/detail/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace tfsnap::process::detail {

namespace {

using boost::system::error_code;

error_code sys(int err) {
    return {err, boost::system::system_category()};
}

class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

int pidfd_open(pid_t pid) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// pidfd_open needs Linux 5.3; checked once, before anything is started.
int pidfd_support() noexcept {
    static const int err = [] {
        const int fd = pidfd_open(::getpid());
        if (fd < 0)
            return errno == ENOSYS ? ENOSYS : 0;  // EMFILE and the like are not a verdict
        ::close(fd);
        return 0;
    }();
    return err;
}

// A descriptor at 0, 1 or 2 (the caller runs with a standard stream closed) would be
// clobbered by the child's own redirections, so pipes are moved above 2.
error_code move_above_stdio(unique_fd& fd) {
    if (fd.get() > 2)
        return {};
    const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
        return sys(errno);
    fd.reset(moved);
    return {};
}

error_code make_pipe(unique_fd& read_end, unique_fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return sys(errno);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    if (auto ec = move_above_stdio(read_end))
        return ec;
    return move_above_stdio(write_end);
}

bool has_nul(std::string_view s) noexcept {
    return s.find('\0') != std::string_view::npos;
}

bool valid_env_name(std::string_view name) noexcept {
    return !name.empty() && name.find('=') == std::string_view::npos && !has_nul(name);
}

error_code check(const spec& s) {
    if (s.argv.empty() || s.argv.front().empty())
        return errc::invalid_argument;
    for (const auto& a : s.argv)
        if (has_nul(a))
            return errc::invalid_argument;
    if (has_nul(s.cwd))
        return errc::invalid_argument;
    for (const auto& [name, value] : s.env_set)
        if (!valid_env_name(name) || has_nul(value))
            return errc::invalid_argument;
    for (const auto& name : s.env_unset)
        if (!valid_env_name(name))
            return errc::invalid_argument;
    return {};
}

std::string_view name_of(std::string_view entry) {
    return entry.substr(0, entry.find('='));
}

// RAII for the posix_spawn attribute objects.
struct spawn_setup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    bool actions_ok = false;
    bool attr_ok = false;

    ~spawn_setup() {
        if (actions_ok)
            posix_spawn_file_actions_destroy(&actions);
        if (attr_ok)
            posix_spawnattr_destroy(&attr);
    }
};

}  // namespace

std::vector<std::string> child_environment(const char* const* parent, const spec& s) {
    auto dropped = [&](std::string_view name) {
        return std::any_of(s.env_unset.begin(), s.env_unset.end(),
                           [&](const auto& n) { return n == name; }) ||
               std::any_of(s.env_set.begin(), s.env_set.end(),
                           [&](const auto& kv) { return kv.first == name; });
    };
    std::vector<std::string> env;
    for (const char* const* p = parent; p != nullptr && *p != nullptr; ++p) {
        const std::string_view entry(*p);
        if (entry.find('=') == std::string_view::npos || dropped(name_of(entry)))
            continue;
        env.emplace_back(entry);
    }
    for (const auto& [name, value] : s.env_set) {
        // a later env_set entry for the same name wins
        std::erase_if(env, [&](const std::string& e) { return name_of(e) == name; });
        env.push_back(name + "=" + value);
    }
    return env;
}

const std::string* find_variable(const std::vector<std::string>& env, std::string_view name) {
    for (const auto& e : env)
        if (name_of(e) == name)
            return &e;
    return nullptr;
}

lookup find_program(std::string_view name, std::string_view path_var) {
    lookup out;
    out.err = ENOENT;
    while (true) {
        const std::size_t colon = path_var.find(':');
        const std::string_view dir = path_var.substr(0, colon);
        // empty and relative entries mean the current directory: never search it
        if (!dir.empty() && dir.front() == '/') {
            std::string candidate(dir);
            if (candidate.back() != '/')
                candidate += '/';
            candidate += name;
            struct stat st {};
            if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
                if (::access(candidate.c_str(), X_OK) == 0) {
                    out.path = std::move(candidate);
                    out.err = 0;
                    return out;
                }
                out.err = EACCES;
            }
        }
        if (colon == std::string_view::npos)
            return out;
        path_var.remove_prefix(colon + 1);
    }
}

void signal_group(pid_t pgid, int sig) noexcept {
    if (pgid > 0)
        ::kill(-pgid, sig);
}

error_code spawn(const spec& s, child& out) {
    out = child{};
    if (auto ec = check(s))
        return ec;
    std::vector<std::string> env = child_environment(environ, s);

    std::string program = s.argv.front();
    if (program.find('/') == std::string::npos) {
        const std::string* path = find_variable(env, "PATH");
        std::string fallback;
        if (path == nullptr) {
            const std::size_t n = ::confstr(_CS_PATH, nullptr, 0);
            fallback.resize(n > 0 ? n : 1);
            if (n > 0)
                ::confstr(_CS_PATH, fallback.data(), n);
            fallback.resize(std::strlen(fallback.c_str()));
        }
        auto found = find_program(program, path != nullptr ? std::string_view(*path).substr(5) : fallback);
        if (found.err == ENOENT)
            return errc::not_found;
        if (found.err != 0)
            return sys(found.err);
        program = std::move(found.path);
    }
    // checked here so that ENOENT from posix_spawn can only mean the program
    if (!s.cwd.empty()) {
        struct stat st {};
        if (::stat(s.cwd.c_str(), &st) != 0)
            return sys(errno);
        if (!S_ISDIR(st.st_mode))
            return sys(ENOTDIR);
    }
    if (const int err = pidfd_support())
        return sys(err);

    unique_fd out_read, out_write, in_read, in_write;
    if (auto ec = make_pipe(out_read, out_write))
        return ec;
    if (s.stdin_data) {
        if (auto ec = make_pipe(in_read, in_write))
            return ec;
        const int flags = ::fcntl(in_write.get(), F_GETFL);
        if (flags < 0 || ::fcntl(in_write.get(), F_SETFL, flags | O_NONBLOCK) != 0)
            return sys(errno);
    }

    spawn_setup setup;
    if (const int err = posix_spawn_file_actions_init(&setup.actions))
        return sys(err);
    setup.actions_ok = true;
    if (const int err = posix_spawnattr_init(&setup.attr))
        return sys(err);
    setup.attr_ok = true;

    int err = 0;
    auto step = [&err](int r) {
        if (err == 0)
            err = r;
    };
    if (s.stdin_data)
        step(posix_spawn_file_actions_adddup2(&setup.actions, in_read.get(), STDIN_FILENO));
    else
        step(posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0));
    step(posix_spawn_file_actions_adddup2(&setup.actions, out_write.get(), STDOUT_FILENO));
    step(posix_spawn_file_actions_adddup2(&setup.actions, out_write.get(), STDERR_FILENO));
    // descriptors other code opened without O_CLOEXEC do not leak into the child either
    step(posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3));
    if (!s.cwd.empty())
        step(posix_spawn_file_actions_addchdir_np(&setup.actions, s.cwd.c_str()));

    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    step(posix_spawnattr_setflags(&setup.attr,
                                  POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
    step(posix_spawnattr_setpgroup(&setup.attr, 0));
    step(posix_spawnattr_setsigmask(&setup.attr, &none));
    // ignored signals survive exec: a parent ignoring SIGPIPE must not pass that on
    step(posix_spawnattr_setsigdefault(&setup.attr, &all));
    if (err != 0)
        return sys(err);

    std::vector<char*> argv;
    argv.reserve(s.argv.size() + 1);
    for (const auto& a : s.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = -1;
    // glibc reports exec failures (ENOENT, EACCES, ENOEXEC) here, not as an exit status
    if (const int r =
            ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data()))
        return r == ENOENT ? error_code(errc::not_found) : sys(r);

    // The child is still unreaped here, so its pid cannot have been reused.
    const int pidfd = pidfd_open(pid);
    if (pidfd < 0) {
        const int e = errno;
        // Without a pidfd there is no way to wait on the loop: stop it now. SIGKILL ends it at
        // once, so this blocking wait is short.
        signal_group(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        return sys(e);
    }
    out.pid = pid;
    out.pidfd = pidfd;
    out.out = out_read.release();
    out.in = in_write.release();
    return {};
}

}  // namespace tfsnap::process::detail
