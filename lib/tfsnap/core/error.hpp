#pragma once
// Error codes for tfsnap.
//
// Every module has its own `enum class errc` and a named category ("tfsnap.s3",
// "tfsnap.config", ...). `enum_category` below is the one implementation they share: a module
// declares its enum, a `describe(errc)` function and a category accessor, and marks the enum
// with `boost::system::is_error_code_enum`.
//
// Thread safety: categories are immutable singletons; safe from any thread.

#include <boost/system/error_code.hpp>

#include <string>

namespace tfsnap::core {

// One error category per module enum. `Describe` maps a value to its fixed message; server
// text never goes into these messages (it goes in the module's error_info instead).
template <class Enum>
class enum_category final : public boost::system::error_category {
public:
    using describe_fn = const char* (*)(Enum) noexcept;

    constexpr enum_category(const char* name, describe_fn describe) noexcept
        : name_(name), describe_(describe) {}

    const char* name() const noexcept override { return name_; }
    std::string message(int ev) const override { return describe_(static_cast<Enum>(ev)); }

private:
    const char* name_;
    describe_fn describe_;
};

// Errors that belong to no particular module.
enum class errc {
    invalid_argument = 1,  // a caller passed a value outside the documented domain
    io_error,              // a file or descriptor operation failed (errno is in the context)
    timeout,               // a deadline expired
    cancelled,             // the operation was cancelled on request
    not_found,             // the named thing does not exist
};

const char* describe(errc e) noexcept;
const boost::system::error_category& core_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), core_category()};
}

}  // namespace tfsnap::core

template <>
struct boost::system::is_error_code_enum<tfsnap::core::errc> : std::true_type {};
