// Reads lines "ZONE<TAB>START<TAB>COUNT<TAB>EXPRESSION" (START in Unix seconds) and prints, for
// each, one line of COUNT fire times in Unix seconds separated by spaces ("none" ends a line
// early; "error: ..." when the expression does not parse).
#include "tfsnap/cron/expression.hpp"

#include <iostream>
#include <sstream>
#include <string>

int main() {
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string zone_name, start_text, count_text, expr;
        std::getline(in, zone_name, '\t');
        std::getline(in, start_text, '\t');
        std::getline(in, count_text, '\t');
        std::getline(in, expr);
        const auto r = tfsnap::cron::expression::parse(expr);
        if (!r.ok()) {
            std::cout << "error: " << r.error.message << '\n';
            continue;
        }
        const auto& zone = *date::locate_zone(zone_name);
        auto t = tfsnap::cron::sys_seconds{std::chrono::seconds{std::stoll(start_text)}};
        const int count = std::stoi(count_text);
        for (int i = 0; i < count; ++i) {
            const auto n = r.expr->next(t, zone);
            if (!n) {
                std::cout << (i ? " " : "") << "none";
                break;
            }
            std::cout << (i ? " " : "") << n->time_since_epoch().count();
            t = *n;
        }
        std::cout << '\n';
    }
    return 0;
}
