// check-config: the configuration, the users file, phone_command and state_dir, as the module
// would find them, with secrets masked.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <set>

#include "Commands.hpp"
#include "Setup.hpp"
#include "verif8/Enrolment.hpp"
#include "verif8/Logger.hpp"
#include "verif8/Masking.hpp"
#include "verif8/PhoneCommand.hpp"
#include "verif8/StateDir.hpp"

namespace verif8::cli {

namespace {
std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words)
        text += (text.empty() ? "" : " ") + word;
    return text.empty() ? "(none)" : text;
}

void printSummary(const Config& c, const std::string& path) {
    printf("%s: accepted\n", path.c_str());
    printf("  api key          %s\n",
           c.apiKeyFile.empty() ? "set in the file (masked)" : ("from " + c.apiKeyFile).c_str());
    printf("  sub-account      %s\n", c.subaccountId.c_str());
    printf("  API              %s\n", joined(c.baseUrls()).c_str());
    // The default was fixed when the module was built (meson option default_ca_path).
    const std::string builtIn = std::string(VERIF8_DEFAULT_CA_PATH).empty()
                                    ? "libcurl's own default (built in)"
                                    : VERIF8_DEFAULT_CA_PATH " (built-in default)";
    printf("  CA               %s\n", !c.caFile.empty()   ? c.caFile.c_str()
                                      : !c.caPath.empty() ? c.caPath.c_str()
                                                          : builtIn.c_str());
    printf("  proxy            %s\n", c.httpsProxy.empty() ? "none" : "set (masked)");
    printf("  timeouts         connect %ld s, request %ld s, login %d s\n", c.connectTimeout,
           c.requestTimeout, c.loginTimeout);
    printf("  fail_mode        %s\n", c.failMode == FailMode::Open ? "open" : "closed");
    printf("  code             %d digits, valid %d s, %d attempts, resend after %d s\n",
           c.codeLength, c.codeValidity, c.maxAttempts, c.resendInterval);
    printf("  default channel  %s\n", std::string(channelName(c.channel)).c_str());
    printf("  phones from      %s\n",
           c.phoneCommand.empty() ? c.usersFile.c_str() : joined(c.phoneCommand).c_str());
    printf("  unenrolled       %s\n", c.unenrolled == UnenrolledPolicy::Ignore ? "ignore" : "deny");
    printf("  exempt users     %s\n", joined(c.exemptUsers).c_str());
    printf("  exempt groups    %s\n", joined(c.exemptGroups).c_str());
    printf("  only groups      %s\n", joined(c.onlyGroups).c_str());
    printf("  trusted networks %zu\n", c.trustedNetworks.size());
    printf("  send limits      user %d/%d s, source %d/%d s\n", c.userSendLimit.count,
           c.userSendLimit.seconds, c.sourceSendLimit.count, c.sourceSendLimit.seconds);
    printf("  state_dir        %s\n", c.stateDir.c_str());
}

// The users file as the module reads it: permissions, then every line.
bool checkUsersFile(const Config& c) {
    const auto file = readUsersFile(c.usersFile);
    if (!file) {
        fprintf(stderr, "%s\n", sanitize(file.problem().text).c_str());
        return false;
    }
    const EnrolmentList list = parseEnrolments(file.value().view(), c.channel);
    for (const auto& problem : list.problems)
        fprintf(stderr, "%s:%d: %s\n", c.usersFile.c_str(), problem.line,
                sanitize(problem.text).c_str());
    bool ok = list.problems.empty();
    std::set<Channel> channels;
    for (const auto& entry : list.entries)
        channels.insert(entry.channels.begin(), entry.channels.end());
    if (channels.count(Channel::Whatsapp) != 0 && !c.whatsappTemplate) {
        fprintf(stderr, "%s: users on WhatsApp need whatsapp_template in the config\n",
                c.usersFile.c_str());
        ok = false;
    }
    printf("%s: %zu users, %zu bad lines\n", c.usersFile.c_str(), list.entries.size(),
           list.problems.size());
    return ok;
}

bool checkPhoneCommand(const Config& c) {
    const auto checked = checkPhoneProgram(c.phoneCommand.front());
    if (!checked) {
        fprintf(stderr, "phone_command: %s\n", sanitize(checked.problem().text).c_str());
        return false;
    }
    printf("%s: phone_command ready\n", c.phoneCommand.front().c_str());
    return true;
}

// Checks state_dir without creating it: the module creates it at its first login.
bool checkStateDir(const Config& c) {
    struct stat info {};
    if (lstat(c.stateDir.c_str(), &info) != 0 && errno == ENOENT) {
        printf("%s: not there yet; the module creates it (0700) at its first login\n",
               c.stateDir.c_str());
        return true;
    }
    if (const auto checked = checkStateDirectory(c.stateDir); !checked) {
        fprintf(stderr, "state_dir: %s\n", sanitize(checked.problem().text).c_str());
        return false;
    }
    printf("%s: ready\n", c.stateDir.c_str());
    return true;
}
}  // namespace

int checkConfig(const Options& options) {
    Result<ConfigLoad> loaded = loadForCommand(options);
    if (!loaded) {
        fprintf(stderr,
                "the module would refuse this configuration: every login through it "
                "would fail (PAM_SERVICE_ERR)\n");
        return kExitFailed;
    }
    const ConfigLoad& load = loaded.value();
    printSummary(load.config, load.path);
    bool ok = load.config.phoneCommand.empty() ? checkUsersFile(load.config)
                                               : checkPhoneCommand(load.config);
    ok = checkStateDir(load.config) && ok;
    printf("%s\n",
           ok ? "OK: the module would accept this setup" : "NOT OK: see the problems above");
    return ok ? kExitOk : kExitFailed;
}

}  // namespace verif8::cli
