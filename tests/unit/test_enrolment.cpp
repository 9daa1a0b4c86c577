// Enrolment: the users file format, one user's lookup, the whole-file parse and UsersFile.
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/Enrolment.hpp"

using namespace verif8;
using Kind = EnrolmentLookup::Kind;

namespace {

const std::string kSource = "/etc/security/pam_verif8.users";
const char* const kNotEnrolled = "not enrolled";
const char* const kUnavailable = "unavailable";

// "alice +6591234567 voice,sms": an entry as one line of text, to compare whole.
std::string described(const Enrolment& entry) {
    std::string text = entry.user + " " + entry.phone;
    for (std::size_t i = 0; i < entry.channels.size(); ++i)
        text += (i == 0 ? " " : ",") + std::string(channelName(entry.channels[i]));
    return text;
}

std::string described(const EnrolmentLookup& lookup) {
    if (lookup.kind == Kind::Found)
        return lookup.entry ? described(*lookup.entry) : "found, without an entry";
    return std::string(lookup.kind == Kind::NotEnrolled ? kNotEnrolled : kUnavailable) +
           (lookup.entry ? ", with an entry" : "");
}

// `lookup` is `expected`, with no problem (`start` empty) or exactly one, which starts with
// `start` and contains `needle`. A failure names the case (`why`).
void expectLookup(const std::string& why, const EnrolmentLookup& lookup,
                  const std::string& expected, const std::string& start = "",
                  const std::string& needle = "") {
    if (described(lookup) != expected)
        fail_msg("%s: got '%s', expected '%s'", why.c_str(), described(lookup).c_str(),
                 expected.c_str());
    if (lookup.problems.size() != (start.empty() ? 0u : 1u))
        fail_msg("%s: %zu problems, the first '%s'", why.c_str(), lookup.problems.size(),
                 lookup.problems.empty() ? "" : lookup.problems[0].text.c_str());
    if (!start.empty() && (lookup.problems[0].text.rfind(start, 0) != 0 ||
                           lookup.problems[0].text.find(needle) == std::string::npos))
        fail_msg("%s: problem '%s' does not start with '%s' and contain '%s'", why.c_str(),
                 lookup.problems[0].text.c_str(), start.c_str(), needle.c_str());
}

}  // namespace

// ---- parseEnrolmentLine, isValidPhone

static void good_lines_give_user_phone_and_channels(void**) {
    struct Row {
        const char* line;
        Channel defaultChannel;
        const char* expected;
    };
    const Row rows[] = {
        {"alice +6591234567 voice,sms,whatsapp", Channel::Sms,
         "alice +6591234567 voice,sms,whatsapp"},
        {"alice +6591234567", Channel::Viber, "alice +6591234567 viber"},
        {"alice +6591234567", Channel::Sms, "alice +6591234567 sms"},
        {"\talice\t+6591234567  \t viber,sms \t", Channel::Sms, "alice +6591234567 viber,sms"},
        // Phones of 8 to 15 digits.
        {"bob +12345678", Channel::Sms, "bob +12345678 sms"},
        {"bob +123456789012345", Channel::Sms, "bob +123456789012345 sms"},
    };
    for (const Row& row : rows) {
        const auto entry = parseEnrolmentLine(row.line, row.defaultChannel);
        if (!entry)
            fail_msg("'%s' refused: %s", row.line, entry.problem().text.c_str());
        expect_str(described(entry.value()), row.expected);
    }
}

static void bad_lines_are_refused_with_the_reason(void**) {
    // clang-format off
    const std::pair<std::string, const char*> rows[] = {
        {"bob +1234567", "international form"},           // 7 digits
        {"bob +1234567890123456", "international form"},  // 16 digits
        {"bob 6591234567 sms", "international form"},
        {"bob +65912345AB", "international form"},
        {"bob +65-9123-4567", "international form"},
        {"bob +6591234567 sms,email", "unknown channel 'email'"},
        {"bob +6591234567 SMS", "unknown channel 'SMS'"},
        {"bob +6591234567 call", "unknown channel 'call'"},
        {"bob +6591234567 sms,", "unknown channel ''"},
        {"bob +6591234567 ,sms", "unknown channel ''"},
        {"bob +6591234567 \xe2\x80\xae" "sms", "unknown channel"},  // invisible Unicode
        {"bob +6591234567 sms,voice,sms", "'sms' is listed twice"},
        {"bob +6591234567 sms voice", "unexpected text"},
        {"bob +6591234567 sms # comment", "unexpected text"},
        {"bob", "expected 'USER PHONE"},
        {"bob +6591234567 sms\x1b[2J", "control characters"},
        {"bob\x01 +6591234567", "control characters"},
        {"bob +6591234567\x7f", "control characters"},
        {"bob +65912\r34567", "control characters"},
    };
    // clang-format on
    for (const auto& [line, needle] : rows) {
        const auto entry = parseEnrolmentLine(line, Channel::Sms);
        expect_row(!entry.ok(), line);
        const std::string problem = entry.ok() ? std::string() : entry.problem().text;
        expect_contains(problem, needle);
        expect_row(!test::hasControlBytes(problem), line);
    }
}

