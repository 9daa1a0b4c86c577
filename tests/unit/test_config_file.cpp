// loadConfig: the config file as the module opens it, the module arguments, and api_key_file.
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/ConfigFile.hpp"

using namespace verif8;

namespace {

const char* const kGoodConfig =
    "# test config\n"
    "api_key = k3y-ABC\n"
    "subaccount_id = demo-account\n"
    "code_length = 6\n"
    "channel = sms\n";

ConfigLoad load(const std::vector<std::string>& args, uid_t owner = geteuid()) {
    return loadConfig(args, owner);
}

std::string describeAll(const ConfigLoad& loaded) {
    std::string text;
    for (const auto& problem : loaded.problems)
        text += problem.describe() + "\n";
    return text;
}

void expectOk(const ConfigLoad& loaded) {
    if (!loaded.ok()) {
        print_error("unexpected problems:\n%s", describeAll(loaded).c_str());
        fail();
    }
}

// Refused with exactly one problem whose description contains every needle.
void expectRefused(const ConfigLoad& loaded, std::initializer_list<std::string> needles) {
    if (loaded.problems.size() != 1) {
        print_error("expected one problem, got %zu:\n%s", loaded.problems.size(),
                    describeAll(loaded).c_str());
        fail();
    }
    for (const auto& needle : needles)
        expect_contains(loaded.problems[0].describe(), needle);
    // A refused config must not keep the key around for anyone to use.
    assert_true(loaded.config.apiKey.empty());
}

}  // namespace

static void a_good_file_loads(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    const ConfigLoad loaded = load({"conf=" + path});
    expectOk(loaded);
    expect_str(loaded.path, path);
    expect_str(loaded.config.apiKey.view(), "k3y-ABC");
    expect_str(loaded.config.subaccountId, "demo-account");
    assert_int_equal(loaded.config.codeLength, 6);
    assert_false(loaded.config.debug);
}

// The config file, the API key file, ca_file and ca_path are opened checked, each with its rules:
// one case each here shows it; every rule, kind of file and owner is in test_safe_file.cpp.
static void mode_0644_is_refused_naming_the_mode(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig, 0644);
    expectRefused(load({"conf=" + path}), {path + ": ", "0644"});
}

static void a_missing_file_is_a_problem_naming_its_path(void**) {
    test::TempDir dir;
    const std::string path = dir.path() + "/absent.conf";
    const ConfigLoad loaded = load({"conf=" + path});
    expectRefused(loaded, {path + ": ", "cannot open"});
    expect_str(loaded.problems[0].source, path);
    expect_str(loaded.path, path);
}

static void a_bad_line_in_the_file_is_reported_with_its_line(void**) {
    test::TempDir dir;
    const std::string path = dir.file(std::string(kGoodConfig) + "max_attempts = 9\n");
    const ConfigLoad loaded = load({"conf=" + path});
    expectRefused(loaded, {});
    expect_str(loaded.problems[0].describe(), path + ":6: max_attempts: must be from 1 to 5");
}

static void a_duplicate_line_in_the_file_names_both_lines(void**) {
    test::TempDir dir;
    const std::string path = dir.file(std::string(kGoodConfig) + "code_length = 8\n");
    const ConfigLoad loaded = load({"conf=" + path});
    expectRefused(loaded, {});
    expect_str(loaded.problems[0].describe(),
               path + ":6: duplicate key 'code_length' (first on line 4)");
}

static void missing_required_keys_are_reported_against_the_file(void**) {
    test::TempDir dir;
    const std::string path = dir.file("code_length = 8\n");
    const ConfigLoad loaded = load({"conf=" + path});
    assert_int_equal(loaded.problems.size(), 2);
    expect_str(loaded.problems[0].source, path);
    expect_contains(loaded.problems[0].text, "api_key");
    expect_contains(loaded.problems[1].text, "subaccount_id");
}

static void module_arguments_override_file_values(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    const ConfigLoad loaded = load({"code_length=8", "conf=" + path, "channel=voice"});
    expectOk(loaded);
    assert_int_equal(loaded.config.codeLength, 8);
    assert_true(loaded.config.channel == Channel::Voice);
    expect_str(loaded.config.subaccountId, "demo-account");
}

