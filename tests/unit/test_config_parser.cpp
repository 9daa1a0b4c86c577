// ConfigParser and its key table: every key with good and bad values, the line format, and
// checkComplete. Most tests run a table: one row per key and value, or per file text.
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"
#include "verif8/ConfigKeys.hpp"
#include "verif8/ConfigParser.hpp"

using namespace verif8;

namespace {

const char* const kSource = "/etc/security/pam_verif8.conf";

struct Parsed {
    Config config;
    std::vector<ConfigProblem> problems;
};

Parsed parse(std::string_view text) {
    Parsed parsed;
    parsed.problems = ConfigParser(parsed.config).parseText(text, kSource);
    return parsed;
}

// "" when the parser accepted it, else its problem.
std::string problemOf(const Result<>& result) {
    return result ? std::string() : result.problem().text;
}

std::string setOne(std::string_view key, std::string_view value) {
    Config config;
    return problemOf(ConfigParser(config).set(key, value));
}

std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words)
        text += (text.empty() ? "" : " ") + word;
    return text;
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
    expect_contains(problems[0].describe(), needle);
}

std::string text(const std::optional<std::string>& value) {
    return value.value_or("(unset)");
}

std::string limit(const SendLimit& limit) {
    return std::to_string(limit.count) + "/" + std::to_string(limit.seconds);
}

// Each key's setting as text, to compare with what a row expects.
using Read = std::string (*)(const Config&);
const std::map<std::string, Read>& settings() {
    // clang-format off
    static const std::map<std::string, Read> read{
        {"api_key", [](const Config& c) { return std::string(c.apiKey.view()); }},
        {"api_key_file", [](const Config& c) { return c.apiKeyFile; }},
        {"subaccount_id", [](const Config& c) { return c.subaccountId; }},
        {"region", [](const Config& c) { return regionBaseUrl(c.region); }},
        {"api_url", [](const Config& c) { return joined(c.baseUrls()); }},
        {"https_proxy", [](const Config& c) { return c.httpsProxy; }},
        {"ca_file", [](const Config& c) { return c.caFile; }},
        {"ca_path", [](const Config& c) { return c.caPath; }},
        {"connect_timeout", [](const Config& c) { return std::to_string(c.connectTimeout); }},
        {"request_timeout", [](const Config& c) { return std::to_string(c.requestTimeout); }},
        {"channel", [](const Config& c) { return std::string(channelName(c.channel)); }},
        {"code_length", [](const Config& c) { return std::to_string(c.codeLength); }},
        {"code_validity", [](const Config& c) { return std::to_string(c.codeValidity); }},
        {"brand", [](const Config& c) { return text(c.brand); }},
        {"template", [](const Config& c) { return text(c.messageTemplate); }},
        {"template_key", [](const Config& c) { return text(c.templateKey); }},
        {"language", [](const Config& c) { return text(c.language); }},
        {"sms_sender", [](const Config& c) { return text(c.smsSender); }},
        {"voice_caller_id", [](const Config& c) { return text(c.voiceCallerId); }},
        {"whatsapp_template", [](const Config& c) { return text(c.whatsappTemplate); }},
        {"max_attempts", [](const Config& c) { return std::to_string(c.maxAttempts); }},
        {"unenrolled", [](const Config& c) {
             return std::string(c.unenrolled == UnenrolledPolicy::Ignore ? "ignore" : "deny"); }},
        {"users_file", [](const Config& c) { return c.usersFile; }},
        {"resend_interval", [](const Config& c) { return std::to_string(c.resendInterval); }},
        {"phone_command", [](const Config& c) { return joined(c.phoneCommand); }},
        {"exempt_users", [](const Config& c) { return joined(c.exemptUsers); }},
        {"exempt_groups", [](const Config& c) { return joined(c.exemptGroups); }},
        {"only_groups", [](const Config& c) { return joined(c.onlyGroups); }},
        {"trusted_networks", [](const Config& c) {
             return std::to_string(c.trustedNetworks.size()) + " networks"; }},
        {"state_dir", [](const Config& c) { return c.stateDir; }},
        {"login_timeout", [](const Config& c) { return std::to_string(c.loginTimeout); }},
        {"fail_mode", [](const Config& c) {
             return std::string(c.failMode == FailMode::Open ? "open" : "closed"); }},
        {"fail_delay", [](const Config& c) { return std::to_string(c.failDelayMs); }},
        {"user_send_limit", [](const Config& c) { return limit(c.userSendLimit); }},
        {"source_send_limit", [](const Config& c) { return limit(c.sourceSendLimit); }},
    };
    // clang-format on
    return read;
}

