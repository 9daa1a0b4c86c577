// ConfigParser: every key with good and bad values, the line format, and checkComplete.
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "support.hpp"
#include "verif8/ConfigParser.hpp"

using namespace verif8;

namespace {

struct Parsed {
    Config config;
    std::vector<ConfigProblem> problems;
};

Parsed parse(std::string_view text, const std::string& source = "/etc/security/pam_verif8.conf") {
    Parsed parsed;
    ConfigParser parser(parsed.config);
    parser.parseText(text, source, parsed.problems);
    return parsed;
}

std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words)
        text += (text.empty() ? "" : " ") + word;
    return text;
}

std::string setOne(std::string_view key, std::string_view value) {
    Config config;
    return ConfigParser(config).set(key, value);
}

std::string describeAll(const std::vector<ConfigProblem>& problems) {
    std::string text;
    for (const auto& problem : problems)
        text += problem.describe() + "\n";
    return text;
}

void expectNoProblems(const std::vector<ConfigProblem>& problems) {
    if (!problems.empty()) {
        print_error("unexpected problems:\n%s", describeAll(problems).c_str());
        fail();
    }
}

void expectOneProblem(const std::vector<ConfigProblem>& problems, int line,
                      const std::string& needle) {
    if (problems.size() != 1) {
        print_error("expected one problem, got %zu:\n%s", problems.size(),
                    describeAll(problems).c_str());
        fail();
    }
    assert_int_equal(problems[0].line, line);
    expect_contains(problems[0].message, needle);
}

const std::string k31(31, 'b');
const std::string k51(51, 's');

// One good value per key, and what it must set.
const std::map<std::string, std::string>& goodValues() {
    static const std::map<std::string, std::string> values{
        {"api_key", "k3y_ABC-123.xyz"},
        {"api_key_file", "/etc/security/verif8.key"},
        {"subaccount_id", "demo-account_1.2&co"},
        {"region", "europe"},
        {"api_url", "https://verify.example.com:8443/base"},
        {"ca_file", "/etc/ssl/certs/ca.pem"},
        {"ca_path", "/etc/ssl/certs"},
        {"connect_timeout", "7"},
        {"request_timeout", "20"},
        {"channel", "voice"},
        {"code_length", "8"},
        {"code_validity", "600"},
        {"brand", "Acme Corp"},
        {"template", "{brand}: your code is {code}"},
        {"template_key", "login-otp"},
        {"language", "fr-FR"},
        {"sms_sender", "Acme"},
        {"voice_caller_id", "+6512345678"},
        {"whatsapp_template", "auth_code_v2"},
        {"max_attempts", "4"},
        {"unenrolled", "ignore"},
        {"users_file", "/etc/security/other.users"},
        {"resend_interval", "45"},
        {"phone_command", "/usr/local/sbin/phone-of --user %u"},
        {"exempt_users", "root backup"},
        {"exempt_groups", "break-glass"},
        {"only_groups", "2fa staff"},
        {"trusted_networks", "192.0.2.0/24 2001:db8::/32 198.51.100.7"},
        {"state_dir", "/var/lib/pam_verif8-test"},
        {"login_timeout", "120"},
        {"fail_mode", "open"},
        {"fail_delay", "0"},
        {"https_proxy", "http://proxy.example.com:3128"},
        {"user_send_limit", "3/600"},
        {"source_send_limit", "50/3600"},
    };
    return values;
}

// Each value must be refused, with an error naming the key.
const std::map<std::string, std::vector<std::string>>& badValues() {
    static const std::string longKey(1025, 'k');
    static const std::string longTemplate = "{code}" + std::string(995, 't');
    static const std::string longTemplateKey(201, 't');
    static const std::string longWhatsapp(513, 'w');
    static const std::map<std::string, std::vector<std::string>> values{
        {"api_key", {"", "two words", "tab\tinside", "ctl\x01", longKey}},
        {"api_key_file", {"", "relative/key", "./key", "/with space", "/ctl\x01"}},
        {"subaccount_id", {"", "ab", k51, "has/slash", "has space", "per%cent", "caf\xc3\xa9x"}},
        {"region", {"", "Asia", "ASIA", "eu", "apac", "asia ", " us"}},
        {"api_url",
         {"", "http://verify.example.com", "ftp://verify.example.com", "verify.example.com",
          "HTTPS//verify", "https://", "https:///", "https:///path",
          "https://verify.example.com/?x=1", "https://verify.example.com/#frag",
          "https://user:pw@verify.example.com", "https://user@verify.example.com",
          "https://a.example.com http://b.example.com",
          "https://a https://b https://c https://d https://e",
          "https://a.example.com,https://b.example.com/x?y", "https://verify\\example.com",
          "https://verify.example.com/\x01"}},
        {"ca_file", {"", "ca.pem", "/a b.pem", "/ca\x02.pem"}},
        {"ca_path", {"", "certs", "/a b", "/ctl\x01"}},
        {"connect_timeout",
         {"0", "61", "-1", "+5", " 5", "5 ", "5s", "five", "", "1e1", "0x10", "9999999999", "5.0"}},
        {"request_timeout", {"0", "301", "-10", "+10", "1 0", "ten", "", "1000000000"}},
        {"channel", {"", "SMS", "Voice", "call", "sma", "email", "sms,voice"}},
        {"code_length", {"3", "11", "0", "-6", "+6", "six", " 6", "6 ", "", "06x", "4.5"}},
        {"code_validity", {"29", "7201", "0", "-300", "+300", "300s", "", "5 min"}},
        {"brand", {"", k31, "bell\x07"}},
        {"template",
         {"", "no placeholder here", "{CODE}", "{ code }", "code", "{code}\x01", longTemplate}},
        {"template_key", {"", longTemplateKey, "tab\there"}},
        {"language", {"", "en-us", "EN-US", "en", "english", "en_US", "xx-XX", "fr-FR "}},
        {"sms_sender",
         {"", "ABCDEFGHIJKL", "12345678901234567", "+12345678901234567", "Acme-Co", "Acme_Co",
          "Caf\xc3\xa9", "+", "+Acme"}},
        {"voice_caller_id", {"", "12", "+12", "12345678901234567", "caller", "+65 1234", "+"}},
        {"whatsapp_template", {"", "two words", "ctl\x01", longWhatsapp}},
        {"max_attempts", {"0", "6", "-1", "+3", "three", " 3", "", "3.0"}},
        {"unenrolled", {"", "Deny", "IGNORE", "allow", "open"}},
        {"users_file", {"", "pam_verif8.users", "/a b", "/ctl\x01"}},
        {"resend_interval", {"9", "7201", "0", "-30", "thirty", ""}},
        {"phone_command", {"", "phone-of %u", "./phone-of", "/bin/x\x01"}},
        {"exempt_users", {"", "   ", "root\x01"}},
        {"exempt_groups", {"", "ops\x7f"}},
        {"only_groups", {"", "\xff"}},
        {"trusted_networks",
         {"", "10.0.0.0/33", "2001:db8::/129", "10.0.0/8", "example.com", "10.0.0.0/8,10.1.0.0/16",
          "10.0.0.0/-1"}},
        {"state_dir", {"", "var/lib", "/with space"}},
        {"login_timeout", {"9", "3601", "0", "-90", "90s", ""}},
        {"fail_mode", {"", "Closed", "OPEN", "fail", "ignore"}},
        {"fail_delay", {"-1", "10001", "2s", ""}},
        {"https_proxy",
         {"", "proxy.example.com:3128", "socks5://proxy:1080", "http://", "http://proxy:0",
          "http://proxy:3128/path", "http://a b:1"}},
        {"user_send_limit",
         {"", "5", "5/", "/900", "0/900", "5/0", "1001/900", "5/86401", "5 /900"}},
        {"source_send_limit", {"", "x/y", "-1/900", "20/900/1"}},
    };
    return values;
}

}  // namespace