static void phones_are_plus_and_8_to_15_digits(void**) {
    for (const char* phone : {"+12345678", "+123456789012345", "+6591234567"})
        expect_row(isValidPhone(phone), phone);
    for (const char* phone :
         {"+1234567", "+1234567890123456", "6591234567", "006591234567", "+65912345AB",
          "+65-9123-4567", "+65(9)1234567", "++6591234567", "+6591234567+", "+", ""})
        expect_row(!isValidPhone(phone), phone);
}

// ---- findEnrolment

static void find_reads_only_the_users_own_lines(void**) {
    struct Row {
        const char* why;
        std::string text;
        const char* user;
        const char* expected;
        const char* line = nullptr;  // of the one problem, if any
        const char* needle = "";
        Channel defaultChannel = Channel::Sms;
    };
    const std::string comments =
        "# pam_verif8.users\n\n   \n\t# alice +6500000000\n"
        "#alice +6511111111\nalice +6591234567 voice\nbob x\n";
    const std::string crlf = "# windows\r\nalice +6591234567 sms,voice\r\nbob +447700900123\r\n";
    const std::string badBob =
        "alice +6591234567\nbob 447700900123 sms\ncarol +33612345678 fax\n"
        "dave +4915112345678 voice\n";
    const std::string prefixes = "alice2 +6522222222\nalice +6591234567\nal +6533333333\n";
    // clang-format off
    const Row rows[] = {
        {"the user's line", "alice +6591234567 sms,voice\nbob +447700900123\n", "bob",
         "bob +447700900123 voice", nullptr, "", Channel::Voice},
        {"no line", "alice +6591234567\n", "carol", kNotEnrolled},
        {"an empty file", "", "carol", kNotEnrolled},
        {"a bad line", "# users\nalice +6591234567\nbob 447700900123 sms\n", "bob", kNotEnrolled,
         "3", "international form"},
        {"others' bad lines, alice", badBob, "alice", "alice +6591234567 sms"},
        {"others' bad lines, dave", badBob, "dave", "dave +4915112345678 voice"},
        {"others' control characters", "bob not-a-phone\x01\nalice +6591234567\n", "alice",
         "alice +6591234567 sms"},
        {"listed twice", "alice +6591234567\nbob +447700900123\nalice +6598765432\n", "alice",
         kNotEnrolled, "3", "first on line 1"},
        // The bad line may have been meant to change the phone: neither line is trusted.
        {"a good line after a bad one", "alice +6591234\nalice +6598765432\n", "alice",
         kNotEnrolled, "1"},
        {"a bad line after a good one", "alice +6591234567\nalice +6598765432 pager\n", "alice",
         kNotEnrolled, "2"},
        {"comments and blank lines", comments, "alice", "alice +6591234567 voice"},
        {"comments and blank lines count", comments, "bob", kNotEnrolled, "7"},
        {"CRLF, alice", crlf, "alice", "alice +6591234567 sms,voice"},
        {"CRLF, bob", crlf, "bob", "bob +447700900123 sms"},
        {"no newline at the end", "alice +6591234567\nbob +447700900123", "bob",
         "bob +447700900123 sms"},
        {"a prefix, alice", prefixes, "alice", "alice +6591234567 sms"},
        {"a prefix, alice2", prefixes, "alice2", "alice2 +6522222222 sms"},
        {"a prefix, al", prefixes, "al", "al +6533333333 sms"},
        {"alice is not alice2", "alice2 +6522222222\n", "alice", kNotEnrolled},
        {"alice2 is not alice", "alice +6591234567\n", "alice2", kNotEnrolled},
        {"ali is not alice", "alice +6591234567\n", "ali", kNotEnrolled},
        {"case matters", "Alice +6591234567\n", "alice", kNotEnrolled},
    };
    // clang-format on
    for (const Row& row : rows) {
        const auto lookup = findEnrolment(row.text, row.user, row.defaultChannel, kSource);
        expectLookup(row.why, lookup, row.expected, row.line ? kSource + ":" + row.line + ": " : "",
                     row.needle);
    }
}

