// The outcome line: the one format of the line every login ends with.
#include "verif8/OutcomeLine.hpp"

#include "verif8/Masking.hpp"

namespace verif8 {

std::string formatOutcomeLine(Outcome outcome, const LoginContext& login,
                              const OutcomeDetails& details) {
    std::string line = logField("outcome", outcomeName(outcome));
    line += " " + logField("user", login.user);
    if (!login.typedUser.empty())
        line += " " + logField("as", login.typedUser);
    line += " " + logField("rhost", login.rhost.empty() ? "-" : login.rhost);
    line += " " + logField("service", login.service.empty() ? "-" : login.service);
    if (details.channel) {
        line += " " + logField("channel", channelName(*details.channel));
        line += " " + logField("to", maskPhoneForLog(details.phone));
    }
    if (!details.sessionId.empty())
        line += " " + logField("session", details.sessionId.substr(0, 8));
    line += " " + logField("attempts", std::to_string(details.attempts));
    if (details.sends > 0)
        line += " " + logField("sends", std::to_string(details.sends));
    line += " " + logField("ms", std::to_string(details.ms));
    if (!details.reason.empty())
        line += " " + logField("reason", details.reason);
    return line;
}

void logOutcome(Logger& logger, Outcome outcome, const LoginContext& login,
                const OutcomeDetails& details) {
    logger.log(factsOf(outcome).level, formatOutcomeLine(outcome, login, details));
}

}  // namespace verif8
