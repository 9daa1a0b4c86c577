// CodeSender: every send of a login's code, first and again, within the send limits.
#pragma once

#include <optional>

#include "LoginAttempt.hpp"

namespace verif8 {

class CodeSender {
public:
    CodeSender(const LoginServices& services, LoginAttempt& attempt)
        : services_(services), attempt_(attempt) {}

    // Counts a send against user_send_limit, source_send_limit and phone_send_limit, or says why
    // it may not happen: a first send refused ends the login, a resend refused costs an attempt.
    std::optional<Step> take(bool again);
    // Gives back a send taken but never made.
    void refund();
    // Sends a code on `channel` (`again`: a resend the user asked for at the prompt).
    Step send(Channel channel, bool again);
    // A resend asked for at the prompt, within kMaxSendsPerLogin and resend_interval.
    Step sendAgain(Channel channel);

private:
    Step adopt(const Session& session, Channel channel, bool again);
    SendKeys sendKeys() const;

    const LoginServices& services_;
    LoginAttempt& attempt_;
};

}  // namespace verif8
