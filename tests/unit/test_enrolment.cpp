// Enrolment: the users file format, one user's lookup, the whole-file parse and UsersFile.
#include <unistd.h>

#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/Enrolment.hpp"

using namespace verif8;
using Kind = EnrolmentLookup::Kind;

namespace {

const std::string kSource = "/etc/security/pam_verif8.users";

std::optional<Enrolment> parseLine(std::string_view line, std::string& error,
                                   Channel defaultChannel = Channel::Sms) {
    error.clear();
    return parseEnrolmentLine(line, defaultChannel, error);
}

void expectLineRefused(std::string_view line, const std::string& needle) {
    std::string error;
    if (parseLine(line, error)) {
        print_error("line accepted: '%s'\n", std::string(line).c_str());
        fail();
    }
    expect_contains(error, needle);
    assert_false(test::hasControlBytes(error));
}

EnrolmentLookup find(std::string_view text, std::string_view user,
                     Channel defaultChannel = Channel::Sms) {
    return findEnrolment(text, user, defaultChannel, kSource);
}

std::string joined(const std::vector<std::string>& problems) {
    std::string text;
    for (const auto& problem : problems)
        text += problem + "\n";
    return text;
}

void expectFound(const EnrolmentLookup& lookup, const std::string& phone) {
    if (lookup.kind != Kind::Found || !lookup.entry) {
        print_error("not found; problems:\n%s", joined(lookup.problems).c_str());
        fail();
    }
    expect_str(lookup.entry->phone, phone);
    assert_int_equal(lookup.problems.size(), 0);
}

void expectNotEnrolled(const EnrolmentLookup& lookup) {
    assert_true(lookup.kind == Kind::NotEnrolled);
    assert_false(lookup.entry.has_value());
}

}  // namespace

// ---- parseEnrolmentLine

static void a_line_with_channels_lists_them_in_order(void**) {
    std::string error;
    const auto entry = parseLine("alice +6591234567 voice,sms,whatsapp", error);
    assert_true(entry.has_value());
    expect_str(entry->user, "alice");
    expect_str(entry->phone, "+6591234567");
    assert_int_equal(entry->channels.size(), 3);
    assert_true(entry->channels[0] == Channel::Voice);
    assert_true(entry->channels[1] == Channel::Sms);
    assert_true(entry->channels[2] == Channel::Whatsapp);
}

static void a_line_without_channels_gets_the_default_channel(void**) {
    std::string error;
    auto entry = parseLine("alice +6591234567", error, Channel::Viber);
    assert_true(entry.has_value());
    assert_int_equal(entry->channels.size(), 1);
    assert_true(entry->channels[0] == Channel::Viber);
    entry = parseLine("alice +6591234567", error, Channel::Sms);
    assert_true(entry->channels[0] == Channel::Sms);
}

static void tabs_and_runs_of_blanks_separate_fields(void**) {
    std::string error;
    const auto entry = parseLine("\talice\t+6591234567  \t viber,sms \t", error);
    assert_true(entry.has_value());
    expect_str(entry->user, "alice");
    expect_str(entry->phone, "+6591234567");
    assert_int_equal(entry->channels.size(), 2);
    assert_true(entry->channels[0] == Channel::Viber);
}

static void phones_of_8_to_15_digits_are_accepted(void**) {
    for (const char* phone : {"+12345678", "+123456789012345", "+6591234567"}) {
        assert_true(isValidPhone(phone));
        std::string error;
        assert_true(parseLine(std::string("bob ") + phone, error).has_value());
    }
}

static void phones_of_7_or_16_digits_are_refused(void**) {
    assert_false(isValidPhone("+1234567"));
    assert_false(isValidPhone("+1234567890123456"));
    expectLineRefused("bob +1234567", "international form");
    expectLineRefused("bob +1234567890123456", "international form");
}

static void a_phone_without_plus_is_refused(void**) {
    assert_false(isValidPhone("6591234567"));
    assert_false(isValidPhone("006591234567"));
    expectLineRefused("bob 6591234567 sms", "international form");
}

static void a_phone_with_letters_or_punctuation_is_refused(void**) {
    for (const char* phone :
         {"+65912345AB", "+65-9123-4567", "+65(9)1234567", "++6591234567", "+6591234567+", "+", ""})
        assert_false(isValidPhone(phone));
    expectLineRefused("bob +65912345AB", "international form");
    expectLineRefused("bob +65-9123-4567", "international form");
}

