// VerifyClient: the two calls of the Verify API the login needs, and what each can come back as.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "verif8/Channel.hpp"
#include "verif8/SecretString.hpp"
#include "verif8/Session.hpp"

namespace verif8 {

// Everything an initiate call may carry; unset optionals are not sent.
struct InitiateRequest {
    std::string destination;
    Channel channel = Channel::Sms;
    int codeLength = 6;
    int codeValidity = 300;
    std::optional<int> resendingInterval;
    bool resetSession = false;  // a new code for a pending session (sent only when true)
    std::optional<std::string> brand;
    std::optional<std::string> messageTemplate;
    std::optional<std::string> templateKey;
    std::optional<std::string> language;
    std::optional<std::string> smsSource;
    std::optional<std::string> callSource;
    std::optional<std::string> whatsappTemplate;
    std::optional<std::string> clientIp;  // the login's remote address, an IP literal only
};

// How a call ended, in the classes the module decides on.
enum class CallStatus {
    Ok,                   // 200 with a well-formed session
    Unreachable,          // no connection, no answer in time, or HTTP 5xx
    CertificateInvalid,   // TLS peer verification failed
    TlsFailed,            // the TLS handshake failed (old protocol versions only, say)
    RateLimited,          // HTTP 429
    CredentialsRejected,  // 401/1200, or 400/1001 (sub-account not the key's)
    RequestRejected,      // other 4xx about the request: our configuration is wrong
    InvalidDestination,   // 400/1002: the enrolled number is not valid
    ResendTooSoon,        // 403/1400
    SessionNotFound,      // 404
    TlsTooOld,            // 426/1014
    BadResponse,          // malformed, oversized, unexpected status, redirect
    DeadlinePassed,       // login_timeout ran out before or during the call: not an outage
    InternalError,        // our side could not even make the request
};

// The API's error envelope, when an error response carried one (the call's detail tells it).
struct ApiError {
    std::optional<long> code;
    std::string message;  // already stripped of control characters
    std::string errorId;
};

struct CallResult {
    CallStatus status = CallStatus::InternalError;
    long httpStatus = 0;  // 0 when no HTTP answer came
    std::optional<Session> session;
    std::optional<long> retryAfterSeconds;
    // Whether the request went out at all: when not, nothing can have been sent to the phone.
    bool requestSent = true;
    std::string detail;  // safe to log: never holds a code, key or URL with a code
};

class VerifyClient {
public:
    virtual ~VerifyClient() = default;
    // Every call after this ends by `deadline` (the login's time budget), retries included.
    virtual void setDeadline(std::chrono::steady_clock::time_point deadline) = 0;
    virtual CallResult initiate(const InitiateRequest& request) = 0;
    virtual CallResult validate(const std::string& sessionId, const SecretString& code) = 0;
    // Reads the session's status without checking a code.
    virtual CallResult status(const std::string& sessionId) = 0;
};

std::string_view callStatusName(CallStatus status);

}  // namespace verif8
