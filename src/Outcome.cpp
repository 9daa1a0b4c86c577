// The outcome table: one row per way a login can end, with every fact the module decides from it.
#include "verif8/Outcome.hpp"

#include <security/_pam_types.h>

namespace verif8 {

namespace {
constexpr LogLevel kInfo = LogLevel::Info;
constexpr LogLevel kNotice = LogLevel::Notice;
constexpr LogLevel kWarning = LogLevel::Warning;
constexpr LogLevel kError = LogLevel::Error;
constexpr bool kKept = true;
constexpr bool kEnded = false;  // the API gave its final answer: the session is forgotten

// design.md's return-code table. PAM_IGNORE (never PAM_SUCCESS) for "no second factor applies",
// so that a `sufficient` line cannot be satisfied by an absent factor.
constexpr std::array<OutcomeFacts, kOutcomeCount> kOutcomes{{
    {Outcome::Verified, PAM_SUCCESS, "verified", kInfo, kEnded, ""},
    {Outcome::TooManyWrongCodes, PAM_AUTH_ERR, "too_many_wrong_codes", kNotice, kKept, ""},
    {Outcome::SessionFailed, PAM_AUTH_ERR, "session_failed", kNotice, kEnded,
     "Too many wrong codes for this session."},
    {Outcome::SessionExpired, PAM_AUTH_ERR, "session_expired", kNotice, kEnded,
     "The code has expired."},
    {Outcome::UnenrolledDenied, PAM_AUTH_ERR, "unenrolled_denied", kNotice, kKept, ""},
    {Outcome::UnenrolledIgnored, PAM_IGNORE, "unenrolled_ignored", kInfo, kKept, ""},
    {Outcome::Exempt, PAM_IGNORE, "exempt", kInfo, kKept, ""},
    {Outcome::Grace, PAM_IGNORE, "grace", kInfo, kKept, ""},
    {Outcome::UserUnknown, PAM_USER_UNKNOWN, "user_unknown", kNotice, kKept, ""},
    {Outcome::InvalidUserPassword, PAM_AUTH_ERR, "invalid_user", kNotice, kKept, ""},
    {Outcome::Unreachable, PAM_AUTHINFO_UNAVAIL, "unreachable", kWarning, kKept,
     "The verification service cannot be reached."},
    // Only "unreachable" (no connection, no answer in time, HTTP 5xx) is ever relaxed.
    {Outcome::UnreachableFailOpen, PAM_IGNORE, "unreachable_fail_open", kWarning, kKept, ""},
    {Outcome::LoginTimeout, PAM_AUTH_ERR, "login_timeout", kNotice, kKept,
     "The time for the code has run out."},
    {Outcome::SendLimitReached, PAM_AUTH_ERR, "send_limit", kNotice, kKept,
     "Too many codes were sent recently; try again later."},
    {Outcome::CertificateInvalid, PAM_AUTHINFO_UNAVAIL, "certificate_invalid", kWarning, kKept, ""},
    {Outcome::TlsFailed, PAM_AUTHINFO_UNAVAIL, "tls_failed", kWarning, kKept, ""},
    {Outcome::RateLimited, PAM_AUTHINFO_UNAVAIL, "rate_limited", kWarning, kKept,
     "Too many verification requests; try again later."},
    {Outcome::ResendTooSoon, PAM_AUTH_ERR, "resend_too_soon", kNotice, kKept,
     "A code was sent moments ago; wait a little and try again."},
    {Outcome::PhoneBusy, PAM_AUTH_ERR, "phone_busy", kNotice, kKept,
     "Another login is waiting for a code sent to this phone; finish it, or try again when it "
     "has ended."},
    // Another login, host or application used this login's session: its VERIFIED could be
    // someone else's code (threat-model rule 1).
    {Outcome::SessionTaken, PAM_AUTH_ERR, "session_taken", kWarning, kKept,
     "The code for this phone was also asked for somewhere else; try again in a minute."},
    // Not a config error (rule 10): the state is fine, a process holding its lock is stopped.
    {Outcome::StateBusy, PAM_AUTHINFO_UNAVAIL, "state_busy", kWarning, kKept, ""},
    {Outcome::InvalidPhone, PAM_AUTH_ERR, "invalid_phone", kWarning, kKept, ""},
    {Outcome::ConfigError, PAM_SERVICE_ERR, "config_error", kError, kKept, ""},
    {Outcome::CredentialsRejected, PAM_SERVICE_ERR, "credentials_rejected", kError, kKept, ""},
    {Outcome::BadResponse, PAM_AUTHINFO_UNAVAIL, "bad_response", kWarning, kKept, ""},
    {Outcome::ConversationFailed, PAM_CONV_ERR, "conversation_failed", kNotice, kKept, ""},
    // Without root the module can read neither its config nor its state: it cannot decide, and
    // that is not the admin's config error (threat-model rule 10).
    {Outcome::NotRoot, PAM_AUTHINFO_UNAVAIL, "not_root", kError, kKept, ""},
    {Outcome::NotRootIgnored, PAM_IGNORE, "not_root_ignored", kInfo, kKept, ""},
    {Outcome::InternalError, PAM_SERVICE_ERR, "internal_error", kError, kKept, ""},
}};

constexpr bool rowsInEnumOrder() {
    for (std::size_t i = 0; i < kOutcomes.size(); ++i) {
        if (static_cast<std::size_t>(kOutcomes[i].outcome) != i)
            return false;
    }
    return true;
}
// A missing, doubled or misplaced row fails the build, so a lookup by index is always the row.
static_assert(rowsInEnumOrder(), "kOutcomes needs exactly one row per Outcome, in enum order");
}  // namespace

const std::array<OutcomeFacts, kOutcomeCount>& outcomeTable() {
    return kOutcomes;
}

const OutcomeFacts& factsOf(Outcome outcome) {
    const auto index = static_cast<std::size_t>(outcome);
    // A value outside the enum must still fail closed.
    return index < kOutcomes.size() ? kOutcomes[index] : kOutcomes.back();
}

}  // namespace verif8