std::string setting(const Config& config, const std::string& key) {
    return settings().at(key)(config);
}

using Values = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Values each key accepts and keeps as written; the first of each key goes into one file with the
// others.
const Values& goodValues() {
    // clang-format off
    static const Values rows{
        {"api_key", {"k3y_ABC-123.xyz"}}, {"api_key_file", {"/etc/security/verif8.key"}},
        {"subaccount_id", {"demo-account_1.2&co"}},
        {"api_url", {"https://verify.example.com:8443/base", "https://verify.example.com:65535"}},
        // The last '@' ends the user part: a raw '@' in the password does not move the host.
        {"https_proxy", {"http://proxy.example.com:3128", "https://proxy.example.com:443",
          "http://10.0.0.1:8080", "http://[2001:db8::1]:3128", "http://proxy.example.com:65535",
          "http://svc-2fa:Pr0xy%40Pw@proxy.example.com:3128", "https://user:p@ss@[::1]:8443"}},
        {"ca_file", {"/etc/ssl/certs/ca.pem"}}, {"ca_path", {"/etc/ssl/certs"}},
        {"connect_timeout", {"7", "1"}}, {"request_timeout", {"20", "1", "300"}},
        {"channel", {"voice"}}, {"code_length", {"8", "4", "10"}},
        {"code_validity", {"600", "30", "7200"}}, {"brand", {"Acme Corp", "Caf\u00e9"}},
        {"template", {"{brand}: your code is {code}", "{code}", "Code {code} for {brand}"}},
        {"template_key", {"login-otp"}}, {"language", {"fr-FR", "en-US", "zh-CN", "id-ID"}},
        {"sms_sender", {"Acme", "ABCDEFGHIJK", "My Bank 24", "1234567890123456", "+6512345678"}},
        {"voice_caller_id", {"+6512345678"}}, {"whatsapp_template", {"auth_code_v2"}},
        {"max_attempts", {"4", "1", "5"}}, {"unenrolled", {"ignore"}},
        {"users_file", {"/etc/security/other.users"}}, {"resend_interval", {"45"}},
        {"phone_command", {"/usr/local/sbin/phone-of --user %u"}},
        {"exempt_users", {"root backup"}}, {"exempt_groups", {"break-glass"}},
        {"only_groups", {"2fa staff"}}, {"state_dir", {"/var/lib/pam_verif8-test"}},
        {"login_timeout", {"120", "10", "3600"}}, {"fail_mode", {"open", "closed"}},
        {"fail_delay", {"0", "10000"}},
        {"user_send_limit", {"3/600", "1/1", "1000/86400", "5/900"}},
        {"source_send_limit", {"50/3600", "5/900", "1000/86400", "1/1", "3/600"}},
    };
    // clang-format on
    return rows;
}

// Values a key accepts and keeps in another form, and that form.
const std::vector<std::tuple<std::string, std::string, std::string>>& rewrittenValues() {
    // clang-format off
    static const std::vector<std::tuple<std::string, std::string, std::string>> rows{
        {"region", "europe", "https://verify.8x8.uk"}, {"region", "asia", "https://verify.8x8.com"},
        {"region", "us", "https://verify.us.8x8.com"},
        {"region", "indonesia", "https://verify.8x8.id"},
        {"api_url", "https://verify.example.com/", "https://verify.example.com"},
        {"api_url", "https://127.0.0.1:8443/base//", "https://127.0.0.1:8443/base"},
        {"api_url", "https://a.example.com/\thttps://b.example.com:8443//  https://[::1]:9443/base "
         "https://d.example.com", "https://a.example.com https://b.example.com:8443 "
         "https://[::1]:9443/base https://d.example.com"},
        {"https_proxy", "http://proxy.example.com:3128/", "http://proxy.example.com:3128"},
        {"connect_timeout", "060", "60"},
        {"trusted_networks", "192.0.2.0/24 2001:db8::/32 198.51.100.7", "3 networks"},
        {"user_send_limit", "020/0900", "20/900"}, {"source_send_limit", "020/0900", "20/900"},
    };
    // clang-format on
    return rows;
}

