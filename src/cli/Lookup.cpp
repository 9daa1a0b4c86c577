// lookup: what a login of USER would meet, without sending anything.
#include <cstdio>

#include "Commands.hpp"
#include "Setup.hpp"
#include "verif8/LoginUser.hpp"
#include "verif8/Masking.hpp"
#include "verif8/PhoneCommand.hpp"
#include "verif8/Policy.hpp"

namespace verif8::cli {

int lookup(const Options& options) {
    Result<ConfigLoad> load = loadForCommand(options);
    if (!load)
        return kExitFailed;
    const Config& config = load.value().config;
    LoginContext login;
    resolveLoginUser(config, options.user, login);
    const std::string user = sanitize(login.user);
    if (!login.userExists) {
        printf("%s: no such user: the module sends nothing (PAM_USER_UNKNOWN)\n",
               sanitize(options.user).c_str());
        return kExitFailed;
    }
    if (!login.typedUser.empty())
        printf("%s: is the account %s; the module treats it as %s\n",
               sanitize(login.typedUser).c_str(), user.c_str(), user.c_str());
    const std::vector<std::string>& groups = login.groups;
    const bool groupsKnown = login.groupsKnown;
    if (!groupsKnown)
        printf("%s: groups cannot be listed; group rules do not apply\n", user.c_str());
    const PolicyDecision decision =
        decidePolicy(config, login.user, groups, groupsKnown, options.rhost);
    if (decision != PolicyDecision::AskForCode)
        printf("%s: exempt (%s%s): the module steps aside (PAM_IGNORE)\n", user.c_str(),
               std::string(policyReason(decision)).c_str(),
               options.rhost.empty() ? "" : (", from " + sanitize(options.rhost)).c_str());
    else
        printf("%s: asked for a code%s\n", user.c_str(),
               options.rhost.empty() ? "" : (" from " + sanitize(options.rhost)).c_str());

    const EnrolmentLookup found = enrolmentSourceFor(config)->find(login.user);
    for (const auto& problem : found.problems)
        fprintf(stderr, "%s\n", sanitize(problem.text).c_str());
    switch (found.kind) {
        case EnrolmentLookup::Kind::Found:
            printf("%s: phone %s, channels %s (the first is used first)\n", user.c_str(),
                   maskPhoneForLog(found.entry->phone).c_str(),
                   channelList(found.entry->channels, ", ").c_str());
            return kExitOk;
        case EnrolmentLookup::Kind::Unavailable:
            printf("%s: the users file cannot be used: logins fail (PAM_SERVICE_ERR)\n",
                   user.c_str());
            return kExitFailed;
        case EnrolmentLookup::Kind::NotEnrolled:
            break;
    }
    printf("%s: not enrolled: with unenrolled = %s the login %s\n", user.c_str(),
           config.unenrolled == UnenrolledPolicy::Ignore ? "ignore" : "deny",
           config.unenrolled == UnenrolledPolicy::Ignore ? "is left to the rest of the stack"
                                                         : "fails (PAM_AUTH_ERR)");
    // 0 when the login would not fail here: exempt, or left to the rest of the stack.
    const bool stepsAside =
        decision != PolicyDecision::AskForCode || config.unenrolled == UnenrolledPolicy::Ignore;
    return stepsAside ? kExitOk : kExitFailed;
}

}  // namespace verif8::cli
