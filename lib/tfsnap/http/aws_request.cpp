#include "tfsnap/http/aws_request.hpp"

namespace tfsnap::http {

boost::asio::awaitable<result> send_signed(client& http, sigv4::signer& signer,
                                           const sigv4::credentials& creds, const core::wall_clock& clock,
                                           const aws_request& req, body_sink& sink) {
    sigv4::request sreq{std::string(boost::beast::http::to_string(req.method)), req.path, req.query,
                        req.headers, req.payload_hash};
    sreq.headers.emplace_back("host", req.origin.host_header());
    const bool s3 = req.service == "s3";
    const sigv4::signing_params params{.region = req.region,
                                       .service = req.service,
                                       .time = clock.now(),
                                       .s3 = s3,
                                       .add_content_sha256 = s3};
    const auto added = signer.sign_headers(sreq, creds, params);

    request hreq;
    hreq.method = req.method;
    const std::string query = sigv4::canonical_query_string(req.query);
    hreq.target = query.empty() ? req.path : req.path + "?" + query;
    for (const auto& [k, v] : sreq.headers)
        hreq.headers.insert(k, v);
    for (const auto& [k, v] : added)
        hreq.headers.insert(k, v);
    hreq.body = req.body;
    hreq.idempotent = req.idempotent;
    co_return co_await http.send(req.origin, hreq, sink);
}

}  // namespace tfsnap::http