// The first good value of a key, and its setting once applied.
std::pair<std::string, std::string> firstGood(const std::string& key) {
    for (const auto& [name, values] : goodValues()) {
        if (name == key)
            return {values.front(), values.front()};
    }
    for (const auto& [name, value, stored] : rewrittenValues()) {
        if (name == key)
            return {value, stored};
    }
    return {};
}

// Each value must be refused, naming the key, and leave the setting as it was.
const Values& badValues() {
    static const std::string longKey(1025, 'k');
    static const std::string longTemplate = "{code}" + std::string(995, 't');
    // clang-format off
    static const Values rows{
        {"api_key", {"", "two words", "tab\tinside", "ctl\x01", longKey}},
        {"api_key_file", {"", "relative/key", "./key", "/with space", "/ctl\x01"}},
        {"subaccount_id",
         {"", "ab", std::string(51, 's'), "has/slash", "has space", "per%cent", "caf\xc3\xa9x"}},
        {"region", {"", "Asia", "ASIA", "eu", "apac", "asia ", " us"}},
        {"api_url", {"", "   ", " \t ", "http://verify.example.com", "ftp://verify.example.com",
          "verify.example.com", "HTTPS//verify", "https://", "https:///", "https:///path",
          "https://verify\\example.com", "https://[::1", "https://verify.example.com/?x=1",
          "https://verify.example.com/#frag", "https://verify.example.com/api?key=1",
          "https://verify.example.com/\x01", "https://user:pw@verify.example.com",
          "https://user@verify.example.com", "https://verify.example.com:abc",
          "https://verify.example.com:0", "https://verify.example.com:65536",
          "https://verify.example.com:", "https://a.example.com,https://b.example.com/x?y",
          "https://a.example.com,https://b.example.com",
          "https://a https://b https://c https://d https://e",
          "https://a.example.com http://b.example.com",
          "https://c.example.com https://d.example.com/?q",
          "https://a.example.com https://b.exa\x1b[2Jmple.com"}},
        {"ca_file", {"", "ca.pem", "/a b.pem", "/ca\x02.pem"}},
        {"ca_path", {"", "certs", "/a b", "/ctl\x01"}},
        {"connect_timeout",
         {"0", "61", "-1", "+5", " 5", "5 ", "5s", "five", "", "1e1", "0x10", "9999999999", "5.0"}},
        {"request_timeout", {"0", "301", "-10", "+10", "1 0", "ten", "", "1000000000"}},
        {"channel", {"", "SMS", "Voice", "call", "sma", "email", "sms,voice"}},
        {"code_length",
         {"3", "11", "0", "-6", "+6", "six", " 6", "6 ", "", "06x", "4.5", "6\x1b[2J\x07"}},
        {"code_validity", {"29", "7201", "0", "-300", "+300", "300s", "", "5 min"}},
        {"brand", {"", std::string(31, 'b'), "bell\x07", "Acme\xff"}},
        {"template", {"", "no placeholder here", "{CODE}", "{ code }", "code", "{code}\x01",
          longTemplate, "Code {code} \xc0\xaf"}},
        {"template_key", {"", std::string(201, 't'), "tab\there"}},
        {"language", {"", "en-us", "EN-US", "zh-cn", "en", "english", "en_US", "xx-XX", "fr-FR "}},
        {"sms_sender", {"", "ABCDEFGHIJKL", "12345678901234567", "+12345678901234567", "Acme-Co",
          "Acme_Co", "Acme-Bank", "Caf\xc3\xa9", "+", "+Acme"}},
        {"voice_caller_id", {"", "12", "+12", "12345678901234567", "caller", "+65 1234", "+"}},
        {"whatsapp_template", {"", "two words", "ctl\x01", std::string(513, 'w')}},
        {"max_attempts", {"0", "6", "-1", "+3", "three", " 3", "", "3.0"}},
        {"unenrolled", {"", "Deny", "IGNORE", "allow", "open"}},
        {"users_file", {"", "pam_verif8.users", "/a b", "/ctl\x01"}},
        {"resend_interval", {"9", "7201", "0", "-30", "thirty", ""}},
        {"phone_command", {"", "phone-of %u", "./phone-of", "/bin/x\x01"}},
        {"exempt_users", {"", "   ", "root\x01"}}, {"exempt_groups", {"", "ops\x7f"}},
        {"only_groups", {"", "\xff"}},
        {"trusted_networks", {"", "10.0.0.0/33", "2001:db8::/129", "10.0.0/8", "example.com",
          "10.0.0.0/8,10.1.0.0/16", "10.0.0.0/-1"}},
        {"state_dir", {"", "var/lib", "/with space"}},
        {"login_timeout", {"9", "3601", "0", "-90", "90s", ""}},
        {"fail_mode", {"", "Closed", "OPEN", "Open", "fail", "ignore"}},
        {"fail_delay", {"-1", "10001", "2s", ""}},
        {"https_proxy", {"", "proxy.example.com:3128", "socks5://proxy:1080", "http://",
          "http://proxy:0", "http://proxy:3128/path", "http://a b:1", "ftp://proxy.example.com:21",
          "socks5h://proxy.example.com:1080", "//proxy.example.com:3128",
          "http://proxy.example.com:65536", "http://proxy.example.com:3128?x",
          "http://proxy.example.com:3128#top", "http://proxy:3128 http://b:3128",
          "http://pro\x01xy:3128", "http://:3128", "http://proxy_host:3128",
          "http://[2001:db8::1:3128", "http://proxy.example.com:-1", "http://proxy.example.com",
          "http://[2001:db8::1]"}},  // a proxy needs its port
        {"user_send_limit",
         {"", "5", "5/", "/900", "0/900", "5/0", "1001/900", "5/86401", "5 /900"}},
        {"source_send_limit", {"", "x/y", "-1/900", "20/900/1"}},
    };
    // clang-format on
    return rows;
}

