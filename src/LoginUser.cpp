// LoginUser: canonical account name and groups for a login.
#include "verif8/LoginUser.hpp"

#include "verif8/Account.hpp"
#include "verif8/Policy.hpp"

namespace verif8 {

void resolveLoginUser(const Config& config, const std::string& typed, LoginContext& login) {
    const auto account = resolveAccount(typed);
    login.userExists = account.has_value();
    login.user = account ? account->name : typed;
    login.typedUser = account && account->name != typed ? typed : std::string();
    login.groups.clear();
    login.groupsKnown = true;
    if (!account || !policyNeedsGroups(config))
        return;
    auto groups = groupsOf(account->name);
    login.groupsKnown = groups.has_value();
    if (groups)
        login.groups = std::move(*groups);
}

}  // namespace verif8