static void every_known_key_accepts_a_good_value(void**) {
    const auto& keys = ConfigParser::knownKeys();
    assert_true(keys.size() >= goodValues().size());
    for (const auto& key : keys) {
        const auto good = goodValues().find(key);
        if (good == goodValues().end()) {
            print_error("no good value in this test for key '%s'\n", key.c_str());
            fail();
        }
        const std::string error = setOne(key, good->second);
        if (!error.empty()) {
            print_error("%s = %s refused: %s\n", key.c_str(), good->second.c_str(), error.c_str());
            fail();
        }
    }
}

static void every_tested_key_is_a_known_key(void**) {
    const auto& keys = ConfigParser::knownKeys();
    for (const auto& entry : goodValues()) {
        if (std::find(keys.begin(), keys.end(), entry.first) == keys.end()) {
            print_error("'%s' is not in knownKeys()\n", entry.first.c_str());
            fail();
        }
    }
}

static void good_values_land_in_the_config(void**) {
    std::string text;
    for (const auto& entry : goodValues()) {
        if (entry.first != "api_key_file")  // both key and key file is checkComplete's business
            text += entry.first + " = " + entry.second + "\n";
    }
    const Parsed parsed = parse(text);
    expectNoProblems(parsed.problems);
    const Config& c = parsed.config;
    expect_str(c.apiKey.view(), "k3y_ABC-123.xyz");
    expect_str(c.subaccountId, "demo-account_1.2&co");
    assert_true(c.region == Region::Europe);
    expect_str(joined(c.apiUrls), "https://verify.example.com:8443/base");
    expect_str(c.caFile, "/etc/ssl/certs/ca.pem");
    assert_int_equal(c.connectTimeout, 7);
    assert_int_equal(c.requestTimeout, 20);
    assert_true(c.channel == Channel::Voice);
    assert_int_equal(c.codeLength, 8);
    assert_int_equal(c.codeValidity, 600);
    expect_str(c.brand.value_or("?"), "Acme Corp");
    expect_str(c.messageTemplate.value_or("?"), "{brand}: your code is {code}");
    expect_str(c.templateKey.value_or("?"), "login-otp");
    expect_str(c.language.value_or("?"), "fr-FR");
    expect_str(c.smsSender.value_or("?"), "Acme");
    expect_str(c.voiceCallerId.value_or("?"), "+6512345678");
    expect_str(c.whatsappTemplate.value_or("?"), "auth_code_v2");
    assert_int_equal(c.maxAttempts, 4);
    assert_true(c.unenrolled == UnenrolledPolicy::Ignore);
    expect_str(c.usersFile, "/etc/security/other.users");

    const Parsed keyFile = parse("api_key_file = /etc/security/verif8.key\n");
    expectNoProblems(keyFile.problems);
    expect_str(keyFile.config.apiKeyFile, "/etc/security/verif8.key");
}

static void defaults_follow_the_design(void**) {
    const Config c;
    assert_true(c.region == Region::Asia);
    expect_str(c.baseUrls().front(), "https://verify.8x8.com");
    assert_int_equal(c.connectTimeout, 5);
    assert_int_equal(c.requestTimeout, 10);
    assert_true(c.channel == Channel::Sms);
    assert_int_equal(c.codeLength, 6);
    assert_int_equal(c.codeValidity, 300);
    assert_int_equal(c.maxAttempts, 3);
    assert_true(c.unenrolled == UnenrolledPolicy::Deny);
    expect_str(c.usersFile, "/etc/security/pam_verif8.users");
    assert_false(c.brand || c.messageTemplate || c.templateKey || c.language || c.smsSender ||
                 c.voiceCallerId || c.whatsappTemplate);
    assert_false(c.debug);
}

