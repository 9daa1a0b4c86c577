// The outcome table, row by row (design.md's PAM return codes), and the outcome line's format.
#include <security/_pam_types.h>

#include <set>
#include <string>

#include "support.hpp"
#include "verif8/OutcomeLine.hpp"

using namespace verif8;

namespace {
constexpr LogLevel kInfo = LogLevel::Info, kNotice = LogLevel::Notice;
constexpr LogLevel kWarning = LogLevel::Warning, kError = LogLevel::Error;

// What each outcome must be, written out again so that a changed row fails here.
struct Expected {
    Outcome outcome;
    int pamCode;
    const char* name;
    LogLevel level;
    bool keepsSession;
};
const Expected kExpected[]{
    {Outcome::Verified, PAM_SUCCESS, "verified", kInfo, false},
    {Outcome::TooManyWrongCodes, PAM_AUTH_ERR, "too_many_wrong_codes", kNotice, true},
    {Outcome::SessionFailed, PAM_AUTH_ERR, "session_failed", kNotice, false},
    {Outcome::SessionExpired, PAM_AUTH_ERR, "session_expired", kNotice, false},
    {Outcome::UnenrolledDenied, PAM_AUTH_ERR, "unenrolled_denied", kNotice, true},
    {Outcome::UnenrolledIgnored, PAM_IGNORE, "unenrolled_ignored", kInfo, true},
    {Outcome::Exempt, PAM_IGNORE, "exempt", kInfo, true},
    {Outcome::Grace, PAM_IGNORE, "grace", kInfo, true},
    {Outcome::UserUnknown, PAM_USER_UNKNOWN, "user_unknown", kNotice, true},
    {Outcome::InvalidUserPassword, PAM_AUTH_ERR, "invalid_user", kNotice, true},
    {Outcome::Unreachable, PAM_AUTHINFO_UNAVAIL, "unreachable", kWarning, true},
    // The only service trouble that steps aside, and only because the administrator chose it;
    // its line is a warning: an outage that skips the code must be seen.
    {Outcome::UnreachableFailOpen, PAM_IGNORE, "unreachable_fail_open", kWarning, true},
    {Outcome::LoginTimeout, PAM_AUTH_ERR, "login_timeout", kNotice, true},
    {Outcome::SendLimitReached, PAM_AUTH_ERR, "send_limit", kNotice, true},
    {Outcome::CertificateInvalid, PAM_AUTHINFO_UNAVAIL, "certificate_invalid", kWarning, true},
    {Outcome::TlsFailed, PAM_AUTHINFO_UNAVAIL, "tls_failed", kWarning, true},
    {Outcome::RateLimited, PAM_AUTHINFO_UNAVAIL, "rate_limited", kWarning, true},
    {Outcome::ResendTooSoon, PAM_AUTH_ERR, "resend_too_soon", kNotice, true},
    {Outcome::PhoneBusy, PAM_AUTH_ERR, "phone_busy", kNotice, true},
    {Outcome::SessionTaken, PAM_AUTH_ERR, "session_taken", kWarning, true},
    {Outcome::StateBusy, PAM_AUTHINFO_UNAVAIL, "state_busy", kWarning, true},
    {Outcome::InvalidPhone, PAM_AUTH_ERR, "invalid_phone", kWarning, true},
    {Outcome::ConfigError, PAM_SERVICE_ERR, "config_error", kError, true},
    {Outcome::CredentialsRejected, PAM_SERVICE_ERR, "credentials_rejected", kError, true},
    {Outcome::BadResponse, PAM_AUTHINFO_UNAVAIL, "bad_response", kWarning, true},
    {Outcome::ConversationFailed, PAM_CONV_ERR, "conversation_failed", kNotice, true},
    // threat-model rule 10: a caller without root is told so, and it is not PAM_SERVICE_ERR.
    {Outcome::NotRoot, PAM_AUTHINFO_UNAVAIL, "not_root", kError, true},
    {Outcome::NotRootIgnored, PAM_IGNORE, "not_root_ignored", kInfo, true},
    {Outcome::InternalError, PAM_SERVICE_ERR, "internal_error", kError, true},
};
}  // namespace

