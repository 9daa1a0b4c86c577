// Authenticator: the login flow of design.md, against VerifyClient and Conversation.
#include "verif8/Authenticator.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "verif8/Masking.hpp"
#include "verif8/Policy.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

struct Authenticator::Attempt {
    std::chrono::steady_clock::time_point start;
    std::chrono::steady_clock::time_point deadline;
    std::optional<Enrolment> enrolment;
    std::int64_t deadlineMs = 0;  // the deadline on the boot clock, for the claim
    Holder holder;                // this login's process, as its claim names it
    bool claimed = false;         // this login holds the phone number (SessionStore)
    // The number's session that a login now ended left on this host, if its code still lives.
    std::optional<PendingSession> previous;
    PendingSession pending;  // the session this login waits on; sessionId empty before a send
    int tries = 0;           // answers the user gave, good or bad
    int wasted = 0;          // answers that count against max_attempts
    bool passwordAnswered = false;  // the host answered a code prompt with the password
    bool sendTaken = false;         // the next send was already counted against the limits
    std::string reason;             // why it ended, when that is not obvious from the outcome
};

// What one answer at the prompt led to: the end of the login, or the next notice, which counts
// against max_attempts when `wasted`.
struct Authenticator::Step {
    std::optional<Outcome> end;
    std::string notice;
    bool wasted = false;
};

namespace {
using Step = Authenticator::Step;

Step ended(Outcome outcome) {
    return Step{outcome, "", false};
}
Step wasted(std::string notice) {
    return Step{std::nullopt, std::move(notice), true};
}
Step carryOn(std::string notice) {
    return Step{std::nullopt, std::move(notice), false};
}

std::string problemText(const std::optional<Problem>& problem) {
    return problem ? problem->text : std::string("(no problem given)");
}

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
        case Outcome::Exempt:
            return LogLevel::Info;
        case Outcome::ConfigError:
        case Outcome::CredentialsRejected:
        case Outcome::InternalError:
            return LogLevel::Error;
        case Outcome::Unreachable:
        case Outcome::UnreachableFailOpen:
        case Outcome::SessionTaken:
        case Outcome::StateBusy:
        case Outcome::CertificateInvalid:
        case Outcome::TlsFailed:
        case Outcome::RateLimited:
        case Outcome::BadResponse:
        case Outcome::InvalidPhone:
            return LogLevel::Warning;
        default:
            return LogLevel::Notice;
    }
}

