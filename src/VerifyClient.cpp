// Names of call results, for log lines.
#include "verif8/VerifyClient.hpp"

namespace verif8 {

std::string_view callStatusName(CallStatus status) {
    switch (status) {
        case CallStatus::Ok:
            return "ok";
        case CallStatus::Unreachable:
            return "unreachable";
        case CallStatus::CertificateInvalid:
            return "certificate_invalid";
        case CallStatus::TlsFailed:
            return "tls_failed";
        case CallStatus::RateLimited:
            return "rate_limited";
        case CallStatus::CredentialsRejected:
            return "credentials_rejected";
        case CallStatus::RequestRejected:
            return "request_rejected";
        case CallStatus::InvalidDestination:
            return "invalid_destination";
        case CallStatus::ResendTooSoon:
            return "resend_too_soon";
        case CallStatus::SessionNotFound:
            return "session_not_found";
        case CallStatus::TlsTooOld:
            return "tls_too_old";
        case CallStatus::BadResponse:
            return "bad_response";
        case CallStatus::DeadlinePassed:
            return "deadline_passed";
        case CallStatus::InternalError:
            break;
    }
    return "internal_error";
}

}  // namespace verif8
