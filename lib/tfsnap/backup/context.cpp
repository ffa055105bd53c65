#include "tfsnap/backup/context.hpp"

#include "tfsnap/catalog_git/recorder.hpp"

namespace tfsnap::backup {

namespace {

boost::asio::awaitable<std::string> record_with(catalog_git::recorder* git, std::string env, std::string id) {
    const auto s = co_await git->record_snapshot(std::move(env), std::move(id));
    co_return s ? s.info.message : std::string();
}

boost::asio::awaitable<std::string> remove_with(catalog_git::recorder* git, std::string env,
                                                std::vector<std::string> ids) {
    const auto s = co_await git->record_removal(std::move(env), std::move(ids), std::string());
    co_return s ? s.info.message : std::string();
}

}  // namespace

std::function<boost::asio::awaitable<std::string>(std::string, std::vector<std::string>)> git_removal_hook(
    catalog_git::recorder& git) {
    catalog_git::recorder* r = &git;
    return [r](std::string env, std::vector<std::string> ids) {
        return remove_with(r, std::move(env), std::move(ids));
    };
}

std::function<boost::asio::awaitable<std::string>(std::string, std::string)> git_hook(
    catalog_git::recorder& git) {
    catalog_git::recorder* r = &git;
    return [r](std::string env, std::string id) { return record_with(r, std::move(env), std::move(id)); };
}

std::string s3_uri(const config::environment& env) {
    return "s3://" + env.bucket + "/" + env.key;
}

std::string bucket_origin(const config::environment& env) {
    return env.endpoint ? *env.endpoint : env.region;
}

std::string unquote_etag(std::string etag) {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
        etag = etag.substr(1, etag.size() - 2);
    return etag;
}

boost::asio::awaitable<archive_result> archive_version(const config::environment& env,
                                                       environment_access access, std::string version,
                                                       std::string snapshot_id, std::string sha256) {
    archive_result out;
    s3::client* target = access.archive != nullptr ? access.archive : access.s3;
    const std::string key = archive_key(env, snapshot_id);
    if (target == nullptr) {
        out.error = "no S3 client for the archive bucket " + env.copy.bucket;
        co_return out;
    }
    if (env.copy.bucket == env.bucket && key == env.key) {
        out.error = "the archive copy would overwrite the state itself; set copy.prefix";
        co_return out;
    }
    s3::copy_options opts;  // named, not a temporary in the co_await (GCC 12)
    opts.sse = env.copy.sse;
    opts.kms_key_id = env.copy.kms_key_id;
    const auto r =
        co_await target->copy_object(env.bucket, env.key, version, env.copy.bucket, key, std::move(opts));
    if (r.ec) {
        out.error = "server-side copy to s3://" + env.copy.bucket + "/" + key +
                    " failed: " + s3::describe(r.ec, r.info);
        co_return out;
    }
    manifest::copy_info copy;
    copy.mode = "s3";
    copy.bucket = env.copy.bucket;
    copy.key = key;
    copy.version_id = r.version_id;
    copy.sha256 = std::move(sha256);
    out.copy = std::move(copy);
    co_return out;
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