static void a_bad_phone_is_not_quoted_in_the_problem(void**) {
    const auto lookup =
        findEnrolment("alice +65912345678901234 sms\n", "alice", Channel::Sms, "users");
    expectLookup("too long", lookup, kNotEnrolled, "users:1: ", "international form");
    expect_not_contains(lookup.problems[0].text, "65912345678901234");
}

// ---- parseEnrolments

static void parse_enrolments_reads_every_good_line_and_reports_the_bad(void**) {
    const auto [entries, problems] = parseEnrolments(
        "# all\nalice +6591234567 voice\n\nbob +447700900123\r\n", Channel::Whatsapp);
    assert_int_equal(problems.size(), 0);
    assert_int_equal(entries.size(), 2);
    expect_str(described(entries[0]), "alice +6591234567 voice");
    expect_str(described(entries[1]), "bob +447700900123 whatsapp");
    // Bad lines are reported by number.
    const auto [good, bad] = parseEnrolments(
        "alice +6591234567\nbob 12345\ncarol +33612345678 sms,sms\nalice +6598765432\n",
        Channel::Sms);
    assert_int_equal(good.size(), 1);
    expect_str(good[0].phone, "+6591234567");
    assert_int_equal(bad.size(), 3);
    for (int i = 0; i < 3; ++i)
        assert_int_equal(bad[i].line, i + 2);
    expect_contains(bad[2].text, "'alice' listed again");
}

// ---- UsersFile: root-owned (here: ours), not writable by group or others, no link, no NUL

static void users_file_is_read_only_when_safe(void**) {
    enum class Made { File, Missing, Symlink };
    struct Row {
        const char* why;
        mode_t mode;
        const char* expected;
        const char* after = "";  // the problem: the path, then this, then `needle`
        const char* needle = "";
        std::string text = "alice +6591234567 voice\n";
        Made made = Made::File;
        uid_t ownerOffset = 0;
        const char* user = "alice";
    };
    const char* const unsafe = "not writable by group or others";
    const Row rows[] = {
        {"0600", 0600, "alice +6591234567 voice"},
        {"world-readable", 0644, "alice +6591234567 voice"},
        {"0664", 0664, kUnavailable, ": ", unsafe},
        {"0646", 0646, kUnavailable, ": ", unsafe},
        {"0666", 0666, kUnavailable, ": ", unsafe},
        {"0620", 0620, kUnavailable, ": ", unsafe},
        {"0602", 0602, kUnavailable, ": ", unsafe},
        {"missing", 0600, kUnavailable, ": ", "", "", Made::Missing},
        {"a NUL byte", 0600, kUnavailable, ": ", "NUL",
         std::string("alice +6591234567\nbob\0 +4477\n", 29)},
        {"another owner", 0644, kUnavailable, ": ", "owned by uid", "alice +6591234567\n",
         Made::File, 1},
        {"a symbolic link", 0644, kUnavailable, "", "symbolic link", "alice +6591234567\n",
         Made::Symlink},
        {"a bad line names file and line", 0644, kNotEnrolled, ":2: ", "",
         "alice +6591234567\nbob +44\n", Made::File, 0, "bob"},
    };
    for (const Row& row : rows) {
        test::TempDir dir;
        std::string path =
            row.made == Made::Missing ? dir.path() + "/absent.users" : dir.file(row.text, row.mode);
        if (row.made == Made::Symlink) {
            const std::string link = dir.path() + "/link.users";
            assert_int_equal(symlink(path.c_str(), link.c_str()), 0);
            path = link;
        }
        const auto lookup =
            UsersFile(path, Channel::Sms, geteuid() + row.ownerOffset).find(row.user);
        expectLookup(row.why, lookup, row.expected,
                     *row.after || *row.needle ? path + row.after : "", row.needle);
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_lines_give_user_phone_and_channels),
        cmocka_unit_test(bad_lines_are_refused_with_the_reason),
        cmocka_unit_test(phones_are_plus_and_8_to_15_digits),
        cmocka_unit_test(find_reads_only_the_users_own_lines),
        cmocka_unit_test(a_bad_phone_is_not_quoted_in_the_problem),
        cmocka_unit_test(parse_enrolments_reads_every_good_line_and_reports_the_bad),
        cmocka_unit_test(users_file_is_read_only_when_safe),
    };
    return cmocka_run_group_tests_name("enrolment", tests, nullptr, nullptr);
}