// Channel words are matched in any case ("Voice"). What was typed may be a code: it is lowered
// in a small buffer that is wiped, never copied into a string that would outlive the login.
std::optional<Channel> channelWord(std::string_view typed) {
    char lower[16];
    if (typed.size() > sizeof lower)
        return std::nullopt;
    for (std::size_t i = 0; i < typed.size(); ++i) {
        const char c = typed[i];
        lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::optional<Channel> channel = parseChannel(std::string_view(lower, typed.size()));
    wipeMemory(lower, sizeof lower);
    return channel;
}

bool offers(const Enrolment& enrolment, Channel channel) {
    return std::find(enrolment.channels.begin(), enrolment.channels.end(), channel) !=
           enrolment.channels.end();
}

std::string channelList(const Enrolment& enrolment) {
    std::string names;
    for (Channel channel : enrolment.channels)
        names += (names.empty() ? "" : ", ") + std::string(channelName(channel));
    return names;
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
    attempt.start = steadyClock_();
    attempt.deadline = attempt.start + std::chrono::seconds(config_.loginTimeout);
    attempt.deadlineMs = bootClock_() + static_cast<std::int64_t>(config_.loginTimeout) * 1000;
    client_.setDeadline(attempt.deadline);
    const Outcome outcome = run(login, attempt);
    finish(login, attempt, outcome);
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
    const PolicyDecision policy =
        decidePolicy(config_, login.user, login.groups, login.groupsKnown, login.rhost);
    if (policy != PolicyDecision::AskForCode) {
        attempt.reason = std::string(policyReason(policy));
        return Outcome::Exempt;
    }
    if (const auto stop = resolveEnrolment(login, attempt))
        return *stop;
    // Everything that can refuse the login is asked before anything is sent (rule 4): the claim
    // on the number here, the send limits in send().
    if (const auto stop = claimPhone(attempt))
        return *stop;
    if (resume(login, attempt))
        return promptAndValidate(login, attempt, sentNotice(attempt, "Code already sent by "));
    // Before a wait for resend_interval, the limits: a login they refuse waits for nothing.
    const Channel first = attempt.enrolment->channels.front();
    if (attempt.previous && (first != Channel::Whatsapp || config_.whatsappTemplate)) {
        if (auto refused = takeSend(login, attempt, false))
            return *refused->end;
        attempt.sendTaken = true;
    }
    if (const auto stop = waitForResend(attempt)) {
        if (attempt.sendTaken)  // counted above, never sent
            limiter_.refund(login.user, login.rhost.empty() ? "local" : login.rhost);
        return *stop;
    }
    Step sent = send(login, attempt, first, false);
    if (sent.end)
        return *sent.end;
    return promptAndValidate(login, attempt, sent.notice);
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
            attempt.reason =
                config_.phoneCommand.empty() ? "users file unusable" : "phone_command failed";
            return Outcome::ConfigError;
        case EnrolmentLookup::Kind::NotEnrolled:
            break;
    }
    attempt.reason = lookup.problems.empty() ? "no phone number" : "bad enrolment";
    if (config_.unenrolled == UnenrolledPolicy::Ignore)
        return Outcome::UnenrolledIgnored;
    return Outcome::UnenrolledDenied;
}

// The API keeps one pending session per number and gives it to whoever asks for that number
// next: only the login holding the number's claim may send to it or check a code against it.
// A claim whose login has ended (any way, a kill included) or run out of time binds nobody.
std::optional<Outcome> Authenticator::claimPhone(Attempt& attempt) {
    attempt.holder = holder_ ? *holder_ : currentHolder();
    const Claim claim =
        sessions_.claim(attempt.enrolment->phone, attempt.holder, attempt.deadlineMs);
    switch (claim.verdict) {
        case ClaimVerdict::Claimed:
            attempt.claimed = true;
            attempt.previous = claim.pending;
            return std::nullopt;
        case ClaimVerdict::HeldByOther:
            attempt.reason = "another login (pid " + std::to_string(claim.holderPid) +
                             ") is waiting for a code sent to this phone; nothing sent";
            conversation_.error(
                "Another login is waiting for a code sent to this phone; finish it, or try "
                "again when it has ended.");
            return Outcome::PhoneBusy;
        case ClaimVerdict::Busy:
            logger_.log(LogLevel::Error, "state_dir: " + sanitize(problemText(claim.problem)));
            attempt.reason = "the session table stayed locked (a stopped process?); nothing sent";
            return Outcome::StateBusy;
        case ClaimVerdict::Unavailable:
            break;
    }
    logger_.log(LogLevel::Error, "state_dir: " + sanitize(problemText(claim.problem)));
    attempt.reason = "state_dir unusable; nothing sent";
    return Outcome::ConfigError;
}

// Picks up the session an earlier run of the stack for this same login left waiting (sshd runs
// each keyboard-interactive round in a process of its own), so that a retry on the same
// connection sends nothing new while that code is still good.
bool Authenticator::resume(const LoginContext& login, Attempt& attempt) {
    if (!attempt.previous || login.key.empty())
        return false;
    const PendingSession& previous = *attempt.previous;
    // A code that would expire while the user types it is not worth resuming.
    constexpr std::int64_t kMarginMs = 15000;
    const bool usable = previous.loginStamp == loginStamp(login.key) &&
                        offers(*attempt.enrolment, previous.channel) &&
                        bootClock_() + kMarginMs < previous.expiresMs &&
                        previous.sends <= kMaxSendsPerLogin;
    if (!usable)
        return false;
    attempt.pending = previous;
    logger_.debug("resuming session " + previous.sessionId.substr(0, 8) + " of this login");
    return true;
}

