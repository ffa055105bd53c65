#pragma once
// The lexical pieces of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): name syntax, escaping and
// number formatting. Pure functions; used by the registry and exposed for tests.
//
// Errors: none; the functions never throw except std::bad_alloc.
// Thread safety: stateless, safe from any thread.

#include <string>
#include <string_view>

namespace tfsnap::metrics::detail {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name) noexcept;

// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus' own use).
bool valid_label_name(std::string_view name) noexcept;

// `s` with every invalid UTF-8 sequence (stray continuation bytes, truncated, overlong,
// surrogate or > U+10FFFF) replaced by U+FFFD: Prometheus rejects a scrape that is not UTF-8,
// and label values may come from untrusted text such as S3 error codes.
std::string sanitize_utf8(std::string_view s);

// Backslash, double quote and line feed as \\, \" and \n.
void append_label_value(std::string& out, std::string_view value);

// Backslash and line feed as \\ and \n (a HELP docstring keeps its double quotes).
void append_help(std::string& out, std::string_view help);

// A sample value as Go's strconv.ParseFloat reads it: "NaN", "+Inf", "-Inf"; integral values
// below 2^53 in magnitude as integers ("3", "-2", "1764000000"); anything else in the shortest
// form that reads back to the same double ("0.05", "1.5e-07", "1e+300").
void append_value(std::string& out, double v);
std::string format_value(double v);

}  // namespace tfsnap::metrics::detail
