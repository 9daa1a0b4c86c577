// LoginAttempt: one login's code step as the flow's rooms share it, and what each of them uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "verif8/Config.hpp"
#include "verif8/Conversation.hpp"
#include "verif8/Enrolment.hpp"
#include "verif8/GraceStore.hpp"
#include "verif8/Logger.hpp"
#include "verif8/LoginContext.hpp"
#include "verif8/Outcome.hpp"
#include "verif8/SendLimiter.hpp"
#include "verif8/SessionLease.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

struct LoginClocks {
    std::function<std::chrono::steady_clock::time_point()> steady;  // measures login_timeout
    std::function<std::int64_t()> boot;          // shared by every process (claims, lifetimes)
    std::function<void(std::int64_t ms)> sleep;  // empty: the thread sleeps
};

// What a login talks to, borrowed from the Authenticator for the length of one login.
struct LoginServices {
    const Config& config;
    VerifyClient& client;
    Conversation& conversation;
    SendLimiter& limiter;
    GraceStore& grace;
    Logger& logger;
    const LoginClocks& clocks;
};

struct LoginAttempt {
    explicit LoginAttempt(const LoginContext& context) : login(context) {}

    const LoginContext& login;
    std::chrono::steady_clock::time_point start;
    std::chrono::steady_clock::time_point deadline;
    std::int64_t deadlineMs = 0;  // the deadline on the boot clock, for the lease
    std::optional<Enrolment> enrolment;
    std::optional<SessionLease> lease;  // from the claim on the enrolled phone on
    int tries = 0;                      // answers the user gave, good or bad
    int wasted = 0;                     // answers that count against max_attempts
    int wrongCodes = 0;                 // answers the API judged wrong
    bool passwordAnswered = false;      // the host answered a code prompt with the password
    bool sendTaken = false;             // the next send was already counted against the limits
    std::string reason;                 // the outcome line's reason=, when the outcome needs one
};

// What one answer at the prompt, or one send, led to: the end of the login, or the next notice,
// which counts against max_attempts when `wasted`.
struct Step {
    std::optional<Outcome> end;
    std::string notice;
    bool wasted = false;
};
inline Step ended(Outcome outcome) {
    return Step{outcome, "", false};
}
inline Step wasted(std::string notice) {
    return Step{std::nullopt, std::move(notice), true};
}
inline Step carryOn(std::string notice) {
    return Step{std::nullopt, std::move(notice), false};
}

// The send limits count per source; a login without a remote host is "local".
inline std::string sendSource(const LoginContext& login) {
    return login.rhost.empty() ? "local" : login.rhost;
}

// Ends every grace of the login's account at once: a wrong code was typed for it, by someone who
// has the password (or key) and is guessing, wherever they are.
void endGrace(const LoginServices& services, const LoginAttempt& attempt);
// Tells the user the outcome table's words for `outcome` and returns it.
Outcome tellUser(Conversation& conversation, Outcome outcome);
// Another login or host used this login's session: `why` goes to the outcome line.
Outcome sessionTaken(const LoginServices& services, LoginAttempt& attempt, std::string why);
// Ends the login for a call that came back without a session to go on with. `mayFailOpen`:
// only for this login's first send (CallOutcome.hpp).
Outcome failedCall(const LoginServices& services, LoginAttempt& attempt, const CallResult& result,
                   bool mayFailOpen);

}  // namespace verif8