// A login that ended (wrong codes, a closed connection, a kill) left a session on this number:
// the API refuses a new send until resend_interval has passed since that login's last send, so
// this login waits that long (the user sees the prompt a little later) instead of failing.
std::optional<Outcome> Authenticator::waitForResend(Attempt& attempt) {
    if (!attempt.previous)
        return std::nullopt;
    // The API counts from when it took the last send, which was before this host noted it.
    constexpr std::int64_t kSlackMs = 250;
    const std::int64_t wait = attempt.previous->lastSendMs +
                              static_cast<std::int64_t>(config_.resendInterval) * 1000 + kSlackMs -
                              bootClock_();
    if (wait <= 0)
        return std::nullopt;
    // Time to type the code must be left after the wait.
    constexpr std::int64_t kTypingMs = 15000;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(attempt.deadline - steadyClock_())
            .count();
    if (wait + kTypingMs > left) {
        const std::int64_t seconds = (wait + 999) / 1000;
        attempt.reason =
            "a login that ended sent a code to this phone less than resend_interval "
            "ago, and login_timeout leaves no time to wait; nothing sent";
        conversation_.error("A code was sent to this phone moments ago; try again in " +
                            std::to_string(seconds) + (seconds == 1 ? " second." : " seconds."));
        return Outcome::ResendTooSoon;
    }
    logger_.debug("waiting " + std::to_string(wait) +
                  " ms: resend_interval since the last send to this phone");
    const std::int64_t seconds = (wait + 999) / 1000;
    conversation_.info("A code was sent to this phone moments ago; a new one follows in " +
                       std::to_string(seconds) + (seconds == 1 ? " second." : " seconds."));
    if (sleep_)
        sleep_(wait);
    else
        std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    return std::nullopt;
}

std::string Authenticator::sentNotice(const Attempt& attempt, std::string_view how) const {
    return std::string(how) + std::string(channelDisplayName(attempt.pending.channel)) + " to " +
           maskPhoneForPrompt(attempt.enrolment->phone) + ".";
}