enum class Match { Exactly, StartsWith, Contains, Omits };
constexpr auto kIs = Match::Exactly, kStarts = Match::StartsWith, kHas = Match::Contains,
               kOmits = Match::Omits;

struct Says {
    std::string key, value;
    Match match;
    std::string text;
};

// What a refusal says: its range, its form, which word was wrong, and what it must not quote.
const std::vector<Says>& refusals() {
    const std::string badUrl = "https://a.example.com https://b.exa\x1b[2Jmple.com";
    const std::string userUrl = "https://user:S3cret@verify.example.com";
    // clang-format off
    static const std::vector<Says> rows{
        {"code_length", "11", kIs, "code_length: must be from 4 to 10"},
        {"code_validity", "29", kIs, "code_validity: must be from 30 to 7200"},
        {"login_timeout", "9", kIs, "login_timeout: must be from 10 to 3600"},
        {"fail_delay", "10001", kIs, "fail_delay: must be from 0 to 10000"},
        {"fail_mode", "Open", kIs, "fail_mode: must be closed or open"},
        {"brand", "Acme\xff", kIs, "brand: must be UTF-8 text"},
        {"template", "Code {code} \xc0\xaf", kIs, "template: must be UTF-8 text"},
        {"api_url", " \t ", kIs, "api_url: must list at least one URL"},
        {"max_attempts", "x", kHas, "not a whole number"},
        {"template", "Your login code", kHas, "{code}"},
        {"api_url", "http://verify.example.com", kHas, "https://"},
        {"api_url", "https://a https://b https://c https://d https://e", kStarts,
         "api_url: takes at most 4 URLs"},
        // One bad URL refuses the whole list, naming it, and only it.
        {"api_url", "https://a.example.com http://b.example.com", kHas, "'http://b.example.com'"},
        {"api_url", badUrl, kStarts, "api_url: '"},
        {"api_url", badUrl, kHas, "https://b.exa?[2Jmple.com"},
        {"api_url", badUrl, kOmits, "'https://a.example.com'"},
        // A URL with user information may carry a password.
        {"api_url", userUrl, kStarts, "api_url: a URL "}, {"api_url", userUrl, kOmits, "S3cret"},
        {"api_key", "secret key-with-space", kOmits, "secret"},
        // Keys are case-sensitive, like every word in the file.
        {"colour", "red", kHas, "unknown key 'colour'"},
        {"Code_Length", "6", kHas, "unknown key (not shown"},
        {"bad\x1bkey", "1", kHas, "unknown key (not shown"}, {"bad\x1bkey", "1", kOmits, "bad"},
    };
    // clang-format on
    return rows;
}

}  // namespace

