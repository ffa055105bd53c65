#include "runtime.hpp"

#include "identity.hpp"

#include "tfsnap/aws/credentials_provider.hpp"

#include <thread>

extern char** environ;

namespace tfsnap::daemon {

namespace {

namespace asio = boost::asio;

using credential_list = std::vector<std::pair<std::string, std::string>>;

// By value: the client set lives as long as the call, whatever a reload does meanwhile.
asio::awaitable<credential_list> credentials_of(std::shared_ptr<client_set> clients,
                                                config::environment env) {
    co_return co_await clients->terraform_credentials(env);
}

std::size_t pool_size(const config::daemon_config& cfg) {
    if (cfg.worker_threads)
        return static_cast<std::size_t>(*cfg.worker_threads);
    const unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 2 : cores;
}

}  // namespace

runtime::runtime(asio::io_context& io, const core::wall_clock& clock, core::logger log)
    : io_(io), clock_(clock), log_(log) {}

runtime::~runtime() {
    // the pool's work always resumes a coroutine of io_, which has stopped by now
    if (pool_) {
        pool_->stop();
        pool_->join();
    }
    // every writer has ended: the next start may trust the indexes (a kill never gets here)
    if (owner_ && catalog_) {
        if (auto s = catalog_->close())
            log_.warning("the catalog was not marked clean (" + s.info.message +
                         "): the next start checks every index against its manifests");
    }
}

std::optional<open_problem> runtime::open(std::shared_ptr<const config::daemon_config> cfg, open_options o) {
    cfg_ = std::move(cfg);
    auto claim = core::claim_dir(cfg_->state_dir, o.holder);
    if (claim.owner) {
        owner_.emplace(std::move(*claim.owner));
    } else if (claim.busy) {
        if (!o.read_only_ok) {
            open_problem p;
            p.exit_code = exit_in_use;
            p.busy = true;
            p.holder_pid = claim.holder;
            p.message = cfg_->state_dir + " is in use by another tfsnap process (" +
                        (claim.holder.empty() ? std::string("pid unknown") : "pid " + claim.holder) + ")";
            return p;
        }
    } else {
        return open_problem{exit_software, "cannot own " + cfg_->state_dir + ": " + claim.error.message()};
    }
    catalog_ = std::make_unique<catalog::catalog>(cfg_->state_dir);
    if (owner_) {
        if (auto s = catalog_->open())
            return open_problem{exit_software,
                                "cannot open the catalog: " + s.info.path + ": " + s.info.message};
    }
    workers_ = pool_size(*cfg_);
    pool_ = std::make_unique<asio::thread_pool>(workers_);
    host_ = host_name();
    clients_ = make_clients();
    jobs_.emplace(backup::job_context{*catalog_,
                                      clock_,
                                      log_,
                                      buckets_,
                                      "tfsnapd@" + host_,
                                      TFSNAP_VERSION,
                                      pool_->get_executor(),
                                      {},
                                      {}});
    if (owner_ && cfg_->catalog.git) {
        catalog_git::options go;
        go.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_->catalog.git_timeout);
        go.author_email = "tfsnapd@" + host_;
        git_ = std::make_unique<catalog_git::recorder>(catalog_->root(), go);
        jobs_->record_snapshot = backup::git_hook(*git_);
        jobs_->record_removal = backup::git_removal_hook(*git_);
    }
    std::vector<std::byte> key;
    if (owner_)
        key = plan_token_key(cfg_->state_dir, key_problem_);
    restores_.emplace(restore::restore_context{
        *jobs_, cfg_->state_dir, std::move(key), host_, "tfsnap " TFSNAP_VERSION, {}, {}});
    restores_->terraform_credentials = [this](const config::environment& env) {
        return credentials_of(clients_, env);
    };
    return std::nullopt;
}

asio::awaitable<std::string> runtime::start_history() {
    if (!git_)
        co_return std::string();
    const auto s = co_await git_->init();
    if (!s)
        co_return std::string();
    const std::string why = "catalog.git: cannot make " + catalog_->root().string() + " a git repository (" +
                            s.info.message + "); snapshots are taken and kept without their git history";
    log_.error(why, {{"event", "catalog-git-failed"}});
    co_return why;
}

void runtime::reconfigure(std::shared_ptr<const config::daemon_config> cfg) {
    cfg_ = std::move(cfg);
    clients_ = make_clients();
}

std::function<backup::environment_access(const config::environment&)> runtime::access_function() {
    auto clients = clients_;
    return [clients](const config::environment& e) { return clients->access(e); };
}

std::shared_ptr<client_set> runtime::make_clients() {
    auto c =
        std::make_shared<client_set>(io_.get_executor(), clock_, log_, aws::capture_environment(environ));
    if (on_new_clients_)
        on_new_clients_(*c);
    return c;
}

}  // namespace tfsnap::daemon
