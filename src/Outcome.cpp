// The outcome table: one row per way a login can end, with its PAM code and log name.
#include "verif8/Outcome.hpp"

#include <security/_pam_types.h>

#include <array>

namespace verif8 {

namespace {
struct OutcomeRow {
    Outcome outcome;
    int pamCode;
    std::string_view name;
};

// design.md's return-code table. PAM_IGNORE (never PAM_SUCCESS) for "no second factor applies",
// so that a `sufficient` line cannot be satisfied by an absent factor.
constexpr std::array<OutcomeRow, 28> kOutcomes{{
    {Outcome::Verified, PAM_SUCCESS, "verified"},
    {Outcome::TooManyWrongCodes, PAM_AUTH_ERR, "too_many_wrong_codes"},
    {Outcome::SessionFailed, PAM_AUTH_ERR, "session_failed"},
    {Outcome::SessionExpired, PAM_AUTH_ERR, "session_expired"},
    {Outcome::UnenrolledDenied, PAM_AUTH_ERR, "unenrolled_denied"},
    {Outcome::UnenrolledIgnored, PAM_IGNORE, "unenrolled_ignored"},
    {Outcome::Exempt, PAM_IGNORE, "exempt"},
    {Outcome::UserUnknown, PAM_USER_UNKNOWN, "user_unknown"},
    {Outcome::InvalidUserPassword, PAM_AUTH_ERR, "invalid_user"},
    {Outcome::Unreachable, PAM_AUTHINFO_UNAVAIL, "unreachable"},
    // Only "unreachable" (no connection, no answer in time, HTTP 5xx) is ever relaxed.
    {Outcome::UnreachableFailOpen, PAM_IGNORE, "unreachable_fail_open"},
    {Outcome::LoginTimeout, PAM_AUTH_ERR, "login_timeout"},
    {Outcome::SendLimitReached, PAM_AUTH_ERR, "send_limit"},
    {Outcome::CertificateInvalid, PAM_AUTHINFO_UNAVAIL, "certificate_invalid"},
    {Outcome::TlsFailed, PAM_AUTHINFO_UNAVAIL, "tls_failed"},
    {Outcome::RateLimited, PAM_AUTHINFO_UNAVAIL, "rate_limited"},
    {Outcome::ResendTooSoon, PAM_AUTH_ERR, "resend_too_soon"},
    {Outcome::PhoneBusy, PAM_AUTH_ERR, "phone_busy"},
    // Another login, host or application used this login's session: its VERIFIED could be
    // someone else's code (threat-model rule 1).
    {Outcome::SessionTaken, PAM_AUTH_ERR, "session_taken"},
    // Not a config error (rule 10): the state is fine, a process holding its lock is stopped.
    {Outcome::StateBusy, PAM_AUTHINFO_UNAVAIL, "state_busy"},
    {Outcome::InvalidPhone, PAM_AUTH_ERR, "invalid_phone"},
    {Outcome::ConfigError, PAM_SERVICE_ERR, "config_error"},
    {Outcome::CredentialsRejected, PAM_SERVICE_ERR, "credentials_rejected"},
    {Outcome::BadResponse, PAM_AUTHINFO_UNAVAIL, "bad_response"},
    {Outcome::ConversationFailed, PAM_CONV_ERR, "conversation_failed"},
    // Without root the module can read neither its config nor its state: it cannot decide, and
    // that is not the admin's config error (threat-model rule 10).
    {Outcome::NotRoot, PAM_AUTHINFO_UNAVAIL, "not_root"},
    {Outcome::NotRootIgnored, PAM_IGNORE, "not_root_ignored"},
    {Outcome::InternalError, PAM_SERVICE_ERR, "internal_error"},
}};

const OutcomeRow* rowOf(Outcome outcome) {
    for (const auto& row : kOutcomes) {
        if (row.outcome == outcome)
            return &row;
    }
    return nullptr;
}
}  // namespace

int pamCodeFor(Outcome outcome) {
    const OutcomeRow* row = rowOf(outcome);
    // An outcome missing from the table must still fail closed.
    return row != nullptr ? row->pamCode : PAM_SERVICE_ERR;
}

std::string_view outcomeName(Outcome outcome) {
    const OutcomeRow* row = rowOf(outcome);
    return row != nullptr ? row->name : "internal_error";
}

}  // namespace verif8
