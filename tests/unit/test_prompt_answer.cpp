// PromptAnswer: what a typed answer asks for, and the words the prompt says back.
#include "support.hpp"
#include "verif8/PromptAnswer.hpp"

using namespace verif8;

static void each_answer_is_read_as_what_it_asks_for(void**) {
    const Enrolment user{"alice", "+6591234567", {Channel::Sms, Channel::Voice}};
    const struct {
        std::string typed;
        AnswerKind kind;
        std::optional<Channel> channel;
    } cases[]{
        {"", AnswerKind::Resend, std::nullopt},
        {"voice", AnswerKind::Resend, Channel::Voice},
        {"Voice", AnswerKind::Resend, Channel::Voice},  // channel words in any case
        {"SMS", AnswerKind::Resend, Channel::Sms},
        {"whatsapp", AnswerKind::UnofferedChannel, Channel::Whatsapp},
        {"viber", AnswerKind::UnofferedChannel, Channel::Viber},
        {"739184", AnswerKind::Code, std::nullopt},
        {"123-456", AnswerKind::Code, std::nullopt},
        {"AbC12x", AnswerKind::Code, std::nullopt},
        {"abc", AnswerKind::Code, std::nullopt},
        {"12", AnswerKind::NotACode, std::nullopt},
        {"12345678901", AnswerKind::NotACode, std::nullopt},
        {"12 34", AnswerKind::NotACode, std::nullopt},
        {"12\303\25134", AnswerKind::NotACode, std::nullopt},  // "12é34"
        {"%n%s", AnswerKind::NotACode, std::nullopt},
        {"12\00134", AnswerKind::NotACode, std::nullopt},
        {"voicevoicevoicevoice", AnswerKind::NotACode, std::nullopt},
    };
    for (const auto& c : cases) {
        const PromptAnswer read = readPromptAnswer(c.typed, user);
        expect_row(read.kind == c.kind && read.channel == c.channel, c.typed);
    }
}

static void the_prompt_words_name_channels_counts_and_seconds(void**) {
    const Enrolment user{"alice", "+6591234567", {Channel::Sms, Channel::Voice}};
    expect_str(sentNotice("Code sent by ", Channel::Voice, user.phone),
               "Code sent by voice call to \u2022\u2022\u2022\u2022\u2022\u20224567.");
    expect_str(unofferedNotice(Channel::Viber, user),
               "Channel viber is not available for you (yours: sms, voice).");
    expect_str(attemptsLeftText(2), "2 attempts left.");
    expect_str(attemptsLeftText(1), "1 attempt left.");
    expect_str(secondsText(1), "1 second");
    expect_str(secondsText(1000), "1 second");
    expect_str(secondsText(20250), "21 seconds");
    assert_true(offersChannel(user, Channel::Voice));
    assert_false(offersChannel(user, Channel::Whatsapp));
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_answer_is_read_as_what_it_asks_for),
        cmocka_unit_test(the_prompt_words_name_channels_counts_and_seconds),
    };
    return cmocka_run_group_tests_name("prompt_answer", tests, nullptr, nullptr);
}
