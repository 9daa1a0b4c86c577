// The built pam_verif8.so through real libpam (pam_wrapper), against verif8-sandbox: return
// codes, prompts, what reached the API, and what was logged.
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../unit/cmocka.hpp"
#include "PamWorld.hpp"

using namespace pamtest;

namespace {
constexpr const char* kAliceBody =
    R"({"destination":"+6591234567","channel":"sms","codeLength":6,"codeValidity":300,"resendingInterval":30})";

struct Marks {
    std::size_t requests = requestMark();
    std::size_t log = logMark();
    std::size_t deliveries = deliveryCount();
};

Marks* marks(void** state) {
    return static_cast<Marks*>(*state);
}

int resetSandbox(void** state) {
    sandboxControl("reset");
    *state = new Marks();
    return 0;
}

int dropMarks(void** state) {
    delete marks(state);
    return 0;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

void assertContains(const std::string& text, const std::string& part) {
    if (!contains(text, part))
        fail_msg("expected to find \"%s\" in:\n%s", part.c_str(), text.c_str());
}

void assertLacks(const std::string& text, const std::string& part) {
    if (contains(text, part))
        fail_msg("did not expect \"%s\" in:\n%s", part.c_str(), text.c_str());
}

// pam_wrapper copies the service directory once, when it is loaded: every service is written
// before the process re-executes itself, each reading the config file named after it, which the
// tests write as they go.
const std::vector<std::pair<std::string, std::string>> kServices{
    {"right", ""},
    {"retry", ""},
    {"wrong", ""},
    {"once", ""},
    {"expired", ""},
    {"silent", ""},
    {"unknown", ""},
    {"badkey", ""},
    {"readable", ""},
    {"nokey", ""},
    {"badarg", "code_length=99"},
    {"override", "code_length=7"},
    {"nullreply", ""},
    {"voice", ""},
    {"optional", ""},
    {"wa_missing", ""},
    {"wa", ""},
    {"badapikey", ""},
    {"refused", ""},
    {"untrusted", ""},
    {"proxyenv", ""},
    {"capath", ""},
    {"defaultstore", ""},
    {"damaged", ""},
};

void writeServices() {
    for (const auto& [name, args] : kServices)
        writeService(name, "conf=" + env("VERIF8_TEST_DIR") + "/" + name + ".conf " + args);
    writeService("symlink", "conf=" + env("VERIF8_TEST_DIR") + "/link.conf");
    // PAM_IGNORE only shows in a stack with another module: libpam turns a stack in which every
    // module ignored the login into a failure. pam_permit stands for the first factor here.
    const std::string permit = "auth required " + env("VERIF8_PAM_PERMIT") + "\n";
    for (const char* name : {"deny", "ignore"})
        writeService(name, "conf=" + env("VERIF8_TEST_DIR") + "/" + name + ".conf", permit);
}

void serviceWithConfig(const std::string& name, const std::string& extra = "",
                       const std::vector<std::string>& drop = {}, unsigned mode = 0600) {
    writeConfig(name, extra, drop, mode);
}

std::size_t lineCount(const std::string& path) {
    FILE* file = fopen(path.c_str(), "r");
    std::size_t lines = 0;
    for (int c; file != nullptr && (c = fgetc(file)) != EOF;)
        lines += c == '\n' ? 1 : 0;
    if (file != nullptr)
        fclose(file);
    return lines;
}

void assertNothingSent(void** state) {
    assert_int_equal(requestsSince(marks(state)->requests).size(), 0);
    assert_int_equal(deliveryCount(), marks(state)->deliveries);
}
}  // namespace

static void right_code_logs_in(void** state) {
    serviceWithConfig("right");
    Script script({"{code}"});
    assert_int_equal(authenticate("right", "alice", script), PAM_SUCCESS);

    assert_int_equal(script.prompts.size(), 1);
    assert_string_equal(script.prompts[0].c_str(),
                        "Code sent by SMS to \u2022\u2022\u2022\u2022\u2022\u20224567.\n"
                        "Verification code: ");
    const auto requests = requestsSince(marks(state)->requests);
    // The send, the session's status (no code), the code check.
    assert_int_equal(requests.size(), 3);
    assert_string_equal(requests[0].method.c_str(), "POST");
    assert_string_equal(requests[0].path.c_str(), "/api/v2/subaccounts/sandbox-account/sessions");
    assert_string_equal(requests[0].bodyJson.c_str(), kAliceBody);
    assert_int_equal(requests[0].status, 200);
    assert_string_equal(requests[1].method.c_str(), "GET");
    assert_false(requests[1].codePresent);
    assert_string_equal(requests[2].method.c_str(), "GET");
    assert_true(requests[2].codePresent);
    assert_true(requests[2].codeMatched);

    const std::string log = logSince(marks(state)->log);
    assertContains(log, "outcome=verified user=alice");
    assertContains(log, "service=right channel=sms to=+65******67");
    assertContains(log, "attempts=1");
    assertLacks(log, lastDeliveredCode());
    assertLacks(log, env("VERIF8_API_KEY"));
    assertLacks(log, "6591234567");
}

static void wrong_then_right_code_logs_in(void** state) {
    serviceWithConfig("retry");
    Script script({"{wrong}", "{code}"});
    assert_int_equal(authenticate("retry", "alice", script), PAM_SUCCESS);
    assert_int_equal(script.prompts.size(), 2);
    assertContains(script.prompts[1], "Wrong code. 2 attempts left.\nVerification code: ");
    const auto requests = requestsSince(marks(state)->requests);
    assert_int_equal(requests.size(), 5);  // a send, then a status read before each check
    assert_false(requests[2].codeMatched);
    assert_true(requests[4].codeMatched);
    assertContains(logSince(marks(state)->log), "outcome=verified user=alice");
}

static void too_many_wrong_codes_fail(void** state) {
    serviceWithConfig("wrong");
    Script script({"{wrong}", "{wrong}", "{wrong}", "{code}"});
    assert_int_equal(authenticate("wrong", "alice", script), PAM_AUTH_ERR);
    assert_int_equal(script.prompts.size(), 3);
    assertContains(script.prompts[2], "1 attempt left.");
    // one send, three checks, each after a status read
    assert_int_equal(requestsSince(marks(state)->requests).size(), 7);
    assert_int_equal(script.errors.size(), 1);
    assertContains(script.errors[0], "No attempts left.");
    assertContains(logSince(marks(state)->log), "outcome=too_many_wrong_codes user=alice");
}

static void max_attempts_bounds_the_rounds(void** state) {
    serviceWithConfig("once", "max_attempts = 1\n");
    Script script({"{wrong}", "{code}"});
    assert_int_equal(authenticate("once", "alice", script), PAM_AUTH_ERR);
    assert_int_equal(script.prompts.size(), 1);
    assert_int_equal(requestsSince(marks(state)->requests).size(), 3);
}

static void expired_session_fails(void** state) {
    serviceWithConfig("expired");
    Script script({"{expire}"});
    assert_int_equal(authenticate("expired", "alice", script), PAM_AUTH_ERR);
    assertContains(logSince(marks(state)->log), "outcome=session_expired");
    assert_int_equal(script.errors.size(), 1);
    assertContains(script.errors[0], "expired");
}

static void silent_flag_hides_error_messages(void** state) {
    serviceWithConfig("silent", "max_attempts = 1\n");
    Script script({"{wrong}"});
    assert_int_equal(authenticate("silent", "alice", script, PAM_SILENT), PAM_AUTH_ERR);
    assert_int_equal(script.errors.size(), 0);
    assertContains(logSince(marks(state)->log), "outcome=too_many_wrong_codes");
}

static void unenrolled_user_is_denied(void** state) {
    serviceWithConfig("deny");
    Script script;
    assert_int_equal(authenticate("deny", "carol", script), PAM_AUTH_ERR);
    assert_int_equal(script.prompts.size(), 0);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "outcome=unenrolled_denied user=carol");
}

