// OutcomeLine: the one log line every login ends with, wherever it ended.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "verif8/Channel.hpp"
#include "verif8/Logger.hpp"
#include "verif8/LoginContext.hpp"
#include "verif8/Outcome.hpp"

namespace verif8 {

// What the line says beyond the outcome and who logged in; what is unset is left out.
struct OutcomeDetails {
    std::optional<Channel> channel;  // with `phone`: the login reached an enrolment
    std::string phone;               // masked in the line
    std::string sessionId;           // only its first 8 characters are logged
    int attempts = 0;                // answers the user gave
    int sends = 0;
    std::int64_t ms = 0;  // how long the login took
    std::string reason;   // why it ended, when the outcome does not say it all
};

// outcome= user= [as=] rhost= service= [channel= to=] [session=] attempts= [sends=] ms= [reason=]
std::string formatOutcomeLine(Outcome outcome, const LoginContext& login,
                              const OutcomeDetails& details);
// Writes that line at the outcome's level (Outcome.hpp).
void logOutcome(Logger& logger, Outcome outcome, const LoginContext& login,
                const OutcomeDetails& details);

}  // namespace verif8
