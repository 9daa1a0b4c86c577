// Small text helpers: SecretString, masking, sanitizing, log fields, numbers, words, lines,
// channels, session ids and plausible codes. Where cases repeat, one table row per case.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
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

using Pairs = std::vector<std::pair<std::string, std::string>>;

// ---- SecretString

static void secret_string_assign_append_and_clear_keep_the_text(void**) {
    SecretString secret;
    assert_true(secret.empty());
    secret.assign("123456");
    expect_str(secret.view(), "123456");
    assert_int_equal(secret.size(), 6);
    assert_string_equal(secret.c_str(), "123456");
    secret.assign("ab");
    expect_str(secret.view(), "ab");
    expect_str(SecretString("key").view(), "key");
    secret.clear();
    assert_true(secret.empty());
    assert_string_equal(secret.c_str(), "");
    secret.append("78");
    expect_str(secret.view(), "78");
    SecretString own("abcdef");
    own.assign(own.view().substr(2));  // from its own view
    expect_str(own.view(), "cdef");
    SecretString grown("start:");
    std::string expected = "start:";
    // Far past the initial capacity, so that the buffer has to grow at least twice.
    for (int i = 0; i < 100; ++i) {
        grown.append(std::to_string(i) + ",");
        expected += std::to_string(i) + ",";
    }
    expect_str(grown.view(), expected);
    assert_int_equal(grown.size(), expected.size());
    assert_string_equal(grown.c_str(), expected.c_str());
}

static void secret_string_copies_are_independent_and_self_assignment_keeps_the_text(void**) {
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
    SecretString& same = assigned;
    assigned = same;
    expect_str(assigned.view(), "api-key-1");
    assigned = std::move(same);
    expect_str(assigned.view(), "api-key-1");
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
    longSource.assign("reused");  // a moved-from string can be used again
    expect_str(longSource.view(), "reused");
}

// ---- Masking

static void phone_masks_show_few_digits(void**) {
    const std::string dots = "\u2022\u2022\u2022\u2022\u2022\u2022";
    // The prompt shows only the last four digits, and none of a short number.
    // clang-format off
    for (const auto& [phone, masked] : Pairs{{"+6591234567", dots + "4567"},
             {"+447700900123", dots + "0123"}, {"+1234", dots}, {"", dots}})
        expect_str(maskPhoneForPrompt(phone), masked);
    // The log shows two digits at each end, and none of a short number.
    for (const auto& [phone, masked] : Pairs{{"+6591234567", "+65******67"},
             {"+447700900123", "+44********23"}, {"+12345678", "+12****78"}, {"+12345", "+*****"},
             {"", "+"}})
        expect_str(maskPhoneForLog(phone), masked);
    // clang-format on
}

// ---- sanitize and logField

static void sanitize_replaces_what_a_terminal_would_obey(void**) {
    // clang-format off
    const Pairs rows{
        {std::string("a\nb\rc\td\x1b[2J\x7f" "e\x01", 14), "a?b?c?d?[2J?e?"},
        {std::string("nul\0byte", 8), "nul?byte"},
        {"alice@example.com ~!", "alice@example.com ~!"},
        {"Jos\xc3\xa9 \u2022", "Jos\xc3\xa9 \u2022"},
        {"\u2022\u20224567 caf\u00e9 \u65e5\u672c", "\u2022\u20224567 caf\u00e9 \u65e5\u672c"},
        // U+009B (CSI as one character), U+202E (right-to-left override), U+2066 (isolate).
        {"a\xc2\x9b" "b\xe2\x80\xae" "c\xe2\x81\xa6" "d", "a?b?c?d"},
        // Malformed UTF-8, byte by byte: a lone continuation byte, an overlong '/', a UTF-16
        // surrogate, a sequence cut short.
        {"a\x9b" "b", "a?b"}, {"a\xc0\xaf" "b", "a??b"}, {"a\xed\xa0\x80" "b", "a???b"},
        {"a\xe2\x80", "a??"},
    };
    // clang-format on
    for (const auto& [text, clean] : rows)
        expect_str(sanitize(text), clean);
}

