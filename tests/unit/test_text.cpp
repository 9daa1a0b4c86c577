// Small text helpers: SecretString, masking, sanitizing, log fields, numbers, lines, channels,
// session ids and plausible codes.
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"
#include "verif8/Channel.hpp"
#include "verif8/Logger.hpp"
#include "verif8/Masking.hpp"
#include "verif8/PromptAnswer.hpp"
#include "verif8/SecretString.hpp"
#include "verif8/Session.hpp"
#include "verif8/TextUtil.hpp"

using namespace verif8;

// ---- SecretString

static void secret_string_assign_keeps_the_text(void**) {
    SecretString secret;
    assert_true(secret.empty());
    secret.assign("123456");
    expect_str(secret.view(), "123456");
    assert_int_equal(secret.size(), 6);
    assert_string_equal(secret.c_str(), "123456");
    secret.assign("ab");
    expect_str(secret.view(), "ab");
    expect_str(SecretString("key").view(), "key");
}

static void secret_string_append_keeps_every_piece(void**) {
    SecretString secret("start:");
    std::string expected = "start:";
    // Far past the initial capacity, so that the buffer has to grow at least twice.
    for (int i = 0; i < 100; ++i) {
        const std::string piece = std::to_string(i) + ",";
        secret.append(piece);
        expected += piece;
    }
    expect_str(secret.view(), expected);
    assert_int_equal(secret.size(), expected.size());
    assert_string_equal(secret.c_str(), expected.c_str());
}

static void secret_string_copy_is_independent(void**) {
    SecretString original("api-key-1");
    SecretString copy(original);
    expect_str(copy.view(), "api-key-1");
    copy.append("-changed");
    expect_str(original.view(), "api-key-1");
    expect_str(copy.view(), "api-key-1-changed");

    SecretString assigned("something longer than the original");
    assigned = original;
    expect_str(assigned.view(), "api-key-1");
    original.clear();
    expect_str(assigned.view(), "api-key-1");
}

static void secret_string_self_assignment_keeps_the_text(void**) {
    SecretString secret("654321");
    SecretString& same = secret;
    secret = same;
    expect_str(secret.view(), "654321");
    secret = std::move(same);
    expect_str(secret.view(), "654321");
}

static void secret_string_move_leaves_the_source_empty(void**) {
    SecretString source("short");
    SecretString moved(std::move(source));
    expect_str(moved.view(), "short");
    assert_true(source.empty());  // NOLINT(bugprone-use-after-move): the contract under test

    const std::string longText(300, 'k');
    SecretString longSource(longText);
    SecretString target("old contents");
    target = std::move(longSource);
    expect_str(target.view(), longText);
    assert_true(longSource.empty());  // NOLINT(bugprone-use-after-move)
    assert_int_equal(longSource.size(), 0);

    // A moved-from string can be used again.
    longSource.assign("reused");
    expect_str(longSource.view(), "reused");
}

static void secret_string_clear_empties_it(void**) {
    SecretString secret("123456");
    secret.clear();
    assert_true(secret.empty());
    assert_string_equal(secret.c_str(), "");
    secret.append("78");
    expect_str(secret.view(), "78");
}

// ---- Masking

static void prompt_mask_shows_only_the_last_four_digits(void**) {
    expect_str(maskPhoneForPrompt("+6591234567"),
               "\u2022\u2022\u2022\u2022\u2022\u2022"
               "4567");
    expect_str(maskPhoneForPrompt("+447700900123"),
               "\u2022\u2022\u2022\u2022\u2022\u2022"
               "0123");
}

static void prompt_mask_of_a_short_number_shows_no_digit(void**) {
    expect_str(maskPhoneForPrompt("+1234"), "\u2022\u2022\u2022\u2022\u2022\u2022");
    expect_str(maskPhoneForPrompt(""), "\u2022\u2022\u2022\u2022\u2022\u2022");
}

static void log_mask_shows_two_digits_at_each_end(void**) {
    expect_str(maskPhoneForLog("+6591234567"), "+65******67");
    expect_str(maskPhoneForLog("+447700900123"), "+44********23");
    expect_str(maskPhoneForLog("+12345678"), "+12****78");
}

static void log_mask_of_a_short_number_shows_no_digit(void**) {
    expect_str(maskPhoneForLog("+12345"), "+*****");
    expect_str(maskPhoneForLog(""), "+");
}

// ---- sanitize and logField

static void sanitize_replaces_control_characters_and_del(void**) {
    expect_str(sanitize(std::string("a\nb\rc\td\x1b[2J\x7f"
                                    "e\x01",
                                    14)),
               "a?b?c?d?[2J?e?");
    expect_str(sanitize(std::string("nul\0byte", 8)), "nul?byte");
}

