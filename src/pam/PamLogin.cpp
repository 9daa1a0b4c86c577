// PamLogin: reads the login's PAM items, loads the config and runs the Authenticator.
#include "PamLogin.hpp"

#include <security/pam_ext.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "PamConversation.hpp"
#include "PamLogger.hpp"
#include "verif8/Account.hpp"
#include "verif8/Authenticator.hpp"
#include "verif8/CallerEnvironment.hpp"
#include "verif8/CodeStep.hpp"
#include "verif8/ConfigFile.hpp"
#include "verif8/LoginUser.hpp"
#include "verif8/OutcomeLine.hpp"
#include "verif8/Policy.hpp"
#include "verif8/SessionStore.hpp"

extern char** environ;

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
std::string keyFor(const LoginContext& login, const pam_handle_t* pamh) {
    std::string key = loginKey(login.user, login.service, login.rhost, pamh);
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

// The caller of su or sudo chose the umask: files the module creates get their mode from it
// no matter what (StateDir sets it explicitly too). Restored when the module returns.
class PrivateUmask {
public:
    PrivateUmask() : saved_(umask(077)) {}
    ~PrivateUmask() { umask(saved_); }
    PrivateUmask(const PrivateUmask&) = delete;
    PrivateUmask& operator=(const PrivateUmask&) = delete;

private:
    mode_t saved_;
};

// Every refusal before the Authenticator runs ends like one of its logins: an outcome, its one
// outcome line, and the outcome table's PAM code.
int refuse(Logger& logger, Outcome outcome, const LoginContext& login, std::string reason,
           std::chrono::steady_clock::time_point start) {
    OutcomeDetails details;
    details.ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
    details.reason = std::move(reason);
    logOutcome(logger, outcome, login, details);
    return pamCodeFor(outcome);
}

// Variables a caller sets to make libcurl or OpenSSL write a file, load code or change whom they
// trust never reach them (CurlVerifyClient runs them in an empty environment); the log says
// someone tried. From a setuid program (real and effective uid differ) it is a warning.
void reportCallerEnvironment(Logger& logger) {
    const std::vector<std::string> names = riskyVariables(environ);
    if (names.empty())
        return;
    std::string list;
    for (const auto& name : names)
        list += (list.empty() ? "" : ",") + name;
    const std::string line = "caller's environment sets " + sanitize(list) +
                             "; libcurl and OpenSSL run without the caller's environment";
    if (getuid() != geteuid())
        logger.log(LogLevel::Warning, line);
    else
        logger.debug(line);
}

// Without root the module can read neither its config nor its state (both root-only): a screen
// locker running common-auth as the desktop user, say. Nothing can be decided, so it says why
// instead of reporting a config error; with nonroot=ignore it steps aside, but only for the
// caller's own account, so no unprivileged program can use it to skip another user's code.
int refuseNonRoot(pam_handle_t* pamh, const std::vector<std::string>& args, const char* user,
                  std::chrono::steady_clock::time_point start) {
    ConfigLoad early;
    readEarlyArguments(args, early);
    PamLogger logger(pamh, early.config.debug);
    LoginContext login;
    login.service = stringItem(pamh, PAM_SERVICE);
    login.rhost = stringItem(pamh, PAM_RHOST);
    resolveLoginUser(early.config, user != nullptr ? user : "", login);
    for (const auto& problem : early.problems)
        logger.log(LogLevel::Error, "config: " + problem.describe());
    const auto account = login.userExists ? resolveAccount(login.user) : std::nullopt;
    const bool ownAccount = account && account->uid == getuid() && getuid() == geteuid();
    const std::string caller = "caller is not root (uid " + std::to_string(geteuid()) + ")";
    if (early.ok() && early.config.nonRoot == NonRootMode::Ignore && ownAccount)
        return refuse(logger, Outcome::NotRootIgnored, login,
                      caller + ", own account, nonroot=ignore; nothing sent", start);
    return refuse(logger, Outcome::NotRoot, login,
                  caller + ": the module needs root to read its configuration; nothing sent",
                  start);
}
}  // namespace

int authenticateLogin(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::string> args(argv, argv + (argc > 0 ? argc : 0));
    const char* user = nullptr;
    const bool haveUser =
        pam_get_user(pamh, &user, nullptr) == PAM_SUCCESS && user != nullptr && *user != '\0';
    if (geteuid() != 0)
        return refuseNonRoot(pamh, args, haveUser ? user : nullptr, start);

    const PrivateUmask privateUmask;
    const ConfigLoad load = loadConfig(args);
    PamLogger logger(pamh, load.config.debug);
    // libpam waits this long before reporting a failure of the stack (it takes the longest any
    // module asks for), so that guessing codes or passwords is slow. A broken config keeps the
    // default delay.
    if (load.config.failDelayMs > 0)
        pam_fail_delay(pamh, static_cast<unsigned>(load.config.failDelayMs) * 1000U);
    reportCallerEnvironment(logger);

    LoginContext login;
    login.rhost = stringItem(pamh, PAM_RHOST);
    login.service = stringItem(pamh, PAM_SERVICE);
    if (!haveUser)
        return refuse(logger, Outcome::UserUnknown, login, "no user name", start);
    resolveLoginUser(load.config, user, login);

    if (!load.ok()) {
        for (const auto& problem : load.problems)
            logger.log(LogLevel::Error, "config: " + problem.describe());
        return refuse(logger, Outcome::ConfigError, login, "configuration refused; nothing sent",
                      start);
    }
    login.placeholderPassword = hasPlaceholderPassword(pamh);
    if (!login.typedUser.empty())
        logger.log(LogLevel::Notice, "user name " + logField("as", login.typedUser) +
                                         " is the account " + logField("user", login.user) +
                                         "; treated as " + sanitize(login.user));
    if (login.userExists && !login.groupsKnown)
        logger.log(LogLevel::Warning, "cannot list the groups of " + sanitize(login.user) +
                                          "; group exemptions do not apply to this login");
    login.key = keyFor(login, pamh);

    PamConversation conversation(pamh, flags);
    return pamCodeFor(runCodeStep(load.config, login, conversation, logger));
}

}  // namespace verif8
