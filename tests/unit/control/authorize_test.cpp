// Authorization: root, users and groups (primary and supplementary), readers and operators,
// principals that do not resolve, and the 403 that names the role and who has it.
#include "tfsnap/control/authorize.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace tfsnap::control {
namespace {

class map_resolver final : public name_resolver {
public:
    std::optional<std::uint32_t> user_id(std::string_view name) const override {
        const auto it = users.find(std::string(name));
        return it == users.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
    }
    std::optional<std::uint32_t> group_id(std::string_view name) const override {
        const auto it = groups.find(std::string(name));
        return it == groups.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
    }

    std::map<std::string, std::uint32_t> users{{"alice", 1000}, {"bob", 1001}, {"carol", 1002}, {"root", 0}};
    std::map<std::string, std::uint32_t> groups{{"tfsnap", 500}, {"tfsnap-admin", 501}, {"wheel", 10}};
};

peer_credentials peer(std::uint32_t uid, std::uint32_t gid, std::vector<std::uint32_t> groups = {}) {
    peer_credentials p;
    p.pid = 4242;
    p.uid = uid;
    p.gid = gid;
    p.groups = std::move(groups);
    return p;
}

config::control_config access(std::vector<std::string> readers, std::vector<std::string> operators) {
    config::control_config c;
    c.readers = std::move(readers);
    c.operators = std::move(operators);
    return c;
}

struct authz_case {
    std::string name;
    peer_credentials who;
    role needed;
    config::control_config cfg;
    bool allowed;
    role granted = role::reader;
    std::string principal{};
};

TEST(ControlAuthorize, Table) {
    const auto usual = access({"group:tfsnap"}, {"group:tfsnap-admin", "user:carol"});
    const std::vector<authz_case> cases = {
        {"root reads with nothing configured", peer(0, 0), role::reader, access({}, {}), true,
         role::operator_, "uid 0"},
        {"root operates with nothing configured", peer(0, 0), role::operator_, access({}, {}), true,
         role::operator_, "uid 0"},
        {"root is root whatever its groups", peer(0, 1234), role::operator_, usual, true, role::operator_,
         "uid 0"},
        {"reader by primary group", peer(1000, 500), role::reader, usual, true, role::reader, "group:tfsnap"},
        {"reader by supplementary group", peer(1000, 1000, {20, 500}), role::reader, usual, true,
         role::reader, "group:tfsnap"},
        {"reader may not operate", peer(1000, 500), role::operator_, usual, false},
        {"operator by group may read", peer(1001, 1001, {501}), role::reader, usual, true, role::operator_,
         "group:tfsnap-admin"},
        {"operator by group may operate", peer(1001, 1001, {501}), role::operator_, usual, true,
         role::operator_, "group:tfsnap-admin"},
        {"operator by user", peer(1002, 1002), role::operator_, usual, true, role::operator_, "user:carol"},
        {"nobody in particular", peer(1001, 1001, {20}), role::reader, usual, false},
        {"reader by user", peer(1001, 1001), role::reader, access({"user:bob"}, {}), true, role::reader,
         "user:bob"},
        {"a user principal does not match a gid with the same number", peer(1234, 1000), role::reader,
         access({"user:alice"}, {}), false},
        {"a group principal does not match a uid with the same number", peer(500, 1000), role::reader,
         access({"group:tfsnap"}, {}), false},
        {"unresolvable principals match nobody", peer(1000, 500), role::reader,
         access({"group:ghosts", "user:ghost"}, {}), false},
        {"an unresolvable principal does not hide the next", peer(1000, 500), role::reader,
         access({"user:ghost", "group:tfsnap"}, {}), true, role::reader, "group:tfsnap"},
        {"user:root configured is just root", peer(0, 0), role::operator_, access({}, {"user:root"}), true,
         role::operator_, "uid 0"},
        {"empty lists refuse everyone but root", peer(1000, 500), role::reader, access({}, {}), false},
    };
    const map_resolver names;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto a = authorize(c.who, c.needed, c.cfg, names);
        EXPECT_EQ(a.allowed, c.allowed);
        if (c.allowed) {
            EXPECT_EQ(a.granted, c.granted);
            EXPECT_EQ(a.principal, c.principal);
            EXPECT_FALSE(a.denial.has_value());
        } else {
            ASSERT_TRUE(a.denial.has_value());
            EXPECT_EQ(a.denial->status, 403u);
            EXPECT_EQ(a.denial->code, "forbidden");
            ASSERT_TRUE(a.denial->needed.has_value());
            EXPECT_EQ(*a.denial->needed, c.needed);
        }
    }
}

TEST(ControlAuthorize, DenialNamesTheRoleAndItsPrincipals) {
    const map_resolver names;
    const auto cfg = access({"group:tfsnap", "user:carol"}, {"group:tfsnap-admin", "user:carol"});

    const auto op = authorize(peer(1000, 500), role::operator_, cfg, names);
    ASSERT_TRUE(op.denial);
    EXPECT_EQ(op.denial->principals, (std::vector<std::string>{"group:tfsnap-admin", "user:carol"}));
    EXPECT_EQ(op.denial->message,
              "this request needs the operator role (uid 1000 has not got it); it is granted to root and to "
              "group:tfsnap-admin, user:carol");
    EXPECT_EQ(
        to_json(*op.denial),
        R"({"error":{"code":"forbidden","message":"this request needs the operator role (uid 1000 has not )"
        R"(got it); it is granted to root and to group:tfsnap-admin, user:carol","role":"operator",)"
        R"("principals":["group:tfsnap-admin","user:carol"]}})");

    // readers and operators may read; each principal once
    const auto rd = authorize(peer(1001, 1001), role::reader, cfg, names);
    ASSERT_TRUE(rd.denial);
    EXPECT_EQ(rd.denial->principals,
              (std::vector<std::string>{"group:tfsnap", "user:carol", "group:tfsnap-admin"}));
    EXPECT_EQ(*rd.denial->needed, role::reader);
}

TEST(ControlAuthorize, DenialWithNothingConfigured) {
    const map_resolver names;
    const auto a = authorize(peer(1000, 500), role::reader, access({}, {}), names);
    ASSERT_TRUE(a.denial);
    EXPECT_TRUE(a.denial->principals.empty());
    EXPECT_NE(a.denial->message.find("only root"), std::string::npos) << a.denial->message;
}

TEST(ControlAuthorize, ResolvesOnEveryCall) {
    map_resolver names;
    const auto cfg = access({"user:dave"}, {});
    EXPECT_FALSE(authorize(peer(1003, 1003), role::reader, cfg, names).allowed);
    names.users["dave"] = 1003;
    EXPECT_TRUE(authorize(peer(1003, 1003), role::reader, cfg, names).allowed);
}

}  // namespace
}  // namespace tfsnap::control
