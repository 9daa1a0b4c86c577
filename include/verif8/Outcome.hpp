// Outcome: how a login's code step ended, and the one table that maps it to a PAM return code.
#pragma once

#include <string_view>

namespace verif8 {

enum class Outcome {
    Verified,
    TooManyWrongCodes,
    SessionFailed,
    SessionExpired,
    UnenrolledDenied,
    UnenrolledIgnored,
    Exempt,  // exempt user, group or network, or outside only_groups
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
    InternalError,
};

// The PAM return code for an outcome. This is the only place that decides it; only Verified
// maps to PAM_SUCCESS.
int pamCodeFor(Outcome outcome);

// The name used in the log's outcome= field.
std::string_view outcomeName(Outcome outcome);

}  // namespace verif8
