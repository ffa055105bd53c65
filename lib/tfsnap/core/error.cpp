#include "tfsnap/core/error.hpp"

namespace tfsnap::core {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::invalid_argument:
            return "invalid argument";
        case errc::io_error:
            return "input/output error";
        case errc::timeout:
            return "deadline expired";
        case errc::cancelled:
            return "operation cancelled";
        case errc::not_found:
            return "not found";
        case errc::invalid_json:
            return "not valid JSON";
        case errc::json_too_deep:
            return "JSON nests too deeply";
    }
    return "unknown tfsnap.core error";
}

traits traits_of(errc e) noexcept {
    return {.transient = e == errc::timeout, .not_processed = false};
}

const boost::system::error_category& core_category() noexcept {
    static const enum_category<errc> category{"tfsnap.core", &describe, &traits_of};
    return category;
}

namespace {

class condition_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "tfsnap.condition"; }
    std::string message(int ev) const override {
        switch (static_cast<condition>(ev)) {
            case condition::transient:
                return "transient failure; a retry may succeed";
            case condition::not_processed:
                return "the request was not processed; a retry is safe";
        }
        return "unknown tfsnap condition";
    }
};

}  // namespace

const boost::system::error_category& condition_category() noexcept {
    static const condition_category_impl category;
    return category;
}

}  // namespace tfsnap::core
