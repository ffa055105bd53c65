#include "tfsnap/config/error.hpp"

namespace tfsnap::config {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::invalid:
            return "invalid configuration";
        case errc::unreadable:
            return "configuration file cannot be read";
    }
    return "unknown tfsnap.config error";
}

const boost::system::error_category& config_category() noexcept {
    static const core::enum_category<errc> category{"tfsnap.config", &describe};
    return category;
}

std::string format(const diagnostic& d) {
    std::string out = d.file;
    if (d.line > 0) {
        out += ':' + std::to_string(d.line) + ':' + std::to_string(d.column);
    }
    out += ": error: ";
    if (!d.path.empty()) {
        out += d.path;
        out += ": ";
    }
    out += d.message;
    if (!d.hint.empty()) {
        out += "; ";
        out += d.hint;
    }
    return out;
}

}  // namespace tfsnap::config