static void good_values_of_every_key_land_in_the_config_alone_and_in_one_file(void**) {
    std::string file;
    for (const auto& key : ConfigParser::knownKeys()) {
        if (firstGood(key).first.empty())
            fail_msg("no good value in this test for key '%s'", key.c_str());
        file += key + " = " + firstGood(key).first + "\n";
    }
    std::vector<std::tuple<std::string, std::string, std::string>> rows = rewrittenValues();
    for (const auto& [key, values] : goodValues()) {
        for (const auto& value : values)
            rows.emplace_back(key, value, value);
    }
    for (const auto& [key, value, stored] : rows) {
        Config config;
        const std::string problem = problemOf(ConfigParser(config).set(key, value));
        if (!problem.empty())
            fail_msg("%s = %s refused: %s", key.c_str(), value.c_str(), problem.c_str());
        expect_str(setting(config, key), stored);
    }
    const Parsed parsed = parse(file);
    expectNoProblems(parsed.problems);
    for (const auto& key : ConfigParser::knownKeys())
        expect_str(setting(parsed.config, key), firstGood(key).second);
}

static void every_key_refuses_bad_values_and_keeps_its_setting(void**) {
    for (const auto& key : ConfigParser::knownKeys()) {
        bool tested = false;
        for (const auto& [name, values] : badValues())
            tested = tested || name == key;
        if (!tested)
            fail_msg("no bad values in this test for key '%s'", key.c_str());
    }
    for (const auto& [key, values] : badValues()) {
        const auto [good, stored] = firstGood(key);
        for (const auto& value : values) {
            Config config;
            ConfigParser parser(config);
            assert_true(parser.set(key, good).ok());
            const std::string problem = problemOf(parser.set(key, value));
            if (problem.empty())
                fail_msg("%s = '%s' was accepted", key.c_str(), value.c_str());
            expect_starts_with(problem, key + ": ");
            assert_false(test::hasControlBytes(problem));
            expect_str(setting(config, key), stored);
        }
    }
}

static void a_refusal_says_what_is_wrong_without_secrets(void**) {
    for (const auto& row : refusals()) {
        const std::string problem = setOne(row.key, row.value);
        assert_false(problem.empty());
        assert_false(test::hasControlBytes(problem));
        const bool says = row.match == kIs       ? problem == row.text
                          : row.match == kStarts ? problem.rfind(row.text, 0) == 0
                          : row.match == kHas    ? problem.find(row.text) != std::string::npos
                                                 : problem.find(row.text) == std::string::npos;
        if (!says)
            fail_msg("%s = %s: \"%s\" vs \"%s\"", row.key.c_str(), row.value.c_str(),
                     problem.c_str(), row.text.c_str());
    }
    for (const std::string key : {"user_send_limit", "source_send_limit"}) {
        for (const std::string value : {"5", "5:900", "5/900s", "+5/900", "5/-900", "5 / 900",
                                        "five/900", "/", "5//900", "1234567890/900", "5/900/1"})
            expect_str(setOne(key, value), key + ": must be COUNT/SECONDS, such as 5/900");
        for (const std::string value : {"0/900", "1001/900", "5/0", "5/86401"})
            expect_str(setOne(key, value),
                       key + ": COUNT must be from 1 to 1000 and SECONDS from 1 to 86400");
    }
}

