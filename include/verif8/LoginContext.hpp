// LoginContext: what the PAM side knows about a login before its code step.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace verif8 {

struct LoginContext {
    std::string user;       // the account's canonical name (LoginUser.hpp)
    std::string typedUser;  // the name as PAM_USER gave it, when that was another spelling
    std::string rhost;
    std::string service;
    bool userExists = false;
    bool placeholderPassword = false;  // sshd's "\b\n\r\177INCORRECT" for invalid users
    std::vector<std::string> groups;   // filled only when the policy needs them
    bool groupsKnown = true;           // false: the lookup failed, so no group may exempt
    std::string key;                   // identifies this login across runs of the stack
};

inline constexpr std::string_view kSshdPlaceholderPrefix = "\b\n\r\177INCORRECT";

}  // namespace verif8
