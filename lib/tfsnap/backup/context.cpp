#include "tfsnap/backup/context.hpp"

#include "tfsnap/catalog_git/recorder.hpp"

namespace tfsnap::backup {

namespace {

boost::asio::awaitable<std::string> record_with(catalog_git::recorder* git, std::string env, std::string id) {
    const auto s = co_await git->record_snapshot(std::move(env), std::move(id));
    co_return s ? s.info.message : std::string();
}

}  // namespace

std::function<boost::asio::awaitable<std::string>(std::string, std::string)> git_hook(
    catalog_git::recorder& git) {
    catalog_git::recorder* r = &git;
    return [r](std::string env, std::string id) { return record_with(r, std::move(env), std::move(id)); };
}

std::string state_file_name(const config::environment& env) {
    const std::string& from = env.source == config::source_kind::file ? env.path : env.key;
    const auto slash = from.rfind('/');
    std::string name = slash == std::string::npos ? from : from.substr(slash + 1);
    return name.empty() ? std::string("terraform.tfstate") : name;
}

std::string archive_key(const config::environment& env, std::string_view snapshot_id) {
    return env.copy.prefix + std::string(snapshot_id) + "/" + state_file_name(env);
}

std::string not_versioned_message(std::string_view bucket, s3::versioning_status status) {
    const std::string what = status == s3::versioning_status::suspended ? "versioning is suspended"
                                                                        : "versioning was never enabled";
    return "bucket " + std::string(bucket) + " does not keep versions (" + what +
           "), so there is no version to pin. Terraform's S3 backend documentation asks for versioning; "
           "enable it with: aws s3api put-bucket-versioning --bucket " +
           std::string(bucket) + " --versioning-configuration Status=Enabled";
}

}  // namespace tfsnap::backup
