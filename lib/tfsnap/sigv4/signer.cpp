#include "tfsnap/sigv4/signer.hpp"

#include "tfsnap/sigv4/detail/canonical.hpp"

#include <array>
#include <string>
#include <utility>

namespace tfsnap::sigv4 {

namespace {

constexpr std::chrono::seconds max_presign_expiry{604800};

constexpr std::array<std::string_view, 7> presign_names = {
    "X-Amz-Algorithm",     "X-Amz-Credential",     "X-Amz-Date",      "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature",
};

bool has_name(const param_list& list, std::string_view name) {
    for (const auto& entry : list) {
        if (detail::iequals(entry.first, name))
            return true;
    }
    return false;
}

void check_common(const request& req) {
    if (req.payload_hash.empty())
        detail::throw_invalid_argument(
            "sigv4: payload_hash is empty (use the body's SHA-256 or UNSIGNED-PAYLOAD)");
    if (has_name(req.headers, "authorization"))
        detail::throw_invalid_argument("sigv4: the request already has an authorization header");
}

std::string credential(std::string_view access_key_id, std::string_view scope) {
    std::string out;
    out.reserve(access_key_id.size() + 1 + scope.size());
    out += access_key_id;
    out += '/';
    out += scope;
    return out;
}

}  // namespace

param_list signer::sign_headers(const request& req, const credentials& c, const signing_params& p) {
    check_common(req);
    if (has_name(req.headers, "x-amz-date"))
        detail::throw_invalid_argument("sigv4: the request already has an x-amz-date header");
    const bool with_token = !c.session_token.empty();
    if (with_token && has_name(req.headers, "x-amz-security-token"))
        detail::throw_invalid_argument("sigv4: the request already has an x-amz-security-token header");
    if (p.add_content_sha256 && has_name(req.headers, "x-amz-content-sha256"))
        detail::throw_invalid_argument("sigv4: the request already has an x-amz-content-sha256 header");

    const auto scope = detail::make_scope(p);
    param_list added;
    added.reserve(4);
    added.emplace_back("x-amz-date", scope.date);
    if (with_token)
        added.emplace_back("x-amz-security-token", std::string(c.session_token.reveal()));
    if (p.add_content_sha256)
        added.emplace_back("x-amz-content-sha256", req.payload_hash);

    const auto headers = detail::canonicalize_headers(req.headers, added);
    const auto creq = detail::build_canonical_request(
        req.method, req.path, detail::canonical_query(req.query, {}), headers, req.payload_hash, p.s3);
    const auto sig = signature(cached_signing_key(c, p), detail::string_to_sign(creq, scope));

    std::string auth;
    auth.reserve(detail::algorithm_name.size() + c.access_key_id.size() + scope.scope.size() +
                 headers.signed_names.size() + sig.size() + 48);
    auth += detail::algorithm_name;
    auth += " Credential=";
    auth += c.access_key_id;
    auth += '/';
    auth += scope.scope;
    auth += ", SignedHeaders=";
    auth += headers.signed_names;
    auth += ", Signature=";
    auth += sig;
    added.emplace_back("authorization", std::move(auth));
    return added;
}

param_list signer::presign_query(const request& req, const credentials& c, const signing_params& p,
                                 std::chrono::seconds expires) {
    check_common(req);
    if (expires < std::chrono::seconds{1} || expires > max_presign_expiry)
        detail::throw_invalid_argument("sigv4: a presigned URL expires after 1 to 604800 seconds");
    for (const auto name : presign_names) {
        if (has_name(req.query, name))
            detail::throw_invalid_argument("sigv4: the query already has an X-Amz- signing parameter");
    }

    const auto scope = detail::make_scope(p);
    const auto headers = detail::canonicalize_headers(req.headers, {});
    param_list out;
    out.reserve(req.query.size() + presign_names.size());
    out.insert(out.end(), req.query.begin(), req.query.end());
    out.emplace_back("X-Amz-Algorithm", detail::algorithm_name);
    out.emplace_back("X-Amz-Credential", credential(c.access_key_id, scope.scope));
    out.emplace_back("X-Amz-Date", scope.date);
    out.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
    out.emplace_back("X-Amz-SignedHeaders", headers.signed_names);
    if (!c.session_token.empty())
        out.emplace_back("X-Amz-Security-Token", std::string(c.session_token.reveal()));

    const auto creq = detail::build_canonical_request(req.method, req.path, detail::canonical_query(out, {}),
                                                      headers, req.payload_hash, p.s3);
    out.emplace_back("X-Amz-Signature",
                     signature(cached_signing_key(c, p), detail::string_to_sign(creq, scope)));
    return out;
}

core::secret signer::cached_signing_key(const credentials& c, const signing_params& p) {
    const std::string scope = credential_scope(p);
    const std::string day = scope.substr(0, 8);
    const std::string id = c.access_key_id + '\n' + scope;
    {
        const std::lock_guard lock(mutex_);
        const auto it = cache_.find(id);
        if (it != cache_.end() && it->second.secret_access_key == c.secret_access_key)
            return it->second.signing_key;
    }

    // Derived outside the lock: four HMACs that other threads need not wait for. Two threads
    // missing at once both derive the same key, and the second insert overwrites the first.
    core::secret key = signing_key(c.secret_access_key, p);

    const std::lock_guard lock(mutex_);
    std::erase_if(cache_, [&](const auto& entry) { return entry.second.day != day; });
    if (cache_.size() >= max_cached_keys_ && cache_.find(id) == cache_.end())
        cache_.erase(cache_.begin());
    cache_.insert_or_assign(id, cache_entry{day, c.secret_access_key, key});
    return key;
}

std::size_t signer::cached_keys() const {
    const std::lock_guard lock(mutex_);
    return cache_.size();
}

}  // namespace tfsnap::sigv4
