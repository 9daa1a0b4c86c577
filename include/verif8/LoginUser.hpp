// LoginUser: from the name a login was given to the account the module treats it as.
#pragma once

#include <string>

#include "verif8/Config.hpp"
#include "verif8/LoginContext.hpp"

namespace verif8 {

// Sets login.user to the canonical name of the account `typed` resolves to (threat-model rule 3:
// another spelling of an account never gets softer treatment), login.typedUser to `typed` when
// it differs, login.userExists, and the account's groups when the policy needs them
// (login.groupsKnown false when they cannot be listed). The module, `verif8ctl lookup` and
// `verif8ctl test` all resolve users here, so they cannot disagree.
void resolveLoginUser(const Config& config, const std::string& typed, LoginContext& login);

}  // namespace verif8
