#pragma once
// Injectable wall clock.
//
// Pure logic takes `now` as a parameter. Code that must ask for the time (the I/O shells) takes
// a `wall_clock&`, so tests can pin or step it. `fake_clock` is that test double; it is in the
// library because tests of several modules share it.
//
// Thread safety: system_wall_clock is stateless. fake_clock is for single-threaded tests.

#include <chrono>

namespace tfsnap::core {

using time_point = std::chrono::system_clock::time_point;

class wall_clock {
public:
    virtual ~wall_clock() = default;
    virtual time_point now() const = 0;
};

class system_wall_clock final : public wall_clock {
public:
    time_point now() const override { return std::chrono::system_clock::now(); }
};

class fake_clock final : public wall_clock {
public:
    explicit fake_clock(time_point start = {}) noexcept : now_(start) {}
    time_point now() const override { return now_; }
    void set(time_point t) noexcept { now_ = t; }
    void advance(std::chrono::system_clock::duration d) noexcept { now_ += d; }

private:
    time_point now_;
};

}  // namespace tfsnap::core