Step Authenticator::send(const LoginContext& login, Attempt& attempt, Channel channel, bool again) {
    if (channel == Channel::Whatsapp && !config_.whatsappTemplate) {
        logger_.log(LogLevel::Error, "whatsapp_template is required for users on WhatsApp");
        if (again)
            return wasted("Channel whatsapp cannot be used now.");
        attempt.reason = "whatsapp_template is required for users on WhatsApp";
        return ended(Outcome::ConfigError);
    }
    if (!attempt.sendTaken) {
        if (auto refused = takeSend(login, attempt, again))
            return *refused;
    }
    attempt.sendTaken = false;
    InitiateRequest request;
    request.destination = attempt.enrolment->phone;
    request.channel = channel;
    request.codeLength = config_.codeLength;
    request.codeValidity = config_.codeValidity;
    request.resendingInterval = config_.resendInterval;
    // A login that ended left a session on this number: a new code, so that nothing sent for
    // that login can pass this one.
    request.resetSession = !again && attempt.previous.has_value();
    request.brand = config_.brand;
    request.messageTemplate = config_.messageTemplate;
    request.templateKey = config_.templateKey;
    request.language = config_.language;
    request.smsSource = config_.smsSender;
    request.callSource = config_.voiceCallerId;
    request.whatsappTemplate = config_.whatsappTemplate;
    const CallResult sent = client_.initiate(request);
    logger_.debug("initiate: " + std::string(callStatusName(sent.status)) + ", " + sent.detail);
    if (sent.status != CallStatus::Ok && !sent.requestSent)
        limiter_.refund(login.user, login.rhost.empty() ? "local" : login.rhost);
    if (again && sent.status == CallStatus::ResendTooSoon)
        return wasted("Wait a little before asking for a new code.");
    if (sent.status != CallStatus::Ok || !sent.session)
        return ended(failedCall(sent, attempt, !again));
    const Session& session = *sent.session;
    if (session.status != SessionStatus::Waiting) {
        attempt.reason = "a new send came back " + std::string(sessionStatusName(session.status));
        return ended(outcomeOfFinalStatus(session.status).value_or(Outcome::BadResponse));
    }
    if (const auto taken = checkInitiated(attempt, session))
        return ended(*taken);
    const Channel previous = attempt.pending.channel;
    attempt.pending.sessionId = session.id;
    attempt.pending.channel = channel;
    attempt.pending.sends += 1;
    attempt.pending.lastSendMs = bootClock_();
    attempt.pending.expiresMs =
        attempt.pending.lastSendMs + static_cast<std::int64_t>(config_.codeValidity) * 1000;
    attempt.pending.apiAttempt = session.attempt;
    attempt.pending.apiExpiresAt = session.expiresAt.value_or(0);
    attempt.pending.loginStamp = login.key.empty() ? std::string() : loginStamp(login.key);
    const Recording recording =
        sessions_.record(attempt.enrolment->phone, attempt.holder, attempt.pending);
    if (recording.verdict != RecordVerdict::Recorded) {
        // Without the record another login could take this number's session unseen.
        attempt.pending.sessionId.clear();
        if (recording.verdict == RecordVerdict::ClaimLost) {
            attempt.reason = "this login's claim on the phone ran out (login_timeout)";
            return ended(Outcome::LoginTimeout);
        }
        logger_.log(LogLevel::Error, "state_dir: " + sanitize(problemText(recording.problem)));
        attempt.reason = "state_dir: the session could not be recorded";
        return ended(Outcome::ConfigError);
    }
    return carryOn(sentNotice(
        attempt, again && previous == channel ? "Code sent again by " : "Code sent by "));
}

Outcome Authenticator::sessionTaken(Attempt& attempt, std::string why) {
    attempt.reason = std::move(why);
    conversation_.error(
        "The code for this phone was also asked for somewhere else; try again in a minute.");
    return Outcome::SessionTaken;
}

// The API hands a number's pending session to any initiator, on any host of the account: the
// session a send answers with must be this login's own (a resend), the one a login that ended
// here left (taken over, with a new code), or a new one. A new one has no wrong codes yet, and
// its expiry and resend times are both counted from its creation with this login's settings.
std::optional<Outcome> Authenticator::checkInitiated(Attempt& attempt, const Session& session) {
    const PendingSession* known = !attempt.pending.sessionId.empty() ? &attempt.pending
                                  : attempt.previous                 ? &*attempt.previous
                                                                     : nullptr;
    if (known != nullptr && sameSessionId(session.id, known->sessionId)) {
        // Taken over with a new code: a check made before it (whose answer may never have
        // reached the login that ended, so the table missed it) can no longer pass anything.
        const bool takenOver = attempt.pending.sessionId.empty() && known == &*attempt.previous;
        if (session.attempt == known->apiAttempt ||
            (takenOver && session.attempt > known->apiAttempt))
            return std::nullopt;
        return sessionTaken(attempt, "the session's wrong-code count moved from " +
                                         std::to_string(known->apiAttempt) + " to " +
                                         std::to_string(session.attempt) +
                                         ": another login or host checks codes on it");
    }
    if (session.attempt != 0)
        return sessionTaken(attempt, "the API answered with a session that already had " +
                                         std::to_string(session.attempt) +
                                         " wrong codes: another login or host started it");
    if (session.expiresAt && session.retryAfter) {
        const long gap = static_cast<long>(*session.expiresAt - *session.retryAfter);
        const long expected = config_.codeValidity - config_.resendInterval;
        constexpr long kToleranceSeconds = 2;  // the API's fractions of a second, rounded
        if (std::labs(gap - expected) > kToleranceSeconds)
            return sessionTaken(
                attempt,
                "the API answered with a session whose expiry and resend times were "
                "not set by this login's request: another login or host started or "
                "resent it");
    }
    return std::nullopt;
}

