// Authenticator: the login flow of design.md, from the checks that send nothing to the prompt.
#include "verif8/Authenticator.hpp"

#include <chrono>
#include <thread>

#include "CodePrompt.hpp"
#include "CodeSender.hpp"
#include "LoginAttempt.hpp"
#include "verif8/Network.hpp"
#include "verif8/OutcomeLine.hpp"
#include "verif8/Policy.hpp"
#include "verif8/PromptAnswer.hpp"

namespace verif8 {

Outcome Authenticator::authenticate(const LoginContext& login) {
    const LoginClocks clocks{steadyClock_, bootClock_, sleep_};
    const LoginServices services{config_, client_, conversation_, limiter_,
                                 grace_,  logger_, clocks};
    LoginAttempt attempt(login);
    attempt.start = steadyClock_();
    attempt.deadline = attempt.start + std::chrono::seconds(config_.loginTimeout);
    attempt.deadlineMs = bootClock_() + static_cast<std::int64_t>(config_.loginTimeout) * 1000;
    client_.setDeadline(attempt.deadline);
    const Outcome outcome = run(services, attempt);
    noteGrace(services, attempt, outcome);
    finish(attempt, outcome);
    return outcome;
}

Outcome Authenticator::run(const LoginServices& services, LoginAttempt& attempt) {
    if (const auto stop = admit(attempt))
        return *stop;
    if (const auto stop = resolveEnrolment(attempt))
        return *stop;
    if (const auto stop = checkGrace(attempt))
        return *stop;
    // Everything that can refuse the login is asked before anything is sent (rule 4): the claim
    // on the number here, the send limits before the first send.
    if (const auto stop = claimPhone(attempt))
        return *stop;
    CodeSender sender(services, attempt);
    CodePrompt prompt(services, attempt, sender);
    const SessionLease& lease = *attempt.lease;
    // A retry on the same connection sends nothing new while the code it was sent is good.
    if (attempt.lease->resume(attempt.login.key, *attempt.enrolment, bootClock_())) {
        logger_.debug("resuming session " + lease.current().sessionId.substr(0, 8) +
                      " of this login");
        return prompt.run(
            sentNotice("Code already sent by ", lease.current().channel, attempt.enrolment->phone));
    }
    // Before a wait for resend_interval, the limits: a login they refuse waits for nothing.
    const Channel first = attempt.enrolment->channels.front();
    if (lease.previous() && (first != Channel::Whatsapp || config_.whatsappTemplate)) {
        if (auto refused = sender.take(false))
            return *refused->end;
        attempt.sendTaken = true;
    }
    if (const auto stop = waitForResend(attempt)) {
        if (attempt.sendTaken)  // counted above, never sent
            sender.refund();
        return *stop;
    }
    const Step sent = sender.send(first, false);
    if (sent.end)
        return *sent.end;
    return prompt.run(sent.notice);
}

// Nothing is sent for a login that cannot succeed: an SMS costs money and tells the phone's
// owner that someone tried.
std::optional<Outcome> Authenticator::admit(LoginAttempt& attempt) {
    const LoginContext& login = attempt.login;
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
    if (policy == PolicyDecision::AskForCode)
        return std::nullopt;
    attempt.reason = std::string(policyReason(policy));
    return Outcome::Exempt;
}

std::optional<Outcome> Authenticator::resolveEnrolment(LoginAttempt& attempt) {
    EnrolmentLookup lookup = enrolments_.find(attempt.login.user);
    for (const auto& problem : lookup.problems)
        logger_.log(LogLevel::Error, sanitize(problem.text));
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

namespace {
// Grace is only for a login from an IP literal (a host name can be anyone's) to a named service.
std::optional<GraceKey> graceKeyOf(const Config& config, const LoginContext& login) {
    if (config.gracePeriod <= 0 || login.service.empty())
        return std::nullopt;
    auto address = Network::canonicalAddress(login.rhost);
    if (!address)
        return std::nullopt;
    return GraceKey{login.user, login.service, std::move(*address)};
}
}  // namespace

// After the enrolment, so that an account whose line was removed is not let in by its grace.
std::optional<Outcome> Authenticator::checkGrace(LoginAttempt& attempt) {
    const auto key = graceKeyOf(config_, attempt.login);
    if (!key)
        return std::nullopt;
    const GraceCheck check = grace_.check(*key, config_.gracePeriod);
    if (check.problem)
        logger_.log(LogLevel::Warning,
                    "grace: " + sanitize(check.problem->text) + "; asking for a code");
    if (!check.granted)
        return std::nullopt;
    attempt.reason =
        "code verified " + std::to_string(check.age) + " s ago for this service from this address";
    return Outcome::Grace;
}

// Each wrong code the API judged has ended the account's grace already (CodePrompt); a login
// that wasted its attempts on other answers, or whose session the API failed, ends it here. A
// verified code starts grace for this service and address.
void Authenticator::noteGrace(const LoginServices& services, const LoginAttempt& attempt,
                              Outcome outcome) {
    if (attempt.wrongCodes == 0 &&
        (outcome == Outcome::TooManyWrongCodes || outcome == Outcome::SessionFailed))
        endGrace(services, attempt);
    if (outcome != Outcome::Verified)
        return;
    if (const auto key = graceKeyOf(config_, attempt.login)) {
        if (const Result<> granted = grace_.grant(*key, config_.gracePeriod); !granted)
            logger_.log(LogLevel::Warning,
                        "grace: not recorded: " + sanitize(granted.problem().text));
    }
}

std::optional<Outcome> Authenticator::claimPhone(LoginAttempt& attempt) {
    attempt.lease.emplace(sessions_, attempt.enrolment->phone,
                          holder_ ? *holder_ : currentHolder());
    const LeaseClaim claim = attempt.lease->claim(attempt.deadlineMs);
    switch (claim.verdict) {
        case LeaseVerdict::Held:
            return std::nullopt;
        case LeaseVerdict::HeldByOther:
            attempt.reason = "another login (pid " + std::to_string(claim.holderPid) +
                             ") is waiting for a code sent to this phone; nothing sent";
            return tellUser(conversation_, Outcome::PhoneBusy);
        case LeaseVerdict::Failed:
            break;
    }
    logger_.log(LogLevel::Error,
                "state_dir: " + sanitize(claim.problem ? claim.problem->text : ""));
    attempt.reason = claim.reason;
    return claim.failure;
}

// A login that ended (wrong codes, a closed connection, a kill) left a session on this number:
// the API refuses a new send until resend_interval has passed since that login's last send, so
// this login waits that long (the user sees the prompt a little later) instead of failing.
std::optional<Outcome> Authenticator::waitForResend(LoginAttempt& attempt) {
    const std::optional<PendingSession>& previous = attempt.lease->previous();
    if (!previous)
        return std::nullopt;
    // The API counts from when it took the last send, which was before this host noted it.
    constexpr std::int64_t kSlackMs = 250;
    const std::int64_t wait = previous->lastSendMs +
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
        attempt.reason =
            "a login that ended sent a code to this phone less than resend_interval "
            "ago, and login_timeout leaves no time to wait; nothing sent";
        conversation_.error("A code was sent to this phone moments ago; try again in " +
                            secondsText(wait) + ".");
        return Outcome::ResendTooSoon;
    }
    logger_.debug("waiting " + std::to_string(wait) +
                  " ms: resend_interval since the last send to this phone");
    conversation_.info("A code was sent to this phone moments ago; a new one follows in " +
                       secondsText(wait) + ".");
    if (sleep_)
        sleep_(wait);
    else
        std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    return std::nullopt;
}

// Ends the lease, whatever ended the login, and writes the login's one outcome line.
void Authenticator::finish(LoginAttempt& attempt, Outcome outcome) {
    OutcomeDetails details;
    if (attempt.lease) {
        const Result<> released = attempt.lease->close(outcome);
        if (!released)
            logger_.debug("the claim could not be released: " + sanitize(released.problem().text));
        const PendingSession& current = attempt.lease->current();
        details.channel =
            current.sessionId.empty() ? attempt.enrolment->channels.front() : current.channel;
        details.phone = attempt.enrolment->phone;
        details.sessionId = current.sessionId;
        details.sends = current.sends;
    } else if (attempt.enrolment) {
        details.channel = attempt.enrolment->channels.front();
        details.phone = attempt.enrolment->phone;
    }
    details.attempts = attempt.tries;
    details.ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steadyClock_() - attempt.start)
            .count();
    details.reason = attempt.reason;
    logOutcome(logger_, outcome, attempt.login, details);
}

}  // namespace verif8
