#pragma once
// Internals shared by the step functions and `signer`: the same algorithms over a request plus
// the parameters or headers the signer adds, without copying the request first.

#include "tfsnap/sigv4/signer.hpp"

#include <span>
#include <string>
#include <string_view>

namespace tfsnap::sigv4::detail {

using param = param_list::value_type;

inline constexpr std::string_view algorithm_name = "AWS4-HMAC-SHA256";

struct canonical_headers {
    std::string block;         // "name:value\n" per distinct name, sorted
    std::string signed_names;  // "host;x-amz-date"
};

// Over `a` followed by `b`, as if they were one list (so repeated names keep that order).
canonical_headers canonicalize_headers(std::span<const param> a, std::span<const param> b);
std::string canonical_query(std::span<const param> a, std::span<const param> b);

std::string build_canonical_request(std::string_view method, std::string_view path, std::string_view query,
                                    const canonical_headers& headers, std::string_view payload_hash, bool s3);

// The time-dependent strings of one signature, computed once.
struct scope_strings {
    std::string date;   // "20150830T123600Z"
    std::string day;    // "20150830"
    std::string scope;  // "20150830/us-east-1/service/aws4_request"
};
scope_strings make_scope(const signing_params& p);

std::string string_to_sign(std::string_view canonical_request, const scope_strings& s);

bool iequals(std::string_view a, std::string_view b) noexcept;

[[noreturn]] void throw_invalid_argument(const char* what);

}  // namespace tfsnap::sigv4::detail
