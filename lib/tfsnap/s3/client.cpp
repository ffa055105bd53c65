#include "tfsnap/s3/client.hpp"

#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/s3/parse.hpp"

#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <utility>

namespace tfsnap::s3 {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr std::size_t error_body_limit = 64 * 1024;
constexpr std::size_t xml_body_limit = 16 * 1024 * 1024;
constexpr std::size_t message_limit = 512;

const std::string& empty_sha256() {
    static const std::string h = crypto::sha256_hex("");
    return h;
}

// Success bodies go to the operation's sink, error bodies to a small buffer of their own, so
// an error document never ends up in a state file.
class routing_sink final : public http::body_sink {
public:
    explicit routing_sink(http::body_sink& success) : success_(success) {}
    error_code begin() override {
        current_ = &success_;
        if (auto ec = error_.begin())
            return ec;
        return success_.begin();
    }
    error_code on_status(unsigned status) override {
        current_ = status < 300 ? &success_ : static_cast<http::body_sink*>(&error_);
        return current_->on_status(status);
    }
    error_code write(std::string_view chunk) override { return current_->write(chunk); }
    error_code finish() override { return current_->finish(); }
    const std::string& error_body() const noexcept { return error_.data(); }

private:
    http::body_sink& success_;
    http::string_sink error_{error_body_limit};
    http::body_sink* current_ = &success_;
};

object_info object_from_headers(const http::response& r) {
    object_info o;
    o.version_id = r.header("x-amz-version-id");
    o.etag = r.header("etag");
    // untrusted: a malformed length leaves size 0 instead of throwing
    if (const auto len = r.header("content-length"); !len.empty()) {
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
        if (ec == std::errc{} && end == len.data() + len.size())
            o.size = n;
    }
    if (const auto lm = parse_http_date(r.header("last-modified")))
        o.last_modified = *lm;
    o.sse = r.header("x-amz-server-side-encryption");
    o.kms_key_id = r.header("x-amz-server-side-encryption-aws-kms-key-id");
    return o;
}

// A plain MD5 ETag (single-part upload, not SSE-KMS) can be checked against the bytes.
bool etag_is_md5(const object_info& o) {
    if (o.sse == "aws:kms" || o.sse == "aws:kms:dsse")
        return false;
    std::string_view e = o.etag;
    if (e.size() == 34 && e.front() == '"' && e.back() == '"')
        e = e.substr(1, 32);
    if (e.size() != 32)
        return false;
    return e.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string bare_etag(std::string_view e) {
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"')
        return std::string(e.substr(1, e.size() - 2));
    return std::string(e);
}

struct payload_digests {
    error_code ec;
    std::string sha256_hex;
    std::string md5_base64;
    std::string sha256_base64;  // x-amz-checksum-sha256
};

payload_digests digest(const http::body_source& body) {
    crypto::hasher sha(crypto::algorithm::sha256), md5(crypto::algorithm::md5);
    switch (body.type()) {
        case http::body_source::kind::none:
            break;
        case http::body_source::kind::memory:
            sha.update(body.bytes());
            md5.update(body.bytes());
            break;
        case http::body_source::kind::file: {
            std::ifstream in(body.path(), std::ios::binary);
            if (!in)
                return {http::errc::body_source_failed, {}, {}, {}};
            std::string buf(1 << 20, '\0');
            while (in) {
                in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
                const auto n = static_cast<std::size_t>(in.gcount());
                sha.update(std::string_view(buf.data(), n));
                md5.update(std::string_view(buf.data(), n));
            }
            if (in.bad())
                return {http::errc::body_source_failed, {}, {}, {}};
            break;
        }
    }
    const std::string sha_raw = sha.final_raw();
    return {
        {}, crypto::to_hex(sha_raw), crypto::base64_encode(md5.final_raw()), crypto::base64_encode(sha_raw)};
}

}  // namespace

struct client::call {
    const char* operation = "";
    bhttp::verb method = bhttp::verb::get;
    std::string bucket;
    std::string key;
    sigv4::param_list query;
    sigv4::param_list headers;  // signed
    http::body_source body = http::body_source::none();
    std::string payload_hash = empty_sha256();
    http::body_sink* sink = nullptr;  // success body; null: kept in call_result::body
    bool idempotent = true;
    // Runs on a 2xx response, inside the retry loop (a checksum mismatch is retried).
    std::function<error_code(const http::response&, std::string_view body, error_info&)> validate;
};

struct client::call_result {
    error_code ec;
    error_info info;
    http::response res;
    std::string body;
};

client::client(http::client& http, client_config cfg, credentials_source credentials,
               const core::wall_clock& clock, http::random_unit random)
    : http_(http),
      cfg_(std::move(cfg)),
      credentials_(std::move(credentials)),
      clock_(clock),
      random_(std::move(random)) {
    const std::string endpoint = cfg_.endpoint.value_or("https://s3." + cfg_.region + ".amazonaws.com");
    if (auto u = http::parse_url(endpoint)) {
        base_ = *u;
        if (base_.path.find('?') != std::string::npos)
            return;
        while (!base_.path.empty() && base_.path.back() == '/')
            base_.path.pop_back();
        base_ok_ = true;
    }
}

asio::awaitable<client::call_result> client::execute(const call& c) {
    call_result out;
    out.info.operation = c.operation;
    out.info.resource = c.bucket + (c.key.empty() ? "" : "/" + c.key);
    for (const auto& [k, v] : c.query) {
        if (k == "versionId")
            out.info.resource += "?versionId=" + v;
    }
    if (!base_ok_) {
        out.ec = http::errc::invalid_url;
        out.info.detail = "invalid S3 endpoint";
        co_return out;
    }

    // virtual-hosted unless configured otherwise; dotted names over TLS would not match the
    // *.s3 wildcard certificate
    const bool path_style =
        cfg_.path_style || c.bucket.empty() || (base_.tls && c.bucket.find('.') != std::string::npos);
    http::url u = base_;
    std::string path = base_.path;
    if (!c.bucket.empty()) {
        if (path_style) {
            path += "/" + c.bucket;
        } else {
            u.host = c.bucket + "." + base_.host;
        }
    }
    if (!c.key.empty())
        path += "/" + sigv4::uri_encode(c.key, false);
    if (path.empty())
        path = "/";
    http::string_sink own_body(xml_body_limit);
    routing_sink sink(c.sink != nullptr ? *c.sink : own_body);

    auto attempt = [&]() -> asio::awaitable<error_code> {
        out.info.http_status = 0;
        out.info.code.clear();
        out.info.message.clear();
        out.info.detail.clear();
        auto cred = co_await credentials_();
        if (cred.ec) {
            out.info.detail = "no credentials to sign with";
            co_return cred.ec;
        }
        http::aws_request req;
        req.method = c.method;
        req.origin = u;
        req.path = path;
        req.query = c.query;
        req.headers = c.headers;
        req.body = c.body;
        req.payload_hash = c.payload_hash;
        req.region = cfg_.region;
        req.service = "s3";
        req.idempotent = c.idempotent;
        auto r = co_await http::send_signed(http_, signer_, cred.creds, clock_, req, sink);
        if (cfg_.on_attempt)
            cfg_.on_attempt(c.operation, r.ec ? 0U : r.res.status);
        if (r.ec) {
            out.info.detail = r.info.phase + ": " + r.info.detail;
            co_return r.ec;
        }
        out.res = r.res;
        out.info.http_status = r.res.status;
        out.info.request_id = r.res.header("x-amz-request-id");
        if (r.res.status < 300) {
            if (c.validate)
                co_return c.validate(r.res, c.sink == nullptr ? own_body.data() : std::string_view{},
                                     out.info);
            co_return error_code{};
        }
        if (r.res.header("x-amz-delete-marker") == "true" && (r.res.status == 404 || r.res.status == 405)) {
            co_return errc::delete_marker;
        }
        if (auto doc = parse_error(sink.error_body())) {
            out.info.code = doc->code;
            out.info.message = doc->message.substr(0, message_limit);
            if (out.info.request_id.empty())
                out.info.request_id = doc->request_id;
            co_return from_code(doc->code, r.res.status);
        }
        if (const auto s3 = from_code("", r.res.status); s3 != errc::other)
            co_return s3;
        co_return http::status_error(r.res.status) ? http::status_error(r.res.status)
                                                   : error_code(errc::other);
    };
    const auto outcome = co_await http::with_retries(cfg_.retry, c.idempotent, random_, attempt);
    out.ec = outcome.ec;
    if (c.sink == nullptr)
        out.body = own_body.take();
    co_return out;
}

asio::awaitable<head_result> client::head_object(std::string bucket, std::string key,
                                                 std::string version_id) {
    call c;
    c.operation = "HeadObject";
    c.method = bhttp::verb::head;
    c.bucket = std::move(bucket);
    c.key = std::move(key);
    if (!version_id.empty())
        c.query.emplace_back("versionId", std::move(version_id));
    auto r = co_await execute(c);
    head_result out;
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (!r.ec || r.ec == errc::delete_marker)
        out.object = object_from_headers(r.res);
    co_return out;
}

asio::awaitable<get_result> client::get_object(std::string bucket, std::string key, std::string version_id,
                                               http::body_sink& sink) {
    http::hashing_sink hashing(sink);
    call c;
    c.operation = "GetObject";
    c.bucket = std::move(bucket);
    c.key = std::move(key);
    if (!version_id.empty())
        c.query.emplace_back("versionId", std::move(version_id));
    c.sink = &hashing;
    c.validate = [&hashing](const http::response& res, std::string_view, error_info& info) -> error_code {
        const auto o = object_from_headers(res);
        if (etag_is_md5(o) && bare_etag(o.etag) != hashing.md5_hex()) {
            info.detail = "ETag " + o.etag + " but the bytes received have MD5 " + hashing.md5_hex();
            return errc::checksum_mismatch;
        }
        return {};
    };
    auto r = co_await execute(c);
    get_result out;
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (!r.ec || r.ec == errc::delete_marker)
        out.object = object_from_headers(r.res);
    if (!r.ec) {
        out.md5_hex = hashing.md5_hex();
        out.sha256_hex = hashing.sha256_hex();
        out.object.size = hashing.size();
    }
    co_return out;
}

asio::awaitable<put_result> client::put_object(std::string bucket, std::string key, http::body_source body,
                                               put_options opts) {
    put_result out;
    out.info.operation = "PutObject";
    out.info.resource = bucket + "/" + key;
    const auto d = digest(body);
    if (d.ec) {
        out.ec = d.ec;
        out.info.detail = "cannot read " + body.path();
        co_return out;
    }
    call c;
    c.operation = "PutObject";
    c.method = bhttp::verb::put;
    c.bucket = std::move(bucket);
    c.key = std::move(key);
    c.body = body;
    c.payload_hash = d.sha256_hex;
    c.headers.emplace_back("content-md5", d.md5_base64);
    if (!opts.content_type.empty())
        c.headers.emplace_back("content-type", opts.content_type);
    if (!opts.sse.empty())
        c.headers.emplace_back("x-amz-server-side-encryption", opts.sse);
    if (!opts.kms_key_id.empty())
        c.headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", opts.kms_key_id);
    if (!opts.acl.empty())
        c.headers.emplace_back("x-amz-acl", opts.acl);
    if (opts.checksum_sha256)
        c.headers.emplace_back("x-amz-checksum-sha256", d.sha256_base64);
    if (!opts.if_match.empty())
        c.headers.emplace_back("if-match", opts.if_match);
    if (opts.if_none_match)
        c.headers.emplace_back("if-none-match", "*");
    // a conditional write that succeeded but whose answer was lost would fail its own retry
    c.idempotent = opts.if_match.empty() && !opts.if_none_match;
    auto r = co_await execute(c);
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (!r.ec) {
        out.version_id = r.res.header("x-amz-version-id");
        out.etag = r.res.header("etag");
    }
    co_return out;
}

asio::awaitable<copy_result> client::copy_object(std::string src_bucket, std::string src_key,
                                                 std::string src_version, std::string dst_bucket,
                                                 std::string dst_key, copy_options opts) {
    call c;
    c.operation = "CopyObject";
    c.method = bhttp::verb::put;
    c.bucket = dst_bucket;
    c.key = dst_key;
    std::string source = "/" + src_bucket + "/" + sigv4::uri_encode(src_key, false);
    if (!src_version.empty())
        source += "?versionId=" + sigv4::uri_encode(src_version, true);
    c.headers.emplace_back("x-amz-copy-source", source);
    if (!opts.sse.empty())
        c.headers.emplace_back("x-amz-server-side-encryption", opts.sse);
    if (!opts.kms_key_id.empty())
        c.headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", opts.kms_key_id);
    std::string etag;
    c.validate = [&etag](const http::response&, std::string_view body, error_info& info) -> error_code {
        // CopyObject can fail after its 200 status line: the error is then in the body
        if (auto err = parse_error(body)) {
            info.code = err->code;
            info.message = err->message.substr(0, message_limit);
            return from_code(err->code, 500);
        }
        const auto doc = parse_copy_result(body);
        if (!doc)
            return errc::bad_response;
        etag = doc->etag;
        return {};
    };
    auto r = co_await execute(c);
    copy_result out;
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (r.ec)
        co_return out;
    out.etag = etag;
    out.version_id = r.res.header("x-amz-version-id");
    if (out.version_id.empty()) {
        // radosgw answers without x-amz-version-id: the new current version is learnt by HEAD.
        // A write by someone else between the two requests would be seen instead; callers
        // that must know compare the ETag.
        auto h = co_await head_object(dst_bucket, dst_key);
        if (h.ec) {
            out.ec = h.ec;
            out.info = std::move(h.info);
            co_return out;
        }
        out.version_id = h.object.version_id;
        out.version_from_head = true;
    }
    co_return out;
}

asio::awaitable<delete_result> client::delete_object(std::string bucket, std::string key,
                                                     std::string version_id) {
    call c;
    c.operation = "DeleteObject";
    c.method = bhttp::verb::delete_;
    c.bucket = std::move(bucket);
    c.key = std::move(key);
    // without a version id every DELETE adds another delete marker
    c.idempotent = !version_id.empty();
    if (!version_id.empty())
        c.query.emplace_back("versionId", std::move(version_id));
    auto r = co_await execute(c);
    delete_result out;
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (!r.ec) {
        out.version_id = r.res.header("x-amz-version-id");
        out.delete_marker = r.res.header("x-amz-delete-marker") == "true";
    }
    co_return out;
}

asio::awaitable<list_result> client::list_object_versions(std::string bucket, std::string prefix) {
    list_result out;
    std::string key_marker, version_marker;
    // every marker pair asked for so far: a server that cycles (A, B, A, ...) is caught too
    std::set<std::pair<std::string, std::string>> seen{{key_marker, version_marker}};
    const auto give_up = [&](errc why, std::string detail) {
        out.ec = why;
        out.entries.clear();
        out.info.http_status = 0;
        out.info.code.clear();
        out.info.message.clear();
        out.info.detail = std::move(detail);
    };
    for (;;) {
        if (out.pages >= std::max(cfg_.max_list_pages, 1)) {
            give_up(errc::too_many_pages, "stopped after " + std::to_string(out.pages) + " pages of " +
                                              std::to_string(cfg_.list_page_size) + " under prefix \"" +
                                              prefix + "\" (the S3 client's max_list_pages)");
            co_return out;
        }
        call c;
        c.operation = "ListObjectVersions";
        c.bucket = bucket;
        c.query = {{"versions", ""}, {"prefix", prefix}, {"max-keys", std::to_string(cfg_.list_page_size)}};
        if (!key_marker.empty()) {
            c.query.emplace_back("key-marker", key_marker);
            c.query.emplace_back("version-id-marker", version_marker);
        }
        auto r = co_await execute(c);
        out.info = std::move(r.info);
        if (r.ec) {
            out.ec = r.ec;
            co_return out;
        }
        auto page = parse_list_versions(r.body);
        if (!page) {
            out.ec = errc::bad_response;
            co_return out;
        }
        ++out.pages;
        for (auto& e : page->entries)
            out.entries.push_back(std::move(e));
        if (!page->truncated)
            co_return out;
        if (!seen.emplace(page->next_key_marker, page->next_version_id_marker).second) {
            give_up(errc::paging_loop, "S3 returned the same page marker twice (key-marker \"" +
                                           page->next_key_marker + "\", version-id-marker \"" +
                                           page->next_version_id_marker + "\", after " +
                                           std::to_string(out.pages) + " pages)");
            co_return out;
        }
        key_marker = std::move(page->next_key_marker);
        version_marker = std::move(page->next_version_id_marker);
    }
}

asio::awaitable<versioning_result> client::get_bucket_versioning(std::string bucket) {
    call c;
    c.operation = "GetBucketVersioning";
    c.bucket = std::move(bucket);
    c.query = {{"versioning", ""}};
    auto r = co_await execute(c);
    versioning_result out;
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (!r.ec) {
        if (auto s = parse_versioning(r.body)) {
            out.status = *s;
        } else {
            out.ec = errc::bad_response;
        }
    }
    co_return out;
}

namespace {

// A PUT of a small XML document to a bucket sub-resource.
struct xml_put {
    std::string body;
    std::string sha256_hex;
    std::string md5_base64;
    explicit xml_put(std::string xml) : body(std::move(xml)) {
        sha256_hex = crypto::sha256_hex(body);
        crypto::hasher md5(crypto::algorithm::md5);
        md5.update(body);
        md5_base64 = crypto::base64_encode(md5.final_raw());
    }
};

}  // namespace

asio::awaitable<op_result> client::put_bucket_versioning(std::string bucket, bool enabled) {
    co_return co_await put_bucket_document(
        "PutBucketVersioning", std::move(bucket), "versioning",
        std::string("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>") +
            (enabled ? "Enabled" : "Suspended") + "</Status></VersioningConfiguration>");
}

asio::awaitable<op_result> client::put_bucket_document(const char* operation, std::string bucket,
                                                       std::string subresource, std::string xml) {
    const xml_put doc(std::move(xml));
    call c;
    c.operation = operation;
    c.method = bhttp::verb::put;
    c.bucket = std::move(bucket);
    c.query = {{std::move(subresource), ""}};
    c.body = http::body_source::memory(doc.body);
    c.payload_hash = doc.sha256_hex;
    c.headers = {{"content-md5", doc.md5_base64}, {"content-type", "application/xml"}};
    auto r = co_await execute(c);
    co_return op_result{r.ec, std::move(r.info)};
}

asio::awaitable<lifecycle_result> client::get_bucket_lifecycle(std::string bucket) {
    call c;
    c.operation = "GetBucketLifecycleConfiguration";
    c.bucket = std::move(bucket);
    c.query = {{"lifecycle", ""}};
    auto r = co_await execute(c);
    lifecycle_result out;
    out.info = std::move(r.info);
    if (r.ec) {
        // no configuration at all is an answer, not an error
        if (out.info.code != "NoSuchLifecycleConfiguration")
            out.ec = r.ec;
        co_return out;
    }
    if (auto rules = parse_lifecycle(r.body)) {
        out.rules = std::move(*rules);
    } else {
        out.ec = errc::bad_response;
    }
    co_return out;
}

asio::awaitable<op_result> client::put_bucket_lifecycle(std::string bucket, std::string xml) {
    co_return co_await put_bucket_document("PutBucketLifecycleConfiguration", std::move(bucket), "lifecycle",
                                           std::move(xml));
}

asio::awaitable<op_result> client::create_bucket(std::string bucket) {
    std::string xml;
    if (cfg_.region != "us-east-1") {
        xml =
            "<CreateBucketConfiguration "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
            cfg_.region + "</LocationConstraint></CreateBucketConfiguration>";
    }
    const xml_put doc(std::move(xml));
    call c;
    c.operation = "CreateBucket";
    c.method = bhttp::verb::put;
    c.bucket = std::move(bucket);
    if (!doc.body.empty()) {
        c.body = http::body_source::memory(doc.body);
        c.payload_hash = doc.sha256_hex;
    }
    auto r = co_await execute(c);
    co_return op_result{r.ec, std::move(r.info)};
}

}  // namespace tfsnap::s3
