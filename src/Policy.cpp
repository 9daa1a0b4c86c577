// Policy: exemptions are checked before anything is sent, in the order of design.md.
#include "verif8/Policy.hpp"

#include <algorithm>

namespace verif8 {

namespace {
bool listed(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool anyListed(const std::vector<std::string>& names, const std::vector<std::string>& groups) {
    return std::any_of(groups.begin(), groups.end(),
                       [&](const std::string& group) { return listed(names, group); });
}
}  // namespace

PolicyDecision decidePolicy(const Config& config, std::string_view user,
                            const std::vector<std::string>& groups, bool groupsKnown,
                            std::string_view rhost) {
    if (listed(config.exemptUsers, user))
        return PolicyDecision::ExemptUser;
    if (groupsKnown && anyListed(config.exemptGroups, groups))
        return PolicyDecision::ExemptGroup;
    if (groupsKnown && !config.onlyGroups.empty() && !anyListed(config.onlyGroups, groups))
        return PolicyDecision::OutsideOnlyGroups;
    for (const auto& network : config.trustedNetworks) {
        if (network.contains(rhost))
            return PolicyDecision::TrustedNetwork;
    }
    return PolicyDecision::AskForCode;
}

std::string_view policyReason(PolicyDecision decision) {
    switch (decision) {
        case PolicyDecision::ExemptUser:
            return "exempt user";
        case PolicyDecision::ExemptGroup:
            return "exempt group";
        case PolicyDecision::OutsideOnlyGroups:
            return "not in only_groups";
        case PolicyDecision::TrustedNetwork:
            return "trusted network";
        case PolicyDecision::AskForCode:
            break;
    }
    return "";
}

bool policyNeedsGroups(const Config& config) {
    return !config.exemptGroups.empty() || !config.onlyGroups.empty();
}

}  // namespace verif8
