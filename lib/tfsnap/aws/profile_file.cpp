#include "tfsnap/aws/profile_file.hpp"

#include "tfsnap/aws/detail/text.hpp"

#include <optional>
#include <utility>

namespace tfsnap::aws {

bool is_secret_key(std::string_view key) noexcept {
    return key == "aws_secret_access_key" || key == "aws_session_token" || key == "aws_security_token";
}

const std::string* profile::setting(std::string_view key) const {
    const auto it = settings.find(key);
    return it == settings.end() ? nullptr : &it->second;
}

const core::secret* profile::secret_value(std::string_view key) const {
    const auto it = secrets.find(key);
    return it == secrets.end() ? nullptr : &it->second;
}

namespace {

using detail::trim;

struct raw_entry {
    std::string key;
    std::string value;  // wiped after use when the key is secret
    int line = 0;
};

struct raw_section {
    std::string name;
    bool prefixed = false;    // written [profile name]
    bool other_kind = false;  // [sso-session x], [services x]: not a profile
    int line = 0;
    std::vector<raw_entry> entries;
};

// Value comments: '#' or ';' preceded by whitespace.
std::string_view strip_value_comment(std::string_view v) {
    for (std::size_t i = 1; i < v.size(); ++i) {
        if ((v[i] == '#' || v[i] == ';') && (v[i - 1] == ' ' || v[i - 1] == '\t'))
            return v.substr(0, i);
    }
    return v;
}

class parser {
public:
    parser(profile_file_kind kind, std::string_view path) : kind_(kind), path_(path) {}