// Before a code is checked, and in the answer to the check: the session must be as this login
// last left it. A wrong-code count or an expiry that moved means another login or host checked
// a code or sent again, and a VERIFIED might then be the other login's code (rule 1).
std::optional<Outcome> Authenticator::checkUntouched(Attempt& attempt, const Session& session) {
    const PendingSession& mine = attempt.pending;
    if (session.attempt != mine.apiAttempt)
        return sessionTaken(attempt, "the session's wrong-code count is " +
                                         std::to_string(session.attempt) + ", this login made it " +
                                         std::to_string(mine.apiAttempt) +
                                         ": another login or host checks codes on it");
    if (session.expiresAt && mine.apiExpiresAt != 0 && *session.expiresAt != mine.apiExpiresAt)
        return sessionTaken(
            attempt, "the session's expiry moved: another login or host sent its code again");
    return std::nullopt;
}

// Counts the send against user_send_limit and source_send_limit, or says why it may not happen.
std::optional<Step> Authenticator::takeSend(const LoginContext& login, Attempt& attempt,
                                            bool again) {
    const LimitDecision decision =
        limiter_.take(login.user, login.rhost.empty() ? "local" : login.rhost);
    for (const auto& problem : decision.problems)
        logger_.log(LogLevel::Error, "send limits: " + sanitize(problem));
    switch (decision.verdict) {
        case LimitVerdict::Allowed:
            return std::nullopt;
        case LimitVerdict::Unavailable:
            attempt.reason = "send counters unusable";
            return ended(Outcome::ConfigError);
        case LimitVerdict::Busy:
            attempt.reason = "a send counter stayed locked (a stopped process?); nothing sent";
            return ended(Outcome::StateBusy);
        case LimitVerdict::UserLimit:
        case LimitVerdict::SourceLimit:
            break;
    }
    const std::string which =
        decision.verdict == LimitVerdict::UserLimit ? "user_send_limit" : "source_send_limit";
    if (again)
        return wasted("No more codes can be sent now; try again later.");
    attempt.reason = which + " reached";
    conversation_.error("Too many codes were sent recently; try again later.");
    return ended(Outcome::SendLimitReached);
}

Step Authenticator::sendAgain(const LoginContext& login, Attempt& attempt, Channel channel) {
    if (attempt.pending.sends >= kMaxSendsPerLogin)
        return wasted("No more codes can be sent for this login.");
    const std::int64_t waitMs = attempt.pending.lastSendMs +
                                static_cast<std::int64_t>(config_.resendInterval) * 1000 -
                                bootClock_();
    const std::int64_t wait = (waitMs + 999) / 1000;
    if (wait > 0) {
        return wasted("Wait " + std::to_string(wait) +
                      (wait == 1 ? " more second" : " more seconds") +
                      " before asking for a new code.");
    }
    return send(login, attempt, channel, true);
}

Step Authenticator::answer(const LoginContext& login, Attempt& attempt, std::string_view typed) {
    // An empty line asks for the code again, a channel name for it on that channel: the words
    // are reserved, so a code never has to be told apart from them.
    if (typed.empty())
        return sendAgain(login, attempt, attempt.pending.channel);
    if (const auto channel = channelWord(typed)) {
        if (!offers(*attempt.enrolment, *channel))
            return wasted("Channel " + std::string(channelName(*channel)) +
                          " is not available for you (yours: " + channelList(*attempt.enrolment) +
                          ").");
        return sendAgain(login, attempt, *channel);
    }
    if (!isPlausibleCode(typed))
        return wasted("That is not a code: codes are 3 to 10 letters or digits.");
    return validate(attempt, typed);
}