static void module_arguments_complete_the_file(void**) {
    test::TempDir dir;
    const std::string path = dir.file("api_key = k3y-ABC\n");
    const ConfigLoad loaded = load({"conf=" + path, "subaccount_id=from-args"});
    expectOk(loaded);
    expect_str(loaded.config.subaccountId, "from-args");
}

static void a_bad_module_argument_is_refused_naming_the_key(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    const ConfigLoad loaded = load({"conf=" + path, "code_length=99"});
    expectRefused(loaded, {"module arguments: code_length: "});
    assert_int_equal(loaded.problems[0].line, 0);
}

static void debug_argument_turns_on_debug(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    const ConfigLoad loaded = load({"debug", "conf=" + path});
    expectOk(loaded);
    assert_true(loaded.config.debug);
}

static void debug_is_on_even_when_the_config_is_refused(void**) {
    // So that the refusal itself can be debugged.
    test::TempDir dir;
    const ConfigLoad loaded = load({"conf=" + dir.path() + "/absent.conf", "debug"});
    assert_false(loaded.ok());
    assert_true(loaded.config.debug);
}

static void an_unknown_bare_argument_is_refused(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    expectRefused(load({"conf=" + path, "nullok"}),
                  {"module arguments: ", "unknown argument 'nullok'"});
}

static void an_unknown_key_argument_is_refused(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    expectRefused(load({"conf=" + path, "colour=red"}), {"module arguments: ", "'colour'"});
}

static void api_key_as_a_module_argument_is_refused(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    const ConfigLoad loaded = load({"conf=" + path, "api_key=LEAKED-KEY"});
    expectRefused(loaded, {"module arguments: ", "api_key", "world-readable"});
    expect_not_contains(loaded.problems[0].describe(), "LEAKED-KEY");
}

static void a_relative_conf_path_is_refused(void**) {
    expectRefused(load({"conf=etc/pam_verif8.conf"}), {"absolute path"});
    expectRefused(load({"conf="}), {"absolute path"});
}

static void the_last_conf_argument_wins(void**) {
    test::TempDir dir;
    const std::string first = dir.file("api_key = one\nsubaccount_id = first-account\n");
    const std::string second = dir.file("api_key = two\nsubaccount_id = second-account\n");
    const ConfigLoad loaded = load({"conf=" + first, "conf=" + second});
    expectOk(loaded);
    expect_str(loaded.path, second);
    expect_str(loaded.config.subaccountId, "second-account");
}

static void api_key_file_is_read_and_trimmed(void**) {
    test::TempDir dir;
    const std::string keyFile = dir.file("  k3y-FROM-FILE\n");
    const std::string path =
        dir.file("api_key_file = " + keyFile + "\nsubaccount_id = demo-account\n");
    const ConfigLoad loaded = load({"conf=" + path});
    expectOk(loaded);
    expect_str(loaded.config.apiKey.view(), "k3y-FROM-FILE");
    expect_str(loaded.config.apiKeyFile, keyFile);
}

static void api_key_file_with_crlf_is_read(void**) {
    test::TempDir dir;
    const std::string keyFile = dir.file("k3y-FROM-FILE\r\n");
    const std::string path =
        dir.file("api_key_file = " + keyFile + "\nsubaccount_id = demo-account\n");
    const ConfigLoad loaded = load({"conf=" + path});
    expectOk(loaded);
    expect_str(loaded.config.apiKey.view(), "k3y-FROM-FILE");
}

static void api_key_file_may_come_from_the_arguments(void**) {
    test::TempDir dir;
    const std::string keyFile = dir.file("k3y-FROM-ARGS\n");
    const std::string path = dir.file("subaccount_id = demo-account\n");
    const ConfigLoad loaded = load({"conf=" + path, "api_key_file=" + keyFile});
    expectOk(loaded);
    expect_str(loaded.config.apiKey.view(), "k3y-FROM-ARGS");
}

static void api_key_file_with_mode_0644_is_refused(void**) {
    test::TempDir dir;
    const std::string keyFile = dir.file("k3y\n", 0644);
    const std::string path =
        dir.file("api_key_file = " + keyFile + "\nsubaccount_id = demo-account\n");
    expectRefused(load({"conf=" + path}), {keyFile, "0644"});
}

