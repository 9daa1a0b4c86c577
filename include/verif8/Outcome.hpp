// Outcome: how a login's code step ended, and the one table that holds every fact of each way.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "verif8/Logger.hpp"

namespace verif8 {

enum class Outcome {
    Verified,
    TooManyWrongCodes,
    SessionFailed,
    SessionExpired,
    UnenrolledDenied,
    UnenrolledIgnored,
    Exempt,  // exempt user, group or network, or outside only_groups
    Grace,   // verified from the same address for the same service within grace_period
    UserUnknown,
    InvalidUserPassword,  // sshd's placeholder password for an invalid or refused user
    Unreachable,
    UnreachableFailOpen,  // unreachable with fail_mode = open
    LoginTimeout,
    SendLimitReached,
    CertificateInvalid,
    TlsFailed,
    RateLimited,
    ResendTooSoon,
    PhoneBusy,     // another live login holds this phone number's session: nothing sent
    SessionTaken,  // the session was started, resent, checked or verified by another login
    StateBusy,     // the session table stayed locked past its bound (a stopped root process)
    InvalidPhone,
    ConfigError,
    CredentialsRejected,
    BadResponse,
    ConversationFailed,
    NotRoot,         // the module runs without root's rights (a screen locker, say)
    NotRootIgnored,  // the same, for the caller's own account, with nonroot=ignore
    InternalError,   // keep last: kOutcomeCount counts up to it
};

inline constexpr std::size_t kOutcomeCount = static_cast<std::size_t>(Outcome::InternalError) + 1;

// Everything the module decides from how a login ended.
struct OutcomeFacts {
    Outcome outcome;
    int pamCode;            // only Verified maps to PAM_SUCCESS
    std::string_view name;  // the log's outcome= field
    LogLevel level;         // of the outcome line
    // Whether the phone number's Verify session stays recorded for a later login: true unless
    // the API gave a final answer, until which a later login must wait out resend_interval and
    // take the session over with a new code.
    bool keepsSession;
    // What the user is told where the flow ends a login this way with fixed words ("" for none:
    // the flow says nothing, or words with numbers in them).
    std::string_view told;
};

// The table, one row per Outcome in the enum's order (checked when it is compiled).
const std::array<OutcomeFacts, kOutcomeCount>& outcomeTable();
const OutcomeFacts& factsOf(Outcome outcome);

inline int pamCodeFor(Outcome outcome) {
    return factsOf(outcome).pamCode;
}
inline std::string_view outcomeName(Outcome outcome) {
    return factsOf(outcome).name;
}

}  // namespace verif8