static void every_key_refuses_bad_values_naming_the_key(void**) {
    for (const auto& key : ConfigParser::knownKeys()) {
        const auto bad = badValues().find(key);
        if (bad == badValues().end()) {
            print_error("no bad values in this test for key '%s'\n", key.c_str());
            fail();
        }
        for (const auto& value : bad->second) {
            const std::string error = setOne(key, value);
            if (error.empty()) {
                print_error("%s = '%s' was accepted\n", key.c_str(), value.c_str());
                fail();
            }
            expect_starts_with(error, key + ": ");
        }
    }
}

static void a_refused_value_leaves_the_setting_unchanged(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("code_length", "8").empty());
    assert_false(parser.set("code_length", "11").empty());
    assert_int_equal(config.codeLength, 8);
    assert_false(parser.set("api_url", "http://plain.example.com").empty());
    expect_str(joined(config.apiUrls), "");
    assert_false(parser.set("language", "en-us").empty());
    assert_false(config.language.has_value());
}

static void numbers_accept_both_edges_of_their_range(void**) {
    const std::vector<std::pair<std::string, std::pair<const char*, const char*>>> ranges{
        {"connect_timeout", {"1", "60"}}, {"request_timeout", {"1", "300"}},
        {"code_length", {"4", "10"}},     {"code_validity", {"30", "7200"}},
        {"max_attempts", {"1", "5"}},
    };
    for (const auto& range : ranges) {
        expect_str(setOne(range.first, range.second.first), "");
        expect_str(setOne(range.first, range.second.second), "");
    }
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("code_validity", "7200").empty());
    assert_int_equal(config.codeValidity, 7200);
    assert_true(parser.set("connect_timeout", "060").empty());
    assert_int_equal(config.connectTimeout, 60);
}

static void an_out_of_range_number_says_the_range(void**) {
    expect_str(setOne("code_length", "11"), "code_length: must be from 4 to 10");
    expect_str(setOne("code_validity", "29"), "code_validity: must be from 30 to 7200");
    expect_contains(setOne("max_attempts", "x"), "not a whole number");
}

static void an_error_never_echoes_the_api_key(void**) {
    const std::string error = setOne("api_key", "secret key-with-space");
    assert_false(error.empty());
    expect_not_contains(error, "secret");
}

static void an_error_quotes_a_value_without_its_control_characters(void**) {
    const std::string error = setOne("code_length", "6\x1b[2J\x07");
    assert_false(error.empty());
    assert_false(test::hasControlBytes(error));
    const Parsed parsed = parse("max_attempts = 3\x1b]0;owned\x07\n");
    assert_int_equal(parsed.problems.size(), 1);
    assert_false(test::hasControlBytes(parsed.problems[0].describe()));
}

static void an_unknown_key_is_refused_by_name(void**) {
    expect_contains(setOne("colour", "red"), "unknown key 'colour'");
    const Parsed parsed = parse("code_length = 6\ncolour = red\n");
    expectOneProblem(parsed.problems, 2, "unknown key 'colour'");
    expect_str(parsed.problems[0].source, "/etc/security/pam_verif8.conf");
    // Keys are case-sensitive, like every word in the file.
    // Not quoted: a word that is not shaped like a key may come from a file that is no config.
    expectOneProblem(parse("Code_Length = 6\n").problems, 1,
                     "unknown key (not shown: keys are lowercase letters, digits and _)");
}

// `verif8ctl --conf /root/.ssh/id_rsa check-config` refuses the file without printing it.
static void a_file_that_is_no_config_is_refused_without_its_content(void**) {
    const std::string secret =
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "QyNTUxOQAAACBvZmZzZXQ=\n"
        "s3cr3t=abc\n"
        "s3cr3t=abc\n"
        "Tail0Token==\n"
        "root:$6$salt$hash=:19000:0:99999:7:::\n"
        "-----END OPENSSH PRIVATE KEY-----\n";
    const Parsed parsed = parse(secret);
    assert_true(parsed.problems.size() >= 5);
    for (const auto& problem : parsed.problems) {
        const std::string text = problem.describe();
        for (const char* fragment : {"BEGIN", "b3Blbn", "QyNTUx", "Tail0Token", "$6$", "salt"})
            expect_not_contains(text, fragment);
    }
    // A key-shaped word is still named, so that a typo in a real config is easy to find.
    expect_contains(parsed.problems[3].describe(), "unknown key 's3cr3t'");
}

static void an_unknown_key_with_control_characters_is_not_echoed(void**) {
    const std::string error = setOne("bad\x1bkey", "1");
    assert_false(test::hasControlBytes(error));
    expect_contains(error, "unknown key (not shown");
    expect_not_contains(error, "bad");
}

static void a_duplicate_key_names_both_lines(void**) {
    const Parsed parsed = parse("code_length = 6\n# comment\n\ncode_length = 8\n");
    expectOneProblem(parsed.problems, 4, "duplicate key 'code_length'");
    expect_contains(parsed.problems[0].message, "first on line 1");
    expect_str(parsed.problems[0].describe(),
               "/etc/security/pam_verif8.conf:4: duplicate key 'code_length' (first on line 1)");
}

static void a_duplicate_key_does_not_change_the_value(void**) {
    const Parsed parsed = parse("code_length = 6\ncode_length = 8\n");
    assert_int_equal(parsed.problems.size(), 1);
    assert_int_equal(parsed.config.codeLength, 6);
}

