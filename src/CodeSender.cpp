// The sends of a login: the limits first, then the initiate call, then the session it answers.
#include "CodeSender.hpp"

#include "verif8/CallOutcome.hpp"
#include "verif8/PromptAnswer.hpp"
#include "verif8/RequestBuilder.hpp"

namespace verif8 {

std::optional<Step> CodeSender::take(bool again) {
    const LimitDecision decision = services_.limiter.take(sendKeys());
    for (const auto& problem : decision.problems)
        services_.logger.log(LogLevel::Error, "send limits: " + sanitize(problem.text));
    switch (decision.verdict) {
        case LimitVerdict::Allowed:
            return std::nullopt;
        case LimitVerdict::Unavailable:
            attempt_.reason = "send counters unusable";
            return ended(Outcome::ConfigError);
        case LimitVerdict::Busy:
            attempt_.reason = "a send counter stayed locked (a stopped process?); nothing sent";
            return ended(Outcome::StateBusy);
        case LimitVerdict::UserLimit:
        case LimitVerdict::SourceLimit:
        case LimitVerdict::PhoneLimit:
            break;
    }
    if (again)
        return wasted("No more codes can be sent now; try again later.");
    attempt_.reason = std::string(decision.verdict == LimitVerdict::UserLimit     ? "user"
                                  : decision.verdict == LimitVerdict::SourceLimit ? "source"
                                                                                  : "phone") +
                      "_send_limit reached";
    return ended(tellUser(services_.conversation, Outcome::SendLimitReached));
}

void CodeSender::refund() {
    services_.limiter.refund(sendKeys());
}

SendKeys CodeSender::sendKeys() const {
    return {attempt_.login.user, sendSource(attempt_.login), attempt_.enrolment->phone};
}

Step CodeSender::send(Channel channel, bool again) {
    const Config& config = services_.config;
    if (channel == Channel::Whatsapp && !config.whatsappTemplate) {
        services_.logger.log(LogLevel::Error,
                             "whatsapp_template is required for users on WhatsApp");
        if (again)
            return wasted("Channel whatsapp cannot be used now.");
        attempt_.reason = "whatsapp_template is required for users on WhatsApp";
        return ended(Outcome::ConfigError);
    }
    if (!attempt_.sendTaken) {
        if (auto refused = take(again))
            return *refused;
    }
    attempt_.sendTaken = false;
    const bool takeOver = !again && attempt_.lease->previous().has_value();
    const CallResult sent = services_.client.initiate(buildInitiateRequest(
        config, attempt_.enrolment->phone, channel, takeOver, attempt_.login.rhost));
    services_.logger.debug("initiate: " + std::string(callStatusName(sent.status)) + ", " +
                           sent.detail);
    if (sent.status != CallStatus::Ok && !sent.requestSent)
        refund();
    if (again && sent.status == CallStatus::ResendTooSoon)
        return wasted("Wait a little before asking for a new code.");
    if (sent.status != CallStatus::Ok || !sent.session)
        return ended(failedCall(services_, attempt_, sent, !again));
    return adopt(*sent.session, channel, again);
}

// The session a send answered with becomes this login's, if it is this login's to take.
Step CodeSender::adopt(const Session& session, Channel channel, bool again) {
    SessionLease& lease = *attempt_.lease;
    if (session.status != SessionStatus::Waiting) {
        attempt_.reason = "a new send came back " + std::string(sessionStatusName(session.status));
        return ended(outcomeOfFinalStatus(session.status).value_or(Outcome::BadResponse));
    }
    const Config& config = services_.config;
    const Result<> ours =
        lease.acceptsSent(session, static_cast<long>(config.codeValidity) - config.resendInterval);
    if (!ours)
        return ended(sessionTaken(services_, attempt_, ours.problem().text));
    const Channel previous = lease.current().channel;
    const Recording recording =
        lease.recordSend(session, channel, services_.clocks.boot(),
                         static_cast<std::int64_t>(config.codeValidity) * 1000, attempt_.login.key);
    if (recording.verdict == RecordVerdict::ClaimLost) {
        attempt_.reason = "this login's claim on the phone ran out (login_timeout)";
        return ended(Outcome::LoginTimeout);
    }
    if (recording.verdict == RecordVerdict::Unavailable) {
        const std::string problem =
            recording.problem ? recording.problem->text : "(no problem given)";
        services_.logger.log(LogLevel::Error, "state_dir: " + sanitize(problem));
        attempt_.reason = "state_dir: the session could not be recorded";
        return ended(Outcome::ConfigError);
    }
    return carryOn(
        sentNotice(again && previous == channel ? "Code sent again by " : "Code sent by ", channel,
                   attempt_.enrolment->phone));
}

Step CodeSender::sendAgain(Channel channel) {
    const PendingSession& current = attempt_.lease->current();
    if (current.sends >= kMaxSendsPerLogin)
        return wasted("No more codes can be sent for this login.");
    const std::int64_t waitMs = current.lastSendMs +
                                static_cast<std::int64_t>(services_.config.resendInterval) * 1000 -
                                services_.clocks.boot();
    const std::int64_t wait = (waitMs + 999) / 1000;
    if (wait > 0) {
        return wasted("Wait " + std::to_string(wait) +
                      (wait == 1 ? " more second" : " more seconds") +
                      " before asking for a new code.");
    }
    return send(channel, true);
}

}  // namespace verif8
