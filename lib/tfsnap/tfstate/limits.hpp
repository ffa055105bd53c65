#pragma once
// How deep a state may nest for tfsnap to read it.
//
// Terraform and OpenTofu read states with Go's encoding/json, whose scanner refuses input nested
// deeper than 10,000 levels (src/encoding/json/scanner.go, maxNestingDepth, "exceeded max
// depth"). A deeper state is one Terraform itself cannot read; tfsnap's summary, diff and serial
// rewrite stop at the same depth (errc::too_deep) instead of walking it, and a backup keeps its
// bytes as an opaque snapshot.

#include <cstddef>

namespace tfsnap::tfstate {

inline constexpr std::size_t max_nesting = 10000;

}  // namespace tfsnap::tfstate
