// tfsnap_fault_proxy: the fault-injecting proxy (fault_proxy.hpp) as a process, driven over a
// small JSON admin API on loopback, for the shell and Python reliability tests.
//
//   tfsnap_fault_proxy --upstream http://HOST:PORT --ports-file FILE [--dialect s3|dynamodb]
//                      [--max-hold-ms N] [--io-timeout-ms N]
//
// Once both listen, FILE is written (atomically) as {"proxy": PORT, "admin": PORT, "pid": PID}.
// It runs until SIGTERM or SIGINT, then closes every connection (held requests are dropped) and
// exits 0.
//
// Admin API on http://127.0.0.1:ADMIN (bodies and answers are JSON; errors are 4xx with
// {"error": "..."}):
//   GET    /stats               {"requests", "injected": {kind: n}, "total_injected",
//                                "truncated_bodies", "held", "dropped"}
//   PUT    /random              {"share", "seed", "kinds": [...], "stall_ms", "truncate_after",
//                                "delay_max_ms"}: random faults (share 0 turns them off)
//   POST   /rules               {"method", "path", "header", "header_value", "body", "action":
//                                "hold"|"hold_response"|KIND, "hold_ms", "times", "stall_ms",
//                                "truncate_after", "hold_after_bytes"} -> {"id"}
//   GET    /rules/ID            {"id", "matched", "holding", "dropped", "released"}
//   POST   /rules/ID/release    lets what it holds go on; it acts no more
//   DELETE /rules/ID            release, then forget it
//   GET    /log?since=N         {"requests": [{"n", "method", "target", "amz_target", "action",
//                                "rule", "status", "at_us"}]} for requests after number N
//   POST   /clear               no rules (released), no random faults, no numbered faults
// KIND is one of reset, stall, slow_down, truncate, internal_error.
#include "support/fault_proxy.hpp"
#include "support/loopback_http_server.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>

#include <unistd.h>