// The host answered the code prompt with the login's password (sshd's "password" method does,
// for every prompt): it is never sent anywhere, and it costs an attempt like any wrong answer,
// so that such a host ends the login after max_attempts rounds.
Step Authenticator::passwordAnswer(Attempt& attempt) {
    if (!attempt.passwordAnswered)
        logger_.log(LogLevel::Warning,
                    "the answer to the code prompt was the login password: the host answers "
                    "prompts with the password (sshd with keyboard-interactive off?); not sent");
    attempt.passwordAnswered = true;
    attempt.reason = "answered with the password: the host answers prompts with the password";
    return wasted("That was a password, not the code.");
}

Step Authenticator::validate(Attempt& attempt, std::string_view code) {
    // The status first: a session another login has verified, or is using, is refused before
    // this login's code could be taken for the one that verified it. (Between this read and the
    // check below, another host's login can still verify it: one round trip; see the man page.)
    const CallResult read = client_.status(attempt.pending.sessionId);
    logger_.debug("status: " + std::string(callStatusName(read.status)) + ", " + read.detail);
    if (read.status != CallStatus::Ok || !read.session)
        return ended(failedCall(read, attempt, false));
    if (!sameSessionId(read.session->id, attempt.pending.sessionId)) {
        attempt.reason = "the answer was for another session";
        return ended(Outcome::BadResponse);
    }
    if (read.session->status == SessionStatus::Verified)
        return ended(
            sessionTaken(attempt,
                         "the session was VERIFIED before this login checked a code: another "
                         "login or host used it"));
    if (const auto final = outcomeOfFinalStatus(read.session->status)) {
        conversation_.error(*final == Outcome::SessionExpired
                                ? "The code has expired."
                                : "Too many wrong codes for this session.");
        return ended(*final);
    }
    if (const auto stop = checkUntouched(attempt, *read.session))
        return ended(*stop);

    const CallResult checked = client_.validate(attempt.pending.sessionId, SecretString(code));
    logger_.debug("validate: " + std::string(callStatusName(checked.status)) + ", " +
                  checked.detail);
    // A code check never fails open: the code was typed, and only its check can pass the login.
    if (checked.status != CallStatus::Ok || !checked.session)
        return ended(failedCall(checked, attempt, false));
    // One login is one session: a VERIFIED for any other session proves nothing.
    if (!sameSessionId(checked.session->id, attempt.pending.sessionId)) {
        attempt.reason = "the answer was for another session";
        return ended(Outcome::BadResponse);
    }
    const Session& after = *checked.session;
    if (after.status == SessionStatus::Verified) {
        if (const auto stop = checkUntouched(attempt, after))
            return ended(*stop);
        return ended(Outcome::Verified);
    }
    if (const auto final = outcomeOfFinalStatus(after.status)) {
        conversation_.error(*final == Outcome::SessionExpired
                                ? "The code has expired."
                                : "Too many wrong codes for this session.");
        return ended(*final);
    }
    // A wrong code adds exactly one to the count; anything else was another login's doing.
    attempt.pending.apiAttempt += 1;
    if (const auto stop = checkUntouched(attempt, after))
        return ended(*stop);
    const Recording recording =
        sessions_.record(attempt.enrolment->phone, attempt.holder, attempt.pending);
    if (recording.verdict != RecordVerdict::Recorded)
        logger_.debug("the wrong-code count could not be recorded: " +
                      sanitize(problemText(recording.problem)));
    return wasted("Wrong code.");
}

Outcome Authenticator::promptAndValidate(const LoginContext& login, Attempt& attempt,
                                         std::string notice) {
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
        if (steadyClock_() >= attempt.deadline) {
            // Whatever was typed, it came too late: sshd's LoginGraceTime is not far behind.
            attempt.reason = "login_timeout of " + std::to_string(config_.loginTimeout) + " s";
            conversation_.error("The time for the code has run out.");
            return Outcome::LoginTimeout;
        }
        Step step = conversation_.isLoginPassword(reply->view())
                        ? passwordAnswer(attempt)
                        : answer(login, attempt, trim(reply->view()));
        if (step.end)
            return *step.end;
        notice = std::move(step.notice);
        if (!step.wasted)
            continue;
        ++attempt.wasted;
        const int left = config_.maxAttempts - attempt.wasted;
        if (left <= 0) {
            conversation_.error(notice + " No attempts left.");
            return Outcome::TooManyWrongCodes;
        }
        notice += " " + attemptsLeftText(left);
    }
}

