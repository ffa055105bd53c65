#include "tfsnap/restore/digest.hpp"

#include "tfsnap/http/body.hpp"

namespace tfsnap::restore {

namespace asio = boost::asio;

namespace {

// States above this are not Terraform states anyone writes; the restore refuses them as well.
constexpr std::size_t max_state_bytes = std::size_t{512} << 20;

}  // namespace

asio::awaitable<digest_outcome> set_digest(dynamodb::client& db, std::string table, std::string lock_id,
                                           std::string md5_hex) {
    digest_outcome out;
    out.md5 = md5_hex;
    dynamodb::item item;
    item.emplace("LockID", dynamodb::attribute_value::string(lock_id + "-md5"));
    item.emplace("Digest", dynamodb::attribute_value::string(md5_hex));
    dynamodb::expression none;
    const auto r = co_await db.put_item(std::move(table), std::move(item), std::move(none));
    if (r.ec) {
        out.ec = r.ec;
        out.message = "cannot set " + lock_id + "-md5: " + dynamodb::describe(r.ec, r.info);
        co_return out;
    }
    out.written = true;
    out.message = lock_id + "-md5 = " + md5_hex;
    co_return out;
}

asio::awaitable<digest_outcome> settle_digest(s3::client& s3, dynamodb::client& db, std::string table,
                                              std::string bucket, std::string key, std::string lock_id) {
    digest_outcome out;
    const auto h = co_await s3.head_object(bucket, key);
    if (h.ec == s3::errc::no_such_key || h.ec == s3::errc::delete_marker) {
        // radosgw answers a plain 404 for a key whose current entry is a delete marker
        out.deleted = true;
        out.message = "s3://" + bucket + "/" + key + " has no current version: the digest is left as it is";
        co_return out;
    }
    if (h.ec) {
        out.ec = h.ec;
        out.message =
            "cannot read the current state s3://" + bucket + "/" + key + ": " + s3::describe(h.ec, h.info);
        co_return out;
    }
    http::string_sink sink(max_state_bytes);
    const auto g = co_await s3.get_object(bucket, key, h.object.version_id, sink);
    if (g.ec) {
        out.ec = g.ec;
        out.message = "cannot read version " + h.object.version_id + " of s3://" + bucket + "/" + key + ": " +
                      s3::describe(g.ec, g.info);
        co_return out;
    }
    auto r = co_await set_digest(db, std::move(table), std::move(lock_id), g.md5_hex);
    if (r.written)
        r.message += " (the MD5 of version " + h.object.version_id + ", now current)";
    co_return r;
}

}  // namespace tfsnap::restore