static void an_unknown_channel_is_refused(void**) {
    expectLineRefused("bob +6591234567 sms,email", "unknown channel 'email'");
    expectLineRefused("bob +6591234567 SMS", "unknown channel 'SMS'");
    expectLineRefused("bob +6591234567 call", "unknown channel 'call'");
    expectLineRefused("bob +6591234567 sms,", "unknown channel ''");
    expectLineRefused("bob +6591234567 ,sms", "unknown channel ''");
}

static void a_channel_listed_twice_is_refused(void**) {
    expectLineRefused("bob +6591234567 sms,voice,sms", "'sms' is listed twice");
}

static void an_extra_field_is_refused(void**) {
    expectLineRefused("bob +6591234567 sms voice", "unexpected text");
    expectLineRefused("bob +6591234567 sms # comment", "unexpected text");
}

static void a_line_with_only_a_user_is_refused(void**) {
    expectLineRefused("bob", "expected 'USER PHONE");
}

static void control_characters_are_refused(void**) {
    expectLineRefused("bob +6591234567 sms\x1b[2J", "control characters");
    expectLineRefused("bob\x01 +6591234567", "control characters");
    expectLineRefused("bob +6591234567\x7f", "control characters");
    expectLineRefused("bob +65912\r34567", "control characters");
}

static void a_channel_with_invisible_unicode_is_refused(void**) {
    std::string error;
    assert_false(parseLine("bob +6591234567 \xe2\x80\xae"
                           "sms",
                           error)
                     .has_value());
    expect_contains(error, "unknown channel");
}

// ---- findEnrolment

static void find_returns_the_users_line(void**) {
    const auto lookup =
        find("alice +6591234567 sms,voice\nbob +447700900123\n", "bob", Channel::Voice);
    expectFound(lookup, "+447700900123");
    expect_str(lookup.entry->user, "bob");
    assert_true(lookup.entry->channels.at(0) == Channel::Voice);
}

static void a_user_without_a_line_is_not_enrolled_without_problems(void**) {
    const auto lookup = find("alice +6591234567\n", "carol");
    expectNotEnrolled(lookup);
    assert_int_equal(lookup.problems.size(), 0);
    expectNotEnrolled(find("", "carol"));
}

static void a_bad_line_makes_its_user_not_enrolled_with_a_problem(void**) {
    const auto lookup = find("# users\nalice +6591234567\nbob 447700900123 sms\n", "bob");
    expectNotEnrolled(lookup);
    assert_int_equal(lookup.problems.size(), 1);
    expect_starts_with(lookup.problems[0], kSource + ":3: ");
    expect_contains(lookup.problems[0], "international form");
}

static void a_bad_line_does_not_affect_other_users(void**) {
    const std::string text =
        "alice +6591234567\nbob 447700900123 sms\ncarol +33612345678 fax\n"
        "dave +4915112345678 voice\n";
    expectFound(find(text, "alice"), "+6591234567");
    expectFound(find(text, "dave"), "+4915112345678");
}

static void a_user_listed_twice_is_not_enrolled(void**) {
    const auto lookup = find("alice +6591234567\nbob +447700900123\nalice +6598765432\n", "alice");
    expectNotEnrolled(lookup);
    assert_int_equal(lookup.problems.size(), 1);
    expect_starts_with(lookup.problems[0], kSource + ":3: ");
    expect_contains(lookup.problems[0], "first on line 1");
}

static void a_good_line_after_a_bad_one_does_not_enrol_the_user(void**) {
    // The bad line may have been meant to change the phone: neither line is trusted.
    const auto lookup = find("alice +6591234\nalice +6598765432\n", "alice");
    expectNotEnrolled(lookup);
    expect_starts_with(lookup.problems.at(0), kSource + ":1: ");
}

static void a_bad_line_after_a_good_one_does_not_enrol_the_user(void**) {
    const auto lookup = find("alice +6591234567\nalice +6598765432 pager\n", "alice");
    expectNotEnrolled(lookup);
    expect_starts_with(lookup.problems.at(0), kSource + ":2: ");
}

static void comments_and_blank_lines_are_skipped_but_counted(void**) {
    const std::string text =
        "# pam_verif8.users\n\n   \n\t# alice +6500000000\n"
        "#alice +6511111111\nalice +6591234567 voice\nbob x\n";
    expectFound(find(text, "alice"), "+6591234567");
    const auto bob = find(text, "bob");
    expectNotEnrolled(bob);
    expect_starts_with(bob.problems.at(0), kSource + ":7: ");
}

static void crlf_line_ends_are_accepted(void**) {
    const std::string text = "# windows\r\nalice +6591234567 sms,voice\r\nbob +447700900123\r\n";
    const auto alice = find(text, "alice");
    expectFound(alice, "+6591234567");
    assert_int_equal(alice.entry->channels.size(), 2);
    assert_true(alice.entry->channels[1] == Channel::Voice);
    expectFound(find(text, "bob"), "+447700900123");
}