static void log_field_quotes_only_what_needs_it(void**) {
    // clang-format off
    const std::vector<std::pair<Pairs::value_type, std::string>> rows{
        {{"user", "alice"}, "user=alice"}, {{"to", "+65******67"}, "to=+65******67"},
        {{"reason", "no such user"}, "reason=\"no such user\""}, {{"user", "a=b"}, "user=\"a=b\""},
        {{"user", "say \"hi\""}, "user=\"say \\\"hi\\\"\""},
        {{"m", "back\\slash and space"}, "m=\"back\\\\slash and space\""},
        {{"rhost", ""}, "rhost=\"\""}, {{"user", "eve\nfake=line"}, "user=\"eve?fake=line\""},
    };
    // clang-format on
    for (const auto& [field, text] : rows) {
        expect_str(logField(field.first, field.second), text);
        assert_false(test::hasControlBytes(logField(field.first, field.second)));
    }
}

static void sanitize_for_message_cuts_long_text(void**) {
    expect_str(sanitizeForMessage("short\x01"), "short?");
    expect_str(sanitizeForMessage(std::string(100, 'x')), std::string(64, 'x') + "...");
    expect_str(sanitizeForMessage(std::string(64, 'y')), std::string(64, 'y'));
}

// ---- trim, character classes, UTF-8

static void trim_removes_surrounding_white_space(void**) {
    for (const auto& [text, trimmed] :
         Pairs{{"  a b \t\r\n", "a b"}, {"\v\fx\f", "x"}, {"   ", ""}, {"", ""}, {"none", "none"}})
        expect_str(trim(text), trimmed);
}

static void character_classes_are_ascii_only_and_utf8_is_checked_by_sequence(void**) {
    assert_true(isAsciiDigit('0') && isAsciiDigit('9'));
    assert_false(isAsciiDigit('a') || isAsciiDigit('/') || isAsciiDigit(':'));
    assert_true(isAsciiAlnum('a') && isAsciiAlnum('Z') && isAsciiAlnum('5'));
    assert_false(isAsciiAlnum('-') || isAsciiAlnum(' ') || isAsciiAlnum('\xc3'));
    assert_true(hasControl("a\tb") && hasControl("\x7f"));
    assert_false(hasControl("a b"));
    assert_true(hasControlOrSpace("a b"));
    assert_false(hasControlOrSpace("ab"));
    assert_true(isValidUtf8("plain") && isValidUtf8("\u00e9\u2022\U0001F600"));
    assert_false(isValidUtf8("\xff") || isValidUtf8("\xe2\x80"));
    assert_false(isValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

// ---- parseDecimal

template <typename Int>
static void expectDecimal(std::string_view text, std::size_t width, std::optional<Int> value) {
    const std::optional<Int> parsed = parseDecimal<Int>(text, width);
    if (parsed != value) {
        print_error("parseDecimal('%.*s', %zu) = %s\n", static_cast<int>(text.size()), text.data(),
                    width, parsed ? std::to_string(*parsed).c_str() : "nullopt");
        fail();
    }
}

static void parse_decimal_reads_plain_digits_up_to_the_width_and_type(void**) {
    for (const auto& [text, value] : std::vector<std::pair<const char*, long>>{
             {"0", 0}, {"42", 42}, {"007", 7}, {"999999999", 999999999}})
        expectDecimal<long>(text, 9, value);
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1 2", "1.5", "1e3", "0x10", "ten", "12a",
                            "\xd9\xa1", "1000000000", "0000000000"})
        expectDecimal<long>(bad, 9, std::nullopt);
    expectDecimal<std::time_t>("999999999999", 12, std::time_t{999999999999});
    expectDecimal<std::time_t>("1000000000000", 12, std::nullopt);
    // The session table's generation counter is a full uint64: every value must read back, and
    // nothing past it may wrap around.
    constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
    expectDecimal<std::uint64_t>("18446744073709551615", 20, u64max);
    expectDecimal<std::uint64_t>("10000000000000000000", 20, std::uint64_t{10000000000000000000u});
    expectDecimal<std::uint64_t>("00000000000000000001", 20, std::uint64_t{1});
    expectDecimal<std::uint64_t>("18446744073709551616", 20, std::nullopt);
    expectDecimal<std::uint64_t>("99999999999999999999", 20, std::nullopt);
    expectDecimal<std::uint64_t>("184467440737095516150", 21, std::nullopt);
    expectDecimal<std::int64_t>("9223372036854775807", 19,
                                std::numeric_limits<std::int64_t>::max());
    expectDecimal<std::int64_t>("9223372036854775808", 19, std::nullopt);
    expectDecimal<int>("2147483647", 10, std::numeric_limits<int>::max());
    expectDecimal<int>("2147483648", 10, std::nullopt);
}

