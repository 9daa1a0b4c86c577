// loadConfig: the config file as the module opens it, the module arguments, and api_key_file.
// One table row per case: a config file, maybe a second file, the arguments, what must follow.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"
#include "verif8/ConfigFile.hpp"

using namespace verif8;

namespace {

const std::string kGood =
    "# test config\napi_key = k3y-ABC\nsubaccount_id = demo-account\ncode_length = 6\n"
    "channel = sms\n";
const std::string kByKeyFile = "api_key_file = {other}\nsubaccount_id = demo-account\n";
const char* const kMissing = nullptr;  // the config file does not exist
const char* const kUnsafe = "not writable by group or others";

std::string describeAll(const ConfigLoad& loaded) {
    std::string text;
    for (const auto& problem : loaded.problems)
        text += problem.describe() + "\n";
    return text;
}

std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words)
        text += (text.empty() ? "" : " ") + word;
    return text;
}

std::string setting(const ConfigLoad& loaded, const std::string& key) {
    const Config& c = loaded.config;
    const std::map<std::string, std::string> settings{
        {"path", loaded.path},
        {"source", loaded.problems.empty() ? "" : loaded.problems[0].source},
        {"api_key", std::string(c.apiKey.view())},
        {"api_key_file", c.apiKeyFile},
        {"subaccount_id", c.subaccountId},
        {"code_length", std::to_string(c.codeLength)},
        {"channel", std::string(channelName(c.channel))},
        {"debug", c.debug ? "on" : "off"},
        {"fail_mode", c.failMode == FailMode::Open ? "open" : "closed"},
        {"login_timeout", std::to_string(c.loginTimeout)},
        {"fail_delay", std::to_string(c.failDelayMs)},
        {"user_send_limit",
         std::to_string(c.userSendLimit.count) + "/" + std::to_string(c.userSendLimit.seconds)},
        {"source_send_limit",
         std::to_string(c.sourceSendLimit.count) + "/" + std::to_string(c.sourceSendLimit.seconds)},
        {"https_proxy", c.httpsProxy},
        {"api_url", joined(c.apiUrls)},
    };
    return settings.at(key);
}

struct Row {
    const char* name = "";
    const char* conf = nullptr;  // its text; {other} is the second file's path
    std::vector<std::string> args = {};
    // Each problem described, one a line: "=" the whole text, "!" absent, else contained.
    // None: the config loads. {conf} and {other} stand for the two paths.
    std::vector<std::string> problems = {};
    std::vector<std::pair<const char*, std::string>> settings = {};
    int count = -1;               // problems; -1: one if any is expected
    const char* other = nullptr;  // the second file's text (an API key, a CA, another config)
    mode_t otherMode = 0600;
    mode_t confMode = 0600;
};

std::string filled(std::string text, const std::string& conf, const std::string& other) {
    for (const auto& [name, path] : {std::pair{"{conf}", conf}, std::pair{"{other}", other}}) {
        for (auto at = text.find(name); at != std::string::npos;
             at = text.find(name, at + path.size()))
            text.replace(at, std::string(name).size(), path);
    }
    return text;
}

void expectRow(const Row& row) {
    test::TempDir dir;
    const std::string other = row.other ? dir.file(row.other, row.otherMode) : "";
    const std::string conf = row.conf ? dir.file(filled(row.conf, "", other), row.confMode)
                                      : dir.path() + "/absent.conf";
    std::vector<std::string> args;
    for (const auto& arg : row.args)
        args.push_back(filled(arg, conf, other));
    const ConfigLoad loaded = loadConfig(args, geteuid());
    const std::string described = describeAll(loaded);
    const int count = row.count >= 0 ? row.count : row.problems.empty() ? 0 : 1;
    expect_row(loaded.problems.size() == static_cast<std::size_t>(count), row.name);
    for (const auto& expected : row.problems) {
        const std::string text =
            filled(expected.substr(expected[0] == '=' || expected[0] == '!'), conf, other);
        const bool held = expected[0] == '='   ? described == text + "\n"
                          : expected[0] == '!' ? described.find(text) == std::string::npos
                                               : described.find(text) != std::string::npos;
        if (!held) {
            print_error("row \"%s\": problems \"%s\", expected %s\n", row.name, described.c_str(),
                        expected.c_str());
            fail();
        }
    }
    // A refused config must not keep the key around for anyone to use.
    expect_row(loaded.problems.empty() || loaded.config.apiKey.empty(), row.name);
    for (const auto& [key, value] : row.settings) {
        if (const test::Miss miss = test::differs(setting(loaded, key), filled(value, conf, other)))
            fail_msg("row \"%s\", %s: %s", row.name, key, miss->c_str());
    }
}

}  // namespace

