// PamLogin: reads the login's PAM items, loads the config and runs the Authenticator.
#include "PamLogin.hpp"

#include <grp.h>
#include <pwd.h>
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

// getpwnam_r, so that a module in a threaded host does not share getpwnam's static buffer; the
// buffer grows for entries larger than the system's suggestion (long GECOS fields, NSS modules).
bool userExists(const std::string& user) {
    const long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 4096);
    constexpr std::size_t kMaxBuffer = 1 << 20;
    for (;;) {
        passwd entry{};
        passwd* found = nullptr;
        const int error = getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
        if (error == ERANGE && buffer.size() < kMaxBuffer) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        return error == 0 && found != nullptr;
    }
}

// Names of every group the user is in, primary included (getgrouplist goes through NSS, so
// directory groups count too).
std::optional<std::vector<std::string>> groupsOf(const std::string& user) {
    std::vector<std::string> names;
    const long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    if (getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr)
        return std::nullopt;
    int count = 64;
    std::vector<gid_t> gids(static_cast<std::size_t>(count));
    if (getgrouplist(user.c_str(), found->pw_gid, gids.data(), &count) < 0) {
        gids.resize(static_cast<std::size_t>(count));
        if (getgrouplist(user.c_str(), found->pw_gid, gids.data(), &count) < 0)
            return std::nullopt;
    }
    gids.resize(static_cast<std::size_t>(count));
    std::vector<char> groupBuffer(65536);
    for (gid_t gid : gids) {
        group entryGroup{};
        group* foundGroup = nullptr;
        if (getgrgid_r(gid, &entryGroup, groupBuffer.data(), groupBuffer.size(), &foundGroup) ==
                0 &&
            foundGroup != nullptr)
            names.emplace_back(foundGroup->gr_name);
    }
    return names;
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
                                        logField("service", login.service) +
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
    // phone_command, when set, replaces the users file (directory-backed enrolment).
    std::unique_ptr<EnrolmentSource> enrolments;
    if (!load.config.phoneCommand.empty())
        enrolments = std::make_unique<PhoneCommand>(load.config.phoneCommand, load.config.channel);
    else
        enrolments = std::make_unique<UsersFile>(load.config.usersFile, load.config.channel);
    Authenticator authenticator(load.config, client, conversation, *enrolments, sessions, limiter,
                                logger);
    return pamCodeFor(authenticator.authenticate(login));
}

}  // namespace verif8
