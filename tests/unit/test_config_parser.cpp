// ConfigParser and its key table: every key with good and bad values, the line format, and
// checkComplete. Most tests run a table: one row per key and value, or per file text.
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

void expectOneProblem(const std::vector<ConfigProblem>& problems, int line,
                      const std::string& needle) {
    expect_row(problems.size() == 1, describeAll(problems));
    assert_int_equal(problems[0].line, line);
    expect_contains(problems[0].describe(), needle);
}

using C = const Config&;
using S = std::string;
const auto text = [](const std::optional<S>& value) { return value.value_or("(unset)"); };
const auto num = [](long n) { return std::to_string(n); };
const auto limit = [](const SendLimit& l) { return num(l.count) + "/" + num(l.seconds); };

// Each key: its setting as text, its default, the values it accepts and the ones it refuses. A
// good value is kept as written, or "VALUE => SETTING"; the first of each key goes into one file
// with the others. A bad value is refused, naming the key, and leaves the setting as it was.
struct Key {
    S name;
    S (*read)(C);
    S byDefault;
    std::vector<S> good, bad;
};

const std::vector<Key>& keys() {
    static const S longKey(1025, 'k'), longTemplate = "{code}" + S(995, 't');
    // clang-format off
    static const std::vector<Key> rows{
        {"api_key", [](C c) { return S(c.apiKey.view()); }, "", {"k3y_ABC-123.xyz"},
         {"", "two words", "tab\tinside", "ctl\x01", longKey}},
        {"api_key_file", [](C c) { return c.apiKeyFile; }, "", {"/etc/security/verif8.key"},
         {"", "relative/key", "./key", "/with space", "/ctl\x01"}},
        {"subaccount_id", [](C c) { return c.subaccountId; }, "", {"demo-account_1.2&co"},
         {"", "ab", S(51, 's'), "has/slash", "has space", "per%cent", "caf\xc3\xa9x"}},
        {"region", [](C c) { return regionBaseUrl(c.region); }, "https://verify.8x8.com",
         {"europe => https://verify.8x8.uk", "asia => https://verify.8x8.com",
          "us => https://verify.us.8x8.com", "indonesia => https://verify.8x8.id"},
         {"", "Asia", "ASIA", "eu", "apac", "asia ", " us"}},
        {"api_url", [](C c) { return joined(c.baseUrls()); }, "https://verify.8x8.com",
         {"https://verify.example.com:8443/base", "https://verify.example.com:65535",
          "https://verify.example.com/ => https://verify.example.com",
          "https://127.0.0.1:8443/base// => https://127.0.0.1:8443/base",
          "https://a.example.com/\thttps://b.example.com:8443//  https://[::1]:9443/base "
          "https://d.example.com => https://a.example.com https://b.example.com:8443 "
          "https://[::1]:9443/base https://d.example.com"},
         {"", "   ", " \t ", "http://verify.example.com", "ftp://verify.example.com",
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
        // The last '@' ends the user part: a raw '@' in the password does not move the host.
        {"https_proxy", [](C c) { return c.httpsProxy; }, "",
         {"http://proxy.example.com:3128", "https://proxy.example.com:443",
          "http://10.0.0.1:8080", "http://[2001:db8::1]:3128", "http://proxy.example.com:65535",
          "http://svc-2fa:Pr0xy%40Pw@proxy.example.com:3128", "https://user:p@ss@[::1]:8443",
          "http://proxy.example.com:3128/ => http://proxy.example.com:3128"},
         {"", "proxy.example.com:3128", "socks5://proxy:1080", "http://",
          "http://proxy:0", "http://proxy:3128/path", "http://a b:1", "ftp://proxy.example.com:21",
          "socks5h://proxy.example.com:1080", "//proxy.example.com:3128",
          "http://proxy.example.com:65536", "http://proxy.example.com:3128?x",
          "http://proxy.example.com:3128#top", "http://proxy:3128 http://b:3128",
          "http://pro\x01xy:3128", "http://:3128", "http://proxy_host:3128",
          "http://[2001:db8::1:3128", "http://proxy.example.com:-1", "http://proxy.example.com",
          "http://[2001:db8::1]"}},  // a proxy needs its port
        {"ca_file", [](C c) { return c.caFile; }, "", {"/etc/ssl/certs/ca.pem"},
         {"", "ca.pem", "/a b.pem", "/ca\x02.pem"}},
        {"ca_path", [](C c) { return c.caPath; }, "", {"/etc/ssl/certs"},
         {"", "certs", "/a b", "/ctl\x01"}},
        {"connect_timeout", [](C c) { return num(c.connectTimeout); }, "5", {"7", "1", "060 => 60"},
         {"0", "61", "-1", "+5", " 5", "5 ", "5s", "five", "", "1e1", "0x10", "9999999999", "5.0"}},
        {"request_timeout", [](C c) { return num(c.requestTimeout); }, "10", {"20", "1", "300"},
         {"0", "301", "-10", "+10", "1 0", "ten", "", "1000000000"}},
        {"channel", [](C c) { return S(channelName(c.channel)); }, "sms", {"voice"},
         {"", "SMS", "Voice", "call", "sma", "email", "sms,voice"}},
        {"code_length", [](C c) { return num(c.codeLength); }, "6", {"8", "4", "10"},
         {"3", "11", "0", "-6", "+6", "six", " 6", "6 ", "", "06x", "4.5", "6\x1b[2J\x07"}},
        {"code_validity", [](C c) { return num(c.codeValidity); }, "300", {"600", "30", "7200"},
         {"29", "7201", "0", "-300", "+300", "300s", "", "5 min"}},
        {"brand", [](C c) { return text(c.brand); }, "(unset)", {"Acme Corp", "Caf\u00e9"},
         {"", S(31, 'b'), "bell\x07", "Acme\xff"}},
        {"template", [](C c) { return text(c.messageTemplate); }, "(unset)",
         {"{brand}: your code is {code}", "{code}", "Code {code} for {brand}"},
         {"", "no placeholder here", "{CODE}", "{ code }", "code", "{code}\x01", longTemplate,
          "Code {code} \xc0\xaf"}},
        {"template_key", [](C c) { return text(c.templateKey); }, "(unset)", {"login-otp"},
         {"", S(201, 't'), "tab\there"}},
        {"language", [](C c) { return text(c.language); }, "(unset)",
         {"fr-FR", "en-US", "zh-CN", "id-ID"},
         {"", "en-us", "EN-US", "zh-cn", "en", "english", "en_US", "xx-XX", "fr-FR "}},
        {"sms_sender", [](C c) { return text(c.smsSender); }, "(unset)",
         {"Acme", "ABCDEFGHIJK", "My Bank 24", "1234567890123456", "+6512345678"},
         {"", "ABCDEFGHIJKL", "12345678901234567", "+12345678901234567", "Acme-Co", "Acme_Co",
          "Acme-Bank", "Caf\xc3\xa9", "+", "+Acme"}},
        {"voice_caller_id", [](C c) { return text(c.voiceCallerId); }, "(unset)", {"+6512345678"},
         {"", "12", "+12", "12345678901234567", "caller", "+65 1234", "+"}},
        {"whatsapp_template", [](C c) { return text(c.whatsappTemplate); }, "(unset)",
         {"auth_code_v2"}, {"", "two words", "ctl\x01", S(513, 'w')}},
        {"max_attempts", [](C c) { return num(c.maxAttempts); }, "3", {"4", "1", "5"},
         {"0", "6", "-1", "+3", "three", " 3", "", "3.0"}},
        {"unenrolled",
         [](C c) { return S(c.unenrolled == UnenrolledPolicy::Ignore ? "ignore" : "deny"); },
         "deny", {"ignore"}, {"", "Deny", "IGNORE", "allow", "open"}},
        {"users_file", [](C c) { return c.usersFile; }, "/etc/security/pam_verif8.users",
         {"/etc/security/other.users"}, {"", "pam_verif8.users", "/a b", "/ctl\x01"}},
        {"resend_interval", [](C c) { return num(c.resendInterval); }, "30", {"45"},
         {"9", "7201", "0", "-30", "thirty", ""}},
        {"phone_command", [](C c) { return joined(c.phoneCommand); }, "",
         {"/usr/local/sbin/phone-of --user %u"}, {"", "phone-of %u", "./phone-of", "/bin/x\x01"}},
        {"exempt_users", [](C c) { return joined(c.exemptUsers); }, "", {"root backup"},
         {"", "   ", "root\x01"}},
        {"exempt_groups", [](C c) { return joined(c.exemptGroups); }, "", {"break-glass"},
         {"", "ops\x7f"}},
        {"only_groups", [](C c) { return joined(c.onlyGroups); }, "", {"2fa staff"}, {"", "\xff"}},
        {"trusted_networks", [](C c) { return num(c.trustedNetworks.size()) + " networks"; },
         "0 networks", {"192.0.2.0/24 2001:db8::/32 198.51.100.7 => 3 networks"},
         {"", "10.0.0.0/33", "2001:db8::/129", "10.0.0/8", "example.com", "10.0.0.0/8,10.1.0.0/16",
          "10.0.0.0/-1"}},
        {"state_dir", [](C c) { return c.stateDir; }, "/var/lib/pam_verif8",
         {"/var/lib/pam_verif8-test"}, {"", "var/lib", "/with space"}},
        {"login_timeout", [](C c) { return num(c.loginTimeout); }, "90", {"120", "10", "3600"},
         {"9", "3601", "0", "-90", "90s", ""}},
        {"fail_mode", [](C c) { return S(c.failMode == FailMode::Open ? "open" : "closed"); },
         "closed", {"open", "closed"}, {"", "Closed", "OPEN", "Open", "fail", "ignore"}},
        {"fail_delay", [](C c) { return num(c.failDelayMs); }, "2000", {"0", "10000"},
         {"-1", "10001", "2s", ""}},
        {"user_send_limit", [](C c) { return limit(c.userSendLimit); }, "5/900",
         {"3/600", "1/1", "1000/86400", "5/900", "020/0900 => 20/900"},
         {"", "5", "5/", "/900", "0/900", "5/0", "1001/900", "5/86401", "5 /900"}},
        {"source_send_limit", [](C c) { return limit(c.sourceSendLimit); }, "20/900",
         {"50/3600", "5/900", "1000/86400", "1/1", "3/600", "020/0900 => 20/900"},
         {"", "x/y", "-1/900", "20/900/1"}},
        {"phone_send_limit", [](C c) { return limit(c.phoneSendLimit); }, "10/3600",
         {"3/3600", "1/1", "1000/86400", "010/03600 => 10/3600"},
         {"", "10", "0/3600", "10/86401", "1001/3600", "ten/3600"}},
        {"send_client_ip", [](C c) { return S(c.sendClientIp ? "yes" : "no"); }, "yes",
         {"no", "yes"}, {"", "Yes", "NO", "true", "1", "on", "yes no"}},
        {"grace_period", [](C c) { return num(c.gracePeriod); }, "0", {"300", "0", "86400"},
         {"-1", "86401", "+300", "5m", "", "300 s", "0x10"}},
    };
    // clang-format on
    return rows;
}

const Key& key(const S& name) {
    for (const Key& key : keys()) {
        if (key.name == name)
            return key;
    }
    fail_msg("key '%s' is not in this test", name.c_str());
    return keys().front();
}

// A key's setting is `expected`; a failure names the key and the value that was set.
void expectSetting(const Key& row, const Config& config, const S& value, const S& expected) {
    if (const test::Miss miss = test::differs(row.read(config), expected))
        fail_msg("%s = '%s': %s", row.name.c_str(), value.c_str(), miss->c_str());
}

// A good value and its setting once applied.
std::pair<S, S> applied(const S& good) {
    const auto arrow = good.find(" => ");
    if (arrow == S::npos)
        return {good, good};
    return {good.substr(0, arrow), good.substr(arrow + 4)};
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
        {"grace_period", "86401", kIs, "grace_period: must be from 0 to 86400"},
        {"fail_delay", "10001", kIs, "fail_delay: must be from 0 to 10000"},
        {"fail_mode", "Open", kIs, "fail_mode: must be closed or open"},
        {"send_client_ip", "true", kIs, "send_client_ip: must be yes or no"},
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

// Every key is in the table; each good value lands in the config alone, the first of every key
// in one file; each bad value is refused; and a new Config holds every default.
static void every_key_takes_its_good_values_and_refuses_its_bad_ones(void**) {
    assert_int_equal(keys().size(), ConfigParser::knownKeys().size());
    std::string file;
    const Config defaults;
    for (const auto& name : ConfigParser::knownKeys()) {
        const Key& row = key(name);
        expect_row(!row.good.empty() && !row.bad.empty(), name);
        file += name + " = " + applied(row.good.front()).first + "\n";
        expectSetting(row, defaults, "(the default)", row.byDefault);
        for (const auto& good : row.good) {
            const auto [value, stored] = applied(good);
            Config config;
            const std::string problem = problemOf(ConfigParser(config).set(name, value));
            if (!problem.empty())
                fail_msg("%s = %s refused: %s", name.c_str(), value.c_str(), problem.c_str());
            expectSetting(row, config, value, stored);
        }
        const auto [first, stored] = applied(row.good.front());
        for (const auto& value : row.bad) {
            Config config;
            ConfigParser parser(config);
            assert_true(parser.set(name, first).ok());
            const std::string problem = problemOf(parser.set(name, value));
            if (problem.empty())
                fail_msg("%s = '%s' was accepted", name.c_str(), value.c_str());
            expect_row(problem.rfind(name + ": ", 0) == 0, name + " = " + value);
            expect_row(!test::hasControlBytes(problem), name + " = " + value);
            expectSetting(row, config, value, stored);
        }
    }
    assert_int_equal(defaults.apiUrls.size(), 0);
    assert_false(defaults.debug);
    const Parsed parsed = parse(file);
    expect_str(describeAll(parsed.problems), "");
    for (const Key& row : keys())
        expectSetting(row, parsed.config, "(in one file)", applied(row.good.front()).second);
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
        // The requests go to the region's URL unless api_url names others.
        {"region = us\n", {"api_url"}, "https://verify.us.8x8.com|"},
        {"region = us\napi_url = https://127.0.0.1:9443\n", {"api_url"}, "https://127.0.0.1:9443|"},
    };
    // clang-format on
    for (const auto& row : rows) {
        const Parsed parsed = parse(row.text);
        expect_str(describeAll(parsed.problems), "");
        std::string stored;
        for (const auto& name : row.keys)
            stored += key(name).read(parsed.config) + "|";
        if (const test::Miss miss = test::differs(stored, row.stored))
            fail_msg("file \"%s\": %s", row.text.c_str(), miss->c_str());
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
    expect_str(describeAll(fits.problems), "");
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
        expect_str(describeAll(parsed.problems), "");
        const auto problems = ConfigParser(parsed.config).checkComplete("/etc/x.conf");
        expect_str(describeAll(problems),
                   expected.empty() ? "" : "/etc/x.conf: " + expected + "\n");
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key_takes_its_good_values_and_refuses_its_bad_ones),
        cmocka_unit_test(a_refusal_says_what_is_wrong_without_secrets),
        cmocka_unit_test(the_key_table_marks_the_secrets),
        cmocka_unit_test(a_proxy_password_is_never_echoed_in_a_problem),
        cmocka_unit_test(file_texts_are_read_line_by_line),
        cmocka_unit_test(a_bad_line_is_reported_where_it_is),
        cmocka_unit_test(a_file_that_is_no_text_is_refused_whole),
        cmocka_unit_test(a_file_that_is_no_config_is_refused_without_its_content),
        cmocka_unit_test(check_complete_names_what_no_line_can),
    };
    return cmocka_run_group_tests_name("config_parser", tests, nullptr, nullptr);
}