static void a_last_line_without_newline_is_read(void**) {
    expectFound(find("alice +6591234567\nbob +447700900123", "bob"), "+447700900123");
}

static void a_user_name_prefix_does_not_match(void**) {
    const std::string text = "alice2 +6522222222\nalice +6591234567\nal +6533333333\n";
    expectFound(find(text, "alice"), "+6591234567");
    expectFound(find(text, "alice2"), "+6522222222");
    expectFound(find(text, "al"), "+6533333333");
    expectNotEnrolled(find("alice2 +6522222222\n", "alice"));
    expectNotEnrolled(find("alice +6591234567\n", "alice2"));
    expectNotEnrolled(find("alice +6591234567\n", "ali"));
}

static void user_names_are_case_sensitive(void**) {
    expectNotEnrolled(find("Alice +6591234567\n", "alice"));
}

static void other_users_bad_lines_are_not_reported(void**) {
    const auto lookup = find("bob not-a-phone\x01\nalice +6591234567\n", "alice");
    expectFound(lookup, "+6591234567");
}

// ---- parseEnrolments

static void parse_enrolments_reads_every_good_line(void**) {
    std::vector<EnrolmentLineError> errors;
    const auto entries = parseEnrolments("# all\nalice +6591234567 voice\n\nbob +447700900123\r\n",
                                         Channel::Whatsapp, errors);
    assert_int_equal(errors.size(), 0);
    assert_int_equal(entries.size(), 2);
    expect_str(entries[0].user, "alice");
    assert_true(entries[0].channels.at(0) == Channel::Voice);
    expect_str(entries[1].user, "bob");
    assert_true(entries[1].channels.at(0) == Channel::Whatsapp);
}

static void parse_enrolments_reports_bad_lines_by_number(void**) {
    std::vector<EnrolmentLineError> errors;
    const auto entries = parseEnrolments(
        "alice +6591234567\nbob 12345\ncarol +33612345678 sms,sms\nalice +6598765432\n",
        Channel::Sms, errors);
    assert_int_equal(entries.size(), 1);
    expect_str(entries[0].phone, "+6591234567");
    assert_int_equal(errors.size(), 3);
    assert_int_equal(errors[0].line, 2);
    assert_int_equal(errors[1].line, 3);
    assert_int_equal(errors[2].line, 4);
    expect_contains(errors[2].message, "'alice' listed again");
}

// ---- UsersFile

static void users_file_finds_the_user(void**) {
    test::TempDir dir;
    const std::string path = dir.file("alice +6591234567 voice\n", 0600);
    UsersFile users(path, Channel::Sms, geteuid());
    const auto lookup = users.find("alice");
    expectFound(lookup, "+6591234567");
    assert_true(lookup.entry->channels.at(0) == Channel::Voice);
}

static void users_file_may_be_world_readable(void**) {
    test::TempDir dir;
    const std::string path = dir.file("alice +6591234567\n", 0644);
    expectFound(UsersFile(path, Channel::Sms, geteuid()).find("alice"), "+6591234567");
}

static void users_file_writable_by_group_or_others_is_unavailable(void**) {
    for (mode_t mode : {0664, 0646, 0666, 0620, 0602}) {
        test::TempDir dir;
        const std::string path = dir.file("alice +6591234567\n", mode);
        const auto lookup = UsersFile(path, Channel::Sms, geteuid()).find("alice");
        assert_true(lookup.kind == Kind::Unavailable);
        assert_false(lookup.entry.has_value());
        assert_int_equal(lookup.problems.size(), 1);
        expect_starts_with(lookup.problems[0], path + ": ");
        expect_contains(lookup.problems[0], "not writable by group or others");
    }
}

static void a_missing_users_file_is_unavailable(void**) {
    test::TempDir dir;
    const std::string path = dir.path() + "/absent.users";
    const auto lookup = UsersFile(path, Channel::Sms, geteuid()).find("alice");
    assert_true(lookup.kind == Kind::Unavailable);
    expect_starts_with(lookup.problems.at(0), path + ": ");
}

static void a_users_file_with_a_nul_byte_is_unavailable(void**) {
    test::TempDir dir;
    const std::string path = dir.file(std::string("alice +6591234567\nbob\0 +4477\n", 29));
    const auto lookup = UsersFile(path, Channel::Sms, geteuid()).find("alice");
    assert_true(lookup.kind == Kind::Unavailable);
    expect_contains(lookup.problems.at(0), "NUL");
}

