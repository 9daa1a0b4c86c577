// Policy: who is asked for a code (exempt users and groups, only_groups, trusted networks).
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/Policy.hpp"

using namespace verif8;
using Decision = PolicyDecision;

namespace {

const std::string kRhost = "203.0.113.9";
const std::vector<std::string> kNoGroups;

std::string nameOf(Decision decision) {
    switch (decision) {
        case Decision::AskForCode:
            return "AskForCode";
        case Decision::ExemptUser:
            return "ExemptUser";
        case Decision::ExemptGroup:
            return "ExemptGroup";
        case Decision::OutsideOnlyGroups:
            return "OutsideOnlyGroups";
        case Decision::TrustedNetwork:
            return "TrustedNetwork";
    }
    return "?";
}

void expectDecision(Decision actual, Decision expected) {
    if (actual != expected) {
        print_error("decision %s, expected %s\n", nameOf(actual).c_str(), nameOf(expected).c_str());
        fail();
    }
}

Network network(std::string_view text) {
    const auto parsed = Network::parse(text);
    assert_true(parsed.has_value());
    return *parsed;
}

// Every rule set, each matching alice in some way.
Config everyRule() {
    Config config;
    config.exemptUsers = {"alice"};
    config.exemptGroups = {"breakglass"};
    config.onlyGroups = {"admins"};
    config.trustedNetworks = {network("203.0.113.0/24")};
    return config;
}

}  // namespace

// ---- each decision

static void no_rules_ask_everyone_for_a_code(void**) {
    const Config config;
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, kRhost), Decision::AskForCode);
    expectDecision(decidePolicy(config, "root", {"root", "wheel"}, true, "127.0.0.1"),
                   Decision::AskForCode);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, ""), Decision::AskForCode);
}

static void an_exempt_user_is_exempt(void**) {
    Config config;
    config.exemptUsers = {"bob", "alice"};
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, kRhost), Decision::ExemptUser);
    expectDecision(decidePolicy(config, "bob", kNoGroups, true, kRhost), Decision::ExemptUser);
    expectDecision(decidePolicy(config, "carol", kNoGroups, true, kRhost), Decision::AskForCode);
}

static void user_names_match_exactly(void**) {
    Config config;
    config.exemptUsers = {"alice"};
    for (const char* other : {"Alice", "alic", "alice2", " alice", "alice ", ""})
        expectDecision(decidePolicy(config, other, kNoGroups, true, kRhost), Decision::AskForCode);
}

static void a_member_of_an_exempt_group_is_exempt(void**) {
    Config config;
    config.exemptGroups = {"breakglass", "robots"};
    expectDecision(decidePolicy(config, "alice", {"users", "robots"}, true, kRhost),
                   Decision::ExemptGroup);
    expectDecision(decidePolicy(config, "alice", {"breakglass"}, true, kRhost),
                   Decision::ExemptGroup);
    expectDecision(decidePolicy(config, "alice", {"users", "Robots", "robot"}, true, kRhost),
                   Decision::AskForCode);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, kRhost), Decision::AskForCode);
}

static void a_group_named_like_the_user_is_not_the_user(void**) {
    Config config;
    config.exemptGroups = {"alice"};
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, kRhost), Decision::AskForCode);
    Config users;
    users.exemptUsers = {"admins"};
    expectDecision(decidePolicy(users, "alice", {"admins"}, true, kRhost), Decision::AskForCode);
}

static void only_groups_asks_members_only(void**) {
    Config config;
    config.onlyGroups = {"admins", "ops"};
    expectDecision(decidePolicy(config, "alice", {"users", "ops"}, true, kRhost),
                   Decision::AskForCode);
    expectDecision(decidePolicy(config, "alice", {"admins"}, true, kRhost), Decision::AskForCode);
    expectDecision(decidePolicy(config, "alice", {"users"}, true, kRhost),
                   Decision::OutsideOnlyGroups);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, kRhost),
                   Decision::OutsideOnlyGroups);
    expectDecision(decidePolicy(config, "alice", {"Admins", "admin"}, true, kRhost),
                   Decision::OutsideOnlyGroups);
}

static void a_trusted_network_is_exempt(void**) {
    Config config;
    config.trustedNetworks = {network("10.0.0.0/8"), network("203.0.113.0/24"),
                              network("2001:db8::/32")};
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, kRhost),
                   Decision::TrustedNetwork);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, "10.9.8.7"),
                   Decision::TrustedNetwork);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, "2001:db8::42"),
                   Decision::TrustedNetwork);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, "::ffff:203.0.113.200"),
                   Decision::TrustedNetwork);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, "198.51.100.7"),
                   Decision::AskForCode);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, "2001:db9::1"),
                   Decision::AskForCode);
}

static void a_host_name_rhost_is_never_trusted(void**) {
    Config config;
    config.trustedNetworks = {network("0.0.0.0/0"), network("::/0")};
    for (const char* rhost : {"localhost", "host.example.com", "fe80::1%eth0", "203.0.113.9 "})
        expectDecision(decidePolicy(config, "alice", kNoGroups, true, rhost), Decision::AskForCode);
}