// ---- split and forEachLine

static std::string piecesOf(const std::vector<std::string_view>& pieces) {
    std::string text = std::to_string(pieces.size()) + ":";
    for (const auto& piece : pieces)
        text += "[" + std::string(piece) + "]";
    return text;
}

static void split_finds_words_or_fields(void**) {
    struct Row {
        const char* text;
        const char* separators;
        EmptyFields empties;
        const char* pieces;
    };
    const auto skip = EmptyFields::Skip, keep = EmptyFields::Keep;
    // clang-format off
    const std::vector<Row> rows{
        {"a b\tc", " \t", skip, "3:[a][b][c]"}, {"  a  \t b ", " \t", skip, "2:[a][b]"},
        {"", " \t", skip, "0:"}, {" \t ", " \t", skip, "0:"}, {"a\vb", " \t", skip, "1:[a\vb]"},
        {"sms,voice", ",", keep, "2:[sms][voice]"}, {"a,,b", ",", keep, "3:[a][][b]"},
        {"a,", ",", keep, "2:[a][]"}, {"", ",", keep, "1:[]"},
        {"phone X ", " ", keep, "3:[phone][X][]"},
    };
    // clang-format on
    for (const auto& row : rows)
        expect_str(piecesOf(split(row.text, row.separators, row.empties)), row.pieces);
}

static void for_each_line_strips_lf_and_crlf_only(void**) {
    // A last line without newline; blank lines in their place; a lone carriage return stays
    // inside its line.
    // clang-format off
    for (const auto& [text, lines] : Pairs{{"one\ntwo\r\nthree\n", "3:[one][two][three]"},
             {"one\r\ntwo", "2:[one][two]"}, {"a\n\n\r\nb", "4:[a][][][b]"}, {"", "0:"},
             {"\n", "1:[]"}, {"a\rb\n", "1:[a\rb]"}}) {
        // clang-format on
        std::vector<std::string_view> seen;
        forEachLine(text, [&](std::string_view line) { seen.push_back(line); });
        expect_str(piecesOf(seen), lines);
    }
}

// ---- Channel

static void channel_names_in_files_on_the_wire_and_on_screen(void**) {
    const std::vector<std::pair<Channel, std::vector<std::string>>> rows{
        {Channel::Sms, {"sms", "sms", "SMS"}},
        {Channel::Voice, {"voice", "call", "voice call"}},
        {Channel::Whatsapp, {"whatsapp", "whatsapp", "WhatsApp"}},
        {Channel::Viber, {"viber", "viber", "Viber"}},
    };
    for (const auto& [channel, names] : rows) {
        expect_str(channelName(channel), names[0]);
        expect_str(channelWireName(channel), names[1]);
        expect_str(channelDisplayName(channel), names[2]);
        const auto parsed = parseChannel(channelName(channel));
        assert_true(parsed.has_value() && *parsed == channel);
    }
    for (const char* bad : {"", "SMS", "Voice", "call", "sma", "email", " sms", "sms ", "sms,"})
        assert_false(parseChannel(bad).has_value());
}