static void a_users_file_of_another_owner_is_unavailable(void**) {
    test::TempDir dir;
    const std::string path = dir.file("alice +6591234567\n", 0644);
    const auto lookup = UsersFile(path, Channel::Sms, geteuid() + 1).find("alice");
    assert_true(lookup.kind == Kind::Unavailable);
    expect_contains(lookup.problems.at(0), "owned by uid");
}

static void a_symlinked_users_file_is_unavailable(void**) {
    test::TempDir dir;
    const std::string target = dir.file("alice +6591234567\n", 0644);
    const std::string link = dir.path() + "/link.users";
    assert_int_equal(symlink(target.c_str(), link.c_str()), 0);
    const auto lookup = UsersFile(link, Channel::Sms, geteuid()).find("alice");
    assert_true(lookup.kind == Kind::Unavailable);
    expect_contains(lookup.problems.at(0), "symbolic link");
}

static void users_file_problems_name_the_file_and_line(void**) {
    test::TempDir dir;
    const std::string path = dir.file("alice +6591234567\nbob +44\n", 0644);
    const auto lookup = UsersFile(path, Channel::Sms, geteuid()).find("bob");
    expectNotEnrolled(lookup);
    expect_starts_with(lookup.problems.at(0), path + ":2: ");
}

static void a_bad_phone_is_not_quoted_in_the_problem(void**) {
    const EnrolmentLookup lookup =
        findEnrolment("alice +65912345678901234 sms\n", "alice", Channel::Sms, "users");
    assert_int_equal(lookup.problems.size(), 1);
    expect_not_contains(lookup.problems[0], "65912345678901234");
    expect_contains(lookup.problems[0], "international form");
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_bad_phone_is_not_quoted_in_the_problem),
        cmocka_unit_test(a_line_with_channels_lists_them_in_order),
        cmocka_unit_test(a_line_without_channels_gets_the_default_channel),
        cmocka_unit_test(tabs_and_runs_of_blanks_separate_fields),
        cmocka_unit_test(phones_of_8_to_15_digits_are_accepted),
        cmocka_unit_test(phones_of_7_or_16_digits_are_refused),
        cmocka_unit_test(a_phone_without_plus_is_refused),
        cmocka_unit_test(a_phone_with_letters_or_punctuation_is_refused),
        cmocka_unit_test(an_unknown_channel_is_refused),
        cmocka_unit_test(a_channel_listed_twice_is_refused),
        cmocka_unit_test(an_extra_field_is_refused),
        cmocka_unit_test(a_line_with_only_a_user_is_refused),
        cmocka_unit_test(control_characters_are_refused),
        cmocka_unit_test(a_channel_with_invisible_unicode_is_refused),
        cmocka_unit_test(find_returns_the_users_line),
        cmocka_unit_test(a_user_without_a_line_is_not_enrolled_without_problems),
        cmocka_unit_test(a_bad_line_makes_its_user_not_enrolled_with_a_problem),
        cmocka_unit_test(a_bad_line_does_not_affect_other_users),
        cmocka_unit_test(a_user_listed_twice_is_not_enrolled),
        cmocka_unit_test(a_good_line_after_a_bad_one_does_not_enrol_the_user),
        cmocka_unit_test(a_bad_line_after_a_good_one_does_not_enrol_the_user),
        cmocka_unit_test(comments_and_blank_lines_are_skipped_but_counted),
        cmocka_unit_test(crlf_line_ends_are_accepted),
        cmocka_unit_test(a_last_line_without_newline_is_read),
        cmocka_unit_test(a_user_name_prefix_does_not_match),
        cmocka_unit_test(user_names_are_case_sensitive),
        cmocka_unit_test(other_users_bad_lines_are_not_reported),
        cmocka_unit_test(parse_enrolments_reads_every_good_line),
        cmocka_unit_test(parse_enrolments_reports_bad_lines_by_number),
        cmocka_unit_test(users_file_finds_the_user),
        cmocka_unit_test(users_file_may_be_world_readable),
        cmocka_unit_test(users_file_writable_by_group_or_others_is_unavailable),
        cmocka_unit_test(a_missing_users_file_is_unavailable),
        cmocka_unit_test(a_users_file_with_a_nul_byte_is_unavailable),
        cmocka_unit_test(a_users_file_of_another_owner_is_unavailable),
        cmocka_unit_test(a_symlinked_users_file_is_unavailable),
        cmocka_unit_test(users_file_problems_name_the_file_and_line),
    };
    return cmocka_run_group_tests_name("enrolment", tests, nullptr, nullptr);
}
