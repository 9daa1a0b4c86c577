// verif8ctl: the administrator's tool for pam_verif8 (check-config, lookup, test, enrol, grace...).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "Commands.hpp"

namespace {
const char* const kUsage =
    "usage: verif8ctl [--conf PATH] [--rhost ADDR] [--debug] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  check-config          parse the config and users file exactly as the module does;\n"
    "                        print every problem; exit 0 only if the module would accept them\n"
    "  lookup USER           show the user's masked phone, channels and which exemptions apply\n"
    "                        (--rhost ADDR: judge trusted_networks for that address); sends "
    "nothing\n"
    "  test USER             send a real code with the configured settings, ask for it, check it,\n"
    "                        and print each step with its timing and the API's answers\n"
    "  doctor [--service sshd]\n"
    "                        check-config, then sshd's effective settings (sshd -T): can it ask\n"
    "                        for a code through PAM, and can no login skip it or answer the code\n"
    "                        with the password? Exit 0 only if enabling is safe\n"
    "  enable (--user USER | --no-test) [--service sshd]\n"
    "                        doctor, a real test code for USER, then turns on the verif8\n"
    "                        profile with pam-auth-update; refuses and changes nothing when a\n"
    "                        check fails\n"
    "  disable               turns the verif8 profile off with pam-auth-update\n"
    "  enrol [--no-verify] USER PHONE [CHANNEL,...]\n"
    "                        send a code to PHONE (+ and 8 to 15 digits), ask for it, and once\n"
    "                        the API has verified it write USER's line into users_file (its old\n"
    "                        line replaced in place; every other line kept); --no-verify writes\n"
    "                        without a code (bulk imports). Refused when phone_command is set\n"
    "  unenrol USER          remove USER's line from users_file (the same way)\n"
    "  grace list [USER]     the logins grace_period lets in now without a code: account,\n"
    "                        service, address, when the code was verified, time left\n"
    "  grace clear (USER | --all)\n"
    "                        ends that account's grace (or every account's): its next login\n"
    "                        is asked for a code\n"
    "\n"
    "options:\n"
    "  --conf PATH           config file (default /etc/security/pam_verif8.conf)\n"
    "  --rhost ADDR          remote address for lookup\n"
    "  --sshd-config PATH    sshd's config file for doctor and enable (default: sshd's own)\n"
    "  --no-verify           enrol: write the line without sending a code\n"
    "  --all                 grace clear: every account\n"
    "  --debug               log the module's decisions and HTTP statuses too\n"
    "  --help, -h, --version\n";

int usage(const std::string& problem) {
    fprintf(stderr, "verif8ctl: %s\n%s", problem.c_str(), kUsage);
    return verif8::cli::kExitUsage;
}

// enrol USER PHONE [CHANNEL,...], unenrol USER.
int usersFileCommand(const std::vector<std::string>& words, verif8::cli::Options& options) {
    const bool enrol = words[0] == "enrol";
    if (enrol ? words.size() != 3 && words.size() != 4 : words.size() != 2)
        return usage(enrol ? "enrol takes USER PHONE [CHANNEL,...]" : "unenrol takes one USER");
    options.user = words[1];
    if (!enrol)
        return verif8::cli::unenrol(options);
    options.phone = words[2];
    options.channels = words.size() == 4 ? words[3] : "";
    return verif8::cli::enrol(options);
}

// grace list [USER], grace clear (USER | --all).
int graceCommand(const std::vector<std::string>& words, verif8::cli::Options& options) {
    const std::string sub = words.size() > 1 ? words[1] : "";
    options.user = words.size() == 3 ? words[2] : "";
    if (sub == "list" && words.size() <= 3 && !options.all)
        return verif8::cli::graceList(options);
    if (sub == "clear" && (words.size() == 3) != options.all)
        return verif8::cli::graceClear(options);
    return usage("grace takes: list [USER], clear USER, or clear --all");
}

// The field an option without a value sets, or nullptr.
bool* flagOf(const std::string& arg, verif8::cli::Options& options) {
    return arg == "--debug"       ? &options.debug
           : arg == "--no-test"   ? &options.noTest
           : arg == "--no-verify" ? &options.noVerify
           : arg == "--all"       ? &options.all
                                  : nullptr;
}

// The field an option with a value sets, or nullptr.
std::string* valueOf(const std::string& arg, verif8::cli::Options& options) {
    return arg == "--conf"          ? &options.conf
           : arg == "--rhost"       ? &options.rhost
           : arg == "--service"     ? &options.service
           : arg == "--user"        ? &options.user
           : arg == "--sshd-config" ? &options.sshdConfig
                                    : nullptr;
}

int run(const std::vector<std::string>& args) {
    verif8::cli::Options options;
    std::vector<std::string> words;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--help" || arg == "-h") {
            fputs(kUsage, stdout);
            return verif8::cli::kExitOk;
        }
        if (arg == "--version") {
            printf("verif8ctl %s\n", VERIF8_VERSION);
            return verif8::cli::kExitOk;
        }
        if (bool* flag = flagOf(arg, options)) {
            *flag = true;
        } else if (std::string* value = valueOf(arg, options)) {
            if (i + 1 >= args.size())
                return usage(arg + " needs a value");
            *value = args[++i];
        } else if (arg.rfind("--", 0) == 0) {
            return usage("unknown option " + arg);
        } else {
            words.push_back(arg);
        }
    }
    if (words.empty())
        return usage("no command given");
    const std::string& command = words[0];
    if (command == "check-config") {
        if (words.size() != 1)
            return usage("check-config takes no arguments");
        return verif8::cli::checkConfig(options);
    }
    if (command == "doctor" || command == "enable" || command == "disable") {
        if (words.size() != 1)
            return usage(command + " takes options only");
        if (!options.service.empty() && options.service != "sshd")
            return usage("--service: only sshd has settings to check (other services need none)");
        if (command == "disable")
            return verif8::cli::disable(options);
        return command == "doctor" ? verif8::cli::doctor(options) : verif8::cli::enable(options);
    }
    if (command == "grace")
        return graceCommand(words, options);
    if (command == "lookup" || command == "test") {
        if (words.size() != 2)
            return usage(command + " takes one USER");
        options.user = words[1];
        return command == "lookup" ? verif8::cli::lookup(options) : verif8::cli::testSend(options);
    }
    if (command == "enrol" || command == "unenrol")
        return usersFileCommand(words, options);
    return usage("unknown command '" + command + "'");
}
}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& error) {
        fprintf(stderr, "verif8ctl: %s\n", error.what());
    } catch (...) {
        fprintf(stderr, "verif8ctl: unexpected error\n");
    }
    return verif8::cli::kExitFailed;
}
