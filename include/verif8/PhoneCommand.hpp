// PhoneCommand: phone numbers from an administrator's program (directory lookups: LDAP, SSSD).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/Enrolment.hpp"

namespace verif8 {

// Runs `command` (program, then arguments in which "%u" stands for the user) without a shell,
// with an empty environment but PATH, stdin and stderr on /dev/null, and a time limit. Its output
// is one enrolment line without the user: "PHONE [CHANNEL,...]". The program must be a regular
// file owned by `owner`, not writable by group or others. Any failure is logged and leaves the
// user not enrolled; a clean exit with no output means "no phone for this user".
class PhoneCommand : public EnrolmentSource {
public:
    PhoneCommand(std::vector<std::string> command, Channel defaultChannel, uid_t owner = 0,
                 int timeoutMs = 5000)
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

// What would stop the module from running `program` as phone_command ("" if nothing).
std::string phoneProgramProblem(const std::string& program, uid_t owner = 0);

// Where a configuration says phones are: phone_command when set (it replaces the users file),
// else users_file.
std::unique_ptr<EnrolmentSource> enrolmentSourceFor(const Config& config);

}  // namespace verif8
