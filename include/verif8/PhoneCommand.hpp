// PhoneCommand: phone numbers from an administrator's program (directory lookups: LDAP, SSSD).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/Enrolment.hpp"
#include "verif8/Result.hpp"
#include "verif8/SafeFile.hpp"

namespace verif8 {

// Runs `command` (program, then arguments in which "%u" stands for the user) without a shell,
// as root with nothing of the calling process's (su's caller chose its real uid, groups,
// directory, umask, limits, ignored signals and terminal): all ids 0, no supplementary groups,
// in /, umask 077, PATH, LC_ALL=C and HOME=/ only, fixed limits, default signals, a session of
// its own, stdin and stderr on /dev/null. The time limit covers its whole life. Its output is
// one enrolment line without the user: "PHONE [CHANNEL,...]". The program must be a regular file
// owned by `owner`, not writable by group or others. A clean exit with no output means "no phone
// for this user"; any failure is Unavailable (the login fails closed, whatever unenrolled says).
class PhoneCommand : public EnrolmentSource {
public:
    PhoneCommand(std::vector<std::string> command, Channel defaultChannel,
                 uid_t owner = kTrustedOwner, int timeoutMs = 5000)
        : command_(std::move(command)),
          defaultChannel_(defaultChannel),
          owner_(owner),
          timeoutMs_(timeoutMs) {}

    EnrolmentLookup find(const std::string& user) override;

    static constexpr std::size_t kMaxOutput = 4096;

private:
    std::vector<std::string> command_;
    Channel defaultChannel_;
    uid_t owner_;
    int timeoutMs_;
};

// What would stop the module from running `program` as phone_command, checked as find() checks it.
Result<> checkPhoneProgram(const std::string& program, uid_t owner = kTrustedOwner);

// Where a configuration says phones are: phone_command when set (it replaces the users file),
// else users_file.
std::unique_ptr<EnrolmentSource> enrolmentSourceFor(const Config& config);

}  // namespace verif8
