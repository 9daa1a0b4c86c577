// CodePrompt: the prompt loop of a login, from the first notice to a checked code or the end.
#pragma once

#include <string>
#include <string_view>

#include "CodeSender.hpp"
#include "LoginAttempt.hpp"

namespace verif8 {

class CodePrompt {
public:
    CodePrompt(const LoginServices& services, LoginAttempt& attempt, CodeSender& sender)
        : services_(services), attempt_(attempt), sender_(sender) {}

    // Asks for the code until one is verified or the login must end; `notice` leads the first
    // prompt ("Code sent by SMS to ...").
    Outcome run(std::string notice);

private:
    Step answer(std::string_view typed);
    Step passwordAnswer();
    Step validate(std::string_view code);
    std::optional<Outcome> readStatus();
    Step judgeCheck(const CallResult& checked);

    const LoginServices& services_;
    LoginAttempt& attempt_;
    CodeSender& sender_;
};

}  // namespace verif8
