// PamLogin: reads the login's PAM items, loads the config and runs the Authenticator.
#include "PamLogin.hpp"

#include <security/pam_ext.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "PamConversation.hpp"
#include "PamLogger.hpp"
#include "verif8/Account.hpp"
#include "verif8/Authenticator.hpp"
#include "verif8/ConfigFile.hpp"
#include "verif8/CurlVerifyClient.hpp"
#include "verif8/PhoneCommand.hpp"
#include "verif8/Policy.hpp"
#include "verif8/SendLimiter.hpp"
#include "verif8/SessionStore.hpp"

namespace verif8 {

namespace {
std::string stringItem(pam_handle_t* pamh, int type) {
    const void* item = nullptr;
    if (pam_get_item(pamh, type, &item) != PAM_SUCCESS || item == nullptr)
        return {};
    return static_cast<const char*>(item);
}

// The key that ties repeated runs of the stack to one login; when the process tree cannot tell
// (no /proc), each run is a login of its own.
std::string keyFor(const LoginContext& login) {
    std::string key = loginKey(login.user, login.service, login.rhost);
    if (key.empty())
        key = "pid:" + std::to_string(getpid()) + ":" + std::to_string(time(nullptr));
    return key;
}

bool hasPlaceholderPassword(pam_handle_t* pamh) {
    const void* item = nullptr;
    if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || item == nullptr)
        return false;
    const auto* password = static_cast<const char*>(item);
    return strncmp(password, kSshdPlaceholderPrefix.data(), kSshdPlaceholderPrefix.size()) == 0;
}
}  // namespace

int authenticateLogin(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    const std::vector<std::string> args(argv, argv + (argc > 0 ? argc : 0));
    const ConfigLoad load = loadConfig(args);
    PamLogger logger(pamh, load.config.debug);
    // libpam waits this long before reporting a failure of the stack (it takes the longest any
    // module asks for), so that guessing codes or passwords is slow. A broken config keeps the
    // default delay.
    if (load.config.failDelayMs > 0)
        pam_fail_delay(pamh, static_cast<unsigned>(load.config.failDelayMs) * 1000U);

    const char* user = nullptr;
    if (pam_get_user(pamh, &user, nullptr) != PAM_SUCCESS || user == nullptr || *user == '\0') {
        logger.log(LogLevel::Error, "outcome=user_unknown reason=\"no user name\"");
        return PAM_USER_UNKNOWN;
    }
    LoginContext login;
    login.user = user;
    login.rhost = stringItem(pamh, PAM_RHOST);
    login.service = stringItem(pamh, PAM_SERVICE);

    if (!load.ok()) {
        for (const auto& problem : load.problems)
            logger.log(LogLevel::Error, "config: " + problem.describe());
        logger.log(LogLevel::Error, logField("outcome", outcomeName(Outcome::ConfigError)) + " " +
                                        logField("user", login.user) + " " +
                                        logField("rhost", login.rhost.empty() ? "-" : login.rhost) +
                                        " " + logField("service", login.service) +
                                        " reason=\"configuration refused; nothing sent\"");
        return pamCodeFor(Outcome::ConfigError);
    }
    login.userExists = userExists(login.user);
    login.placeholderPassword = hasPlaceholderPassword(pamh);
    if (login.userExists && policyNeedsGroups(load.config)) {
        auto groups = groupsOf(login.user);
        login.groupsKnown = groups.has_value();
        if (groups)
            login.groups = std::move(*groups);
        else
            logger.log(LogLevel::Warning, "cannot list the groups of " + sanitize(login.user) +
                                              "; group exemptions do not apply to this login");
    }
    login.key = keyFor(login);

    CurlVerifyClient client(load.config);
    PamConversation conversation(pamh, flags);
    FileSessionStore sessions(load.config.stateDir);
    FileSendLimiter limiter(load.config.stateDir, load.config.userSendLimit,
                            load.config.sourceSendLimit);
    const std::unique_ptr<EnrolmentSource> enrolments = enrolmentSourceFor(load.config);
    Authenticator authenticator(load.config, client, conversation, *enrolments, sessions, limiter,
                                logger);
    return pamCodeFor(authenticator.authenticate(login));
}

}  // namespace verif8