static void unenrolled_user_is_ignored_when_configured(void** state) {
    serviceWithConfig("ignore", "unenrolled = ignore\n");
    Script script;
    assert_int_equal(authenticate("ignore", "carol", script), PAM_SUCCESS);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "outcome=unenrolled_ignored user=carol");
}

static void unknown_user_sends_nothing(void** state) {
    serviceWithConfig("unknown");
    Script script;
    assert_int_equal(authenticate("unknown", "mallory", script), PAM_USER_UNKNOWN);
    assert_int_equal(script.prompts.size(), 0);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "outcome=user_unknown user=mallory");
}

static void unknown_config_key_fails_closed(void** state) {
    const std::string conf = writeConfig("badkey", "colour = blue\n");
    Script script;
    assert_int_equal(authenticate("badkey", "alice", script), PAM_SERVICE_ERR);
    assert_int_equal(script.prompts.size(), 0);
    assertNothingSent(state);
    const std::string log = logSince(marks(state)->log);
    // The unknown key is the file's last line; the message names the file and that line.
    assertContains(log, conf + ":" + std::to_string(lineCount(conf)) + ": unknown key 'colour'");
    assertContains(log, "outcome=config_error");
}

static void world_readable_config_fails_closed(void** state) {
    const std::string conf = writeConfig("readable", "", {}, 0644);
    Script script;
    assert_int_equal(authenticate("readable", "alice", script), PAM_SERVICE_ERR);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), conf + ": has mode 0644");
}

