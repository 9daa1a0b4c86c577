// Authenticator: the code step of a login, from the user's enrolment to a verified code.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "verif8/Config.hpp"
#include "verif8/Conversation.hpp"
#include "verif8/Enrolment.hpp"
#include "verif8/Logger.hpp"
#include "verif8/Outcome.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

// What the PAM side knows about the login before the code step.
struct LoginContext {
    std::string user;
    std::string rhost;
    std::string service;
    bool userExists = false;
    bool placeholderPassword = false;  // sshd's "\b\n\r\177INCORRECT" for invalid users
};

inline constexpr std::string_view kSshdPlaceholderPrefix = "\b\n\r\177INCORRECT";

// Knows nothing of PAM: it talks to the user through a Conversation and to the API through a
// VerifyClient, and writes one outcome line per login to the Logger.
class Authenticator {
public:
    Authenticator(const Config& config, VerifyClient& client, Conversation& conversation,
                  EnrolmentSource& enrolments, Logger& logger)
        : config_(config),
          client_(client),
          conversation_(conversation),
          enrolments_(enrolments),
          logger_(logger) {}

    Outcome authenticate(const LoginContext& login);

private:
    struct Attempt;
    Outcome run(const LoginContext& login, Attempt& attempt);
    Outcome promptAndValidate(Attempt& attempt);
    std::optional<Outcome> resolveEnrolment(const LoginContext& login, Attempt& attempt);
    Outcome failedCall(const CallResult& result, Attempt& attempt);
    void logOutcome(const LoginContext& login, const Attempt& attempt, Outcome outcome);

    const Config& config_;
    VerifyClient& client_;
    Conversation& conversation_;
    EnrolmentSource& enrolments_;
    Logger& logger_;
};

// What the user typed, trimmed of surrounding white space; whether it can be a code at all.
bool isPlausibleCode(std::string_view code);

}  // namespace verif8
