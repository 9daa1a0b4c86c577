// PromptAnswer: what an answer typed at the code prompt asks for, and what the prompt says back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "verif8/Channel.hpp"
#include "verif8/Enrolment.hpp"

namespace verif8 {

enum class AnswerKind {
    Resend,            // an empty line, or a channel word the user has: a new code
    UnofferedChannel,  // a channel word the user is not enrolled for
    NotACode,          // cannot be a code: never sent to the API
    Code,              // worth checking
};

struct PromptAnswer {
    AnswerKind kind = AnswerKind::NotACode;
    // Resend: the channel the word named (none: the session's own); UnofferedChannel: the word.
    std::optional<Channel> channel;
};

// Reads a trimmed answer. The channel words are reserved (matched in any case), so a code never
// has to be told apart from them.
PromptAnswer readPromptAnswer(std::string_view trimmed, const Enrolment& enrolment);

// Whether what the user typed (trimmed) can be a code at all: 3 to 10 letters, digits or '-'.
bool isPlausibleCode(std::string_view code);

bool offersChannel(const Enrolment& enrolment, Channel channel);

// "Code sent by SMS to ••••••4567." after `how` ("Code sent by ").
std::string sentNotice(std::string_view how, Channel channel, std::string_view phone);
// "Channel voice is not available for you (yours: sms, whatsapp)."
std::string unofferedNotice(Channel channel, const Enrolment& enrolment);
// "2 attempts left." / "1 attempt left."
std::string attemptsLeftText(int left);
// "1 second" / "N seconds", for milliseconds rounded up.
std::string secondsText(std::int64_t ms);

}  // namespace verif8