static void sanitize_keeps_printable_text_and_utf8(void**) {
    expect_str(sanitize("alice@example.com ~!"), "alice@example.com ~!");
    expect_str(sanitize("Jos\xc3\xa9 \u2022"), "Jos\xc3\xa9 \u2022");
}

static void log_field_leaves_plain_values_unquoted(void**) {
    expect_str(logField("user", "alice"), "user=alice");
    expect_str(logField("to", "+65******67"), "to=+65******67");
}

static void log_field_quotes_spaces_quotes_and_equals(void**) {
    expect_str(logField("reason", "no such user"), "reason=\"no such user\"");
    expect_str(logField("user", "a=b"), "user=\"a=b\"");
    expect_str(logField("user", "say \"hi\""), "user=\"say \\\"hi\\\"\"");
    expect_str(logField("m", "back\\slash and space"), "m=\"back\\\\slash and space\"");
}

static void log_field_quotes_an_empty_value(void**) {
    expect_str(logField("rhost", ""), "rhost=\"\"");
}

static void log_field_sanitizes_control_characters(void**) {
    const std::string field = logField("user", "eve\nfake=line");
    expect_str(field, "user=\"eve?fake=line\"");
    assert_false(test::hasControlBytes(field));
}

static void sanitize_for_message_cuts_long_text(void**) {
    expect_str(sanitizeForMessage("short\x01"), "short?");
    const std::string longText(100, 'x');
    expect_str(sanitizeForMessage(longText), std::string(64, 'x') + "...");
    expect_str(sanitizeForMessage(std::string(64, 'y')), std::string(64, 'y'));
}

// ---- trim, parseNumber, character classes

static void trim_removes_surrounding_white_space(void**) {
    expect_str(trim("  a b \t\r\n"), "a b");
    expect_str(trim("\v\fx\f"), "x");
    expect_str(trim("   "), "");
    expect_str(trim(""), "");
    expect_str(trim("none"), "none");
}

static void parse_number_accepts_plain_digits(void**) {
    assert_true(parseNumber("0") == 0L);
    assert_true(parseNumber("42") == 42L);
    assert_true(parseNumber("007") == 7L);
    assert_true(parseNumber("999999999") == 999999999L);
}

static void parse_number_refuses_signs_spaces_and_other_text(void**) {
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1 2", "1.5", "1e3", "0x10", "ten", "12a",
                            "\xd9\xa1", "1000000000", "0000000000"}) {
        if (parseNumber(bad)) {
            print_error("parseNumber accepted '%s'\n", bad);
            fail();
        }
    }
}

static void character_classes_are_ascii_only(void**) {
    assert_true(isAsciiDigit('0') && isAsciiDigit('9'));
    assert_false(isAsciiDigit('a') || isAsciiDigit('/') || isAsciiDigit(':'));
    assert_true(isAsciiAlnum('a') && isAsciiAlnum('Z') && isAsciiAlnum('5'));
    assert_false(isAsciiAlnum('-') || isAsciiAlnum(' ') || isAsciiAlnum('\xc3'));
    assert_true(hasControl("a\tb"));
    assert_true(hasControl("\x7f"));
    assert_false(hasControl("a b"));
    assert_true(hasControlOrSpace("a b"));
    assert_false(hasControlOrSpace("ab"));
}

// ---- forEachLine

static std::vector<std::string> linesOf(std::string_view text) {
    std::vector<std::string> lines;
    forEachLine(text, [&](std::string_view line) { lines.emplace_back(line); });
    return lines;
}

static void for_each_line_strips_lf_and_crlf(void**) {
    const auto lines = linesOf("one\ntwo\r\nthree\n");
    assert_int_equal(lines.size(), 3);
    expect_str(lines[0], "one");
    expect_str(lines[1], "two");
    expect_str(lines[2], "three");
}

static void for_each_line_visits_a_last_line_without_newline(void**) {
    const auto lines = linesOf("one\r\ntwo");
    assert_int_equal(lines.size(), 2);
    expect_str(lines[1], "two");
}

static void for_each_line_keeps_blank_lines_in_their_place(void**) {
    const auto lines = linesOf("a\n\n\r\nb");
    assert_int_equal(lines.size(), 4);
    expect_str(lines[1], "");
    expect_str(lines[2], "");
    expect_str(lines[3], "b");
}

static void for_each_line_of_empty_text_visits_nothing(void**) {
    assert_int_equal(linesOf("").size(), 0);
    assert_int_equal(linesOf("\n").size(), 1);
}