namespace {

using namespace tfsnap::test;
using writer = rapidjson::Writer<rapidjson::StringBuffer>;

struct bad_request : std::runtime_error {
    using std::runtime_error::runtime_error;
};

canned_response json_answer(unsigned status, const rapidjson::StringBuffer& b) {
    canned_response r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::string(b.GetString(), b.GetSize());
    return r;
}

canned_response error_answer(unsigned status, std::string_view message) {
    rapidjson::StringBuffer b;
    writer w(b);
    w.StartObject();
    w.Key("error");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    w.EndObject();
    return json_answer(status, b);
}

canned_response ok_answer() {
    rapidjson::StringBuffer b;
    writer w(b);
    w.StartObject();
    w.EndObject();
    return json_answer(200, b);
}

rapidjson::Document parse_body(const std::string& body) {
    rapidjson::Document d;
    // the iterative parser: a deeply nested body is an error, not a crash
    d.Parse<rapidjson::kParseIterativeFlag>(body.empty() ? "{}" : body.c_str());
    if (d.HasParseError() || !d.IsObject()) {
        throw bad_request("the body must be a JSON object");
    }
    return d;
}

std::string string_of(const rapidjson::Value& o, const char* key) {
    if (!o.HasMember(key)) {
        return {};
    }
    if (!o[key].IsString()) {
        throw bad_request(std::string(key) + " must be a string");
    }
    return o[key].GetString();
}

std::optional<std::uint64_t> uint_of(const rapidjson::Value& o, const char* key) {
    if (!o.HasMember(key)) {
        return std::nullopt;
    }
    if (!o[key].IsUint64()) {
        throw bad_request(std::string(key) + " must be a non-negative integer");
    }
    return o[key].GetUint64();
}

fault_kind kind_of(std::string_view s) {
    const auto k = parse_fault_kind(s);
    if (!k || *k == fault_kind::pass) {
        throw bad_request("unknown fault kind " + std::string(s));
    }
    return *k;
}

canned_response stats(const fault_proxy& p) {
    const auto c = p.injected();
    rapidjson::StringBuffer b;
    writer w(b);
    w.StartObject();
    w.Key("requests");
    w.Uint64(p.requests_seen());
    w.Key("injected");
    w.StartObject();
    w.Key("reset");
    w.Uint64(c.reset);
    w.Key("stall");
    w.Uint64(c.stall);
    w.Key("slow_down");
    w.Uint64(c.slow_down);
    w.Key("truncate");
    w.Uint64(c.truncate);
    w.Key("internal_error");
    w.Uint64(c.internal_error);
    w.EndObject();
    w.Key("total_injected");
    w.Uint64(c.total());
    w.Key("truncated_bodies");
    w.Uint64(c.truncated_bodies);
    w.Key("held");
    w.Uint64(c.held);
    w.Key("dropped");
    w.Uint64(c.dropped);
    w.EndObject();
    return json_answer(200, b);
}

canned_response set_random(fault_proxy& p, const std::string& body) {
    const auto d = parse_body(body);
    random_faults r;
    if (d.HasMember("share")) {
        if (!d["share"].IsNumber() || d["share"].GetDouble() < 0 || d["share"].GetDouble() > 1) {
            throw bad_request("share must be a number from 0 to 1");
        }
        r.share = d["share"].GetDouble();
    }
    r.seed = uint_of(d, "seed").value_or(1);
    if (d.HasMember("kinds")) {
        if (!d["kinds"].IsArray()) {
            throw bad_request("kinds must be an array of fault kinds");
        }
        for (const auto& k : d["kinds"].GetArray()) {
            if (!k.IsString()) {
                throw bad_request("kinds must be an array of fault kinds");
            }
            r.kinds.push_back(kind_of(k.GetString()));
        }
    }
    if (const auto v = uint_of(d, "stall_ms")) {
        r.stall_for = std::chrono::milliseconds(*v);
    }
    r.truncate_after = uint_of(d, "truncate_after").value_or(0);
    r.delay_max = std::chrono::milliseconds(uint_of(d, "delay_max_ms").value_or(0));
    p.set_random_faults(std::move(r));
    return ok_answer();
}

canned_response add_rule(fault_proxy& p, const std::string& body) {
    const auto d = parse_body(body);
    rule r;
    r.match.method = string_of(d, "method");
    r.match.path = string_of(d, "path");
    r.match.header = string_of(d, "header");
    r.match.header_value = string_of(d, "header_value");
    r.match.body = string_of(d, "body");
    const std::string action = string_of(d, "action");
    if (action.empty() || action == "hold") {
        r.action = rule_action::hold;
    } else if (action == "hold_response") {
        r.action = rule_action::hold_response;
    } else {
        r.action = rule_action::fault;
        r.what.kind = kind_of(action);
        r.what.stall_for = std::chrono::milliseconds(uint_of(d, "stall_ms").value_or(35'000));
        r.what.truncate_after = uint_of(d, "truncate_after").value_or(0);
    }
    if (const auto v = uint_of(d, "hold_ms")) {
        r.hold_for = std::chrono::milliseconds(*v);
    }
    r.hold_after_bytes = uint_of(d, "hold_after_bytes").value_or(0);
    r.times = uint_of(d, "times").value_or(1);
    std::size_t id = 0;
    try {
        id = p.add_rule(std::move(r));
    } catch (const std::regex_error& e) {
        throw bad_request(std::string("bad regex: ") + e.what());
    }
    rapidjson::StringBuffer b;
    writer w(b);
    w.StartObject();
    w.Key("id");
    w.Uint64(id);
    w.EndObject();
    return json_answer(200, b);
}

canned_response rule_answer(const fault_proxy& p, std::size_t id) {
    const auto s = p.status_of(id);
    if (!s.exists) {
        return error_answer(404, "no rule " + std::to_string(id));
    }
    rapidjson::StringBuffer b;
    writer w(b);
    w.StartObject();
    w.Key("id");
    w.Uint64(id);
    w.Key("matched");
    w.Uint64(s.matched);
    w.Key("holding");
    w.Uint64(s.holding);
    w.Key("dropped");
    w.Uint64(s.dropped);
    w.Key("released");
    w.Bool(s.released);
    w.EndObject();
    return json_answer(200, b);
}

canned_response log_answer(const fault_proxy& p, std::size_t since) {
    rapidjson::StringBuffer b;
    writer w(b);
    w.StartObject();
    w.Key("requests");
    w.StartArray();
    for (const auto& e : p.request_log(since)) {
        w.StartObject();
        w.Key("n");
        w.Uint64(e.n);
        w.Key("method");
        w.String(e.method);
        w.Key("target");
        w.String(e.target);
        w.Key("amz_target");
        w.String(e.amz_target);
        w.Key("action");
        w.String(e.action);
        w.Key("rule");
        w.Uint64(e.rule);
        w.Key("status");
        w.Uint(e.status);
        w.Key("at_us");
        w.Int64(e.at_us);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return json_answer(200, b);
}

std::size_t number_in(std::string_view s) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) {
        throw bad_request("not a number: " + std::string(s));
    }
    return std::stoull(std::string(s));
}

canned_response handle(fault_proxy& p, const recorded_request& r) {
    try {
        std::string_view target = r.target;
        std::string_view query;
        if (const auto q = target.find('?'); q != std::string_view::npos) {
            query = target.substr(q + 1);
            target = target.substr(0, q);
        }
        if (target == "/stats" && r.method == "GET") {
            return stats(p);
        }
        if (target == "/random" && r.method == "PUT") {
            return set_random(p, r.body);
        }
        if (target == "/rules" && r.method == "POST") {
            return add_rule(p, r.body);
        }
        if (target == "/clear" && r.method == "POST") {
            p.clear();
            return ok_answer();
        }
        if (target == "/log" && r.method == "GET") {
            std::size_t since = 0;
            if (query.starts_with("since=")) {
                since = number_in(query.substr(6));
            }
            return log_answer(p, since);
        }
        constexpr std::string_view rules = "/rules/";
        if (target.starts_with(rules)) {
            auto rest = target.substr(rules.size());
            const bool release = rest.ends_with("/release");
            if (release) {
                rest.remove_suffix(std::string_view("/release").size());
            }
            const std::size_t id = number_in(rest);
            if (!p.status_of(id).exists) {
                return error_answer(404, "no rule " + std::to_string(id));
            }
            if (release && r.method == "POST") {
                p.release(id);
                return rule_answer(p, id);
            }
            if (!release && r.method == "GET") {
                return rule_answer(p, id);
            }
            if (!release && r.method == "DELETE") {
                p.remove_rule(id);
                return ok_answer();
            }
        }
        return error_answer(404, "no such resource: " + r.method + " " + r.target);
    } catch (const bad_request& e) {
        return error_answer(400, e.what());
    }
}

struct upstream {
    std::string host;
    std::uint16_t port = 0;
};

std::optional<upstream> parse_upstream(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (!url.starts_with(scheme)) {
        return std::nullopt;
    }
    url.remove_prefix(scheme.size());
    if (const auto slash = url.find('/'); slash != std::string_view::npos) {
        url = url.substr(0, slash);
    }
    const auto colon = url.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        return std::nullopt;
    }
    upstream u;
    u.host = std::string(url.substr(0, colon));
    try {
        const auto port = std::stoul(std::string(url.substr(colon + 1)));
        if (port == 0 || port > 65535) {
            return std::nullopt;
        }
        u.port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return u;
}

int usage(std::string_view why) {
    std::cerr << "tfsnap_fault_proxy: " << why
              << "\nusage: tfsnap_fault_proxy --upstream http://HOST:PORT --ports-file FILE "
                 "[--dialect s3|dynamodb] [--max-hold-ms N] [--io-timeout-ms N]\n";
    return 64;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<upstream> up;
    std::string ports_file;
    fault_proxy_options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) {
            return usage("missing value for " + std::string(a));
        }
        const std::string v = argv[++i];
        try {
            if (a == "--upstream") {
                up = parse_upstream(v);
                if (!up) {
                    return usage("--upstream must be http://HOST:PORT");
                }
            } else if (a == "--ports-file") {
                ports_file = v;
            } else if (a == "--dialect") {
                if (v != "s3" && v != "dynamodb") {
                    return usage("--dialect is s3 or dynamodb");
                }
                options.dialect = v == "s3" ? error_dialect::s3 : error_dialect::dynamodb;
            } else if (a == "--max-hold-ms") {
                options.max_hold = std::chrono::milliseconds(std::stoull(v));
            } else if (a == "--io-timeout-ms") {
                options.io_timeout = std::chrono::milliseconds(std::stoull(v));
            } else {
                return usage("unknown option " + std::string(a));
            }
        } catch (const std::exception&) {
            return usage("bad value for " + std::string(a));
        }
    }
    if (!up || ports_file.empty()) {
        return usage("--upstream and --ports-file are required");
    }

    // Signals are taken by sigwait below, on this thread only: block them before any thread starts.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    fault_proxy proxy(up->host, up->port, options);
    loopback_http_server admin([&proxy](const recorded_request& r) { return handle(proxy, r); });

    const std::string tmp = ports_file + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << "{\"proxy\": " << proxy.port() << ", \"admin\": " << admin.port()
            << ", \"pid\": " << ::getpid() << "}\n";
        if (!out.flush()) {
            std::cerr << "tfsnap_fault_proxy: cannot write " << tmp << "\n";
            return 1;
        }
    }
    if (std::rename(tmp.c_str(), ports_file.c_str()) != 0) {
        std::cerr << "tfsnap_fault_proxy: cannot rename " << tmp << " to " << ports_file << "\n";
        return 1;
    }
    int sig = 0;
    sigwait(&stop_signals, &sig);
    return 0;
}