static void an_empty_api_key_file_is_refused(void**) {
    test::TempDir dir;
    for (const char* text : {"", "\n", "  \n\n"}) {
        const std::string keyFile = dir.file(text);
        const std::string path =
            dir.file("api_key_file = " + keyFile + "\nsubaccount_id = demo-account\n");
        expectRefused(load({"conf=" + path}), {keyFile, "API key alone"});
    }
}

static void an_api_key_file_with_two_words_is_refused(void**) {
    test::TempDir dir;
    for (const char* text :
         {"S3CRET-VALUE other\n", "S3CRET-VALUE\nsecond-line\n", "S3CRET-VALUE\tx"}) {
        const std::string keyFile = dir.file(text);
        const std::string path =
            dir.file("api_key_file = " + keyFile + "\nsubaccount_id = demo-account\n");
        const ConfigLoad loaded = load({"conf=" + path});
        expectRefused(loaded, {keyFile, "API key alone"});
        expect_not_contains(loaded.problems[0].describe(), "S3CRET");
    }
}

static void an_api_key_file_argument_replaces_the_files_key(void**) {
    test::TempDir dir;
    const std::string keyFile = dir.file("from-file-key\n");
    const std::string path = dir.file(kGoodConfig);
    const ConfigLoad loaded = load({"conf=" + path, "api_key_file=" + keyFile});
    expectOk(loaded);
    expect_str(loaded.config.apiKey.view(), "from-file-key");
}

static void the_new_keys_work_as_module_arguments(void**) {
    test::TempDir dir;
    const std::string path = dir.file(std::string(kGoodConfig) +
                                      "fail_mode = closed\nuser_send_limit = 5/900\n"
                                      "api_url = https://a.example.com\n");
    const ConfigLoad loaded = load({"conf=" + path, "fail_mode=open", "login_timeout=30",
                                    "user_send_limit=2/60", "source_send_limit=9/120",
                                    "fail_delay=0", "https_proxy=http://proxy.example.com:3128",
                                    "api_url=https://b.example.com https://c.example.com"});
    expectOk(loaded);
    assert_true(loaded.config.failMode == FailMode::Open);
    assert_int_equal(loaded.config.loginTimeout, 30);
    assert_int_equal(loaded.config.userSendLimit.count, 2);
    assert_int_equal(loaded.config.userSendLimit.seconds, 60);
    assert_int_equal(loaded.config.sourceSendLimit.count, 9);
    assert_int_equal(loaded.config.sourceSendLimit.seconds, 120);
    assert_int_equal(loaded.config.failDelayMs, 0);
    expect_str(loaded.config.httpsProxy, "http://proxy.example.com:3128");
    assert_int_equal(loaded.config.apiUrls.size(), 2);
    expect_str(loaded.config.apiUrls[0], "https://b.example.com");
    expect_str(loaded.config.apiUrls[1], "https://c.example.com");
}

static void a_bad_proxy_never_echoes_its_password(void**) {
    test::TempDir dir;
    {
        const std::string path = dir.file(
            std::string(kGoodConfig) + "https_proxy = http://svc:S3cretPw@proxy.example.com:0\n");
        const ConfigLoad loaded = load({"conf=" + path});
        expectRefused(loaded, {path + ":6: https_proxy: "});
        expect_not_contains(describeAll(loaded), "S3cretPw");
    }
    {
        const std::string path = dir.file(kGoodConfig);
        const ConfigLoad loaded =
            load({"conf=" + path, "https_proxy=socks5://svc:S3cretPw@proxy.example.com:1080"});
        expectRefused(loaded, {"module arguments: an https_proxy with a password"});
        expect_not_contains(describeAll(loaded), "S3cretPw");
    }
}

static void a_proxy_without_a_password_may_be_a_module_argument(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    const ConfigLoad loaded = load({"conf=" + path, "https_proxy=http://proxy.example.com:3128"});
    expectOk(loaded);
    expect_str(loaded.config.httpsProxy, "http://proxy.example.com:3128");
}

// ---- ca_file and ca_path: OpenSSL reads them as root, so they follow the same rules

static void a_ca_file_may_be_read_by_all_but_not_written(void**) {
    test::TempDir dir;
    const std::string ca = dir.file("-----BEGIN CERTIFICATE-----\n", 0644);
    const std::string path = dir.file(std::string(kGoodConfig) + "ca_file = " + ca + "\n");
    expectOk(load({"conf=" + path}));
    assert_int_equal(chmod(ca.c_str(), 0664), 0);
    expectRefused(load({"conf=" + path}), {"ca_file: ", ca, "not writable by group or others"});
}