    parsed_profile_file run(std::string_view text) {
        int line_no = 0;
        std::size_t pos = 0;
        for (;;) {
            const auto nl = text.find('\n', pos);
            const auto end = nl == std::string_view::npos ? text.size() : nl;
            std::string_view line = text.substr(pos, end - pos);
            ++line_no;
            if (!line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            if (!parse_line(line, line_no) || nl == std::string_view::npos)
                break;
            pos = nl + 1;
        }
        if (!out_.ec)
            build();
        for (auto& s : sections_) {
            for (auto& e : s.entries)
                detail::wipe(e.value);
        }
        return std::move(out_);
    }

private:
    bool fail(int line, std::string message) {
        out_.ec = errc::invalid_credentials_file;
        out_.error.provider =
            kind_ == profile_file_kind::systemd_credential ? "systemd-credential" : "profile";
        out_.error.path = std::string(path_);
        out_.error.line = line;
        out_.error.message = std::move(message);
        return false;
    }

    void warn(int line, std::string message) { out_.warnings.push_back({line, std::move(message)}); }

    bool parse_line(std::string_view line, int line_no) {
        const auto t = trim(line);
        if (t.empty() || t.front() == '#' || t.front() == ';') {
            // a blank line or a comment ends a value: an indented key after it is a new key
            has_key_ = false;
            return true;
        }
        const bool indented = line.front() == ' ' || line.front() == '\t';
        if (indented && current_ && has_key_) {
            // continuation of the previous value (sub-properties such as "s3 =\n  x = y")
            auto& e = sections_[*current_].entries.back();
            const auto cont = trim(strip_value_comment(t));
            if (!cont.empty()) {
                if (!e.value.empty())
                    e.value += '\n';
                e.value += cont;
            }
            return true;
        }
        if (t.front() == '[')
            return parse_header(t, line_no);
        return parse_property(t, line_no);
    }

    bool parse_header(std::string_view t, int line_no) {
        const auto close = t.find(']');
        if (close == std::string_view::npos)
            return fail(line_no, "section header without a closing ']'");
        const auto rest = trim(t.substr(close + 1));
        if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
            return fail(line_no, "unexpected text after the section header's ']'");
        const auto inner = trim(t.substr(1, close - 1));
        if (inner.empty())
            return fail(line_no, "empty section name '[]'");
        raw_section s;
        s.line = line_no;
        const auto space = inner.find_first_of(" \t");
        if (space == std::string_view::npos) {
            s.name = std::string(inner);
        } else {
            const auto word = inner.substr(0, space);
            const auto name = trim(inner.substr(space));
            if (word == "profile") {
                if (name.find_first_of(" \t") != std::string_view::npos)
                    return fail(line_no, "a profile name cannot contain whitespace");
                s.name = std::string(name);
                s.prefixed = true;
            } else {
                s.name = std::string(inner);
                s.other_kind = true;
            }
        }
        sections_.push_back(std::move(s));
        current_ = sections_.size() - 1;
        has_key_ = false;
        return true;
    }

    bool parse_property(std::string_view t, int line_no) {
        if (!current_) {
            if (kind_ != profile_file_kind::systemd_credential)
                return fail(line_no,
                            "a setting before any [profile] section; add a section header such as [default]");
            raw_section s;
            s.name = "default";
            s.line = line_no;
            sections_.push_back(std::move(s));
            current_ = sections_.size() - 1;
        }
        const auto eq = t.find('=');
        if (eq == std::string_view::npos)
            return fail(line_no, "expected 'key = value'");
        const auto key = trim(t.substr(0, eq));
        if (key.empty())
            return fail(line_no, "a setting with no key name before '='");
        const auto value = trim(strip_value_comment(t.substr(eq + 1)));
        sections_[*current_].entries.push_back({detail::to_lower(key), std::string(value), line_no});
        has_key_ = true;
        return true;
    }

    // Which profile a section feeds, or nullopt when the section is ignored.
    std::optional<std::string> profile_name_of(const raw_section& s, bool config_has_prefixed_default) {
        if (s.other_kind)
            return std::nullopt;
        switch (kind_) {
            case profile_file_kind::credentials:
                if (s.prefixed) {
                    warn(s.line,
                         "section [profile " + s.name +
                             "] ignored: the credentials file names profiles without 'profile', write [" +
                             s.name + "]");
                    return std::nullopt;
                }
                return s.name;
            case profile_file_kind::config:
                if (s.prefixed)
                    return s.name;
                if (s.name == "default") {
                    if (config_has_prefixed_default) {
                        warn(s.line, "section [default] ignored: [profile default] is also defined and wins");
                        return std::nullopt;
                    }
                    return s.name;
                }
                warn(s.line, "section [" + s.name + "] ignored: the config file names profiles [profile " +
                                 s.name + "]");
                return std::nullopt;
            case profile_file_kind::systemd_credential:
                return s.name;
        }
        return std::nullopt;
    }

    void build() {
        bool prefixed_default = false;
        for (const auto& s : sections_) {
            if (s.prefixed && s.name == "default")
                prefixed_default = true;
        }
        std::map<std::string, int, std::less<>> first_line;
        for (auto& s : sections_) {
            if (kind_ == profile_file_kind::systemd_credential &&
                (s.prefixed || s.other_kind || s.name != "default")) {
                fail(s.line, "a systemd credential file holds one set of keys, under [default] or no header");
                return;
            }
            const auto name = profile_name_of(s, prefixed_default);
            if (!name)
                continue;
            auto [it, inserted] = out_.profiles.try_emplace(*name);
            auto& p = it->second;
            if (inserted) {
                p.name = *name;
                first_line[*name] = s.line;
            } else {
                warn(s.line, "profile " + *name + " is defined again (first at line " +
                                 std::to_string(first_line[*name]) + "); the settings are merged");
            }
            for (auto& e : s.entries) {
                if (p.origins.contains(e.key)) {
                    warn(e.line, "key " + e.key + " of profile " + *name + " is set again (first at line " +
                                     std::to_string(p.origins[e.key].line) + "); the last value wins");
                }
                p.origins[e.key] = {std::string(path_), e.line};
                if (is_secret_key(e.key)) {
                    p.secrets[e.key] = core::secret(e.value);
                    p.settings.erase(e.key);
                } else {
                    p.settings[e.key] = e.value;
                }
            }
        }
    }

    profile_file_kind kind_;
    std::string_view path_;
    parsed_profile_file out_;
    std::vector<raw_section> sections_;
    std::optional<std::size_t> current_;  // index into sections_
    bool has_key_ = false;
};

}  // namespace

parsed_profile_file parse_profile_file(std::string_view text, profile_file_kind kind, std::string_view path) {
    return parser(kind, path).run(text);
}

}  // namespace tfsnap::aws
