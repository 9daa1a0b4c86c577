// doctor, enable, disable: the route into the PAM stack that cannot lock anyone out. doctor
// checks the config and sshd; enable runs doctor, tries a real code, then turns the module on.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "Commands.hpp"
#include "Program.hpp"
#include "Setup.hpp"
#include "SshdCheck.hpp"

namespace verif8::cli {

namespace {
constexpr const char* kSshd = "/usr/sbin/sshd";
constexpr const char* kPamAuthUpdate = "/usr/sbin/pam-auth-update";
constexpr const char* kProfile = "/usr/share/pam-configs/verif8";
constexpr const char* kCommonAuth = "/etc/pam.d/common-auth";

bool exists(const char* path) {
    struct stat info {};
    return stat(path, &info) == 0;
}

// sshd's effective settings judged; true when nothing blocks. Says what to change otherwise.
bool checkSshd(const Options& options) {
    const bool wanted = options.service == "sshd";
    if (!exists(kSshd)) {
        if (wanted)
            fprintf(stderr, "sshd: %s is not installed\n", kSshd);
        else
            printf("sshd: not installed, nothing to check\n");
        return !wanted;
    }
    const auto settings = readSshdSettings(kSshd, options.sshdConfig);
    if (!settings) {
        fprintf(stderr, "sshd: %s\n", settings.problem().text.c_str());
        return false;
    }
    std::vector<SshdFinding> findings = judgeSshd(settings.value());
    // The config's own problems were printed by check-config: read quietly here.
    if (const ConfigLoad load = loadConfig(moduleArguments(options)); load.ok())
        for (auto& finding : judgeIgnoredLogins(settings.value(), load.config))
            findings.push_back(std::move(finding));
    bool blocked = false;
    for (const auto& finding : findings) {
        blocked = blocked || finding.blocking;
        fprintf(finding.blocking ? stderr : stdout, "sshd: %s %s\n",
                finding.blocking ? "PROBLEM:" : "note:", finding.text.c_str());
    }
    if (blocked) {
        fprintf(stderr,
                "\nsshd as configured cannot ask for a code safely. Use one of these in "
                "/etc/ssh/sshd_config.d/:\n%s",
                kSshdSetups);
        return false;
    }
    printf("sshd: PAM through keyboard-interactive, no password method: ready\n");
    return true;
}

// Whether /etc/pam.d/common-auth has the module on a line that is not a comment.
bool inCommonAuth() {
    std::ifstream file(kCommonAuth);
    std::string line;
    while (std::getline(file, line)) {
        const auto start = line.find_first_not_of(" \t");
        if (start != std::string::npos && line[start] != '#' &&
            line.find("pam_verif8.so") != std::string::npos)
            return true;
    }
    return false;
}

bool debianProfile() {
    return exists(kPamAuthUpdate) && exists(kProfile);
}

int noPamAuthUpdate(const char* verb) {
    fprintf(stderr,
            "verif8ctl: this system has no pam-auth-update with the verif8 profile (%s, %s), so "
            "verif8ctl cannot %s the module. Nothing was changed. By hand: %s the line\n"
            "    auth required pam_verif8.so\n"
            "after the password lines of /etc/pam.d/sshd (or the other services' files).\n",
            kPamAuthUpdate, kProfile, verb, verb[0] == 'e' ? "add" : "remove");
    return kExitFailed;
}

bool runPamAuthUpdate(const char* action) {
    const ProgramRun run = runProgram({kPamAuthUpdate, action, "verif8"});
    if (!run.started || run.status != 0) {
        fprintf(stderr, "pam-auth-update %s verif8 failed (exit status %d):\n%s\n", action,
                run.status, run.output.c_str());
        return false;
    }
    return true;
}
}  // namespace

int doctor(const Options& options) {
    bool ok = checkConfig(options) == kExitOk;
    ok = checkSshd(options) && ok;
    printf("%s\n", ok ? "doctor: OK, enabling the module is safe"
                      : "doctor: NOT OK, do not enable the module yet (see above)");
    return ok ? kExitOk : kExitFailed;
}

int enable(const Options& options) {
    if (geteuid() != 0) {
        fprintf(stderr, "verif8ctl enable: must run as root\n");
        return kExitFailed;
    }
    if (options.user.empty() && !options.noTest) {
        fprintf(stderr,
                "verif8ctl enable: name a user to receive a test code (--user USER), or "
                "say --no-test\n");
        return kExitUsage;
    }
    if (!debianProfile())
        return noPamAuthUpdate("enable");
    if (inCommonAuth()) {
        printf("pam_verif8 is already in %s; nothing to do\n", kCommonAuth);
        return kExitOk;
    }
    if (doctor(options) != kExitOk) {
        fprintf(stderr, "verif8ctl enable: refused; nothing was changed\n");
        return kExitFailed;
    }
    if (options.noTest) {
        printf("No code was tried (--no-test): verif8ctl test USER tries one.\n");
    } else {
        printf("Sending a test code to %s; type it when asked.\n", options.user.c_str());
        if (testSend(options) != kExitOk) {
            fprintf(stderr,
                    "verif8ctl enable: the test code was not verified; nothing was "
                    "changed\n");
            return kExitFailed;
        }
    }
    if (!runPamAuthUpdate("--enable"))
        return kExitFailed;
    if (!inCommonAuth()) {
        fprintf(stderr,
                "verif8ctl enable: pam-auth-update ran but %s has no pam_verif8.so: "
                "does it keep local changes? See pam-auth-update(8).\n",
                kCommonAuth);
        return kExitFailed;
    }
    printf(
        "Enabled: pam_verif8 is in %s, after the password, for every service that includes "
        "it (sshd, login, su, sudo).\n"
        "Keep this root shell open and try a new login in another terminal before you close "
        "it. \"verif8ctl disable\" takes the module out again.\n",
        kCommonAuth);
    return kExitOk;
}

int disable(const Options& /*options*/) {
    if (geteuid() != 0) {
        fprintf(stderr, "verif8ctl disable: must run as root\n");
        return kExitFailed;
    }
    if (!debianProfile())
        return noPamAuthUpdate("disable");
    if (!runPamAuthUpdate("--disable"))
        return kExitFailed;
    if (inCommonAuth()) {
        fprintf(stderr, "verif8ctl disable: %s still has pam_verif8.so (a line added by hand?)\n",
                kCommonAuth);
        return kExitFailed;
    }
    printf("Disabled: pam_verif8 is no longer in %s.\n", kCommonAuth);
    return kExitOk;
}

}  // namespace verif8::cli