// The config file, the API key file, ca_file and ca_path are opened checked, each with its rules:
// one case each here shows it; every rule, kind of file and owner is in test_safe_file.cpp.
// ca_file and ca_path follow the same rules as the others: OpenSSL reads them as root.
static void config_files_and_arguments_load_or_are_refused(void**) {
    const std::string good = kGood, keyFile = kByKeyFile;
    const std::string caFile = kGood + "ca_file = {other}\n";
    const std::string newKeys = kGood +
                                "fail_mode = closed\nuser_send_limit = 5/900\n"
                                "api_url = https://a.example.com\n";
    const std::string badProxy = kGood + "https_proxy = http://svc:S3cretPw@proxy.example.com:0\n";
    const std::string badLine = kGood + "max_attempts = 9\n", twice = kGood + "code_length = 8\n";
    const std::string nonroot = kGood + "nonroot = ignore\n";
    const char* const conf = "conf={conf}";
    const char* const cert = "-----BEGIN CERTIFICATE-----\n";
    // clang-format off
    const std::vector<Row> rows{
        {"a good file", good.c_str(), {conf}, {}, {{"path", "{conf}"}, {"api_key", "k3y-ABC"},
         {"subaccount_id", "demo-account"}, {"code_length", "6"}, {"debug", "off"}}},
        {"mode 0644", good.c_str(), {conf}, {"{conf}: ", "0644"}, {}, -1, nullptr, 0600, 0644},
        {"missing", kMissing, {conf}, {"{conf}: ", "cannot open"},
         {{"source", "{conf}"}, {"path", "{conf}"}}},
        {"a bad line", badLine.c_str(), {conf}, {"={conf}:6: max_attempts: must be from 1 to 5"}},
        {"a duplicate line", twice.c_str(), {conf},
         {"={conf}:6: duplicate key 'code_length' (first on line 4)"}},
        {"required keys", "code_length = 8\n", {conf},
         {"{conf}: api_key or api_key_file is required\n{conf}: subaccount_id is required"}, {},
         2},
        {"arguments override the file", good.c_str(), {"code_length=8", conf, "channel=voice"},
         {}, {{"code_length", "8"}, {"channel", "voice"}, {"subaccount_id", "demo-account"}}},
        {"arguments complete the file", "api_key = k3y-ABC\n", {conf, "subaccount_id=from-args"},
         {}, {{"subaccount_id", "from-args"}}},
        {"a bad argument", good.c_str(), {conf, "code_length=99"},
         {"module arguments: code_length: "}},
        {"debug", good.c_str(), {"debug", conf}, {}, {{"debug", "on"}}},
        // So that the refusal itself can be debugged.
        {"debug in a refusal", kMissing, {conf, "debug"}, {"cannot open"}, {{"debug", "on"}}},
        {"an unknown bare argument", good.c_str(), {conf, "nullok"},
         {"module arguments: ", "unknown argument 'nullok'"}},
        {"an unknown key argument", good.c_str(), {conf, "colour=red"},
         {"module arguments: ", "'colour'"}},
        {"api_key as an argument", good.c_str(), {conf, "api_key=LEAKED-KEY"},
         {"module arguments: ", "api_key", "world-readable", "!LEAKED-KEY"}},
        {"a relative conf path", kMissing, {"conf=etc/pam_verif8.conf"}, {"absolute path"}},
        {"an empty conf path", kMissing, {"conf="}, {"absolute path"}},
        {"the last conf wins", "api_key = one\nsubaccount_id = first-account\n",
         {conf, "conf={other}"}, {}, {{"path", "{other}"}, {"subaccount_id", "second-account"}},
         -1, "api_key = two\nsubaccount_id = second-account\n"},
        {"api_key_file trimmed", keyFile.c_str(), {conf}, {},
         {{"api_key", "k3y-FROM-FILE"}, {"api_key_file", "{other}"}}, -1, "  k3y-FROM-FILE\n"},
        {"api_key_file with CRLF", keyFile.c_str(), {conf}, {}, {{"api_key", "k3y-FROM-FILE"}},
         -1, "k3y-FROM-FILE\r\n"},
        {"api_key_file argument", "subaccount_id = demo-account\n", {conf, "api_key_file={other}"},
         {}, {{"api_key", "k3y-FROM-ARGS"}}, -1, "k3y-FROM-ARGS\n"},
        {"api_key_file argument over api_key", good.c_str(), {conf, "api_key_file={other}"}, {},
         {{"api_key", "from-file-key"}}, -1, "from-file-key\n"},
        {"api_key_file 0644", keyFile.c_str(), {conf}, {"{other}", "0644"}, {}, -1, "k3y\n", 0644},
        {"an empty api_key_file", keyFile.c_str(), {conf}, {"{other}", "API key alone"}, {}, -1,
         ""},
        {"a blank api_key_file", keyFile.c_str(), {conf}, {"{other}", "API key alone"}, {}, -1,
         "\n"},
        {"blank lines", keyFile.c_str(), {conf}, {"{other}", "API key alone"}, {}, -1, "  \n\n"},
        {"two words", keyFile.c_str(), {conf}, {"{other}", "API key alone", "!S3CRET"}, {}, -1,
         "S3CRET-VALUE other\n"},
        {"two lines", keyFile.c_str(), {conf}, {"{other}", "API key alone", "!S3CRET"}, {}, -1,
         "S3CRET-VALUE\nsecond-line\n"},
        {"a tab", keyFile.c_str(), {conf}, {"{other}", "API key alone", "!S3CRET"}, {}, -1,
         "S3CRET-VALUE\tx"},
        {"the new keys as arguments", newKeys.c_str(), {conf, "fail_mode=open",
         "login_timeout=30", "user_send_limit=2/60", "source_send_limit=9/120", "fail_delay=0",
         "https_proxy=http://proxy.example.com:3128",
         "api_url=https://b.example.com https://c.example.com"}, {},
         {{"fail_mode", "open"}, {"login_timeout", "30"}, {"user_send_limit", "2/60"},
          {"source_send_limit", "9/120"}, {"fail_delay", "0"},
          {"https_proxy", "http://proxy.example.com:3128"},
          {"api_url", "https://b.example.com https://c.example.com"}}},
        {"a bad proxy in the file", badProxy.c_str(), {conf},
         {"{conf}:6: https_proxy: ", "!S3cretPw"}},
        {"a proxy password in the arguments", good.c_str(),
         {conf, "https_proxy=socks5://svc:S3cretPw@proxy.example.com:1080"},
         {"module arguments: an https_proxy with a password", "!S3cretPw"}},
        {"a proxy argument", good.c_str(), {conf, "https_proxy=http://proxy.example.com:3128"},
         {}, {{"https_proxy", "http://proxy.example.com:3128"}}},
        {"a readable ca_file", caFile.c_str(), {conf}, {}, {}, -1, cert, 0644},
        {"a group-writable ca_file", caFile.c_str(), {conf}, {"ca_file: ", "{other}", kUnsafe},
         {}, -1, cert, 0664},
        {"nonroot=allow", good.c_str(), {conf, "nonroot=allow"},
         {"nonroot must be deny or ignore"}},
        {"nonroot=deny", good.c_str(), {conf, "nonroot=deny"}},
        // Only a module argument: a caller without root cannot read the file anyway.
        {"nonroot in the file", nonroot.c_str(), {conf}, {"unknown key 'nonroot'"}},
    };
    // clang-format on
    for (const Row& row : rows)
        expectRow(row);
}

static void a_ca_path_may_be_read_by_all_but_not_written(void**) {
    test::TempDir dir;
    const std::string certs = dir.path() + "/certs";
    assert_int_equal(mkdir(certs.c_str(), 0755), 0);
    const std::string conf = "conf=" + dir.file(kGood + "ca_path = " + certs + "\n");
    assert_true(loadConfig({conf}, geteuid()).ok());
    assert_int_equal(chmod(certs.c_str(), 0777), 0);
    const ConfigLoad loaded = loadConfig({conf}, geteuid());
    assert_int_equal(loaded.problems.size(), 1);
    for (const std::string& part : {std::string("ca_path: "), certs, std::string(kUnsafe)})
        expect_contains(loaded.problems[0].describe(), part);
}

// nonroot= is read before the file, so that a caller who cannot read it still gets it.
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

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_files_and_arguments_load_or_are_refused),
        cmocka_unit_test(a_ca_path_may_be_read_by_all_but_not_written),
        cmocka_unit_test(nonroot_is_read_from_the_arguments_even_without_the_file),
    };
    return cmocka_run_group_tests_name("config_file", tests, nullptr, nullptr);
}