static void a_line_without_equals_is_refused(void**) {
    expectOneProblem(parse("code_length 6\n").problems, 1, "expected 'key = value'");
    expectOneProblem(parse("# fine\ncode_length: 6\n").problems, 2, "expected 'key = value'");
}

static void a_line_without_a_key_is_refused(void**) {
    expectOneProblem(parse("= 6\n").problems, 1, "missing key");
}

static void an_empty_value_is_refused_naming_the_key(void**) {
    expectOneProblem(parse("brand =\n").problems, 1, "brand: ");
}

static void comments_and_blank_lines_are_ignored(void**) {
    const Parsed parsed = parse(
        "# pam_verif8.conf\n\n   \n\t\n  # indented comment = yes\n"
        "#code_length = 99\ncode_length = 7\n");
    expectNoProblems(parsed.problems);
    assert_int_equal(parsed.config.codeLength, 7);
}

static void keys_and_values_are_trimmed(void**) {
    const Parsed parsed = parse("   code_length\t=\t 9  \nbrand =  Acme Corp  \n");
    expectNoProblems(parsed.problems);
    assert_int_equal(parsed.config.codeLength, 9);
    expect_str(parsed.config.brand.value_or("?"), "Acme Corp");
}

static void a_value_may_contain_equals_signs(void**) {
    const Parsed parsed = parse("api_key = abc==\n");
    expectNoProblems(parsed.problems);
    expect_str(parsed.config.apiKey.view(), "abc==");
}

static void crlf_line_ends_are_accepted(void**) {
    const Parsed parsed =
        parse("# windows editor\r\ncode_length = 8\r\nbrand = Acme\r\nlanguage = en-GB\r\n");
    expectNoProblems(parsed.problems);
    assert_int_equal(parsed.config.codeLength, 8);
    expect_str(parsed.config.brand.value_or("?"), "Acme");
    expect_str(parsed.config.language.value_or("?"), "en-GB");
    expectOneProblem(parse("code_length = 8\r\n\r\nbogus = 1\r\n").problems, 3, "unknown key");
}

static void a_last_line_without_newline_is_read(void**) {
    const Parsed parsed = parse("code_length = 8\nmax_attempts = 2");
    expectNoProblems(parsed.problems);
    assert_int_equal(parsed.config.maxAttempts, 2);
}

static void a_nul_byte_refuses_the_whole_file(void**) {
    const std::string text("code_length = 8\nbrand = Ac\0me\n", 30);
    const Parsed parsed = parse(text);
    expectOneProblem(parsed.problems, 0, "NUL");
    assert_int_equal(parsed.config.codeLength, 6);
}

static void text_over_64_kib_is_refused(void**) {
    std::string text = "code_length = 8\n";
    text += "#" + std::string(kMaxConfigSize - text.size() - 2, 'x') + "\n";
    assert_int_equal(text.size(), kMaxConfigSize);
    const Parsed fits = parse(text);
    expectNoProblems(fits.problems);
    assert_int_equal(fits.config.codeLength, 8);

    text += "\n";
    const Parsed tooBig = parse(text);
    expectOneProblem(tooBig.problems, 0, "larger than 65536 bytes");
    assert_int_equal(tooBig.config.codeLength, 6);
}

static void every_bad_line_is_reported(void**) {
    const Parsed parsed = parse("code_length = 3\nfoo = 1\nmax_attempts = 9\nchannel = sms\n");
    assert_int_equal(parsed.problems.size(), 3);
    assert_int_equal(parsed.problems[0].line, 1);
    assert_int_equal(parsed.problems[1].line, 2);
    assert_int_equal(parsed.problems[2].line, 3);
    expect_starts_with(parsed.problems[0].message, "code_length: ");
    expect_starts_with(parsed.problems[2].message, "max_attempts: ");
}

static void template_must_contain_the_code_placeholder(void**) {
    expect_contains(setOne("template", "Your login code"), "{code}");
    expect_str(setOne("template", "{code}"), "");
    expect_str(setOne("template", "Code {code} for {brand}"), "");
}

static void api_url_must_be_https(void**) {
    const std::string error = setOne("api_url", "http://verify.example.com");
    expect_starts_with(error, "api_url: ");
    expect_contains(error, "https://");
}

static void api_url_loses_its_trailing_slashes(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("api_url", "https://verify.example.com/").empty());
    expect_str(joined(config.apiUrls), "https://verify.example.com");
    expect_str(config.baseUrls().front(), "https://verify.example.com");
    assert_true(parser.set("api_url", "https://127.0.0.1:8443/base//").empty());
    expect_str(joined(config.apiUrls), "https://127.0.0.1:8443/base");
}

static void api_url_refuses_query_fragment_and_userinfo(void**) {
    expect_starts_with(setOne("api_url", "https://verify.example.com/api?key=1"), "api_url: ");
    expect_starts_with(setOne("api_url", "https://verify.example.com/#top"), "api_url: ");
    expect_starts_with(setOne("api_url", "https://admin@verify.example.com"), "api_url: ");
}

static void api_url_takes_up_to_four_urls_in_order(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("api_url", "https://a.example.com/ https://b.example.com:8443").empty());
    assert_int_equal(config.baseUrls().size(), 2);
    expect_str(config.baseUrls()[0], "https://a.example.com");
    expect_str(config.baseUrls()[1], "https://b.example.com:8443");
    expect_starts_with(setOne("api_url", "https://a https://b https://c https://d https://e"),
                       "api_url: takes at most 4 URLs");
    // One bad URL refuses the whole list, naming it.
    expect_contains(setOne("api_url", "https://a.example.com http://b.example.com"),
                    "'http://b.example.com'");
}