static void missing_api_key_fails_closed(void** state) {
    serviceWithConfig("nokey", "", {"api_key"});
    Script script;
    assert_int_equal(authenticate("nokey", "alice", script), PAM_SERVICE_ERR);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "api_key or api_key_file is required");
}

static void symlinked_config_fails_closed(void** state) {
    const std::string target = writeConfig("linktarget");
    const std::string link = env("VERIF8_TEST_DIR") + "/link.conf";
    unlink(link.c_str());
    assert_int_equal(symlink(target.c_str(), link.c_str()), 0);
    Script script;
    assert_int_equal(authenticate("symlink", "alice", script), PAM_SERVICE_ERR);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "symbolic link");
}

static void bad_module_argument_fails_closed(void** state) {
    serviceWithConfig("badarg");
    Script script;
    assert_int_equal(authenticate("badarg", "alice", script), PAM_SERVICE_ERR);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log),
                   "module arguments: code_length: must be from 4 to 10");
}

// 7 digits, not the shortest code: the run ends with a scan of every log for every delivered
// code, and a 4-digit one could match a number the logs hold anyway ("code 1200", "mode 0644").
static void module_arguments_override_the_file(void** state) {
    serviceWithConfig("override", "code_length = 8\n");
    Script script({"{code}"});
    assert_int_equal(authenticate("override", "alice", script), PAM_SUCCESS);
    const auto requests = requestsSince(marks(state)->requests);
    assertContains(requests.at(0).bodyJson, R"("codeLength":7,)");
    assert_int_equal(lastDeliveredCode().size(), 7);
}

static void null_reply_is_a_conversation_error(void** state) {
    serviceWithConfig("nullreply");
    Script script({"{null}"});
    assert_int_equal(authenticate("nullreply", "alice", script), PAM_CONV_ERR);
    assertContains(logSince(marks(state)->log), "outcome=conversation_failed");
    // The send happened, but no code was checked.
    assert_int_equal(requestsSince(marks(state)->requests).size(), 1);
}

static void voice_user_gets_a_call(void** state) {
    serviceWithConfig("voice");
    Script script({"{code}"});
    assert_int_equal(authenticate("voice", "bob", script), PAM_SUCCESS);
    assertContains(script.prompts.at(0),
                   "Code sent by voice call to \u2022\u2022\u2022\u2022\u2022\u20225432.");
    assert_string_equal(
        requestsSince(marks(state)->requests).at(0).bodyJson.c_str(),
        R"({"destination":"+6598765432","channel":"call","codeLength":6,"codeValidity":300,"resendingInterval":30})");
}