// One row per outcome, each with its own log name, and each row holding its facts.
static void every_outcome_has_one_row_with_its_facts(void**) {
    assert_int_equal(std::size(kExpected), kOutcomeCount);
    std::set<std::string> names;
    for (std::size_t i = 0; i < kOutcomeCount; ++i) {
        const auto outcome = static_cast<Outcome>(i);
        std::size_t rows = 0;
        for (const auto& row : outcomeTable())
            rows += row.outcome == outcome ? 1 : 0;
        assert_int_equal(rows, 1);
        assert_true(factsOf(outcome).outcome == outcome);
        names.insert(std::string(outcomeName(outcome)));
    }
    assert_int_equal(names.size(), kOutcomeCount);
    for (const auto& expected : kExpected) {
        const OutcomeFacts& facts = factsOf(expected.outcome);
        expect_str(facts.name, expected.name);
        expect_row(facts.pamCode == expected.pamCode, expected.name);
        expect_row(facts.level == expected.level, expected.name);
        expect_row(facts.keepsSession == expected.keepsSession, expected.name);
        expect_row(pamCodeFor(expected.outcome) == expected.pamCode, expected.name);
        expect_str(outcomeName(expected.outcome), expected.name);
    }
    // An outcome outside the table fails closed.
    assert_int_equal(pamCodeFor(static_cast<Outcome>(999)), PAM_SERVICE_ERR);
    expect_str(outcomeName(static_cast<Outcome>(999)), "internal_error");
}

static void only_verified_succeeds_and_only_the_documented_outcomes_ignore(void**) {
    // design.md: exempt, unenrolled with unenrolled = ignore, unreachable with fail_mode = open;
    // a caller without root, for its own account, with the module argument nonroot=ignore; and
    // a login within grace_period of a verified code (never PAM_SUCCESS: no factor was shown).
    const std::set<Outcome> ignored{Outcome::Exempt, Outcome::Grace, Outcome::UnenrolledIgnored,
                                    Outcome::UnreachableFailOpen, Outcome::NotRootIgnored};
    for (const auto& row : outcomeTable()) {
        expect_row((row.pamCode == PAM_SUCCESS) == (row.outcome == Outcome::Verified), row.name);
        expect_row((row.pamCode == PAM_IGNORE) == (ignored.count(row.outcome) == 1), row.name);
    }
}

static void the_user_is_told_fixed_words_for_some_outcomes(void**) {
    expect_str(factsOf(Outcome::SessionExpired).told, "The code has expired.");
    expect_str(factsOf(Outcome::SessionFailed).told, "Too many wrong codes for this session.");
    expect_str(factsOf(Outcome::LoginTimeout).told, "The time for the code has run out.");
    // Nothing that would tell an attacker more than "no".
    for (const Outcome quiet : {Outcome::Verified, Outcome::UserUnknown, Outcome::Exempt,
                                Outcome::Grace, Outcome::ConfigError, Outcome::UnreachableFailOpen})
        expect_str(factsOf(quiet).told, "");
}

// One format, with user names and hosts sanitized.
static void the_outcome_line_has_one_format(void**) {
    LoginContext login;
    login.user = "alice";
    expect_str(formatOutcomeLine(Outcome::UserUnknown, login, OutcomeDetails{}),
               "outcome=user_unknown user=alice rhost=- service=- attempts=0 ms=0");
    login.typedUser = "ALICE";
    login.rhost = "203.0.113.9";
    login.service = "sshd";
    OutcomeDetails details{Channel::Voice, "+6591234567", "a44a91be5ea5ea11", 2, 1, 17, "a reason"};
    expect_str(formatOutcomeLine(Outcome::Verified, login, details),
               "outcome=verified user=alice as=ALICE rhost=203.0.113.9 service=sshd "
               "channel=voice to=+65******67 session=a44a91be attempts=2 sends=1 ms=17 "
               "reason=\"a reason\"");
    login.typedUser.clear();
    login.user = "eve\n\x1b[31moutcome=verified";
    login.rhost = "198.51.100.7\r\nfake";
    const std::string line = formatOutcomeLine(Outcome::UserUnknown, login, OutcomeDetails{});
    assert_false(test::hasControlBytes(line));
    expect_starts_with(line,
                       "outcome=user_unknown user=\"eve??[31moutcome=verified\" "
                       "rhost=198.51.100.7??fake ");
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_outcome_has_one_row_with_its_facts),
        cmocka_unit_test(only_verified_succeeds_and_only_the_documented_outcomes_ignore),
        cmocka_unit_test(the_user_is_told_fixed_words_for_some_outcomes),
        cmocka_unit_test(the_outcome_line_has_one_format),
    };
    return cmocka_run_group_tests_name("outcome", tests, nullptr, nullptr);
}