static void api_url_overrides_the_region(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("region", "us").empty());
    expect_str(config.baseUrls().front(), "https://verify.us.8x8.com");
    assert_true(parser.set("api_url", "https://127.0.0.1:9443").empty());
    expect_str(config.baseUrls().front(), "https://127.0.0.1:9443");
}

static void each_region_has_its_host(void**) {
    expect_str(regionBaseUrl(Region::Asia), "https://verify.8x8.com");
    expect_str(regionBaseUrl(Region::Us), "https://verify.us.8x8.com");
    expect_str(regionBaseUrl(Region::Europe), "https://verify.8x8.uk");
    expect_str(regionBaseUrl(Region::Indonesia), "https://verify.8x8.id");
    const std::vector<std::pair<const char*, Region>> names{{"asia", Region::Asia},
                                                            {"us", Region::Us},
                                                            {"europe", Region::Europe},
                                                            {"indonesia", Region::Indonesia}};
    for (const auto& name : names) {
        Config config;
        assert_true(ConfigParser(config).set("region", name.first).empty());
        assert_true(config.region == name.second);
    }
}

static void sms_sender_is_11_alphanumerics_or_16_digits(void**) {
    expect_str(setOne("sms_sender", "ABCDEFGHIJK"), "");
    expect_str(setOne("sms_sender", "My Bank 24"), "");
    expect_str(setOne("sms_sender", "1234567890123456"), "");
    expect_str(setOne("sms_sender", "+6512345678"), "");
    expect_starts_with(setOne("sms_sender", "ABCDEFGHIJKL"), "sms_sender: ");
    expect_starts_with(setOne("sms_sender", "12345678901234567"), "sms_sender: ");
    expect_starts_with(setOne("sms_sender", "Acme-Bank"), "sms_sender: ");
}

static void language_is_case_sensitive(void**) {
    expect_str(setOne("language", "en-US"), "");
    expect_str(setOne("language", "zh-CN"), "");
    expect_str(setOne("language", "id-ID"), "");
    expect_starts_with(setOne("language", "en-us"), "language: ");
    expect_starts_with(setOne("language", "EN-US"), "language: ");
    expect_starts_with(setOne("language", "zh-cn"), "language: ");
}

static void check_complete_requires_an_api_key(void**) {
    Parsed parsed = parse("subaccount_id = demo-account\n");
    expectNoProblems(parsed.problems);
    ConfigParser(parsed.config).checkComplete("/etc/x.conf", parsed.problems);
    expectOneProblem(parsed.problems, 0, "api_key or api_key_file is required");
    expect_str(parsed.problems[0].describe(), "/etc/x.conf: api_key or api_key_file is required");
}

static void check_complete_accepts_an_api_key_file_instead(void**) {
    Parsed parsed =
        parse("subaccount_id = demo-account\napi_key_file = /etc/security/verif8.key\n");
    ConfigParser(parsed.config).checkComplete("/etc/x.conf", parsed.problems);
    expectNoProblems(parsed.problems);
}

static void check_complete_refuses_key_and_key_file_together(void**) {
    Parsed parsed = parse(
        "subaccount_id = demo-account\napi_key = abc\n"
        "api_key_file = /etc/security/verif8.key\n");
    ConfigParser(parsed.config).checkComplete("/etc/x.conf", parsed.problems);
    expectOneProblem(parsed.problems, 0, "both set");
}

static void check_complete_requires_a_subaccount(void**) {
    Parsed parsed = parse("api_key = abc\n");
    ConfigParser(parsed.config).checkComplete("/etc/x.conf", parsed.problems);
    expectOneProblem(parsed.problems, 0, "subaccount_id is required");
}

static void check_complete_reports_every_missing_key(void**) {
    Parsed parsed = parse("");
    ConfigParser(parsed.config).checkComplete("/etc/x.conf", parsed.problems);
    assert_int_equal(parsed.problems.size(), 2);
}

static void check_complete_accepts_a_complete_config(void**) {
    Parsed parsed = parse("api_key = abc\nsubaccount_id = demo-account\n");
    ConfigParser(parsed.config).checkComplete("/etc/x.conf", parsed.problems);
    expectNoProblems(parsed.problems);
}

static void describe_is_file_colon_line_colon_message(void**) {
    expect_str((ConfigProblem{"/etc/security/pam_verif8.conf", 12, "unknown key 'x'"}.describe()),
               "/etc/security/pam_verif8.conf:12: unknown key 'x'");
    expect_str((ConfigProblem{"/etc/security/pam_verif8.conf", 0, "is a symbolic link"}.describe()),
               "/etc/security/pam_verif8.conf: is a symbolic link");
    expect_str((ConfigProblem{"module arguments", 0, "unknown argument 'x'"}.describe()),
               "module arguments: unknown argument 'x'");
    const Parsed parsed = parse("\n\ncode_length = 2\n", "/tmp/test.conf");
    expect_str(parsed.problems.at(0).describe(),
               "/tmp/test.conf:3: code_length: must be from 4 to 10");
}

static void api_url_checks_the_port(void**) {
    expect_starts_with(setOne("api_url", "https://verify.example.com:abc"), "api_url: ");
    expect_starts_with(setOne("api_url", "https://verify.example.com:0"), "api_url: ");
    expect_starts_with(setOne("api_url", "https://verify.example.com:65536"), "api_url: ");
    expect_starts_with(setOne("api_url", "https://verify.example.com:"), "api_url: ");
    assert_true(setOne("api_url", "https://verify.example.com:65535").empty());
    assert_true(setOne("api_url", "https://[::1]:8443/base").empty());
    expect_starts_with(setOne("api_url", "https://[::1"), "api_url: ");
}

static void api_url_refuses_a_comma_separated_pair(void**) {
    expect_starts_with(setOne("api_url", "https://a.example.com,https://b.example.com"),
                       "api_url: ");
}