static void optional_fields_reach_the_api(void** state) {
    serviceWithConfig("optional",
                      "brand = Acme Ops\n"
                      "template = {brand} login code: {code}\n"
                      "language = en-GB\n"
                      "sms_sender = AcmeOps\n"
                      "voice_caller_id = +6512345678\n"
                      "template_key = login\n"
                      "code_length = 8\n"
                      "code_validity = 120\n");
    Script script({"{code}"});
    assert_int_equal(authenticate("optional", "alice", script), PAM_SUCCESS);
    assert_string_equal(
        requestsSince(marks(state)->requests).at(0).bodyJson.c_str(),
        R"({"destination":"+6591234567","channel":"sms","codeLength":8,)"
        R"("codeValidity":120,"resendingInterval":30,"brand":"Acme Ops","template":"{brand} login code: {code}",)"
        R"("templateKey":"login","language":"en-GB","sms":{"source":"AcmeOps"}})");
    assert_int_equal(lastDeliveredCode().size(), 8);
}

static void whatsapp_user_needs_a_template(void** state) {
    serviceWithConfig("wa_missing");
    Script missing;
    assert_int_equal(authenticate("wa_missing", "dave", missing), PAM_SERVICE_ERR);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "whatsapp_template is required");

    serviceWithConfig("wa", "whatsapp_template = login_otp\n");
    Script script({"{code}"});
    assert_int_equal(authenticate("wa", "dave", script), PAM_SUCCESS);
    assert_string_equal(
        requestsSince(marks(state)->requests).at(0).bodyJson.c_str(),
        R"({"destination":"+6587654321","channel":"whatsapp","codeLength":6,)"
        R"("codeValidity":300,"resendingInterval":30,"whatsapp":{"templateName":"login_otp"}})");
}

static void wrong_api_key_is_a_service_error(void** state) {
    serviceWithConfig("badapikey", "api_key = not-the-key\n", {"api_key"});
    Script script;
    assert_int_equal(authenticate("badapikey", "alice", script), PAM_SERVICE_ERR);
    const auto requests = requestsSince(marks(state)->requests);
    assert_int_equal(requests.size(), 1);
    assert_int_equal(requests[0].status, 401);
    const std::string log = logSince(marks(state)->log);
    assertContains(log, "outcome=credentials_rejected");
    assertContains(log, "HTTP 401 code 1200");
    assertLacks(log, "not-the-key");
}

static void unreachable_api_is_authinfo_unavail(void** state) {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    serviceWithConfig("refused", "api_url = https://127.0.0.1:1\n", {"api_url"});
    Script script;
    assert_int_equal(authenticate("refused", "alice", script), PAM_AUTHINFO_UNAVAIL);
    assertContains(logSince(marks(state)->log), "outcome=unreachable");
}

static void proxy_variables_in_the_environment_are_ignored(void** state) {
    // Were they used, the request would go to a closed port and the login would fail.
    serviceWithConfig("proxyenv");
    for (const char* name : {"https_proxy", "HTTPS_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"})
        setenv(name, "http://127.0.0.1:1", 1);
    Script script({"{code}"});
    const int rv = authenticate("proxyenv", "alice", script);
    for (const char* name : {"https_proxy", "HTTPS_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"})
        unsetenv(name);
    assert_int_equal(rv, PAM_SUCCESS);
    assert_int_equal(requestsSince(marks(state)->requests).size(), 3);
}

static void a_hashed_ca_directory_is_trusted(void** state) {
    serviceWithConfig("capath", "ca_path = " + env("VERIF8_SANDBOX_CA_DIR") + "\n", {"ca_file"});
    Script script({"{code}"});
    assert_int_equal(authenticate("capath", "alice", script), PAM_SUCCESS);
    assert_int_equal(requestsSince(marks(state)->requests).size(), 3);
}

