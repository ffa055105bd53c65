// Prints the sample exposition of sample.hpp on stdout, for tests/system/metrics_parse.sh.
#include "sample.hpp"

#include <cstdio>
#include <string>

int main() {
    tfsnap::metrics::registry reg;
    tfsnap::metrics::tfsnap_metrics m(reg, "1.2.3");
    test::fill_sample(m);
    const std::string text = reg.expose();
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() ? 0 : 1;
}
