// Account: what NSS says of a user (existence, groups), as the module and verif8ctl need it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace verif8 {

bool userExists(const std::string& user);

// Names of every group the user is in, primary included (through NSS, so directory groups
// count). nullopt when any of it cannot be looked up: a group that cannot be named might be the
// one a rule is about.
std::optional<std::vector<std::string>> groupsOf(const std::string& user);

}  // namespace verif8
