// The code prompt: answers read by the prompt grammar, resends, and each code's check.
#include "CodePrompt.hpp"

#include "verif8/CallOutcome.hpp"
#include "verif8/PromptAnswer.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

Outcome CodePrompt::run(std::string notice) {
    for (;;) {
        // The notice travels inside the prompt: sshd holds separate info messages back until
        // after the user has answered.
        const std::optional<SecretString> reply =
            services_.conversation.askSecret(notice + "\nVerification code: ");
        if (!reply) {
            attempt_.reason = "no answer to the prompt";
            return Outcome::ConversationFailed;
        }
        ++attempt_.tries;
        if (services_.clocks.steady() >= attempt_.deadline) {
            // Whatever was typed, it came too late: sshd's LoginGraceTime is not far behind.
            attempt_.reason =
                "login_timeout of " + std::to_string(services_.config.loginTimeout) + " s";
            return tellUser(services_.conversation, Outcome::LoginTimeout);
        }
        Step step = services_.conversation.isLoginPassword(reply->view())
                        ? passwordAnswer()
                        : answer(trim(reply->view()));
        if (step.end)
            return *step.end;
        notice = std::move(step.notice);
        if (!step.wasted)
            continue;
        ++attempt_.wasted;
        const int left = services_.config.maxAttempts - attempt_.wasted;
        if (left <= 0) {
            services_.conversation.error(notice + " No attempts left.");
            return Outcome::TooManyWrongCodes;
        }
        notice += " " + attemptsLeftText(left);
    }
}

Step CodePrompt::answer(std::string_view typed) {
    const PromptAnswer read = readPromptAnswer(typed, *attempt_.enrolment);
    switch (read.kind) {
        case AnswerKind::Resend:
            return sender_.sendAgain(read.channel.value_or(attempt_.lease->current().channel));
        case AnswerKind::UnofferedChannel:
            return wasted(unofferedNotice(*read.channel, *attempt_.enrolment));
        case AnswerKind::NotACode:
            return wasted("That is not a code: codes are 3 to 10 letters or digits.");
        case AnswerKind::Code:
            break;
    }
    return validate(typed);
}

// The host answered the code prompt with the login's password (sshd's "password" method does,
// for every prompt): it is never sent anywhere, and it costs an attempt like any wrong answer,
// so that such a host ends the login after max_attempts rounds.
Step CodePrompt::passwordAnswer() {
    if (!attempt_.passwordAnswered)
        services_.logger.log(LogLevel::Warning,
                             "the answer to the code prompt was the login password: the host "
                             "answers prompts with the password (sshd with keyboard-interactive "
                             "off?); not sent");
    attempt_.passwordAnswered = true;
    attempt_.reason = "answered with the password: the host answers prompts with the password";
    return wasted("That was a password, not the code.");
}

// The status first: a session another login has verified, or is using, is refused before this
// login's code could be taken for the one that verified it. (Between this read and the check,
// another host's login can still verify it: one round trip; see the man page.)
std::optional<Outcome> CodePrompt::readStatus() {
    const SessionLease& lease = *attempt_.lease;
    const CallResult read = services_.client.status(lease.current().sessionId);
    services_.logger.debug("status: " + std::string(callStatusName(read.status)) + ", " +
                           read.detail);
    if (read.status != CallStatus::Ok || !read.session)
        return failedCall(services_, attempt_, read, false);
    if (!sameSessionId(read.session->id, lease.current().sessionId)) {
        attempt_.reason = "the answer was for another session";
        return Outcome::BadResponse;
    }
    if (read.session->status == SessionStatus::Verified)
        return sessionTaken(services_, attempt_,
                            "the session was VERIFIED before this login checked a code: another "
                            "login or host used it");
    if (const auto final = outcomeOfFinalStatus(read.session->status))
        return tellUser(services_.conversation, *final);
    const Result<> untouched = lease.acceptsChecked(*read.session);
    if (!untouched)
        return sessionTaken(services_, attempt_, untouched.problem().text);
    return std::nullopt;
}

Step CodePrompt::validate(std::string_view code) {
    if (const auto stop = readStatus())
        return ended(*stop);
    const CallResult checked =
        services_.client.validate(attempt_.lease->current().sessionId, SecretString(code));
    services_.logger.debug("validate: " + std::string(callStatusName(checked.status)) + ", " +
                           checked.detail);
    // A code check never fails open: the code was typed, and only its check can pass the login.
    if (checked.status != CallStatus::Ok || !checked.session)
        return ended(failedCall(services_, attempt_, checked, false));
    return judgeCheck(checked);
}

Step CodePrompt::judgeCheck(const CallResult& checked) {
    SessionLease& lease = *attempt_.lease;
    // One login is one session: a VERIFIED for any other session proves nothing.
    if (!sameSessionId(checked.session->id, lease.current().sessionId)) {
        attempt_.reason = "the answer was for another session";
        return ended(Outcome::BadResponse);
    }
    const Session& after = *checked.session;
    if (after.status != SessionStatus::Verified) {
        if (const auto final = outcomeOfFinalStatus(after.status))
            return ended(tellUser(services_.conversation, *final));
        lease.countWrongCode();
        ++attempt_.wrongCodes;
        endGrace(services_, attempt_);
    }
    const Result<> untouched = lease.acceptsChecked(after);
    if (!untouched)
        return ended(sessionTaken(services_, attempt_, untouched.problem().text));
    if (after.status == SessionStatus::Verified)
        return ended(Outcome::Verified);
    const Recording recording = lease.record();
    if (recording.verdict != RecordVerdict::Recorded)
        services_.logger.debug(
            "the wrong-code count could not be recorded: " +
            sanitize(recording.problem ? recording.problem->text : "(no problem given)"));
    return wasted("Wrong code.");
}

}  // namespace verif8
