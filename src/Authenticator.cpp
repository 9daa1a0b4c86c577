// Authenticator: the login flow of design.md, against VerifyClient and Conversation.
#include "verif8/Authenticator.hpp"

#include <chrono>

#include "verif8/Masking.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

struct Authenticator::Attempt {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::optional<Enrolment> enrolment;
    Channel channel = Channel::Sms;
    std::string sessionId;
    int tries = 0;       // answers the user gave, good or bad
    std::string reason;  // why it ended, when that is not obvious from the outcome
};

namespace {
std::string attemptsLeftText(int left) {
    return std::to_string(left) + (left == 1 ? " attempt" : " attempts") + " left.";
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

LogLevel levelFor(Outcome outcome) {
    switch (outcome) {
        case Outcome::Verified:
        case Outcome::UnenrolledIgnored:
            return LogLevel::Info;
        case Outcome::ConfigError:
        case Outcome::CredentialsRejected:
        case Outcome::InternalError:
            return LogLevel::Error;
        case Outcome::Unreachable:
        case Outcome::CertificateInvalid:
        case Outcome::RateLimited:
        case Outcome::BadResponse:
        case Outcome::InvalidPhone:
            return LogLevel::Warning;
        default:
            return LogLevel::Notice;
    }
}
}  // namespace

bool isPlausibleCode(std::string_view code) {
    if (code.size() < 3 || code.size() > 10)
        return false;
    for (char c : code) {
        if (!isAsciiAlnum(c) && c != '-')
            return false;
    }
    return true;
}

Outcome Authenticator::authenticate(const LoginContext& login) {
    Attempt attempt;
    const Outcome outcome = run(login, attempt);
    logOutcome(login, attempt, outcome);
    return outcome;
}

Outcome Authenticator::run(const LoginContext& login, Attempt& attempt) {
    // Nothing is sent for a login that cannot succeed: an SMS costs money and tells the phone's
    // owner that someone tried.
    if (login.placeholderPassword) {
        attempt.reason = "sshd marked this login invalid";
        return Outcome::InvalidUserPassword;
    }
    if (!login.userExists) {
        attempt.reason = "no such user";
        return Outcome::UserUnknown;
    }
    if (const auto stop = resolveEnrolment(login, attempt))
        return *stop;
    attempt.channel = attempt.enrolment->channels.front();
    if (attempt.channel == Channel::Whatsapp && !config_.whatsappTemplate) {
        attempt.reason = "whatsapp_template is required for users on WhatsApp";
        return Outcome::ConfigError;
    }

    InitiateRequest request;
    request.destination = attempt.enrolment->phone;
    request.channel = attempt.channel;
    request.codeLength = config_.codeLength;
    request.codeValidity = config_.codeValidity;
    request.brand = config_.brand;
    request.messageTemplate = config_.messageTemplate;
    request.templateKey = config_.templateKey;
    request.language = config_.language;
    request.smsSource = config_.smsSender;
    request.callSource = config_.voiceCallerId;
    request.whatsappTemplate = config_.whatsappTemplate;
    const CallResult sent = client_.initiate(request);
    logger_.debug("initiate: " + std::string(callStatusName(sent.status)) + ", " + sent.detail);
    if (sent.status != CallStatus::Ok || !sent.session)
        return failedCall(sent, attempt);
    attempt.sessionId = sent.session->id;
    if (sent.session->status != SessionStatus::Waiting) {
        attempt.reason =
            "a new session came back " + std::string(sessionStatusName(sent.session->status));
        return outcomeOfFinalStatus(sent.session->status).value_or(Outcome::BadResponse);
    }
    return promptAndValidate(attempt);
}

std::optional<Outcome> Authenticator::resolveEnrolment(const LoginContext& login,
                                                       Attempt& attempt) {
    EnrolmentLookup lookup = enrolments_.find(login.user);
    for (const auto& problem : lookup.problems)
        logger_.log(LogLevel::Error, sanitize(problem));
    switch (lookup.kind) {
        case EnrolmentLookup::Kind::Found:
            attempt.enrolment = std::move(lookup.entry);
            return std::nullopt;
        case EnrolmentLookup::Kind::Unavailable:
            attempt.reason = "users file unusable";
            return Outcome::ConfigError;
        case EnrolmentLookup::Kind::NotEnrolled:
            break;
    }
    attempt.reason = lookup.problems.empty() ? "no phone number" : "bad users file line";
    if (config_.unenrolled == UnenrolledPolicy::Ignore)
        return Outcome::UnenrolledIgnored;
    return Outcome::UnenrolledDenied;
}

Outcome Authenticator::promptAndValidate(Attempt& attempt) {
    std::string notice = "Code sent by " + std::string(channelDisplayName(attempt.channel)) +
                         " to " + maskPhoneForPrompt(attempt.enrolment->phone) + ".";
    for (;;) {
        // The notice travels inside the prompt: sshd holds separate info messages back until
        // after the user has answered.
        const std::optional<SecretString> reply =
            conversation_.askSecret(notice + "\nVerification code: ");
        if (!reply) {
            attempt.reason = "no answer to the prompt";
            return Outcome::ConversationFailed;
        }
        ++attempt.tries;
        const int left = config_.maxAttempts - attempt.tries;
        const std::string_view typed = trim(reply->view());
        if (!isPlausibleCode(typed)) {
            notice = "That is not a code: codes are 3 to 10 letters or digits.";
        } else {
            const CallResult checked = client_.validate(attempt.sessionId, SecretString(typed));
            logger_.debug("validate: " + std::string(callStatusName(checked.status)) + ", " +
                          checked.detail);
            if (checked.status != CallStatus::Ok || !checked.session)
                return failedCall(checked, attempt);
            // One login is one session: a VERIFIED for any other session proves nothing.
            if (!sameSessionId(checked.session->id, attempt.sessionId)) {
                attempt.reason = "the answer was for another session";
                return Outcome::BadResponse;
            }
            if (checked.session->status == SessionStatus::Verified)
                return Outcome::Verified;
            if (const auto final = outcomeOfFinalStatus(checked.session->status)) {
                conversation_.error(*final == Outcome::SessionExpired
                                        ? "The code has expired."
                                        : "Too many wrong codes for this session.");
                return *final;
            }
            notice = "Wrong code.";
        }
        if (left <= 0) {
            conversation_.error(notice + " No attempts left.");
            return Outcome::TooManyWrongCodes;
        }
        notice += " " + attemptsLeftText(left);
    }
}

Outcome Authenticator::failedCall(const CallResult& result, Attempt& attempt) {
    attempt.reason = std::string(callStatusName(result.status)) + ": " + result.detail;
    switch (result.status) {
        case CallStatus::Unreachable:
            conversation_.error("The verification service cannot be reached.");
            return Outcome::Unreachable;
        case CallStatus::CertificateInvalid:
            return Outcome::CertificateInvalid;
        case CallStatus::RateLimited:
            conversation_.error("Too many verification requests; try again later.");
            return Outcome::RateLimited;
        case CallStatus::CredentialsRejected:
            return Outcome::CredentialsRejected;
        case CallStatus::RequestRejected:
        case CallStatus::TlsTooOld:
            return Outcome::ConfigError;
        case CallStatus::InvalidDestination:
            return Outcome::InvalidPhone;
        case CallStatus::ResendTooSoon:
            conversation_.error("A code was sent moments ago; wait a little and try again.");
            return Outcome::ResendTooSoon;
        case CallStatus::SessionNotFound:
            conversation_.error("The code has expired.");
            return Outcome::SessionExpired;
        case CallStatus::BadResponse:
            return Outcome::BadResponse;
        case CallStatus::Ok:  // only without a session, which a client must never return
            return Outcome::BadResponse;
        case CallStatus::InternalError:
            break;
    }
    return Outcome::InternalError;
}

void Authenticator::logOutcome(const LoginContext& login, const Attempt& attempt, Outcome outcome) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - attempt.start);
    std::string line = logField("outcome", outcomeName(outcome));
    line += " " + logField("user", login.user);
    line += " " + logField("rhost", login.rhost.empty() ? "-" : login.rhost);
    line += " " + logField("service", login.service.empty() ? "-" : login.service);
    if (attempt.enrolment) {
        line += " " + logField("channel", channelName(attempt.channel));
        line += " " + logField("to", maskPhoneForLog(attempt.enrolment->phone));
    }
    if (!attempt.sessionId.empty())
        line += " " + logField("session", attempt.sessionId.substr(0, 8));
    line += " " + logField("attempts", std::to_string(attempt.tries));
    line += " " + logField("ms", std::to_string(elapsed.count()));
    if (!attempt.reason.empty())
        line += " " + logField("reason", attempt.reason);
    logger_.log(levelFor(outcome), line);
}

}  // namespace verif8
