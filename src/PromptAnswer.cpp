// The code prompt's grammar: channel words, an empty line for a resend, plausible codes.
#include "verif8/PromptAnswer.hpp"

#include <algorithm>

#include "verif8/Masking.hpp"
#include "verif8/SecretString.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
// What was typed may be a code: it is lowered in a small buffer that is wiped, never copied
// into a string that would outlive the login.
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
}  // namespace

PromptAnswer readPromptAnswer(std::string_view trimmed, const Enrolment& enrolment) {
    if (trimmed.empty())
        return {AnswerKind::Resend, std::nullopt};
    if (const auto channel = channelWord(trimmed)) {
        if (!offersChannel(enrolment, *channel))
            return {AnswerKind::UnofferedChannel, channel};
        return {AnswerKind::Resend, channel};
    }
    if (!isPlausibleCode(trimmed))
        return {AnswerKind::NotACode, std::nullopt};
    return {AnswerKind::Code, std::nullopt};
}

bool isPlausibleCode(std::string_view code) {
    if (code.size() < 3 || code.size() > 10)
        return false;
    for (char c : code) {
        if (!isAsciiAlnum(c) && c != '-')
            return false;
    }
    return true;
}

bool offersChannel(const Enrolment& enrolment, Channel channel) {
    return std::find(enrolment.channels.begin(), enrolment.channels.end(), channel) !=
           enrolment.channels.end();
}

std::string sentNotice(std::string_view how, Channel channel, std::string_view phone) {
    return std::string(how) + std::string(channelDisplayName(channel)) + " to " +
           maskPhoneForPrompt(phone) + ".";
}

std::string unofferedNotice(Channel channel, const Enrolment& enrolment) {
    std::string names;
    for (Channel offered : enrolment.channels)
        names += (names.empty() ? "" : ", ") + std::string(channelName(offered));
    return "Channel " + std::string(channelName(channel)) +
           " is not available for you (yours: " + names + ").";
}

std::string attemptsLeftText(int left) {
    return std::to_string(left) + (left == 1 ? " attempt" : " attempts") + " left.";
}

std::string secondsText(std::int64_t ms) {
    const std::int64_t seconds = (ms + 999) / 1000;
    return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
}

}  // namespace verif8