static void the_default_store_does_not_trust_the_sandbox(void** state) {
    // Neither ca_file nor ca_path: the build's default store, which lacks the test CA.
    serviceWithConfig("defaultstore", "", {"ca_file"});
    Script script;
    assert_int_equal(authenticate("defaultstore", "alice", script), PAM_AUTHINFO_UNAVAIL);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "outcome=certificate_invalid");
}

static void untrusted_certificate_is_refused(void** state) {
    // The system store does not hold the sandbox's test CA.
    serviceWithConfig("untrusted", "ca_file = /etc/ssl/certs/ca-certificates.crt\n", {"ca_file"});
    Script script;
    assert_int_equal(authenticate("untrusted", "alice", script), PAM_AUTHINFO_UNAVAIL);
    assertNothingSent(state);
    assertContains(logSince(marks(state)->log), "outcome=certificate_invalid");
}

static void a_damaged_session_table_fails_closed(void** state) {
    // Both copies of the table of waiting sessions torn: nobody can tell which sessions other
    // logins hold, so no code is sent until they are removed (or are two hours old).
    serviceWithConfig("damaged");
    const std::string dir = env("VERIF8_TEST_DIR") + "/state-damaged";
    mkdir(dir.c_str(), 0700);
    for (const char* copy : {"/pending.a", "/pending.b"}) {
        FILE* file = fopen((dir + copy).c_str(), "w");
        assert_non_null(file);
        fputs("verif8-pending 1 3\ntorn", file);
        fclose(file);
        chmod((dir + copy).c_str(), 0600);
    }
    Script script;
    assert_int_equal(authenticate("damaged", "alice", script), PAM_SERVICE_ERR);
    assert_int_equal(script.prompts.size(), 0);
    assertNothingSent(state);
    const std::string log = logSince(marks(state)->log);
    assertContains(log, "both damaged");
    assertContains(log, "outcome=config_error");
}

int main(int, char** argv) {
    if (getenv("VERIF8_SERVICES_WRITTEN") == nullptr) {
        writeServices();
        setenv("VERIF8_SERVICES_WRITTEN", "1", 1);
        execv("/proc/self/exe", argv);
        perror("execv");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(right_code_logs_in, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(wrong_then_right_code_logs_in, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(too_many_wrong_codes_fail, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(max_attempts_bounds_the_rounds, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(expired_session_fails, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(silent_flag_hides_error_messages, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(unenrolled_user_is_denied, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(unenrolled_user_is_ignored_when_configured, resetSandbox,
                                        dropMarks),
        cmocka_unit_test_setup_teardown(unknown_user_sends_nothing, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(unknown_config_key_fails_closed, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(world_readable_config_fails_closed, resetSandbox,
                                        dropMarks),
        cmocka_unit_test_setup_teardown(missing_api_key_fails_closed, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(symlinked_config_fails_closed, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(bad_module_argument_fails_closed, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(module_arguments_override_the_file, resetSandbox,
                                        dropMarks),
        cmocka_unit_test_setup_teardown(null_reply_is_a_conversation_error, resetSandbox,
                                        dropMarks),
        cmocka_unit_test_setup_teardown(voice_user_gets_a_call, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(optional_fields_reach_the_api, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(whatsapp_user_needs_a_template, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(wrong_api_key_is_a_service_error, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(unreachable_api_is_authinfo_unavail, resetSandbox,
                                        dropMarks),
        cmocka_unit_test_setup_teardown(proxy_variables_in_the_environment_are_ignored,
                                        resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(untrusted_certificate_is_refused, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(a_damaged_session_table_fails_closed, resetSandbox,
                                        dropMarks),
        cmocka_unit_test_setup_teardown(a_hashed_ca_directory_is_trusted, resetSandbox, dropMarks),
        cmocka_unit_test_setup_teardown(the_default_store_does_not_trust_the_sandbox, resetSandbox,
                                        dropMarks),
    };
    return cmocka_run_group_tests_name("pam_login", tests, nullptr, nullptr);
}