// ---- Session ids and statuses

static void same_session_id_matches_only_the_same_id(void**) {
    const std::string hex = "a44a91be5ea5ea118169020897df5459";
    const std::vector<std::tuple<std::string, std::string, bool>> rows{
        {"18b526add06348c0bb934e71f042f047", "18b526ad-d063-48c0-bb93-4e71f042f047", true},
        {"18b526ad-d063-48c0-bb93-4e71f042f047", "18b526add06348c0bb934e71f042f047", true},
        {hex, hex, true},
        {"A44A91BE5EA5EA118169020897DF5459", "a44a91be-5ea5-ea11-8169-020897df5459", true},
        {hex, "a44a91be5ea5ea118169020897df545a", false},
        {hex, "a44a91be5ea5ea118169020897df545", false},
        // clang-format off
        {hex, "", false}, {"", "", false}, {"-", "", false}, {"--", "-", false},
        // clang-format on
    };
    for (const auto& [a, b, same] : rows)
        expect_row(sameSessionId(a, b) == same, a + " " + b);
}

static void session_status_names_are_the_api_words(void**) {
    const std::pair<SessionStatus, const char*> rows[] = {{SessionStatus::Waiting, "WAITING"},
                                                          {SessionStatus::Verified, "VERIFIED"},
                                                          {SessionStatus::Failed, "FAILED"},
                                                          {SessionStatus::Expired, "EXPIRED"}};
    for (const auto& [status, name] : rows)
        expect_str(sessionStatusName(status), name);
}

// ---- isPlausibleCode

static void plausible_codes_are_3_to_10_letters_digits_or_dashes(void**) {
    for (const char* good : {"123", "123456", "1234567890", "AbC123", "123-456", "FDAR315"})
        expect_row(isPlausibleCode(good), good);
    // clang-format off
    for (const std::string& bad : std::vector<std::string>{"", "12", "12345678901", "12 34",
             "123\t456", "12\xc3\xa9" "34", "%n%s", "12345\n", "1/2/3", "123?code=1", "12&34",
             "\xef\xbc\x91\xef\xbc\x92" "3", std::string("123\0" "456", 7)})
        expect_row(!isPlausibleCode(bad), bad);
    // clang-format on
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_string_assign_append_and_clear_keep_the_text),
        cmocka_unit_test(secret_string_copies_are_independent_and_self_assignment_keeps_the_text),
        cmocka_unit_test(secret_string_move_leaves_the_source_empty),
        cmocka_unit_test(phone_masks_show_few_digits),
        cmocka_unit_test(sanitize_replaces_what_a_terminal_would_obey),
        cmocka_unit_test(log_field_quotes_only_what_needs_it),
        cmocka_unit_test(sanitize_for_message_cuts_long_text),
        cmocka_unit_test(trim_removes_surrounding_white_space),
        cmocka_unit_test(character_classes_are_ascii_only_and_utf8_is_checked_by_sequence),
        cmocka_unit_test(parse_decimal_reads_plain_digits_up_to_the_width_and_type),
        cmocka_unit_test(split_finds_words_or_fields),
        cmocka_unit_test(for_each_line_strips_lf_and_crlf_only),
        cmocka_unit_test(channel_names_in_files_on_the_wire_and_on_screen),
        cmocka_unit_test(same_session_id_matches_only_the_same_id),
        cmocka_unit_test(session_status_names_are_the_api_words),
        cmocka_unit_test(plausible_codes_are_3_to_10_letters_digits_or_dashes),
    };
    return cmocka_run_group_tests_name("text", tests, nullptr, nullptr);
}