static void a_ca_path_may_be_read_by_all_but_not_written(void**) {
    test::TempDir dir;
    const std::string certs = dir.path() + "/certs";
    assert_int_equal(mkdir(certs.c_str(), 0755), 0);
    const std::string good = dir.file(std::string(kGoodConfig) + "ca_path = " + certs + "\n");
    expectOk(load({"conf=" + good}));
    assert_int_equal(chmod(certs.c_str(), 0777), 0);
    expectRefused(load({"conf=" + good}), {"ca_path: ", certs, "not writable by group or others"});
}

// ---- nonroot=: read before the file, so that a caller who cannot read it still gets it

static void nonroot_is_read_from_the_arguments_even_without_the_file(void**) {
    ConfigLoad early;
    readEarlyArguments({"conf=/nonexistent/pam_verif8.conf", "nonroot=ignore", "debug"}, early);
    assert_true(early.ok());
    assert_true(early.config.nonRoot == NonRootMode::Ignore);
    assert_true(early.config.debug);
    ConfigLoad none;
    readEarlyArguments({}, none);
    assert_true(none.config.nonRoot == NonRootMode::Deny);
}

static void a_bad_nonroot_value_is_refused(void**) {
    test::TempDir dir;
    const std::string path = dir.file(kGoodConfig);
    expectRefused(load({"conf=" + path, "nonroot=allow"}), {"nonroot must be deny or ignore"});
    expectOk(load({"conf=" + path, "nonroot=deny"}));
}

static void nonroot_is_not_a_key_of_the_file(void**) {
    // Only a module argument: a caller without root cannot read the file anyway.
    test::TempDir dir;
    const std::string path = dir.file(std::string(kGoodConfig) + "nonroot = ignore\n");
    expectRefused(load({"conf=" + path}), {"unknown key 'nonroot'"});
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_proxy_without_a_password_may_be_a_module_argument),
        cmocka_unit_test(an_api_key_file_argument_replaces_the_files_key),
        cmocka_unit_test(a_good_file_loads),
        cmocka_unit_test(mode_0644_is_refused_naming_the_mode),
        cmocka_unit_test(a_missing_file_is_a_problem_naming_its_path),
        cmocka_unit_test(a_bad_line_in_the_file_is_reported_with_its_line),
        cmocka_unit_test(a_duplicate_line_in_the_file_names_both_lines),
        cmocka_unit_test(missing_required_keys_are_reported_against_the_file),
        cmocka_unit_test(module_arguments_override_file_values),
        cmocka_unit_test(module_arguments_complete_the_file),
        cmocka_unit_test(a_bad_module_argument_is_refused_naming_the_key),
        cmocka_unit_test(debug_argument_turns_on_debug),
        cmocka_unit_test(debug_is_on_even_when_the_config_is_refused),
        cmocka_unit_test(an_unknown_bare_argument_is_refused),
        cmocka_unit_test(an_unknown_key_argument_is_refused),
        cmocka_unit_test(api_key_as_a_module_argument_is_refused),
        cmocka_unit_test(a_relative_conf_path_is_refused),
        cmocka_unit_test(the_last_conf_argument_wins),
        cmocka_unit_test(api_key_file_is_read_and_trimmed),
        cmocka_unit_test(api_key_file_with_crlf_is_read),
        cmocka_unit_test(api_key_file_may_come_from_the_arguments),
        cmocka_unit_test(api_key_file_with_mode_0644_is_refused),
        cmocka_unit_test(an_empty_api_key_file_is_refused),
        cmocka_unit_test(an_api_key_file_with_two_words_is_refused),
        cmocka_unit_test(the_new_keys_work_as_module_arguments),
        cmocka_unit_test(a_bad_proxy_never_echoes_its_password),
        cmocka_unit_test(a_ca_file_may_be_read_by_all_but_not_written),
        cmocka_unit_test(a_ca_path_may_be_read_by_all_but_not_written),
        cmocka_unit_test(nonroot_is_read_from_the_arguments_even_without_the_file),
        cmocka_unit_test(a_bad_nonroot_value_is_refused),
        cmocka_unit_test(nonroot_is_not_a_key_of_the_file),
    };
    return cmocka_run_group_tests_name("config_file", tests, nullptr, nullptr);
}
