#include "tfsnap/crypto/hash.hpp"
#include "tfsnap/sigv4/detail/canonical.hpp"
#include "tfsnap/sigv4/signer.hpp"

namespace tfsnap::sigv4 {

namespace {

void put_digits(char* out, unsigned value, int width) noexcept {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

// Every time point the clock can represent has a four-digit year (nanoseconds since 1970 reach
// from 1677 to 2262), so the fixed-width format below cannot overflow.
static_assert(std::chrono::year_month_day{
                  std::chrono::floor<std::chrono::days>(std::chrono::system_clock::time_point::min())}
                      .year() >= std::chrono::year{1000} &&
              std::chrono::year_month_day{
                  std::chrono::floor<std::chrono::days>(std::chrono::system_clock::time_point::max())}
                      .year() <= std::chrono::year{9999});

// "YYYYMMDDTHHMMSSZ", or its first 8 characters.
std::string format_time(std::chrono::system_clock::time_point t, bool with_time) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(t);
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const hh_mm_ss<seconds> hms{secs - day};
    char buf[16];
    put_digits(buf, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
    put_digits(buf + 4, static_cast<unsigned>(ymd.month()), 2);
    put_digits(buf + 6, static_cast<unsigned>(ymd.day()), 2);
    if (!with_time)
        return std::string(buf, 8);
    buf[8] = 'T';
    put_digits(buf + 9, static_cast<unsigned>(hms.hours().count()), 2);
    put_digits(buf + 11, static_cast<unsigned>(hms.minutes().count()), 2);
    put_digits(buf + 13, static_cast<unsigned>(hms.seconds().count()), 2);
    buf[15] = 'Z';
    return std::string(buf, 16);
}

std::string make_credential_scope(std::string_view day, const signing_params& p) {
    std::string out;
    out.reserve(day.size() + p.region.size() + p.service.size() + 16);
    out += day;
    out += '/';
    out += p.region;
    out += '/';
    out += p.service;
    out += "/aws4_request";
    return out;
}

}  // namespace

namespace detail {

scope_strings make_scope(const signing_params& p) {
    scope_strings s;
    s.date = format_time(p.time, true);
    s.day = s.date.substr(0, 8);
    s.scope = make_credential_scope(s.day, p);
    return s;
}

std::string string_to_sign(std::string_view canonical_request, const scope_strings& s) {
    std::string out;
    out.reserve(detail::algorithm_name.size() + s.date.size() + s.scope.size() + 64 + 3);
    out += detail::algorithm_name;
    out += '\n';
    out += s.date;
    out += '\n';
    out += s.scope;
    out += '\n';
    out += crypto::sha256_hex(canonical_request);
    return out;
}

}  // namespace detail

std::string amz_date(std::chrono::system_clock::time_point t) {
    return format_time(t, true);
}

std::string amz_day(std::chrono::system_clock::time_point t) {
    return format_time(t, false);
}

std::string credential_scope(const signing_params& p) {
    return make_credential_scope(amz_day(p.time), p);
}

std::string string_to_sign(std::string_view canonical_request, const signing_params& p) {
    return detail::string_to_sign(canonical_request, detail::make_scope(p));
}

core::secret signing_key(const core::secret& secret_access_key, const signing_params& p) {
    // Every intermediate key is a secret too, so each is wiped as soon as the next is derived.
    std::string seed;
    seed.reserve(4 + secret_access_key.size());
    seed += "AWS4";
    seed += secret_access_key.reveal();
    const core::secret k_secret{std::move(seed)};
    const core::secret k_date{crypto::hmac_sha256(k_secret.reveal(), amz_day(p.time))};
    const core::secret k_region{crypto::hmac_sha256(k_date.reveal(), p.region)};
    const core::secret k_service{crypto::hmac_sha256(k_region.reveal(), p.service)};
    return core::secret{crypto::hmac_sha256(k_service.reveal(), "aws4_request")};
}

std::string signature(const core::secret& signing_key, std::string_view string_to_sign) {
    return crypto::to_hex(crypto::hmac_sha256(signing_key.reveal(), string_to_sign));
}

}  // namespace tfsnap::sigv4
