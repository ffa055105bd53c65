// The control API's request path as the server runs it, minus the socket: the request line
// goes through control::match (route, path and query parameters), then the body through the
// route's strict parser. Input: "METHOD TARGET\n" followed by the body. Properties: every
// error is a 4xx with a code and a message, and renders as one line of JSON.
#include "tfsnap/control/body.hpp"
#include "tfsnap/control/router.hpp"

#include "fuzz_check.hpp"

namespace {

using namespace tfsnap::control;

void check(const error_response& e) {
    FUZZ_CHECK(e.status >= 400 && e.status < 500);
    FUZZ_CHECK(!e.code.empty() && !e.message.empty());
    const std::string json = to_json(e);
    FUZZ_CHECK(json.find('\n') == std::string::npos);
    FUZZ_CHECK(json.rfind("{\"error\":{", 0) == 0);
}

template <class T>
void check(const parsed_body<T>& b) {
    if (!b.ok())
        check(*b.error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in = tfsnap::fuzz::as_text(data, size);
    const auto eol = in.find('\n');
    const std::string_view line = in.substr(0, eol);
    const std::string_view body = eol == std::string_view::npos ? std::string_view{} : in.substr(eol + 1);
    const auto sp = line.find(' ');
    const std::string_view method = line.substr(0, sp);
    const std::string_view target = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);

    const route_match m = match(method, target);
    if (!m.ok()) {
        check(*m.error);
        return 0;
    }
    FUZZ_CHECK((m.needed == role::operator_) == (method == "POST"));
    switch (m.route) {
        case route_id::backups:
            check(parse_backup_body(body));
            break;
        case route_id::restores: {
            const auto r = parse_restore_body(body);
            check(r);
            if (r.ok()) {
                FUZZ_CHECK(!r.value.reason.empty() && r.value.reason.size() <= max_reason_size);
                FUZZ_CHECK(r.value.dry_run == r.value.token.empty());
                FUZZ_CHECK(r.value.snapshot_id.has_value() + r.value.version_id.has_value() +
                               r.value.at.has_value() ==
                           1);
            }
            break;
        }
        case route_id::undeletes: {
            const auto r = parse_undelete_body(body);
            check(r);
            if (r.ok())
                FUZZ_CHECK(r.value.dry_run == r.value.token.empty());
            break;
        }
        case route_id::verifications:
            check(parse_verification_body(body));
            break;
        case route_id::prunes:
        case route_id::reload:
            check(parse_empty_body(body));
            break;
        default:
            // GET routes take no body
            FUZZ_CHECK(method == "GET");
            break;
    }
    return 0;
}
