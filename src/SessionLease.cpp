// The session lease: claim, resume, take over, record and close a phone number's session.
#include "verif8/SessionLease.hpp"

#include <cstdlib>

#include "verif8/PromptAnswer.hpp"

namespace verif8 {

LeaseClaim SessionLease::claim(std::int64_t untilMs) {
    const Claim claim = store_.claim(phone_, holder_, untilMs);
    LeaseClaim result;
    result.problem = claim.problem;
    switch (claim.verdict) {
        case ClaimVerdict::Claimed:
            held_ = true;
            previous_ = claim.pending;
            result.verdict = LeaseVerdict::Held;
            return result;
        case ClaimVerdict::HeldByOther:
            result.verdict = LeaseVerdict::HeldByOther;
            result.holderPid = claim.holderPid;
            return result;
        case ClaimVerdict::Busy:
            result.failure = Outcome::StateBusy;
            result.reason = "the session table stayed locked (a stopped process?); nothing sent";
            break;
        case ClaimVerdict::Unavailable:
            result.failure = Outcome::ConfigError;
            result.reason = "state_dir unusable; nothing sent";
            break;
    }
    if (!result.problem)
        result.problem = Problem("(no problem given)");
    return result;
}

bool SessionLease::resume(const std::string& loginKey, const Enrolment& enrolment,
                          std::int64_t nowMs) {
    if (!previous_ || loginKey.empty())
        return false;
    // A code that would expire while the user types it is not worth resuming.
    constexpr std::int64_t kMarginMs = 15000;
    const bool usable = previous_->loginStamp == loginStamp(loginKey) &&
                        offersChannel(enrolment, previous_->channel) &&
                        nowMs + kMarginMs < previous_->expiresMs &&
                        previous_->sends <= kMaxSendsPerLogin;
    if (usable)
        current_ = *previous_;
    return usable;
}

// The API hands a number's pending session to any initiator, on any host of the account. A new
// session has no wrong codes yet, and its expiry and resend times are both counted from its
// creation with this login's settings.
Result<> SessionLease::acceptsSent(const Session& session, long expectedExpiryGapSeconds) const {
    const PendingSession* known = !current_.sessionId.empty() ? &current_
                                  : previous_                 ? &*previous_
                                                              : nullptr;
    if (known != nullptr && sameSessionId(session.id, known->sessionId)) {
        // Taken over with a new code: a check made before it (whose answer may never have
        // reached the login that ended, so the table missed it) can no longer pass anything.
        const bool takenOver = current_.sessionId.empty();
        if (session.attempt == known->apiAttempt ||
            (takenOver && session.attempt > known->apiAttempt))
            return succeeded();
        return sessionTaken("the session's wrong-code count moved from " +
                            std::to_string(known->apiAttempt) + " to " +
                            std::to_string(session.attempt) +
                            ": another login or host checks codes on it");
    }
    if (session.attempt != 0)
        return sessionTaken("the API answered with a session that already had " +
                            std::to_string(session.attempt) +
                            " wrong codes: another login or host started it");
    if (session.expiresAt && session.retryAfter) {
        const long gap = static_cast<long>(*session.expiresAt - *session.retryAfter);
        constexpr long kToleranceSeconds = 2;  // the API's fractions of a second, rounded
        if (std::labs(gap - expectedExpiryGapSeconds) > kToleranceSeconds)
            return sessionTaken(
                "the API answered with a session whose expiry and resend times were not set by "
                "this login's request: another login or host started or resent it");
    }
    return succeeded();
}

// A wrong-code count or an expiry that moved means another login or host checked a code or
// sent again, and a VERIFIED might then be the other login's code (threat-model rule 1).
Result<> SessionLease::acceptsChecked(const Session& session) const {
    if (session.attempt != current_.apiAttempt)
        return sessionTaken("the session's wrong-code count is " + std::to_string(session.attempt) +
                            ", this login made it " + std::to_string(current_.apiAttempt) +
                            ": another login or host checks codes on it");
    if (session.expiresAt && current_.apiExpiresAt != 0 &&
        *session.expiresAt != current_.apiExpiresAt)
        return sessionTaken(
            "the session's expiry moved: another login or host sent its code again");
    return succeeded();
}

Recording SessionLease::recordSend(const Session& session, Channel channel, std::int64_t nowMs,
                                   std::int64_t validityMs, const std::string& loginKey) {
    current_.sessionId = session.id;
    current_.channel = channel;
    current_.sends += 1;
    current_.lastSendMs = nowMs;
    current_.expiresMs = nowMs + validityMs;
    current_.apiAttempt = session.attempt;
    current_.apiExpiresAt = session.expiresAt.value_or(0);
    current_.loginStamp = loginKey.empty() ? std::string() : loginStamp(loginKey);
    Recording recording = record();
    // Without the record another login could take this number's session unseen.
    if (recording.verdict != RecordVerdict::Recorded)
        current_.sessionId.clear();
    return recording;
}

Result<> SessionLease::close(Outcome outcome) {
    if (!held_)
        return succeeded();
    const bool keep = current_.sessionId.empty() || factsOf(outcome).keepsSession;
    return store_.release(phone_, holder_, keep);
}

}  // namespace verif8