static void for_each_line_keeps_a_lone_carriage_return_inside_a_line(void**) {
    const auto lines = linesOf("a\rb\n");
    assert_int_equal(lines.size(), 1);
    expect_str(lines[0], "a\rb");
}

// ---- Channel

static void channel_names_in_files_on_the_wire_and_on_screen(void**) {
    expect_str(channelName(Channel::Sms), "sms");
    expect_str(channelName(Channel::Voice), "voice");
    expect_str(channelName(Channel::Whatsapp), "whatsapp");
    expect_str(channelName(Channel::Viber), "viber");
    expect_str(channelWireName(Channel::Sms), "sms");
    expect_str(channelWireName(Channel::Voice), "call");
    expect_str(channelWireName(Channel::Whatsapp), "whatsapp");
    expect_str(channelWireName(Channel::Viber), "viber");
    expect_str(channelDisplayName(Channel::Sms), "SMS");
    expect_str(channelDisplayName(Channel::Voice), "voice call");
    expect_str(channelDisplayName(Channel::Whatsapp), "WhatsApp");
    expect_str(channelDisplayName(Channel::Viber), "Viber");
}

static void parse_channel_accepts_the_file_names(void**) {
    for (Channel channel : {Channel::Sms, Channel::Voice, Channel::Whatsapp, Channel::Viber}) {
        const auto parsed = parseChannel(channelName(channel));
        assert_true(parsed.has_value());
        assert_true(*parsed == channel);
    }
}

static void parse_channel_refuses_other_names(void**) {
    for (const char* bad : {"", "SMS", "Voice", "call", "sma", "email", " sms", "sms ", "sms,"})
        assert_false(parseChannel(bad).has_value());
}

// ---- Session ids

static void same_session_id_matches_hex_and_dashed_forms(void**) {
    assert_true(
        sameSessionId("18b526add06348c0bb934e71f042f047", "18b526ad-d063-48c0-bb93-4e71f042f047"));
    assert_true(
        sameSessionId("18b526ad-d063-48c0-bb93-4e71f042f047", "18b526add06348c0bb934e71f042f047"));
    assert_true(
        sameSessionId("a44a91be5ea5ea118169020897df5459", "a44a91be5ea5ea118169020897df5459"));
}

static void same_session_id_ignores_case(void**) {
    assert_true(
        sameSessionId("A44A91BE5EA5EA118169020897DF5459", "a44a91be-5ea5-ea11-8169-020897df5459"));
}

static void same_session_id_tells_different_ids_apart(void**) {
    assert_false(
        sameSessionId("a44a91be5ea5ea118169020897df5459", "a44a91be5ea5ea118169020897df545a"));
    assert_false(
        sameSessionId("a44a91be5ea5ea118169020897df5459", "a44a91be5ea5ea118169020897df545"));
    assert_false(sameSessionId("a44a91be5ea5ea118169020897df5459", ""));
}

static void same_session_id_never_matches_empty_ids(void**) {
    assert_false(sameSessionId("", ""));
    assert_false(sameSessionId("-", ""));
    assert_false(sameSessionId("--", "-"));
}

static void session_status_names_are_the_api_words(void**) {
    expect_str(sessionStatusName(SessionStatus::Waiting), "WAITING");
    expect_str(sessionStatusName(SessionStatus::Verified), "VERIFIED");
    expect_str(sessionStatusName(SessionStatus::Failed), "FAILED");
    expect_str(sessionStatusName(SessionStatus::Expired), "EXPIRED");
}

// ---- isPlausibleCode

static void plausible_codes_are_3_to_10_letters_digits_or_dashes(void**) {
    for (const char* good : {"123", "123456", "1234567890", "AbC123", "123-456", "FDAR315"})
        assert_true(isPlausibleCode(good));
}

static void implausible_codes_are_refused(void**) {
    for (const char* bad : {"", "12", "12345678901", "12 34", "123\t456",
                            "12\xc3\xa9"
                            "34",
                            "%n%s", "12345\n", "1/2/3", "123?code=1", "12&34",
                            "\xef\xbc\x91\xef\xbc\x92"
                            "3"})
        assert_false(isPlausibleCode(bad));
    assert_false(
        isPlausibleCode(std::string("123\0"
                                    "456",
                                    7)));
}

static void sanitize_replaces_c1_controls_and_bidi_overrides(void**) {
    // U+009B (CSI as one character), U+202E (right-to-left override), U+2066 (isolate).
    expect_str(sanitize("a\xc2\x9b"
                        "b\xe2\x80\xae"
                        "c\xe2\x81\xa6"
                        "d"),
               "a?b?c?d");
}

