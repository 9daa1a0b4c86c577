// The outcome table, row by row: design.md's PAM return codes.
#include <security/_pam_types.h>

#include <set>
#include <string>

#include "cmocka.hpp"
#include "verif8/Outcome.hpp"

using verif8::Outcome;
using verif8::outcomeName;
using verif8::pamCodeFor;

static void verified_is_the_only_success(void**) {
    assert_int_equal(pamCodeFor(Outcome::Verified), PAM_SUCCESS);
    for (int i = 0; i <= static_cast<int>(Outcome::InternalError); ++i) {
        const auto outcome = static_cast<Outcome>(i);
        if (outcome != Outcome::Verified)
            assert_int_not_equal(pamCodeFor(outcome), PAM_SUCCESS);
    }
}

static void wrong_codes_and_final_sessions_are_auth_errors(void**) {
    assert_int_equal(pamCodeFor(Outcome::TooManyWrongCodes), PAM_AUTH_ERR);
    assert_int_equal(pamCodeFor(Outcome::SessionFailed), PAM_AUTH_ERR);
    assert_int_equal(pamCodeFor(Outcome::SessionExpired), PAM_AUTH_ERR);
}

static void unenrolled_follows_the_policy(void**) {
    assert_int_equal(pamCodeFor(Outcome::UnenrolledDenied), PAM_AUTH_ERR);
    assert_int_equal(pamCodeFor(Outcome::UnenrolledIgnored), PAM_IGNORE);
}

static void unknown_user_is_user_unknown(void**) {
    assert_int_equal(pamCodeFor(Outcome::UserUnknown), PAM_USER_UNKNOWN);
    assert_int_equal(pamCodeFor(Outcome::InvalidUserPassword), PAM_AUTH_ERR);
}

static void service_trouble_is_authinfo_unavail(void**) {
    assert_int_equal(pamCodeFor(Outcome::Unreachable), PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(pamCodeFor(Outcome::CertificateInvalid), PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(pamCodeFor(Outcome::RateLimited), PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(pamCodeFor(Outcome::BadResponse), PAM_AUTHINFO_UNAVAIL);
}

static void configuration_problems_are_service_errors(void**) {
    assert_int_equal(pamCodeFor(Outcome::ConfigError), PAM_SERVICE_ERR);
    assert_int_equal(pamCodeFor(Outcome::CredentialsRejected), PAM_SERVICE_ERR);
    assert_int_equal(pamCodeFor(Outcome::InternalError), PAM_SERVICE_ERR);
}

static void user_side_refusals_are_auth_errors(void**) {
    assert_int_equal(pamCodeFor(Outcome::ResendTooSoon), PAM_AUTH_ERR);
    assert_int_equal(pamCodeFor(Outcome::InvalidPhone), PAM_AUTH_ERR);
}

static void conversation_failure_is_conv_err(void**) {
    assert_int_equal(pamCodeFor(Outcome::ConversationFailed), PAM_CONV_ERR);
}

static void every_outcome_has_its_own_log_name(void**) {
    std::set<std::string> names;
    for (int i = 0; i <= static_cast<int>(Outcome::InternalError); ++i)
        names.insert(std::string(outcomeName(static_cast<Outcome>(i))));
    assert_int_equal(names.size(), static_cast<int>(Outcome::InternalError) + 1);
    assert_string_equal(std::string(outcomeName(Outcome::Verified)).c_str(), "verified");
}

static void an_outcome_outside_the_table_fails_closed(void**) {
    assert_int_equal(pamCodeFor(static_cast<Outcome>(999)), PAM_SERVICE_ERR);
}

static void unreachable_with_fail_mode_open_is_ignore(void**) {
    // The only service trouble that steps aside, and only because the administrator chose it.
    assert_int_equal(pamCodeFor(Outcome::UnreachableFailOpen), PAM_IGNORE);
    assert_string_equal(std::string(outcomeName(Outcome::UnreachableFailOpen)).c_str(),
                        "unreachable_fail_open");
}

static void a_login_timeout_is_an_auth_error(void**) {
    assert_int_equal(pamCodeFor(Outcome::LoginTimeout), PAM_AUTH_ERR);
    assert_string_equal(std::string(outcomeName(Outcome::LoginTimeout)).c_str(), "login_timeout");
}

static void a_send_limit_is_an_auth_error(void**) {
    assert_int_equal(pamCodeFor(Outcome::SendLimitReached), PAM_AUTH_ERR);
    assert_string_equal(std::string(outcomeName(Outcome::SendLimitReached)).c_str(), "send_limit");
}

static void only_the_documented_outcomes_are_ignore(void**) {
    // design.md: exempt, unenrolled with unenrolled = ignore, unreachable with fail_mode = open;
    // and a caller without root, for its own account, with the module argument nonroot=ignore.
    const std::set<Outcome> ignored{Outcome::Exempt, Outcome::UnenrolledIgnored,
                                    Outcome::UnreachableFailOpen, Outcome::NotRootIgnored};
    for (int i = 0; i <= static_cast<int>(Outcome::InternalError); ++i) {
        const auto outcome = static_cast<Outcome>(i);
        if (ignored.count(outcome) != 0)
            assert_int_equal(pamCodeFor(outcome), PAM_IGNORE);
        else
            assert_int_not_equal(pamCodeFor(outcome), PAM_IGNORE);
    }
}

static void a_caller_without_root_is_not_a_config_error(void**) {
    // threat-model rule 10: the refusal names its real cause, and it is not PAM_SERVICE_ERR.
    assert_int_equal(pamCodeFor(Outcome::NotRoot), PAM_AUTHINFO_UNAVAIL);
    assert_string_equal(std::string(outcomeName(Outcome::NotRoot)).c_str(), "not_root");
    assert_int_equal(pamCodeFor(Outcome::NotRootIgnored), PAM_IGNORE);
    assert_string_equal(std::string(outcomeName(Outcome::NotRootIgnored)).c_str(),
                        "not_root_ignored");
}

static void every_outcome_has_a_row_of_its_own(void**) {
    // An outcome missing from the table would fall back to internal_error's name.
    for (int i = 0; i < static_cast<int>(Outcome::InternalError); ++i) {
        const auto outcome = static_cast<Outcome>(i);
        assert_string_not_equal(std::string(outcomeName(outcome)).c_str(), "internal_error");
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verified_is_the_only_success),
        cmocka_unit_test(wrong_codes_and_final_sessions_are_auth_errors),
        cmocka_unit_test(unenrolled_follows_the_policy),
        cmocka_unit_test(unknown_user_is_user_unknown),
        cmocka_unit_test(service_trouble_is_authinfo_unavail),
        cmocka_unit_test(configuration_problems_are_service_errors),
        cmocka_unit_test(user_side_refusals_are_auth_errors),
        cmocka_unit_test(conversation_failure_is_conv_err),
        cmocka_unit_test(every_outcome_has_its_own_log_name),
        cmocka_unit_test(an_outcome_outside_the_table_fails_closed),
        cmocka_unit_test(unreachable_with_fail_mode_open_is_ignore),
        cmocka_unit_test(a_login_timeout_is_an_auth_error),
        cmocka_unit_test(a_send_limit_is_an_auth_error),
        cmocka_unit_test(only_the_documented_outcomes_are_ignore),
        cmocka_unit_test(a_caller_without_root_is_not_a_config_error),
        cmocka_unit_test(every_outcome_has_a_row_of_its_own),
    };
    return cmocka_run_group_tests_name("outcome", tests, nullptr, nullptr);
}
