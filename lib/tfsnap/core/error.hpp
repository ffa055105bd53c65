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

// Conditions that cut across modules. A module's error category says which of its codes are
// equivalent to them, so `ec == core::condition::transient` works for any module's codes and the
// retry classifier needs no knowledge of S3, DynamoDB or HTTP specifics.
enum class condition {
    // Trying again later may succeed (throttling, 5xx, a reset connection, a timeout).
    transient = 1,
    // The server refused the request without acting on it (throttling, a connection that was
    // never made): safe to retry even a request that is not idempotent.
    not_processed,
};

const boost::system::error_category& condition_category() noexcept;

inline boost::system::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

// What a module says about one of its codes, for the conditions above.
struct traits {
    bool transient = false;
    bool not_processed = false;
};

// One error category per module enum. `Describe` maps a value to its fixed message; server
// text never goes into these messages (it goes in the module's error_info instead). `Traits`,
// when given, maps a value to the cross-module conditions it is equivalent to.
template <class Enum>
class enum_category final : public boost::system::error_category {
public:
    using describe_fn = const char* (*)(Enum) noexcept;
    using traits_fn = traits (*)(Enum) noexcept;

    constexpr enum_category(const char* name, describe_fn describe, traits_fn traits_of = nullptr) noexcept
        : name_(name), describe_(describe), traits_(traits_of) {}

    const char* name() const noexcept override { return name_; }
    std::string message(int ev) const override { return describe_(static_cast<Enum>(ev)); }

    bool equivalent(int code, const boost::system::error_condition& cond) const noexcept override {
        if (traits_ != nullptr && cond.category() == condition_category()) {
            const traits t = traits_(static_cast<Enum>(code));
            switch (static_cast<condition>(cond.value())) {
                case condition::transient:
                    return t.transient;
                case condition::not_processed:
                    return t.not_processed;
            }
            return false;
        }
        return boost::system::error_category::equivalent(code, cond);
    }

private:
    const char* name_;
    describe_fn describe_;
    traits_fn traits_;
};

// Errors that belong to no particular module.
enum class errc {
    invalid_argument = 1,  // a caller passed a value outside the documented domain
    io_error,              // a file or descriptor operation failed (errno is in the context)
    timeout,               // a deadline expired
    cancelled,             // the operation was cancelled on request
    not_found,             // the named thing does not exist
    invalid_json,          // bytes from outside are not valid JSON (json.hpp)
    json_too_deep,         // JSON from outside nests deeper than tfsnap reads (json.hpp)
};

const char* describe(errc e) noexcept;
traits traits_of(errc e) noexcept;
const boost::system::error_category& core_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), core_category()};
}

}  // namespace tfsnap::core

template <>
struct boost::system::is_error_code_enum<tfsnap::core::errc> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<tfsnap::core::condition> : std::true_type {};