static void an_empty_rhost_is_never_trusted(void**) {
    Config config;
    config.trustedNetworks = {network("0.0.0.0/0"), network("::/0")};
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, ""), Decision::AskForCode);
    // Other rules still apply to local logins.
    Config rules = everyRule();
    expectDecision(decidePolicy(rules, "bob", {"admins"}, true, ""), Decision::AskForCode);
    expectDecision(decidePolicy(rules, "bob", {"users"}, true, ""), Decision::OutsideOnlyGroups);
    expectDecision(decidePolicy(rules, "bob", {"breakglass"}, true, ""), Decision::ExemptGroup);
    expectDecision(decidePolicy(rules, "alice", kNoGroups, true, ""), Decision::ExemptUser);
}

// ---- the order: exempt user, exempt group, only_groups, trusted network

static void an_exempt_user_comes_before_everything(void**) {
    const Config config = everyRule();
    // Alice is in an exempt group, outside only_groups and on a trusted network too.
    expectDecision(decidePolicy(config, "alice", {"breakglass"}, true, kRhost),
                   Decision::ExemptUser);
    expectDecision(decidePolicy(config, "alice", kNoGroups, true, kRhost), Decision::ExemptUser);
    expectDecision(decidePolicy(config, "alice", {"admins"}, true, "198.51.100.7"),
                   Decision::ExemptUser);
}

static void an_exempt_group_comes_before_only_groups_and_networks(void**) {
    const Config config = everyRule();
    expectDecision(decidePolicy(config, "bob", {"breakglass"}, true, kRhost),
                   Decision::ExemptGroup);
    expectDecision(decidePolicy(config, "bob", {"breakglass", "admins"}, true, kRhost),
                   Decision::ExemptGroup);
    expectDecision(decidePolicy(config, "bob", {"breakglass"}, true, "198.51.100.7"),
                   Decision::ExemptGroup);
}

static void only_groups_comes_before_networks(void**) {
    const Config config = everyRule();
    // Outside only_groups on a trusted network: not in only_groups is what the log says.
    expectDecision(decidePolicy(config, "bob", {"users"}, true, kRhost),
                   Decision::OutsideOnlyGroups);
    // A member on a trusted network: the network.
    expectDecision(decidePolicy(config, "bob", {"admins"}, true, kRhost), Decision::TrustedNetwork);
    // A member elsewhere: asked.
    expectDecision(decidePolicy(config, "bob", {"admins"}, true, "198.51.100.7"),
                   Decision::AskForCode);
}

static void each_decision_has_a_reason_but_asking(void**) {
    expect_str(policyReason(Decision::AskForCode), "");
    expect_str(policyReason(Decision::ExemptUser), "exempt user");
    expect_str(policyReason(Decision::ExemptGroup), "exempt group");
    expect_str(policyReason(Decision::OutsideOnlyGroups), "not in only_groups");
    expect_str(policyReason(Decision::TrustedNetwork), "trusted network");
}

// ---- policyNeedsGroups

static void groups_are_needed_only_for_group_rules(void**) {
    Config config;
    assert_false(policyNeedsGroups(config));
    config.exemptUsers = {"alice"};
    config.trustedNetworks = {network("10.0.0.0/8")};
    assert_false(policyNeedsGroups(config));

    Config exempt;
    exempt.exemptGroups = {"breakglass"};
    assert_true(policyNeedsGroups(exempt));

    Config only;
    only.onlyGroups = {"admins"};
    assert_true(policyNeedsGroups(only));

    assert_true(policyNeedsGroups(everyRule()));
}

static void unknown_groups_never_exempt(void**) {
    Config config;
    config.exemptGroups = {"ops"};
    expectDecision(decidePolicy(config, "alice", {"ops"}, false, "203.0.113.9"),
                   Decision::AskForCode);
    Config only;
    only.onlyGroups = {"2fa"};
    // Outside only_groups would be PAM_IGNORE; with the membership unknown, ask for a code.
    expectDecision(decidePolicy(only, "alice", {}, false, "203.0.113.9"), Decision::AskForCode);
}

static void unknown_groups_leave_user_and_network_rules_alone(void**) {
    Config config;
    config.exemptUsers = {"alice"};
    expectDecision(decidePolicy(config, "alice", {}, false, ""), Decision::ExemptUser);
    Config trusted;
    trusted.trustedNetworks = {*Network::parse("192.0.2.0/24")};
    expectDecision(decidePolicy(trusted, "bob", {}, false, "192.0.2.7"), Decision::TrustedNetwork);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_groups_never_exempt),
        cmocka_unit_test(unknown_groups_leave_user_and_network_rules_alone),
        cmocka_unit_test(no_rules_ask_everyone_for_a_code),
        cmocka_unit_test(an_exempt_user_is_exempt),
        cmocka_unit_test(user_names_match_exactly),
        cmocka_unit_test(a_member_of_an_exempt_group_is_exempt),
        cmocka_unit_test(a_group_named_like_the_user_is_not_the_user),
        cmocka_unit_test(only_groups_asks_members_only),
        cmocka_unit_test(a_trusted_network_is_exempt),
        cmocka_unit_test(a_host_name_rhost_is_never_trusted),
        cmocka_unit_test(an_empty_rhost_is_never_trusted),
        cmocka_unit_test(an_exempt_user_comes_before_everything),
        cmocka_unit_test(an_exempt_group_comes_before_only_groups_and_networks),
        cmocka_unit_test(only_groups_comes_before_networks),
        cmocka_unit_test(each_decision_has_a_reason_but_asking),
        cmocka_unit_test(groups_are_needed_only_for_group_rules),
    };
    return cmocka_run_group_tests_name("policy", tests, nullptr, nullptr);
}
