// enrol, unenrol: a user's line of users_file written once the API has verified a code sent to
// the number, or taken out; the file itself is changed by UsersFileEditor.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "Commands.hpp"
#include "Console.hpp"
#include "Setup.hpp"
#include "verif8/CodeStep.hpp"
#include "verif8/Enrolment.hpp"
#include "verif8/LoginUser.hpp"
#include "verif8/Masking.hpp"
#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"
#include "verif8/UsersFileEditor.hpp"

namespace verif8::cli {

namespace {
constexpr const char* kNothingDone = "nothing was sent or written";

// The number being enrolled, as the one enrolment the code step can find.
class NewEnrolment : public EnrolmentSource {
public:
    explicit NewEnrolment(Enrolment entry) : entry_(std::move(entry)) {}
    EnrolmentLookup find(const std::string& user) override {
        EnrolmentLookup lookup;
        if (user == entry_.user) {
            lookup.kind = EnrolmentLookup::Kind::Found;
            lookup.entry = entry_;
        }
        return lookup;
    }

private:
    Enrolment entry_;
};

int refuse(const char* command, const std::string& why, const char* after = kNothingDone) {
    fprintf(stderr, "verif8ctl %s: %s; %s\n", command, sanitize(why).c_str(), after);
    return kExitFailed;
}

// The loaded config, or nullptr (the reason printed) when there is none or the users file is not
// where the module takes numbers from.
const Config* configFor(const char* command, const Result<ConfigLoad>& load) {
    if (!load)
        return nullptr;
    const Config& config = load.value().config;
    if (config.phoneCommand.empty())
        return &config;
    refuse(command,
           "refused: phone_command is set (" + config.phoneCommand.front() +
               "), so the module takes every phone number from that program and never reads "
               "users_file: change the number where that program finds it");
    return nullptr;
}

struct NewLine {
    std::string text;  // as written to the users file
    Enrolment entry;
};

// USER's line, checked as the module will read it. Channels are written in the file's own
// spelling; without any, none are written, so that the config's `channel` applies.
Result<NewLine> newLine(const Config& config, const std::string& user, const Options& options) {
    if (!isValidPhone(options.phone))
        return Problem(
            "PHONE must be in international form: '+' and 8 to 15 digits, no spaces "
            "(+6591234567)");
    if (hasControlOrSpace(user) || user.front() == '#')
        return Problem("the user name '" + user + "' cannot be written in the users file");
    const std::string channels = options.channels.empty() ? "" : " " + options.channels;
    auto parsed = parseEnrolmentLine(user + " " + options.phone + channels, config.channel);
    if (!parsed)
        return Problem(parsed.problem().text);
    NewLine line{user + " " + options.phone, std::move(parsed).value()};
    if (!options.channels.empty())
        line.text += " " + channelList(line.entry.channels, ",");
    for (Channel channel : line.entry.channels)
        if (channel == Channel::Whatsapp && !config.whatsappTemplate)
            return Problem("whatsapp needs whatsapp_template in the config");
    return line;
}

// Before a code is spent: the users file must be one the module accepts (or not there yet, in a
// directory that is), and state_dir, which holds the lock, must be usable.
Result<> readyToWrite(const Config& config) {
    struct stat info {};
    if (lstat(config.usersFile.c_str(), &info) == 0 || errno != ENOENT) {
        if (auto text = readUsersFile(config.usersFile); !text)
            return Problem("the module would refuse the users file: " + text.problem().text);
    } else {
        const std::string dir = config.usersFile.substr(0, config.usersFile.rfind('/') + 1);
        if (stat(dir.empty() ? "." : dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
            return Problem(config.usersFile + ": its directory is missing");
    }
    return prepareStateDirectory(config.stateDir);
}

// The code step of a login, for the new number: exemptions are about logins, and the number is
// checked whoever will log in with it. Send limits and the one-session-per-number rule hold.
Outcome verifyNumber(const Config& config, const LoginContext& user, const Enrolment& entry,
                     bool debug) {
    Config checking = config;
    checking.exemptUsers.clear();
    checking.exemptGroups.clear();
    checking.onlyGroups.clear();
    checking.trustedNetworks.clear();
    LoginContext login = user;
    login.service = "verif8ctl";
    login.rhost.clear();
    login.key = "verif8ctl-enrol:" + std::to_string(getpid()) + ":" + std::to_string(time(nullptr));
    NewEnrolment source(entry);
    ConsoleConversation conversation;
    ConsoleLogger logger(debug);
    return runCodeStep(checking, login, conversation, logger, nullptr, &source);
}

UsersFileTarget targetOf(const Config& config) {
    UsersFileTarget target;
    target.path = config.usersFile;
    target.lockPath = config.stateDir + "/users.lock";
    return target;
}

// An edit killed before its rename (verif8ctl itself, or the machine going down) leaves its temp
// file beside the users file; the next edit removes it, and says so.
void sayLeftovers(const std::string& usersFile, const UsersFileEdit& edit) {
    if (edit.leftoversRemoved > 0)
        printf("%s: removed %d temp file%s that an interrupted edit left beside it\n",
               usersFile.c_str(), edit.leftoversRemoved, edit.leftoversRemoved == 1 ? "" : "s");
}

void sayWhoItIs(const LoginContext& login) {
    if (!login.typedUser.empty())
        printf("%s: is the account %s; its line is written for %s\n",
               sanitize(login.typedUser).c_str(), sanitize(login.user).c_str(),
               sanitize(login.user).c_str());
}
}  // namespace

int enrol(const Options& options) {
    const Result<ConfigLoad> load = loadForCommand(options);
    const Config* config = configFor("enrol", load);
    if (!config)
        return kExitFailed;
    LoginContext login;
    resolveLoginUser(*config, options.user, login);
    if (!login.userExists)
        return refuse("enrol", "no such user '" + options.user + "'");
    const auto line = newLine(*config, login.user, options);
    if (!line)
        return refuse("enrol", line.problem().text);
    if (const auto ready = readyToWrite(*config); !ready)
        return refuse("enrol", ready.problem().text);
    sayWhoItIs(login);
    const std::string masked = maskPhoneForLog(options.phone);
    if (options.noVerify) {
        printf("NOT VERIFIED: --no-verify: no code was sent to %s\n", masked.c_str());
    } else {
        const Outcome outcome = verifyNumber(*config, login, line.value().entry, options.debug);
        if (outcome != Outcome::Verified)
            return refuse("enrol",
                          "the number was not verified (" + std::string(outcomeName(outcome)) + ")",
                          "nothing was written");
    }
    const auto edit = editUsersFile(targetOf(*config), login.user, line.value().text);
    if (!edit)
        return refuse("enrol", edit.problem().text, "nothing was written");
    sayLeftovers(config->usersFile, edit.value());
    const std::string user = sanitize(login.user);
    if (edit.value().created)
        printf("%s: created (root's, mode 0600)\n", config->usersFile.c_str());
    if (edit.value().found > 1)
        printf("%s: its %d lines (a user listed twice is not enrolled) replaced by one\n",
               user.c_str(), edit.value().found);
    else if (edit.value().found == 1)
        printf("%s: its line replaced in place\n", user.c_str());
    printf("%s: enrolled in %s: phone %s, channels %s (%s)\n", user.c_str(),
           config->usersFile.c_str(), masked.c_str(),
           channelList(line.value().entry.channels, ", ").c_str(),
           options.noVerify ? "NOT verified: --no-verify" : "verified by a code");
    return kExitOk;
}

// The user need not exist: removing the line of an account already deleted is the usual case.
int unenrol(const Options& options) {
    const Result<ConfigLoad> load = loadForCommand(options);
    const Config* config = configFor("unenrol", load);
    if (!config)
        return kExitFailed;
    LoginContext login;
    resolveLoginUser(*config, options.user, login);
    const std::string name = login.userExists ? login.user : options.user;
    if (const auto ready = prepareStateDirectory(config->stateDir); !ready)
        return refuse("unenrol", ready.problem().text, "nothing was written");
    if (login.userExists)
        sayWhoItIs(login);
    const auto edit = editUsersFile(targetOf(*config), name, std::nullopt);
    if (!edit)
        return refuse("unenrol", edit.problem().text, "nothing was written");
    sayLeftovers(config->usersFile, edit.value());
    printf("%s: removed from %s (%d line%s)\n", sanitize(name).c_str(), config->usersFile.c_str(),
           edit.value().found, edit.value().found == 1 ? "" : "s");
    return kExitOk;
}

}  // namespace verif8::cli