// `mayFailOpen`: only for this login's first send (threat-model rule 7): once a code was sent
// or is being checked, an outage never lets the login through.
Outcome Authenticator::failedCall(const CallResult& result, Attempt& attempt, bool mayFailOpen) {
    attempt.reason = std::string(callStatusName(result.status)) + ": " + result.detail;
    switch (result.status) {
        case CallStatus::DeadlinePassed:
            conversation_.error("The time for the code has run out.");
            return Outcome::LoginTimeout;
        case CallStatus::Unreachable:
            if (config_.failMode == FailMode::Open && !mayFailOpen)
                logger_.log(LogLevel::Notice,
                            "fail_mode=open applies only to a login's first send; this login "
                            "already has a code");
            if (config_.failMode == FailMode::Open && mayFailOpen) {
                // The administrator chose availability over the second factor for outages.
                logger_.log(LogLevel::Warning,
                            "fail_mode=open: letting the rest of the stack "
                            "decide while the service is unreachable");
                return Outcome::UnreachableFailOpen;
            }
            conversation_.error("The verification service cannot be reached.");
            return Outcome::Unreachable;
        case CallStatus::CertificateInvalid:
            return Outcome::CertificateInvalid;
        case CallStatus::TlsFailed:
            return Outcome::TlsFailed;
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

// Ends the claim, whatever ended the login. The number's session stays recorded while a later
// run of the stack could still use it (the code was sent and no final answer came), so that the
// same login resumes it and another one waits out resend_interval before taking it over.
void Authenticator::finish(const LoginContext&, const Attempt& attempt, Outcome outcome) {
    if (!attempt.claimed)
        return;
    // Only a final answer ends the session at the API; until then the next login must know of
    // it (to wait out resend_interval and take it over with a new code).
    const bool final = outcome == Outcome::Verified || outcome == Outcome::SessionFailed ||
                       outcome == Outcome::SessionExpired;
    // A login that sent nothing leaves the number's session as it found it.
    const bool keep = attempt.pending.sessionId.empty() || !final;
    const Result<> released = sessions_.release(attempt.enrolment->phone, attempt.holder, keep);
    if (!released)
        logger_.debug("the claim could not be released: " + sanitize(released.problem().text));
}

void Authenticator::logOutcome(const LoginContext& login, const Attempt& attempt, Outcome outcome) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(steadyClock_() - attempt.start);
    std::string line = logField("outcome", outcomeName(outcome));
    line += " " + logField("user", login.user);
    if (!login.typedUser.empty())
        line += " " + logField("as", login.typedUser);
    line += " " + logField("rhost", login.rhost.empty() ? "-" : login.rhost);
    line += " " + logField("service", login.service.empty() ? "-" : login.service);
    if (attempt.enrolment) {
        const Channel channel = attempt.pending.sessionId.empty()
                                    ? attempt.enrolment->channels.front()
                                    : attempt.pending.channel;
        line += " " + logField("channel", channelName(channel));
        line += " " + logField("to", maskPhoneForLog(attempt.enrolment->phone));
    }
    if (!attempt.pending.sessionId.empty())
        line += " " + logField("session", attempt.pending.sessionId.substr(0, 8));
    line += " " + logField("attempts", std::to_string(attempt.tries));
    if (attempt.pending.sends > 0)
        line += " " + logField("sends", std::to_string(attempt.pending.sends));
    line += " " + logField("ms", std::to_string(elapsed.count()));
    if (!attempt.reason.empty())
        line += " " + logField("reason", attempt.reason);
    logger_.log(levelFor(outcome), line);
}

}  // namespace verif8
