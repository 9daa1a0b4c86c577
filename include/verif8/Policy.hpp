// Policy: who is asked for a code at all (exempt users, groups, trusted networks, only_groups).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "verif8/Config.hpp"

namespace verif8 {

enum class PolicyDecision {
    AskForCode,
    ExemptUser,
    ExemptGroup,
    OutsideOnlyGroups,
    TrustedNetwork
};

// `groups` are the names of every group the user is in (primary and supplementary). When they
// could not be listed (`groupsKnown` false: a directory down, say), no group rule exempts: an
// unknown membership must not switch the second factor off.
PolicyDecision decidePolicy(const Config& config, std::string_view user,
                            const std::vector<std::string>& groups, bool groupsKnown,
                            std::string_view rhost);

std::string_view policyReason(PolicyDecision decision);

// Whether deciding needs the user's groups (so that logins without group rules skip the lookup).
bool policyNeedsGroups(const Config& config);

}  // namespace verif8