// Only api_key is a secret (and file-only); https_proxy may hold one. No secret is quoted.
static void the_key_table_marks_the_secrets(void**) {
    for (const auto& key : configKeys()) {
        const std::string name = key.name;
        assert_int_equal(key.flags, name == "api_key"       ? Secret | FileOnly
                                    : name == "https_proxy" ? PasswordInside
                                                            : Plain);
        if (key.has(Secret))
            expect_not_contains(setOne(key.name, "S3CRET with space\x01"), "S3CRET");
    }
}

static void a_proxy_password_is_never_echoed_in_a_problem(void**) {
    for (const std::string value : {
             "http://svc:S3cretPw@proxy.example.com:0",
             "http://svc:S3cretPw@proxy.example.com:3128/path",
             "http://svc:S3cretPw@",
             "socks5://svc:S3cretPw@proxy.example.com:1080",
             "http://svc:S3cretPw@proxy.example.com",
             "http://svc:S3cretPw@proxy example.com:3128",
             "svc:S3cretPw@proxy.example.com:3128",
         }) {
        const std::string problem = setOne("https_proxy", value);
        assert_false(problem.empty());
        expect_not_contains(problem, "S3cretPw");
        expect_not_contains(problem, "svc:");
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

static void defaults_follow_the_design_and_api_url_overrides_the_region(void**) {
    // clang-format off
    const std::vector<std::pair<std::string, std::string>> defaults{
        {"api_key", ""}, {"api_key_file", ""}, {"subaccount_id", ""},
        {"region", "https://verify.8x8.com"}, {"api_url", "https://verify.8x8.com"},
        {"https_proxy", ""}, {"ca_file", ""}, {"ca_path", ""}, {"connect_timeout", "5"},
        {"request_timeout", "10"}, {"channel", "sms"}, {"code_length", "6"},
        {"code_validity", "300"}, {"brand", "(unset)"}, {"template", "(unset)"},
        {"template_key", "(unset)"}, {"language", "(unset)"}, {"sms_sender", "(unset)"},
        {"voice_caller_id", "(unset)"}, {"whatsapp_template", "(unset)"}, {"max_attempts", "3"},
        {"unenrolled", "deny"}, {"users_file", "/etc/security/pam_verif8.users"},
        {"resend_interval", "30"}, {"phone_command", ""}, {"exempt_users", ""},
        {"exempt_groups", ""}, {"only_groups", ""}, {"trusted_networks", "0 networks"},
        {"state_dir", "/var/lib/pam_verif8"}, {"login_timeout", "90"}, {"fail_mode", "closed"},
        {"fail_delay", "2000"}, {"user_send_limit", "5/900"}, {"source_send_limit", "20/900"}};
    // clang-format on
    Config config;
    assert_int_equal(defaults.size(), ConfigParser::knownKeys().size());
    for (const auto& [key, value] : defaults)
        expect_str(setting(config, key), value);
    assert_int_equal(config.apiUrls.size(), 0);
    assert_false(config.debug);
    ConfigParser parser(config);
    assert_true(parser.set("region", "us").ok());
    expect_str(config.baseUrls().front(), "https://verify.us.8x8.com");
    assert_true(parser.set("api_url", "https://127.0.0.1:9443").ok());
    expect_str(config.baseUrls().front(), "https://127.0.0.1:9443");
}

// ---- the line format

static void file_texts_are_read_line_by_line(void**) {
    struct Row {
        std::string text;
        std::vector<std::string> keys;
        std::string stored;  // the settings of `keys`, each followed by '|'
    };
    // clang-format off
    const std::vector<Row> rows{
        {"# pam_verif8.conf\n\n   \n\t\n  # indented comment = yes\n#code_length = 99\n"
         "code_length = 7\n", {"code_length"}, "7|"},
        {"   code_length\t=\t 9  \nbrand =  Acme Corp  \n", {"code_length", "brand"},
         "9|Acme Corp|"},
        {"api_key = abc==\n", {"api_key"}, "abc==|"},
        {"# windows editor\r\ncode_length = 8\r\nbrand = Acme\r\nlanguage = en-GB\r\n",
         {"code_length", "brand", "language"}, "8|Acme|en-GB|"},
        {"code_length = 8\nmax_attempts = 2", {"code_length", "max_attempts"}, "8|2|"},
        {"user_send_limit = 2/60\nsource_send_limit = 7/120\n",
         {"user_send_limit", "source_send_limit"}, "2/60|7/120|"},
        {"api_url =   https://a.example.com   https://b.example.com  \n", {"api_url"},
         "https://a.example.com https://b.example.com|"},
    };
    // clang-format on
    for (const auto& row : rows) {
        const Parsed parsed = parse(row.text);
        expectNoProblems(parsed.problems);
        std::string stored;
        for (const auto& key : row.keys)
            stored += setting(parsed.config, key) + "|";
        expect_str(stored, row.stored);
    }
}

// Each file has one problem: its line and what its description contains. A duplicate key does
// not change the value.
static void a_bad_line_is_reported_where_it_is(void**) {
    // clang-format off
    const std::vector<std::tuple<std::string, int, std::string>> rows{
        {"code_length = 6\ncolour = red\n", 2, "pam_verif8.conf:2: unknown key 'colour'"},
        // Not quoted: a word that is not shaped like a key may come from a file that is no config.
        {"Code_Length = 6\n", 1,
         "unknown key (not shown: keys are lowercase letters, digits and _)"},
        {"code_length = 6\n# comment\n\ncode_length = 8\n", 4,
         "/etc/security/pam_verif8.conf:4: duplicate key 'code_length' (first on line 1)"},
        {"code_length 6\n", 1, "expected 'key = value'"},
        {"# fine\ncode_length: 6\n", 2, "expected 'key = value'"},
        {"= 6\n", 1, "missing key"}, {"brand =\n", 1, ":1: brand: "},
        {"code_length = 8\r\n\r\nbogus = 1\r\n", 3, "unknown key"},
        {"\n\ncode_length = 2\n", 3, "pam_verif8.conf:3: code_length: must be from 4 to 10"},
        {"max_attempts = 3\x1b]0;owned\x07\n", 1, "max_attempts: "},
    };
    // clang-format on
    for (const auto& [text, line, describes] : rows) {
        const Parsed parsed = parse(text);
        expectOneProblem(parsed.problems, line, describes);
        expect_str(parsed.problems[0].source, kSource);
        assert_false(test::hasControlBytes(parsed.problems[0].describe()));
    }
    assert_int_equal(parse("code_length = 6\ncode_length = 8\n").config.codeLength, 6);
    const Parsed parsed = parse("code_length = 3\nfoo = 1\nmax_attempts = 9\nchannel = sms\n");
    assert_int_equal(parsed.problems.size(), 3);  // every bad line, not only the first
    for (int i = 0; i < 3; ++i)
        assert_int_equal(parsed.problems[i].line, i + 1);
    expect_starts_with(parsed.problems[0].text, "code_length: ");
    expect_starts_with(parsed.problems[2].text, "max_attempts: ");
}

static void a_file_that_is_no_text_is_refused_whole(void**) {
    const Parsed nul = parse(std::string("code_length = 8\nbrand = Ac\0me\n", 30));
    expectOneProblem(nul.problems, 0, "NUL");
    assert_int_equal(nul.config.codeLength, 6);
    std::string text = "code_length = 8\n";
    text += "#" + std::string(kMaxConfigSize - text.size() - 2, 'x') + "\n";
    assert_int_equal(text.size(), kMaxConfigSize);
    const Parsed fits = parse(text);
    expectNoProblems(fits.problems);
    assert_int_equal(fits.config.codeLength, 8);
    const Parsed tooBig = parse(text + "\n");
    expectOneProblem(tooBig.problems, 0, "larger than 65536 bytes");
    assert_int_equal(tooBig.config.codeLength, 6);
}

// `verif8ctl --conf /root/.ssh/id_rsa check-config` refuses the file without printing it.
static void a_file_that_is_no_config_is_refused_without_its_content(void**) {
    const Parsed parsed = parse(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "QyNTUxOQAAACBvZmZzZXQ=\ns3cr3t=abc\ns3cr3t=abc\nTail0Token==\n"
        "root:$6$salt$hash=:19000:0:99999:7:::\n-----END OPENSSH PRIVATE KEY-----\n");
    assert_true(parsed.problems.size() >= 5);
    for (const auto& problem : parsed.problems) {
        for (const char* fragment : {"BEGIN", "b3Blbn", "QyNTUx", "Tail0Token", "$6$", "salt"})
            expect_not_contains(problem.describe(), fragment);
    }
    // A key-shaped word is still named, so that a typo in a real config is easy to find.
    expect_contains(parsed.problems[3].describe(), "unknown key 's3cr3t'");
}

static void describe_is_file_colon_line_colon_text(void**) {
    expect_str((ConfigProblem{kSource, 12, "unknown key 'x'"}.describe()),
               "/etc/security/pam_verif8.conf:12: unknown key 'x'");
    expect_str((ConfigProblem{kSource, 0, "is a symbolic link"}.describe()),
               "/etc/security/pam_verif8.conf: is a symbolic link");
    expect_str((ConfigProblem{"module arguments", 0, "unknown argument 'x'"}.describe()),
               "module arguments: unknown argument 'x'");
}

// ---- checkComplete

static void check_complete_names_what_no_line_can(void**) {
    const std::string keyFile = "api_key_file = /etc/security/verif8.key\n";
    const std::string sub = "subaccount_id = demo-account\n";
    const std::string both = "ca_file = /etc/ssl/certs/ca.pem\nca_path = /etc/ssl/certs\n";
    // clang-format off
    const std::vector<std::pair<std::string, std::string>> rows{
        {sub, "api_key or api_key_file is required"}, {sub + keyFile, ""},
        {sub + "api_key = abc\n" + keyFile, "api_key and api_key_file are both set: keep one"},
        {"api_key = abc\n", "subaccount_id is required"},
        {"", "api_key or api_key_file is required\n/etc/x.conf: subaccount_id is required"},
        {"api_key = abc\n" + sub, ""},
        {"api_key = k\n" + sub + both, "ca_file and ca_path are both set: keep one"},
    };
    // clang-format on
    for (const auto& [file, expected] : rows) {
        Parsed parsed = parse(file);
        expectNoProblems(parsed.problems);
        const auto problems = ConfigParser(parsed.config).checkComplete("/etc/x.conf");
        expect_str(describeAll(problems),
                   expected.empty() ? "" : "/etc/x.conf: " + expected + "\n");
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_values_of_every_key_land_in_the_config_alone_and_in_one_file),
        cmocka_unit_test(every_key_refuses_bad_values_and_keeps_its_setting),
        cmocka_unit_test(a_refusal_says_what_is_wrong_without_secrets),
        cmocka_unit_test(the_key_table_marks_the_secrets),
        cmocka_unit_test(a_proxy_password_is_never_echoed_in_a_problem),
        cmocka_unit_test(defaults_follow_the_design_and_api_url_overrides_the_region),
        cmocka_unit_test(file_texts_are_read_line_by_line),
        cmocka_unit_test(a_bad_line_is_reported_where_it_is),
        cmocka_unit_test(a_file_that_is_no_text_is_refused_whole),
        cmocka_unit_test(a_file_that_is_no_config_is_refused_without_its_content),
        cmocka_unit_test(describe_is_file_colon_line_colon_text),
        cmocka_unit_test(check_complete_names_what_no_line_can),
    };
    return cmocka_run_group_tests_name("config_parser", tests, nullptr, nullptr);
}
