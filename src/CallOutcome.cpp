// The failure classification: from what a Verify call came back as to how the login ends.
#include "verif8/CallOutcome.hpp"

namespace verif8 {

Outcome outcomeOfFailedCall(CallStatus status, bool failOpen) {
    switch (status) {
        case CallStatus::DeadlinePassed:  // login_timeout ran out: not an outage
            return Outcome::LoginTimeout;
        case CallStatus::Unreachable:
            return failOpen ? Outcome::UnreachableFailOpen : Outcome::Unreachable;
        case CallStatus::CertificateInvalid:
            return Outcome::CertificateInvalid;
        case CallStatus::TlsFailed:
            return Outcome::TlsFailed;
        case CallStatus::RateLimited:
            return Outcome::RateLimited;
        case CallStatus::CredentialsRejected:
            return Outcome::CredentialsRejected;
        case CallStatus::RequestRejected:
        case CallStatus::TlsTooOld:
            return Outcome::ConfigError;
        case CallStatus::InvalidDestination:
            return Outcome::InvalidPhone;
        case CallStatus::ResendTooSoon:
            return Outcome::ResendTooSoon;
        case CallStatus::SessionNotFound:
            return Outcome::SessionExpired;
        case CallStatus::BadResponse:
        case CallStatus::Ok:  // only without a session, which a client must never return
            return Outcome::BadResponse;
        case CallStatus::InternalError:
            break;
    }
    return Outcome::InternalError;
}

std::optional<Outcome> outcomeOfFinalStatus(SessionStatus status) {
    switch (status) {
        case SessionStatus::Failed:
            return Outcome::SessionFailed;
        case SessionStatus::Expired:
            return Outcome::SessionExpired;
        case SessionStatus::Verified:
        case SessionStatus::Waiting:
            break;
    }
    return std::nullopt;
}

}  // namespace verif8