static void sanitize_replaces_malformed_utf8_byte_by_byte(void**) {
    expect_str(sanitize("a\x9b"
                        "b"),
               "a?b");  // a lone continuation byte
    expect_str(sanitize("a\xc0\xaf"
                        "b"),
               "a??b");  // an overlong '/'
    expect_str(sanitize("a\xed\xa0\x80"
                        "b"),
               "a???b");                       // a UTF-16 surrogate
    expect_str(sanitize("a\xe2\x80"), "a??");  // cut short
}

static void sanitize_keeps_well_formed_utf8(void**) {
    expect_str(sanitize("\u2022\u20224567 caf\u00e9 \u65e5\u672c"),
               "\u2022\u20224567 caf\u00e9 \u65e5\u672c");
}

static void utf8_validity_is_checked_sequence_by_sequence(void**) {
    assert_true(isValidUtf8("plain"));
    assert_true(isValidUtf8("\u00e9\u2022\U0001F600"));
    assert_false(isValidUtf8("\xff"));
    assert_false(isValidUtf8("\xe2\x80"));
    assert_false(isValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

static void secret_string_assign_from_its_own_view_keeps_the_text(void**) {
    SecretString secret("abcdef");
    secret.assign(secret.view().substr(2));
    expect_str(secret.view(), "cdef");
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sanitize_replaces_c1_controls_and_bidi_overrides),
        cmocka_unit_test(sanitize_replaces_malformed_utf8_byte_by_byte),
        cmocka_unit_test(sanitize_keeps_well_formed_utf8),
        cmocka_unit_test(utf8_validity_is_checked_sequence_by_sequence),
        cmocka_unit_test(secret_string_assign_from_its_own_view_keeps_the_text),
        cmocka_unit_test(secret_string_assign_keeps_the_text),
        cmocka_unit_test(secret_string_append_keeps_every_piece),
        cmocka_unit_test(secret_string_copy_is_independent),
        cmocka_unit_test(secret_string_self_assignment_keeps_the_text),
        cmocka_unit_test(secret_string_move_leaves_the_source_empty),
        cmocka_unit_test(secret_string_clear_empties_it),
        cmocka_unit_test(prompt_mask_shows_only_the_last_four_digits),
        cmocka_unit_test(prompt_mask_of_a_short_number_shows_no_digit),
        cmocka_unit_test(log_mask_shows_two_digits_at_each_end),
        cmocka_unit_test(log_mask_of_a_short_number_shows_no_digit),
        cmocka_unit_test(sanitize_replaces_control_characters_and_del),
        cmocka_unit_test(sanitize_keeps_printable_text_and_utf8),
        cmocka_unit_test(log_field_leaves_plain_values_unquoted),
        cmocka_unit_test(log_field_quotes_spaces_quotes_and_equals),
        cmocka_unit_test(log_field_quotes_an_empty_value),
        cmocka_unit_test(log_field_sanitizes_control_characters),
        cmocka_unit_test(sanitize_for_message_cuts_long_text),
        cmocka_unit_test(trim_removes_surrounding_white_space),
        cmocka_unit_test(parse_number_accepts_plain_digits),
        cmocka_unit_test(parse_number_refuses_signs_spaces_and_other_text),
        cmocka_unit_test(character_classes_are_ascii_only),
        cmocka_unit_test(for_each_line_strips_lf_and_crlf),
        cmocka_unit_test(for_each_line_visits_a_last_line_without_newline),
        cmocka_unit_test(for_each_line_keeps_blank_lines_in_their_place),
        cmocka_unit_test(for_each_line_of_empty_text_visits_nothing),
        cmocka_unit_test(for_each_line_keeps_a_lone_carriage_return_inside_a_line),
        cmocka_unit_test(channel_names_in_files_on_the_wire_and_on_screen),
        cmocka_unit_test(parse_channel_accepts_the_file_names),
        cmocka_unit_test(parse_channel_refuses_other_names),
        cmocka_unit_test(same_session_id_matches_hex_and_dashed_forms),
        cmocka_unit_test(same_session_id_ignores_case),
        cmocka_unit_test(same_session_id_tells_different_ids_apart),
        cmocka_unit_test(same_session_id_never_matches_empty_ids),
        cmocka_unit_test(session_status_names_are_the_api_words),
        cmocka_unit_test(plausible_codes_are_3_to_10_letters_digits_or_dashes),
        cmocka_unit_test(implausible_codes_are_refused),
    };
    return cmocka_run_group_tests_name("text", tests, nullptr, nullptr);
}
