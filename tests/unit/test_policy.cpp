// Policy: who is asked for a code (exempt users and groups, only_groups, trusted networks).
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/Policy.hpp"

using namespace verif8;
using Decision = PolicyDecision;

namespace {

constexpr auto kAsk = Decision::AskForCode;
constexpr auto kUser = Decision::ExemptUser;
constexpr auto kGroup = Decision::ExemptGroup;
constexpr auto kOutside = Decision::OutsideOnlyGroups;
constexpr auto kTrusted = Decision::TrustedNetwork;
const char* const kRhost = "203.0.113.9";
const char* const kElsewhere = "198.51.100.7";
using Names = std::vector<std::string>;

Config rules(Names exemptUsers, Names exemptGroups = {}, Names onlyGroups = {},
             const Names& trustedNetworks = {}) {
    Config config;
    config.exemptUsers = std::move(exemptUsers);
    config.exemptGroups = std::move(exemptGroups);
    config.onlyGroups = std::move(onlyGroups);
    for (const auto& text : trustedNetworks) {
        const auto network = Network::parse(text);
        assert_true(network.has_value());
        config.trustedNetworks.push_back(*network);
    }
    return config;
}

// Every rule, each matching alice in some way.
Config everyRule() {
    return rules({"alice"}, {"breakglass"}, {"admins"}, {"203.0.113.0/24"});
}

struct Login {
    const char* user;
    Names groups;
    const char* rhost;
    Decision expected;
    bool groupsKnown = true;
};

std::string nameOf(Decision decision) {
    return decision == kAsk ? "ask for a code" : std::string(policyReason(decision));
}

// Each login's decision under `config`; a failure names the login.
void expectDecisions(const Config& config, const std::vector<Login>& logins) {
    for (const Login& login : logins) {
        const Decision decision =
            decidePolicy(config, login.user, login.groups, login.groupsKnown, login.rhost);
        if (decision != login.expected) {
            std::string groups;
            for (const auto& group : login.groups)
                groups += " " + group;
            fail_msg("'%s' (groups%s%s) from '%s': %s, expected %s", login.user, groups.c_str(),
                     login.groupsKnown ? "" : " unknown", login.rhost, nameOf(decision).c_str(),
                     nameOf(login.expected).c_str());
        }
    }
}

}  // namespace

// ---- each decision

// clang-format off
static void no_rules_ask_everyone_for_a_code(void**) {
    expectDecisions(Config{}, {{"alice", {}, kRhost, kAsk},
                               {"root", {"root", "wheel"}, "127.0.0.1", kAsk},
                               {"alice", {}, "", kAsk}});
}

static void exempt_users_are_exempt_by_exact_name(void**) {
    expectDecisions(rules({"bob", "alice"}),
                    {{"alice", {}, kRhost, kUser}, {"bob", {}, kRhost, kUser},
                     {"carol", {}, kRhost, kAsk}, {"Alice", {}, kRhost, kAsk},
                     {"alic", {}, kRhost, kAsk}, {"alice2", {}, kRhost, kAsk},
                     {" alice", {}, kRhost, kAsk}, {"alice ", {}, kRhost, kAsk},
                     {"", {}, kRhost, kAsk}});
}

// A group named like the user is not the user, nor a user named like a group the group.
static void members_of_an_exempt_group_are_exempt(void**) {
    expectDecisions(rules({}, {"breakglass", "robots"}),
                    {{"alice", {"users", "robots"}, kRhost, kGroup},
                     {"alice", {"breakglass"}, kRhost, kGroup},
                     {"alice", {"users", "Robots", "robot"}, kRhost, kAsk},
                     {"alice", {}, kRhost, kAsk}});
    expectDecisions(rules({}, {"alice"}), {{"alice", {}, kRhost, kAsk}});
    expectDecisions(rules({"admins"}), {{"alice", {"admins"}, kRhost, kAsk}});
}

static void only_groups_asks_members_only(void**) {
    expectDecisions(rules({}, {}, {"admins", "ops"}),
                    {{"alice", {"users", "ops"}, kRhost, kAsk}, {"alice", {"admins"}, kRhost, kAsk},
                     {"alice", {"users"}, kRhost, kOutside}, {"alice", {}, kRhost, kOutside},
                     {"alice", {"Admins", "admin"}, kRhost, kOutside}});
}