static void free_text_must_be_utf8(void**) {
    expect_str(setOne("brand", "Acme\xff"), "brand: must be UTF-8 text");
    expect_str(setOne("template", "Code {code} \xc0\xaf"), "template: must be UTF-8 text");
    assert_true(setOne("brand", "Caf\u00e9").empty());
}

static void check_complete_refuses_ca_file_and_ca_path_together(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("api_key", "k").empty());
    assert_true(parser.set("subaccount_id", "demo-account").empty());
    assert_true(parser.set("ca_file", "/etc/ssl/certs/ca.pem").empty());
    assert_true(parser.set("ca_path", "/etc/ssl/certs").empty());
    std::vector<ConfigProblem> problems;
    parser.checkComplete("test.conf", problems);
    assert_int_equal(problems.size(), 1);
    expect_str(problems[0].message, "ca_file and ca_path are both set: keep one");
}

// ---- the keys of the time budget, failure policy, proxy and send limits

static void the_new_keys_land_in_the_config(void**) {
    const Parsed parsed = parse(
        "login_timeout = 120\n"
        "fail_mode = open\n"
        "fail_delay = 0\n"
        "https_proxy = http://proxy.example.com:3128\n"
        "user_send_limit = 3/600\n"
        "source_send_limit = 50/3600\n"
        "api_url = https://a.example.com https://b.example.com:8443/v\n");
    expectNoProblems(parsed.problems);
    const Config& c = parsed.config;
    assert_int_equal(c.loginTimeout, 120);
    assert_true(c.failMode == FailMode::Open);
    assert_int_equal(c.failDelayMs, 0);
    expect_str(c.httpsProxy, "http://proxy.example.com:3128");
    assert_int_equal(c.userSendLimit.count, 3);
    assert_int_equal(c.userSendLimit.seconds, 600);
    assert_int_equal(c.sourceSendLimit.count, 50);
    assert_int_equal(c.sourceSendLimit.seconds, 3600);
    expect_str(joined(c.baseUrls()), "https://a.example.com https://b.example.com:8443/v");
}

static void the_new_defaults_follow_the_design(void**) {
    const Config c;
    assert_int_equal(c.loginTimeout, 90);
    assert_true(c.failMode == FailMode::Closed);
    assert_int_equal(c.failDelayMs, 2000);
    expect_str(c.httpsProxy, "");
    assert_int_equal(c.userSendLimit.count, 5);
    assert_int_equal(c.userSendLimit.seconds, 900);
    assert_int_equal(c.sourceSendLimit.count, 20);
    assert_int_equal(c.sourceSendLimit.seconds, 900);
    expect_str(c.stateDir, "/var/lib/pam_verif8");
    assert_int_equal(c.apiUrls.size(), 0);
    assert_int_equal(c.baseUrls().size(), 1);
}

static void login_timeout_and_fail_delay_accept_both_edges(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("login_timeout", "10").empty());
    assert_int_equal(config.loginTimeout, 10);
    assert_true(parser.set("login_timeout", "3600").empty());
    assert_int_equal(config.loginTimeout, 3600);
    expect_str(setOne("login_timeout", "9"), "login_timeout: must be from 10 to 3600");
    assert_true(parser.set("fail_delay", "10000").empty());
    assert_int_equal(config.failDelayMs, 10000);
    expect_str(setOne("fail_delay", "10001"), "fail_delay: must be from 0 to 10000");
    assert_true(parser.set("fail_mode", "open").empty());
    assert_true(parser.set("fail_mode", "closed").empty());
    assert_true(config.failMode == FailMode::Closed);
    expect_str(setOne("fail_mode", "Open"), "fail_mode: must be closed or open");
}

static void https_proxy_takes_http_or_https_host_and_port(void**) {
    const std::vector<std::pair<std::string, std::string>> good{
        {"http://proxy.example.com:3128", "http://proxy.example.com:3128"},
        {"https://proxy.example.com:443", "https://proxy.example.com:443"},
        {"http://10.0.0.1:8080", "http://10.0.0.1:8080"},
        {"http://[2001:db8::1]:3128", "http://[2001:db8::1]:3128"},
        {"http://proxy.example.com:3128/", "http://proxy.example.com:3128"},
        {"http://proxy.example.com:65535", "http://proxy.example.com:65535"},
    };
    for (const auto& [value, stored] : good) {
        Config config;
        const std::string error = ConfigParser(config).set("https_proxy", value);
        if (!error.empty()) {
            print_error("%s refused: %s\n", value.c_str(), error.c_str());
            fail();
        }
        expect_str(config.httpsProxy, stored);
    }
    const std::vector<std::string> bad{
        "ftp://proxy.example.com:21",
        "socks5h://proxy.example.com:1080",
        "//proxy.example.com:3128",
        "http://proxy.example.com:65536",
        "http://proxy.example.com:3128?x",
        "http://proxy.example.com:3128#top",
        "http://proxy:3128 http://b:3128",
        "http://pro\x01xy:3128",
        "http://:3128",
        "http://proxy_host:3128",
        "http://[2001:db8::1:3128",
        "http://proxy.example.com:-1",
    };
    for (const auto& value : bad) {
        Config config;
        config.httpsProxy = "http://kept.example.com:1";
        const std::string error = ConfigParser(config).set("https_proxy", value);
        if (error.empty()) {
            print_error("https_proxy = '%s' was accepted\n", value.c_str());
            fail();
        }
        expect_starts_with(error, "https_proxy: ");
        assert_false(test::hasControlBytes(error));
        expect_str(config.httpsProxy, "http://kept.example.com:1");
    }
}

