// SshdCheck: sshd's effective settings (sshd -T) against what the code step needs.
#include "SshdCheck.hpp"

#include <sstream>

#include "Program.hpp"
#include "verif8/Logger.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8::cli {

namespace {
std::string setting(const std::map<std::string, std::string>& settings, const std::string& key,
                    const std::string& fallback) {
    const auto found = settings.find(key);
    return found == settings.end() ? fallback : found->second;
}

// AuthenticationMethods as lists of methods ("keyboard-interactive:pam" counts as
// keyboard-interactive); empty for "any".
std::vector<std::vector<std::string>> methodLists(const std::string& value) {
    std::vector<std::vector<std::string>> lists;
    if (value == "any")
        return lists;
    for (std::string_view list : split(value, " \t\n\v\f\r", EmptyFields::Skip)) {
        std::vector<std::string> methods;
        for (std::string_view method : split(list, ",", EmptyFields::Keep))
            methods.emplace_back(method.substr(0, method.find(':')));
        lists.push_back(methods);
    }
    return lists;
}

bool contains(const std::vector<std::string>& methods, const std::string& method) {
    for (const auto& each : methods)
        if (each == method)
            return true;
    return false;
}
}  // namespace

const char* const kSshdSetups =
    "Password, then a code (both asked through PAM):\n"
    "    UsePAM yes\n"
    "    KbdInteractiveAuthentication yes\n"
    "    PasswordAuthentication no\n"
    "    AuthenticationMethods keyboard-interactive\n"
    "SSH key, then a code (and /etc/pam.d/sshd without common-auth):\n"
    "    UsePAM yes\n"
    "    KbdInteractiveAuthentication yes\n"
    "    PasswordAuthentication no\n"
    "    AuthenticationMethods publickey,keyboard-interactive\n"
    "Both as files: /usr/share/doc/libpam-verif8/examples/sshd_config.d/ (put one in\n"
    "/etc/ssh/sshd_config.d/, then \"sshd -t\" and reload sshd).\n";

SshdSettings parseSshdSettings(const std::string& output) {
    std::map<std::string, std::string> settings;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        const auto space = line.find(' ');
        if (space == std::string::npos || space == 0)
            continue;
        // The first of a repeated key (hostkey, listenaddress) is enough for what is judged.
        settings.emplace(line.substr(0, space), std::string(trim(line.substr(space + 1))));
    }
    return settings;
}

std::vector<SshdFinding> judgeSshd(const std::map<std::string, std::string>& s) {
    std::vector<SshdFinding> findings;
    if (setting(s, "usepam", "no") != "yes")
        findings.push_back({true,
                            "UsePAM is no: sshd never runs PAM, so no ssh login would be "
                            "asked for a code. Set UsePAM yes."});
    // OpenSSH before 8.7 also needs ChallengeResponseAuthentication for PAM's questions.
    const bool keyboardInteractive = setting(s, "kbdinteractiveauthentication", "no") == "yes" &&
                                     setting(s, "challengeresponseauthentication", "yes") == "yes";
    if (!keyboardInteractive)
        findings.push_back({true,
                            "KbdInteractiveAuthentication is no: keyboard-interactive is the only "
                            "way sshd can ask PAM's questions, the code among them. Set "
                            "KbdInteractiveAuthentication yes."});
    const auto lists = methodLists(setting(s, "authenticationmethods", "any"));
    bool passwordMethod = setting(s, "passwordauthentication", "no") == "yes";
    if (!lists.empty()) {
        bool listed = false;
        for (const auto& list : lists)
            listed = listed || contains(list, "password");
        passwordMethod = passwordMethod && listed;
    }
    if (passwordMethod)
        findings.push_back(
            {true,
             "PasswordAuthentication is yes: sshd's \"password\" method answers every question "
             "PAM asks with the password. A client that picks it (ssh -o "
             "PreferredAuthentications=password) would have a code sent and the password typed "
             "in place of the code: the module refuses that, so such logins always fail. With "
             "UsePAM and keyboard-interactive on, passwords are still asked, through PAM: set "
             "PasswordAuthentication no."});
    for (const auto& list : lists) {
        if (contains(list, "keyboard-interactive"))
            continue;
        std::string text;
        for (const auto& method : list)
            text += (text.empty() ? "" : ",") + method;
        findings.push_back({true, "AuthenticationMethods lets \"" + text +
                                      "\" log in without keyboard-interactive: such logins "
                                      "never reach PAM's auth stack and get no code. Add "
                                      "keyboard-interactive to every list."});
    }
    if (lists.empty()) {
        const std::pair<const char*, const char*> alone[] = {
            {"pubkeyauthentication", "an SSH key"},
            {"hostbasedauthentication", "host-based trust"},
            {"gssapiauthentication", "Kerberos (GSSAPI)"}};
        for (const auto& [key, what] : alone) {
            if (setting(s, key, "no") == "yes")
                findings.push_back({false, "AuthenticationMethods is any and " + std::string(key) +
                                               " is yes: an ssh login with " + what +
                                               " alone gets in without a code. For a key and a "
                                               "code, set AuthenticationMethods "
                                               "publickey,keyboard-interactive."});
        }
    }
    return findings;
}

std::vector<SshdFinding> judgeIgnoredLogins(const SshdSettings& s, const Config& config) {
    std::vector<std::string> why;
    if (config.gracePeriod > 0)
        why.emplace_back("grace_period");
    if (!config.exemptUsers.empty() || !config.exemptGroups.empty())
        why.emplace_back("exempt users or groups");
    if (!config.trustedNetworks.empty())
        why.emplace_back("trusted_networks");
    bool keyThenCode = false;
    for (const auto& list : methodLists(setting(s, "authenticationmethods", "any")))
        keyThenCode =
            keyThenCode || (contains(list, "publickey") && contains(list, "keyboard-interactive"));
    if (why.empty() || !keyThenCode)
        return {};
    std::string reasons;
    for (const auto& each : why)
        reasons += (reasons.empty() ? "" : ", ") + each;
    return {{false, "AuthenticationMethods is publickey,keyboard-interactive and the config has " +
                        reasons +
                        ": the module lets those logins through with PAM_IGNORE, not success, "
                        "so on a key-then-code stack (/etc/pam.d/sshd without common-auth) "
                        "they fail unless a line after pam_verif8 says yes (\"auth optional "
                        "pam_permit.so\", as in the example sshd-key-and-code)."}};
}

Result<SshdSettings> readSshdSettings(const std::string& sshd, const std::string& config) {
    std::vector<std::string> argv{sshd, "-T"};
    if (!config.empty()) {
        argv.push_back("-f");
        argv.push_back(config);
    }
    const ProgramRun run = runProgram(argv);
    if (!run.started || run.status != 0)
        return Problem(
            sshd + " -T failed" +
            (run.status >= 0 ? " (exit status " + std::to_string(run.status) + ")" : "") + ": " +
            sanitize(trim(run.output).substr(0, 400)));
    SshdSettings settings = parseSshdSettings(run.output);
    if (settings.count("usepam") == 0)
        return Problem(sshd + " -T printed no usepam setting: not OpenSSH's sshd?");
    return settings;
}

}  // namespace verif8::cli
