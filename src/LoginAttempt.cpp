// How the flow's rooms end a login alike: the table's words, a taken session, a failed call.
#include "LoginAttempt.hpp"

#include "verif8/CallOutcome.hpp"

namespace verif8 {

void endGrace(const LoginServices& services, const LoginAttempt& attempt) {
    if (const Result<> ended = services.grace.end(attempt.login.user); !ended)
        services.logger.log(LogLevel::Error,
                            "grace: a wrong code could not end the account's "
                            "grace: " +
                                sanitize(ended.problem().text));
}

Outcome tellUser(Conversation& conversation, Outcome outcome) {
    const std::string_view told = factsOf(outcome).told;
    if (!told.empty())
        conversation.error(std::string(told));
    return outcome;
}

Outcome sessionTaken(const LoginServices& services, LoginAttempt& attempt, std::string why) {
    attempt.reason = std::move(why);
    return tellUser(services.conversation, Outcome::SessionTaken);
}

Outcome failedCall(const LoginServices& services, LoginAttempt& attempt, const CallResult& result,
                   bool mayFailOpen) {
    attempt.reason = std::string(callStatusName(result.status)) + ": " + result.detail;
    const bool failOpen = services.config.failMode == FailMode::Open;
    if (result.status == CallStatus::Unreachable && failOpen && !mayFailOpen)
        services.logger.log(LogLevel::Notice,
                            "fail_mode=open applies only to a login's first send; this login "
                            "already has a code");
    const Outcome outcome = outcomeOfFailedCall(result.status, failOpen && mayFailOpen);
    if (outcome == Outcome::UnreachableFailOpen) {
        // The administrator chose availability over the second factor for outages.
        services.logger.log(LogLevel::Warning,
                            "fail_mode=open: letting the rest of the stack decide while the "
                            "service is unreachable");
    }
    return tellUser(services.conversation, outcome);
}

}  // namespace verif8