static void https_proxy_accepts_user_and_password(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(
        parser.set("https_proxy", "http://svc-2fa:Pr0xy%40Pw@proxy.example.com:3128").empty());
    expect_str(config.httpsProxy, "http://svc-2fa:Pr0xy%40Pw@proxy.example.com:3128");
    // The last '@' ends the user part: a raw '@' in the password does not move the host.
    assert_true(parser.set("https_proxy", "https://user:p@ss@[::1]:8443").empty());
    expect_str(config.httpsProxy, "https://user:p@ss@[::1]:8443");
}

static void a_proxy_password_is_never_echoed_in_an_error(void**) {
    const std::vector<std::string> bad{
        "http://svc:S3cretPw@proxy.example.com:0",
        "http://svc:S3cretPw@proxy.example.com:3128/path",
        "http://svc:S3cretPw@",
        "socks5://svc:S3cretPw@proxy.example.com:1080",
        "http://svc:S3cretPw@proxy.example.com",
        "http://svc:S3cretPw@proxy example.com:3128",
        "svc:S3cretPw@proxy.example.com:3128",
    };
    for (const auto& value : bad) {
        const std::string error = setOne("https_proxy", value);
        if (error.empty())
            continue;  // a port-less proxy may be accepted; only errors matter here
        expect_not_contains(error, "S3cretPw");
        expect_not_contains(error, "svc:");
        const Parsed parsed = parse("https_proxy = " + value + "\n");
        assert_int_equal(parsed.problems.size(), 1);
        expect_not_contains(describeAll(parsed.problems), "S3cretPw");
    }
    // Nor when the key is given twice.
    const Parsed twice = parse(
        "https_proxy = http://svc:S3cretPw@proxy.example.com:3128\n"
        "https_proxy = http://svc:0therPw@proxy.example.com:3128\n");
    assert_int_equal(twice.problems.size(), 1);
    expect_not_contains(describeAll(twice.problems), "S3cretPw");
    expect_not_contains(describeAll(twice.problems), "0therPw");
}

static void send_limits_are_count_slash_seconds(void**) {
    const std::vector<std::tuple<std::string, int, int>> good{
        {"5/900", 5, 900},     {"1/1", 1, 1},     {"1000/86400", 1000, 86400},
        {"020/0900", 20, 900}, {"3/600", 3, 600},
    };
    for (const std::string key : {"user_send_limit", "source_send_limit"}) {
        for (const auto& [value, count, seconds] : good) {
            Config config;
            const std::string error = ConfigParser(config).set(key, value);
            if (!error.empty()) {
                print_error("%s = %s refused: %s\n", key.c_str(), value.c_str(), error.c_str());
                fail();
            }
            const SendLimit& limit =
                key == "user_send_limit" ? config.userSendLimit : config.sourceSendLimit;
            assert_int_equal(limit.count, count);
            assert_int_equal(limit.seconds, seconds);
        }
    }
}

static void a_bad_send_limit_says_the_form_or_the_range(void**) {
    for (const std::string key : {"user_send_limit", "source_send_limit"}) {
        for (const std::string value : {"5", "5:900", "5/900s", "+5/900", "5/-900", "5 / 900",
                                        "five/900", "/", "5//900", "1234567890/900", "5/900/1"}) {
            expect_str(setOne(key, value), key + ": must be COUNT/SECONDS, such as 5/900");
        }
        for (const std::string value : {"0/900", "1001/900", "5/0", "5/86401"}) {
            expect_str(setOne(key, value),
                       key + ": COUNT must be from 1 to 1000 and SECONDS from 1 to 86400");
        }
    }
    // A refused limit leaves the one before it.
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("user_send_limit", "3/60").empty());
    assert_false(parser.set("user_send_limit", "0/60").empty());
    assert_int_equal(config.userSendLimit.count, 3);
    assert_int_equal(config.userSendLimit.seconds, 60);
    assert_int_equal(config.sourceSendLimit.count, 20);
}

static void the_two_send_limits_are_independent(void**) {
    const Parsed parsed = parse("user_send_limit = 2/60\nsource_send_limit = 7/120\n");
    expectNoProblems(parsed.problems);
    assert_int_equal(parsed.config.userSendLimit.count, 2);
    assert_int_equal(parsed.config.userSendLimit.seconds, 60);
    assert_int_equal(parsed.config.sourceSendLimit.count, 7);
    assert_int_equal(parsed.config.sourceSendLimit.seconds, 120);
}

static void api_url_lists_are_split_on_spaces_and_tabs(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser
                    .set("api_url",
                         "https://a.example.com/\thttps://b.example.com:8443//  "
                         "https://[::1]:9443/base https://d.example.com")
                    .empty());
    assert_int_equal(config.apiUrls.size(), 4);
    expect_str(config.apiUrls[0], "https://a.example.com");
    expect_str(config.apiUrls[1], "https://b.example.com:8443");
    expect_str(config.apiUrls[2], "https://[::1]:9443/base");
    expect_str(config.apiUrls[3], "https://d.example.com");
    expect_str(joined(config.baseUrls()), joined(config.apiUrls));
    // Through the file, where the value is trimmed first.
    const Parsed parsed = parse("api_url =   https://a.example.com   https://b.example.com  \n");
    expectNoProblems(parsed.problems);
    expect_str(joined(parsed.config.apiUrls), "https://a.example.com https://b.example.com");
}

static void a_refused_api_url_list_keeps_the_list_before_it(void**) {
    Config config;
    ConfigParser parser(config);
    assert_true(parser.set("api_url", "https://a.example.com https://b.example.com").empty());
    for (const std::string value : {"https://c.example.com http://d.example.com",
                                    "https://a https://b https://c https://d https://e", "   ",
                                    "https://c.example.com https://d.example.com/?q"}) {
        assert_false(parser.set("api_url", value).empty());
        expect_str(joined(config.apiUrls), "https://a.example.com https://b.example.com");
    }
    expect_str(setOne("api_url", " \t "), "api_url: must list at least one URL");
}