// Only an IP literal inside a block is trusted: never a host name, a scoped or an empty rhost.
static void a_trusted_network_is_exempt(void**) {
    expectDecisions(rules({}, {}, {}, {"10.0.0.0/8", "203.0.113.0/24", "2001:db8::/32"}),
                    {{"alice", {}, kRhost, kTrusted}, {"alice", {}, "10.9.8.7", kTrusted},
                     {"alice", {}, "2001:db8::42", kTrusted},
                     {"alice", {}, "::ffff:203.0.113.200", kTrusted},
                     {"alice", {}, kElsewhere, kAsk}, {"alice", {}, "2001:db9::1", kAsk}});
    expectDecisions(rules({}, {}, {}, {"0.0.0.0/0", "::/0"}),
                    {{"alice", {}, "localhost", kAsk}, {"alice", {}, "host.example.com", kAsk},
                     {"alice", {}, "fe80::1%eth0", kAsk}, {"alice", {}, "203.0.113.9 ", kAsk},
                     {"alice", {}, "", kAsk}});
}

// ---- the order: exempt user, exempt group, only_groups, trusted network

static void the_rules_apply_in_order(void**) {
    expectDecisions(everyRule(),
                    {// alice is in an exempt group, outside only_groups and on a trusted network.
                     {"alice", {"breakglass"}, kRhost, kUser}, {"alice", {}, kRhost, kUser},
                     {"alice", {"admins"}, kElsewhere, kUser},
                     {"bob", {"breakglass"}, kRhost, kGroup},
                     {"bob", {"breakglass", "admins"}, kRhost, kGroup},
                     {"bob", {"breakglass"}, kElsewhere, kGroup},
                     // Outside only_groups on a trusted network: "not in only_groups" is logged.
                     {"bob", {"users"}, kRhost, kOutside}, {"bob", {"admins"}, kRhost, kTrusted},
                     {"bob", {"admins"}, kElsewhere, kAsk},
                     // Local logins (no rhost): the other rules still apply.
                     {"bob", {"admins"}, "", kAsk}, {"bob", {"users"}, "", kOutside},
                     {"bob", {"breakglass"}, "", kGroup}, {"alice", {}, "", kUser}});
}

// Outside only_groups would be PAM_IGNORE: with the membership unknown, ask for a code.
static void unknown_groups_never_exempt_but_leave_the_other_rules_alone(void**) {
    expectDecisions(rules({}, {"ops"}), {{"alice", {"ops"}, kRhost, kAsk, false}});
    expectDecisions(rules({}, {}, {"2fa"}), {{"alice", {}, kRhost, kAsk, false}});
    expectDecisions(rules({"alice"}), {{"alice", {}, "", kUser, false}});
    expectDecisions(rules({}, {}, {}, {"192.0.2.0/24"}),
                    {{"bob", {}, "192.0.2.7", kTrusted, false}});
}
// clang-format on

// Each decision has a reason but asking; groups are looked up only for group rules.
static void reasons_and_when_groups_are_needed(void**) {
    expect_str(policyReason(Decision::AskForCode), "");
    expect_str(policyReason(Decision::ExemptUser), "exempt user");
    expect_str(policyReason(Decision::ExemptGroup), "exempt group");
    expect_str(policyReason(Decision::OutsideOnlyGroups), "not in only_groups");
    expect_str(policyReason(Decision::TrustedNetwork), "trusted network");
    assert_false(policyNeedsGroups(Config{}));
    assert_false(policyNeedsGroups(rules({"alice"}, {}, {}, {"10.0.0.0/8"})));
    assert_true(policyNeedsGroups(rules({}, {"breakglass"})));
    assert_true(policyNeedsGroups(rules({}, {}, {"admins"})));
    assert_true(policyNeedsGroups(everyRule()));
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_rules_ask_everyone_for_a_code),
        cmocka_unit_test(exempt_users_are_exempt_by_exact_name),
        cmocka_unit_test(members_of_an_exempt_group_are_exempt),
        cmocka_unit_test(only_groups_asks_members_only),
        cmocka_unit_test(a_trusted_network_is_exempt),
        cmocka_unit_test(the_rules_apply_in_order),
        cmocka_unit_test(unknown_groups_never_exempt_but_leave_the_other_rules_alone),
        cmocka_unit_test(reasons_and_when_groups_are_needed),
    };
    return cmocka_run_group_tests_name("policy", tests, nullptr, nullptr);
}
