#pragma once
// An independent reader of the Prometheus text format 0.0.4, written from the format's
// documentation for the tests only (it shares no code with the module). parse() throws
// std::runtime_error naming the line for anything the format forbids:
// - lines not ending in \n, unknown # HELP / # TYPE syntax, a second HELP or TYPE for a name,
//   a TYPE after the family's first sample;
// - invalid metric or label names, unknown escapes, unterminated label values, bad numbers;
// - a family whose lines are not one uninterrupted group, a repeated name + label set;
// - histograms: `le` missing or not increasing, buckets not cumulative, no +Inf bucket, +Inf
//   bucket != _count, missing _sum or _count.

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test {

using labels = std::vector<std::pair<std::string, std::string>>;

struct sample {
    std::string name;
    labels label_pairs;
    double value = 0;

    std::string label(std::string_view n) const {
        for (const auto& [k, v] : label_pairs)
            if (k == n)
                return v;
        return {};
    }
};

struct family {
    std::string name;
    std::optional<std::string> help;
    std::string type = "untyped";
    std::vector<sample> samples;
};

struct exposition {
    std::vector<family> families;

    const family* find(std::string_view name) const {
        for (const auto& f : families)
            if (f.name == name)
                return &f;
        return nullptr;
    }
    // The value of the sample `name` with exactly these labels, if present.
    std::optional<double> value(std::string_view name, const labels& l = {}) const {
        for (const auto& f : families)
            for (const auto& s : f.samples)
                if (s.name == name && s.label_pairs == l)
                    return s.value;
        return std::nullopt;
    }
};

namespace detail {

inline const std::regex metric_name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
inline const std::regex label_name_re("[a-zA-Z_][a-zA-Z0-9_]*");

class reader {
public:
    explicit reader(std::string_view text) : text_(text) {}

    exposition run() {
        if (!text_.empty() && text_.back() != '\n')
            fail("the last line does not end in a line feed");
        std::size_t pos = 0;
        while (pos < text_.size()) {
            const std::size_t eol = text_.find('\n', pos);
            ++line_no_;
            line(text_.substr(pos, eol - pos));
            pos = eol + 1;
        }
        for (const auto& f : out_.families)
            if (f.type == "histogram")
                check_histogram(f);
        return out_;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw std::runtime_error("line " + std::to_string(line_no_) + ": " + why);
    }

    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
            s.remove_suffix(1);
        return s;
    }

    static std::string_view token(std::string_view& s) {
        s = trim(s);
        std::size_t n = 0;
        while (n < s.size() && s[n] != ' ' && s[n] != '\t')
            ++n;
        const auto t = s.substr(0, n);
        s.remove_prefix(n);
        return t;
    }

    family& family_for_meta(std::string_view name) {
        if (!std::regex_match(name.begin(), name.end(), metric_name_re))
            fail("invalid metric name " + std::string(name));
        for (auto& f : out_.families)
            if (f.name == name) {
                if (current_ != name)
                    fail(std::string(name) + ": HELP/TYPE separated from its family");
                return f;
            }
        start_group(std::string(name));
        out_.families.push_back(family{std::string(name), std::nullopt, "untyped", {}});
        return out_.families.back();
    }

    void start_group(const std::string& name) {
        if (current_ == name)
            return;
        if (finished_.contains(name))
            fail(name + ": lines not in one uninterrupted group");
        if (!current_.empty())
            finished_.insert(current_);
        current_ = name;
    }

    void line(std::string_view l) {
        l = trim(l);
        if (l.empty())
            return;
        if (l.front() == '#') {
            std::string_view rest = l.substr(1);
            const auto kw = token(rest);
            if (kw == "HELP") {
                const auto name = token(rest);
                auto& f = family_for_meta(name);
                if (f.help)
                    fail("second HELP for " + f.name);
                if (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
                    rest.remove_prefix(1);
                f.help = unescape(rest, false);
            } else if (kw == "TYPE") {
                const auto name = token(rest);
                const auto type = token(rest);
                if (!trim(rest).empty())
                    fail("extra tokens on a TYPE line");
                static const std::set<std::string_view> types{"counter", "gauge", "histogram", "summary",
                                                              "untyped"};
                if (!types.contains(type))
                    fail("unknown type " + std::string(type));
                auto& f = family_for_meta(name);
                if (typed_.contains(f.name))
                    fail("second TYPE for " + f.name);
                if (!f.samples.empty())
                    fail("TYPE after samples for " + f.name);
                typed_.insert(f.name);
                f.type = type;
            }
            return;  // any other comment is ignored
        }
        sample_line(l);
    }

    std::string unescape(std::string_view s, bool quotes) const {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '\\') {
                out += s[i];
                continue;
            }
            if (++i == s.size())
                fail("a backslash at the end");
            if (s[i] == '\\')
                out += '\\';
            else if (s[i] == 'n')
                out += '\n';
            else if (s[i] == '"' && quotes)
                out += '"';
            else
                fail(std::string("unknown escape \\") + s[i]);
        }
        return out;
    }

    double number(std::string_view s) const {
        if (s == "NaN")
            return NAN;
        if (s == "+Inf")
            return INFINITY;
        if (s == "-Inf")
            return -INFINITY;
        static const std::regex num("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?");
        if (!std::regex_match(s.begin(), s.end(), num))
            fail("bad number " + std::string(s));
        return std::strtod(std::string(s).c_str(), nullptr);
    }

    void sample_line(std::string_view l) {
        std::size_t i = 0;
        while (i < l.size() && l[i] != '{' && l[i] != ' ' && l[i] != '\t')
            ++i;
        sample s;
        s.name = l.substr(0, i);
        if (!std::regex_match(s.name, metric_name_re))
            fail("invalid metric name " + s.name);
        if (i < l.size() && l[i] == '{') {
            ++i;
            std::set<std::string> seen;
            while (true) {
                if (i < l.size() && l[i] == '}') {
                    ++i;
                    break;
                }
                const std::size_t eq = l.find('=', i);
                if (eq == std::string_view::npos)
                    fail("label without =");
                const std::string name(trim(l.substr(i, eq - i)));
                if (!std::regex_match(name, label_name_re) || name.starts_with("__"))
                    fail("invalid label name " + name);
                if (!seen.insert(name).second)
                    fail("label " + name + " twice");
                i = eq + 1;
                if (i >= l.size() || l[i] != '"')
                    fail("label value not quoted");
                const std::size_t start = ++i;
                while (i < l.size() && l[i] != '"')
                    i += l[i] == '\\' ? 2 : 1;
                if (i >= l.size())
                    fail("unterminated label value");
                s.label_pairs.emplace_back(name, unescape(l.substr(start, i - start), true));
                ++i;
                if (i < l.size() && l[i] == ',')
                    ++i;
                else if (i >= l.size() || l[i] != '}')
                    fail("expected , or }");
            }
        }
        std::string_view rest = l.substr(i);
        const auto value = token(rest);
        s.value = number(value);
        const auto timestamp = token(rest);
        if (!timestamp.empty() &&
            !std::regex_match(timestamp.begin(), timestamp.end(), std::regex("-?[0-9]+")))
            fail("bad timestamp");
        if (!trim(rest).empty())
            fail("extra tokens after the value");

        std::string fam = s.name;
        for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
            if (s.name.ends_with(suffix)) {
                const std::string base = s.name.substr(0, s.name.size() - suffix.size());
                for (const auto& f : out_.families)
                    if (f.name == base && (f.type == "histogram" || f.type == "summary"))
                        fam = base;
            }
        }
        start_group(fam);
        family* f = nullptr;
        for (auto& x : out_.families)
            if (x.name == fam)
                f = &x;
        if (f == nullptr) {
            out_.families.push_back(family{fam, std::nullopt, "untyped", {}});
            f = &out_.families.back();
        }
        if (!unique_.insert({s.name, s.label_pairs}).second)
            fail("repeated sample " + s.name);
        f->samples.push_back(std::move(s));
    }

    void check_histogram(const family& f) const {
        // per label set without le: the buckets in order, then _sum and _count
        std::map<labels, std::vector<std::pair<double, double>>> buckets;
        std::map<labels, double> counts;
        std::map<labels, double> sums;
        for (const auto& s : f.samples) {
            labels without_le;
            std::optional<std::string> le;
            for (const auto& p : s.label_pairs)
                if (p.first == "le")
                    le = p.second;
                else
                    without_le.push_back(p);
            if (s.name == f.name + "_bucket") {
                if (!le)
                    throw std::runtime_error(f.name + ": bucket without le");
                buckets[without_le].emplace_back(number(*le), s.value);
            } else if (s.name == f.name + "_count") {
                counts[without_le] = s.value;
            } else if (s.name == f.name + "_sum") {
                sums[without_le] = s.value;
            } else {
                throw std::runtime_error(f.name + ": unexpected sample " + s.name);
            }
        }
        for (const auto& [l, b] : buckets) {
            for (std::size_t i = 1; i < b.size(); ++i)
                if (!(b[i - 1].first < b[i].first) || b[i - 1].second > b[i].second)
                    throw std::runtime_error(f.name + ": buckets not increasing / cumulative");
            if (b.empty() || b.back().first != INFINITY)
                throw std::runtime_error(f.name + ": no +Inf bucket");
            if (!counts.contains(l) || !sums.contains(l))
                throw std::runtime_error(f.name + ": _sum or _count missing");
            if (counts.at(l) != b.back().second)
                throw std::runtime_error(f.name + ": +Inf bucket differs from _count");
        }
        if (counts.size() != buckets.size() || sums.size() != buckets.size())
            throw std::runtime_error(f.name + ": _sum or _count without buckets");
    }

    std::string_view text_;
    std::size_t line_no_ = 0;
    exposition out_;
    std::string current_;
    std::set<std::string> finished_;
    std::set<std::string> typed_;
    std::set<std::pair<std::string, labels>> unique_;
};

}  // namespace detail

inline exposition parse(std::string_view text) {
    return detail::reader(text).run();
}

}  // namespace test