static void a_bad_url_in_a_list_is_named_without_control_characters(void**) {
    const std::string error =
        setOne("api_url", "https://a.example.com https://b.exa\x1b[2Jmple.com");
    expect_starts_with(error, "api_url: '");
    assert_false(test::hasControlBytes(error));
    expect_contains(error, "https://b.exa?[2Jmple.com");
    expect_not_contains(error, "'https://a.example.com'");
}

static void a_proxy_needs_its_port(void**) {
    expect_starts_with(setOne("https_proxy", "http://proxy.example.com"), "https_proxy: ");
    expect_starts_with(setOne("https_proxy", "http://[2001:db8::1]"), "https_proxy: ");
    assert_true(setOne("https_proxy", "http://[2001:db8::1]:3128").empty());
}

static void an_api_url_with_user_information_is_never_quoted(void**) {
    const std::string error = setOne("api_url", "https://user:S3cret@verify.example.com");
    expect_starts_with(error, "api_url: a URL ");
    expect_not_contains(error, "S3cret");
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_proxy_needs_its_port),
        cmocka_unit_test(an_api_url_with_user_information_is_never_quoted),
        cmocka_unit_test(check_complete_refuses_ca_file_and_ca_path_together),
        cmocka_unit_test(api_url_checks_the_port),
        cmocka_unit_test(api_url_refuses_a_comma_separated_pair),
        cmocka_unit_test(free_text_must_be_utf8),
        cmocka_unit_test(every_known_key_accepts_a_good_value),
        cmocka_unit_test(every_tested_key_is_a_known_key),
        cmocka_unit_test(good_values_land_in_the_config),
        cmocka_unit_test(defaults_follow_the_design),
        cmocka_unit_test(every_key_refuses_bad_values_naming_the_key),
        cmocka_unit_test(a_refused_value_leaves_the_setting_unchanged),
        cmocka_unit_test(numbers_accept_both_edges_of_their_range),
        cmocka_unit_test(an_out_of_range_number_says_the_range),
        cmocka_unit_test(an_error_never_echoes_the_api_key),
        cmocka_unit_test(an_error_quotes_a_value_without_its_control_characters),
        cmocka_unit_test(an_unknown_key_is_refused_by_name),
        cmocka_unit_test(a_file_that_is_no_config_is_refused_without_its_content),
        cmocka_unit_test(an_unknown_key_with_control_characters_is_not_echoed),
        cmocka_unit_test(a_duplicate_key_names_both_lines),
        cmocka_unit_test(a_duplicate_key_does_not_change_the_value),
        cmocka_unit_test(a_line_without_equals_is_refused),
        cmocka_unit_test(a_line_without_a_key_is_refused),
        cmocka_unit_test(an_empty_value_is_refused_naming_the_key),
        cmocka_unit_test(comments_and_blank_lines_are_ignored),
        cmocka_unit_test(keys_and_values_are_trimmed),
        cmocka_unit_test(a_value_may_contain_equals_signs),
        cmocka_unit_test(crlf_line_ends_are_accepted),
        cmocka_unit_test(a_last_line_without_newline_is_read),
        cmocka_unit_test(a_nul_byte_refuses_the_whole_file),
        cmocka_unit_test(text_over_64_kib_is_refused),
        cmocka_unit_test(every_bad_line_is_reported),
        cmocka_unit_test(template_must_contain_the_code_placeholder),
        cmocka_unit_test(api_url_must_be_https),
        cmocka_unit_test(api_url_loses_its_trailing_slashes),
        cmocka_unit_test(api_url_refuses_query_fragment_and_userinfo),
        cmocka_unit_test(api_url_takes_up_to_four_urls_in_order),
        cmocka_unit_test(api_url_overrides_the_region),
        cmocka_unit_test(each_region_has_its_host),
        cmocka_unit_test(sms_sender_is_11_alphanumerics_or_16_digits),
        cmocka_unit_test(language_is_case_sensitive),
        cmocka_unit_test(check_complete_requires_an_api_key),
        cmocka_unit_test(check_complete_accepts_an_api_key_file_instead),
        cmocka_unit_test(check_complete_refuses_key_and_key_file_together),
        cmocka_unit_test(check_complete_requires_a_subaccount),
        cmocka_unit_test(check_complete_reports_every_missing_key),
        cmocka_unit_test(check_complete_accepts_a_complete_config),
        cmocka_unit_test(describe_is_file_colon_line_colon_message),
        cmocka_unit_test(the_new_keys_land_in_the_config),
        cmocka_unit_test(the_new_defaults_follow_the_design),
        cmocka_unit_test(login_timeout_and_fail_delay_accept_both_edges),
        cmocka_unit_test(https_proxy_takes_http_or_https_host_and_port),
        cmocka_unit_test(https_proxy_accepts_user_and_password),
        cmocka_unit_test(a_proxy_password_is_never_echoed_in_an_error),
        cmocka_unit_test(send_limits_are_count_slash_seconds),
        cmocka_unit_test(a_bad_send_limit_says_the_form_or_the_range),
        cmocka_unit_test(the_two_send_limits_are_independent),
        cmocka_unit_test(api_url_lists_are_split_on_spaces_and_tabs),
        cmocka_unit_test(a_refused_api_url_list_keeps_the_list_before_it),
        cmocka_unit_test(a_bad_url_in_a_list_is_named_without_control_characters),
    };
    return cmocka_run_group_tests_name("config_parser", tests, nullptr, nullptr);
}
