// CallOutcome: how an answer of the Verify API that is not a session to go on with ends a login.
#pragma once

#include <optional>

#include "verif8/Outcome.hpp"
#include "verif8/Session.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

// The outcome of a call that came back without a session. `failOpen`: fail_mode = open and
// this is the login's first send (threat-model rule 7): only then is an unreachable service
// relaxed; once a code was sent or is being checked, an outage never lets the login through.
Outcome outcomeOfFailedCall(CallStatus status, bool failOpen);

// The outcome a final session status ends the login with; none for WAITING and VERIFIED.
std::optional<Outcome> outcomeOfFinalStatus(SessionStatus status);

}  // namespace verif8
