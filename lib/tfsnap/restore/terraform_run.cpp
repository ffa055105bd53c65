#include "tfsnap/restore/terraform_run.hpp"

#include "tfsnap/process/run.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

extern char** environ;

namespace tfsnap::restore {

std::string tail_of(std::string_view text, int lines) {
    if (!text.empty() && text.back() == '\n')
        text.remove_suffix(1);
    std::size_t pos = text.size();
    for (int n = 0; n < lines; ++n) {
        if (pos == 0)
            return std::string(text);
        const auto nl = text.rfind('\n', pos - 1);
        if (nl == std::string_view::npos)
            return std::string(text);
        pos = nl;
    }
    return std::string(text.substr(pos + 1));
}

namespace {

process::spec make_spec(const config::environment& env, const terraform_options& opts,
                        std::vector<std::string> args) {
    process::spec s;
    s.argv.push_back(env.terraform_bin);
    for (auto& a : args)
        s.argv.push_back(std::move(a));
    s.cwd = env.terraform_dir.value_or("");
    s.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(env.terraform_timeout);
    s.kill_grace = std::chrono::seconds(30);  // Terraform writes its state and unlocks on SIGTERM
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view kv(*e);
        s.env_unset.emplace_back(kv.substr(0, kv.find('=')));
    }
    auto keep = [&](const char* name) {
        if (const char* v = std::getenv(name))
            s.env_set.emplace_back(name, v);
    };
    keep("PATH");
    keep("HOME");
    keep("LANG");
    for (const auto& name : opts.passthrough)
        keep(name.c_str());
    s.env_set.emplace_back("TF_IN_AUTOMATION", "1");
    s.env_set.emplace_back("TF_INPUT", "0");
    s.env_set.emplace_back("AWS_REGION", env.region);
    s.env_set.emplace_back("AWS_DEFAULT_REGION", env.region);
    if (env.endpoint)
        s.env_set.emplace_back("AWS_ENDPOINT_URL_S3", *env.endpoint);
    if (env.dynamodb_endpoint)
        s.env_set.emplace_back("AWS_ENDPOINT_URL_DYNAMODB", *env.dynamodb_endpoint);
    for (const auto& kv : opts.credentials)
        s.env_set.push_back(kv);
    return s;
}

void append_log(const std::filesystem::path& path, const std::string& header, const std::string& output) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    const std::string text = header + output + (output.empty() || output.back() == '\n' ? "" : "\n");
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

boost::asio::awaitable<terraform_result> run_terraform(const config::environment& env,
                                                       terraform_options opts) {
    terraform_result out;
    out.log_path = opts.log_path.string();
    const auto started = std::chrono::steady_clock::now();
    if (!env.terraform_dir) {
        out.failed_step = "init";
        out.message = "environment " + env.name + " has no terraform_dir: a full restore needs one";
        co_return out;
    }
    std::vector<std::pair<std::string, std::vector<std::string>>> steps;
    steps.push_back({"init", {"init", "-input=false"}});
    if (opts.dry_run)
        steps.push_back({"plan", {"plan", "-input=false", "-detailed-exitcode"}});
    else
        steps.push_back({"apply", {"apply", "-input=false", "-auto-approve"}});
    std::string all_output;
    for (auto& [name, args] : steps) {
        std::string shown = env.terraform_bin;
        for (const auto& a : args)
            shown += " " + a;
        auto spec = make_spec(env, opts, args);
        const auto r = co_await process::run(std::move(spec));
        append_log(opts.log_path, "$ " + shown + "   (in " + *env.terraform_dir + ")\n", r.output);
        all_output += r.output;
        out.exit_code = r.exit_code;
        const bool plan_changes = name == "plan" && r.exit_code == 2 && !r.timed_out && r.signal == 0;
        if (r.ec && !plan_changes) {
            out.failed_step = name;
            out.message = process::describe(r, env.terraform_bin + " " + name);
            out.tail = tail_of(all_output, 30);
            out.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                           started)
                         .count();
            co_return out;
        }
        out.changes = plan_changes;
    }
    out.ok = true;
    out.message = opts.dry_run
                      ? (out.changes ? "terraform plan: changes to apply" : "terraform plan: no changes")
                      : "terraform apply succeeded";
    out.tail = tail_of(all_output, 30);
    out.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                 .count();
    co_return out;
}

}  // namespace tfsnap::restore
