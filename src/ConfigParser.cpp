// ConfigParser: the key table of pam_verif8.conf and the line format around it.
#include "verif8/ConfigParser.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <map>

#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {

using Setter = std::function<std::string(Config&, std::string_view)>;

struct KeyRule {
    const char* name;
    Setter set;
};

// The 48 language tags the API documents (case-sensitive).
constexpr std::array<std::string_view, 48> kLanguages{
    "ar-EG", "ar-SA", "bg-BG", "ca-ES", "cs-CZ", "da-DK", "de-AT", "de-CH", "de-DE", "el-GR",
    "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-US", "es-ES", "es-MX", "fi-FI", "fr-CA",
    "fr-CH", "fr-FR", "he-IL", "hi-IN", "hr-HR", "hu-HU", "id-ID", "it-IT", "ja-JP", "ko-KR",
    "ms-MY", "nb-NO", "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sk-SK", "sl-SI",
    "sv-SE", "ta-IN", "th-TH", "tr-TR", "vi-VN", "zh-CN", "zh-HK", "zh-TW"};

// A word from the file is quoted in an error only when it has the shape of a key: `verif8ctl
// --conf` may be pointed at a file that is no config at all (a private key, a shadow file), and
// its refusal must not print that file's content.
std::string describeKey(std::string_view key) {
    const bool keyLike =
        !key.empty() && key.size() <= 32 && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        });
    return keyLike ? "'" + std::string(key) + "'"
                   : "(not shown: keys are lowercase letters, digits and _)";
}

std::string setRange(int& field, std::string_view value, long min, long max) {
    const auto number = parseNumber(value);
    if (!number)
        return "'" + sanitizeForMessage(value) + "' is not a whole number";
    if (*number < min || *number > max)
        return "must be from " + std::to_string(min) + " to " + std::to_string(max);
    field = static_cast<int>(*number);
    return "";
}

std::string setRangeLong(long& field, std::string_view value, long min, long max) {
    int narrow = 0;
    std::string error = setRange(narrow, value, min, max);
    if (error.empty())
        field = narrow;
    return error;
}

std::string setPath(std::string& field, std::string_view value) {
    if (value.empty() || value.front() != '/')
        return "must be an absolute path";
    if (hasControlOrSpace(value))
        return "must not contain spaces or control characters";
    field = std::string(value);
    return "";
}

// Free text passed to the API (brand, template names): bounded, no control characters.
std::string setText(std::optional<std::string>& field, std::string_view value, std::size_t max) {
    if (value.empty())
        return "must not be empty";
    if (value.size() > max)
        return "must be at most " + std::to_string(max) + " characters";
    if (hasControl(value))
        return "must not contain control characters";
    if (!isValidUtf8(value))
        return "must be UTF-8 text";
    field = std::string(value);
    return "";
}

bool isSubaccountChar(char c) {
    return isAsciiAlnum(c) || c == '-' || c == '.' || c == '_' || c == '&';
}

// host, host:port, [v6]:port; port 1 to 65535.
bool isHostAndPort(std::string_view authority) {
    std::string_view host = authority;
    std::string_view port;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return false;
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':')
            return false;
        port = after.empty() ? after : after.substr(1);
        if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
            }))
            return false;
    } else {
        const std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
        if (colon != std::string_view::npos && port.empty())
            return false;
        if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
                return isAsciiAlnum(c) || c == '-' || c == '.';
            }))
            return false;
    }
    if (port.empty())
        return authority.back() != ':';
    const auto number = parseNumber(port);
    return number && *number >= 1 && *number <= 65535;
}

std::vector<std::string_view> splitWords(std::string_view value) {
    std::vector<std::string_view> words;
    for (;;) {
        value = trim(value);
        if (value.empty())
            return words;
        const std::size_t end = value.find_first_of(" \t");
        words.push_back(value.substr(0, end));
        if (end == std::string_view::npos)
            return words;
        value.remove_prefix(end);
    }
}

// An https URL without userinfo, query or fragment; returns it without trailing slashes, or
// sets `error`.
std::string checkHttpsUrl(std::string_view value, std::string& error) {
    constexpr std::string_view kScheme = "https://";
    if (value.substr(0, kScheme.size()) != kScheme) {
        error = "must start with https:// (plain HTTP would expose the API key and codes)";
        return "";
    }
    std::string_view rest = value.substr(kScheme.size());
    while (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.empty()) {
        error = "has no host";
        return "";
    }
    if (hasControlOrSpace(rest) || rest.find_first_of("?#@\\,") != std::string_view::npos ||
        !isHostAndPort(authority)) {
        error = "must be a plain https://host[:port][/path] URL";
        return "";
    }
    return std::string(kScheme) + std::string(rest);
}

std::string setApiUrls(Config& c, std::string_view value) {
    constexpr std::size_t kMaxUrls = 4;
    std::vector<std::string> urls;
    for (std::string_view word : splitWords(value)) {
        std::string error;
        std::string url = checkHttpsUrl(word, error);
        if (!error.empty()) {
            // A URL with user information may carry a password: never quote it.
            const bool secret = word.find('@') != std::string_view::npos;
            return (secret ? std::string("a URL") : "'" + sanitizeForMessage(word) + "'") + " " +
                   error;
        }
        urls.push_back(std::move(url));
    }
    if (urls.empty())
        return "must list at least one URL";
    if (urls.size() > kMaxUrls)
        return "takes at most " + std::to_string(kMaxUrls) + " URLs";
    c.apiUrls = std::move(urls);
    return "";
}

// The proxy may speak http or https to us; the API traffic inside it is TLS either way.
std::string setProxy(Config& c, std::string_view value) {
    std::string_view scheme;
    for (std::string_view candidate : {"http://", "https://"}) {
        if (value.substr(0, candidate.size()) == candidate)
            scheme = candidate;
    }
    std::string_view rest = value.substr(scheme.size());
    while (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    const std::size_t at = rest.rfind('@');
    const std::string_view authority = at == std::string_view::npos ? rest : rest.substr(at + 1);
    // The port is required: curl would otherwise pick 1080, which is not what anybody meant.
    const bool hasPort = !authority.empty() && authority.back() != ']' &&
                         authority.find(':', authority.rfind(']') == std::string_view::npos
                                                 ? 0
                                                 : authority.rfind(']')) != std::string_view::npos;
    if (scheme.empty() || authority.empty() || hasControlOrSpace(rest) ||
        authority.find('/') != std::string_view::npos || !isHostAndPort(authority) || !hasPort)
        return "must be http://host:port or https://host:port (user:password@ allowed)";
    c.httpsProxy = std::string(scheme) + std::string(rest);
    return "";
}

std::string setSendLimit(SendLimit& field, std::string_view value) {
    const std::string usage = "must be COUNT/SECONDS, such as 5/900";
    const std::size_t slash = value.find('/');
    if (slash == std::string_view::npos)
        return usage;
    const long count = parseNumber(value.substr(0, slash)).value_or(-1);
    const long seconds = parseNumber(value.substr(slash + 1)).value_or(-1);
    if (count < 0 || seconds < 0)
        return usage;
    if (count < 1 || count > 1000 || seconds < 1 || seconds > 86400)
        return "COUNT must be from 1 to 1000 and SECONDS from 1 to 86400";
    field = SendLimit{static_cast<int>(count), static_cast<int>(seconds)};
    return "";
}

std::string setSmsSender(Config& c, std::string_view value) {
    const std::string_view digits = value.substr(!value.empty() && value.front() == '+' ? 1 : 0);
    const bool numeric = !digits.empty() && digits.size() <= 16 &&
                         std::all_of(digits.begin(), digits.end(), isAsciiDigit);
    const bool alphanumeric = !value.empty() && value.size() <= 11 &&
                              std::all_of(value.begin(), value.end(),
                                          [](char ch) { return isAsciiAlnum(ch) || ch == ' '; });
    if (!numeric && !alphanumeric)
        return "must be up to 11 letters, digits and spaces, or up to 16 digits";
    c.smsSender = std::string(value);
    return "";
}

std::string setCallerId(Config& c, std::string_view value) {
    const std::string_view digits = value.substr(!value.empty() && value.front() == '+' ? 1 : 0);
    if (digits.size() < 3 || digits.size() > 16 ||
        !std::all_of(digits.begin(), digits.end(), isAsciiDigit))
        return "must be a phone number: an optional + and 3 to 16 digits";
    c.voiceCallerId = std::string(value);
    return "";
}

// Space-separated user or group names.
std::string setNames(std::vector<std::string>& field, std::string_view value) {
    std::vector<std::string> names;
    for (std::string_view word : splitWords(value)) {
        if (hasControl(word) || !isValidUtf8(word))
            return "names must not contain control characters";
        names.emplace_back(word);
    }
    if (names.empty())
        return "must list at least one name";
    field = std::move(names);
    return "";
}

std::string setNetworks(Config& c, std::string_view value) {
    std::vector<Network> networks;
    for (std::string_view word : splitWords(value)) {
        auto network = Network::parse(word);
        if (!network)
            return "'" + sanitizeForMessage(word) +
                   "' is not an IPv4 or IPv6 address or CIDR block (such as 192.0.2.0/24)";
        networks.push_back(*network);
    }
    if (networks.empty())
        return "must list at least one network";
    c.trustedNetworks = std::move(networks);
    return "";
}

std::string setPhoneCommand(Config& c, std::string_view value) {
    std::vector<std::string> words;
    for (std::string_view word : splitWords(value)) {
        if (hasControl(word))
            return "must not contain control characters";
        words.emplace_back(word);
    }
    if (words.empty() || words.front().front() != '/')
        return "must start with the absolute path of a program";
    c.phoneCommand = std::move(words);
    return "";
}

const std::vector<KeyRule>& keyRules() {
    static const std::vector<KeyRule> rules{
        {"api_key",
         [](Config& c, std::string_view v) -> std::string {
             if (v.empty() || v.size() > 1024 || hasControlOrSpace(v))
                 return "must be the key itself: no spaces or control characters";
             c.apiKey.assign(v);
             return "";
         }},
        {"api_key_file", [](Config& c, std::string_view v) { return setPath(c.apiKeyFile, v); }},
        {"subaccount_id",
         [](Config& c, std::string_view v) -> std::string {
             if (v.size() < 3 || v.size() > 50 ||
                 !std::all_of(v.begin(), v.end(), isSubaccountChar))
                 return "must be 3 to 50 characters of A-Z a-z 0-9 - . _ &";
             c.subaccountId = std::string(v);
             return "";
         }},
        {"region",
         [](Config& c, std::string_view v) -> std::string {
             static const std::map<std::string_view, Region> regions{
                 {"asia", Region::Asia},
                 {"us", Region::Us},
                 {"europe", Region::Europe},
                 {"indonesia", Region::Indonesia}};
             const auto found = regions.find(v);
             if (found == regions.end())
                 return "must be asia, us, europe or indonesia";
             c.region = found->second;
             return "";
         }},
        {"api_url", setApiUrls},
        {"https_proxy", setProxy},
        {"ca_file", [](Config& c, std::string_view v) { return setPath(c.caFile, v); }},
        {"ca_path", [](Config& c, std::string_view v) { return setPath(c.caPath, v); }},
        {"connect_timeout",
         [](Config& c, std::string_view v) { return setRangeLong(c.connectTimeout, v, 1, 60); }},
        {"request_timeout",
         [](Config& c, std::string_view v) { return setRangeLong(c.requestTimeout, v, 1, 300); }},
        {"channel",
         [](Config& c, std::string_view v) -> std::string {
             const auto channel = parseChannel(v);
             if (!channel)
                 return "must be sms, voice, whatsapp or viber";
             c.channel = *channel;
             return "";
         }},
        {"code_length",
         [](Config& c, std::string_view v) { return setRange(c.codeLength, v, 4, 10); }},
        {"code_validity",
         [](Config& c, std::string_view v) { return setRange(c.codeValidity, v, 30, 7200); }},
        {"brand", [](Config& c, std::string_view v) { return setText(c.brand, v, 30); }},
        {"template",
         [](Config& c, std::string_view v) -> std::string {
             if (v.find("{code}") == std::string_view::npos)
                 return "must contain {code}, or the message would carry no code";
             return setText(c.messageTemplate, v, 1000);
         }},
        {"template_key",
         [](Config& c, std::string_view v) { return setText(c.templateKey, v, 200); }},
        {"language",
         [](Config& c, std::string_view v) -> std::string {
             if (std::find(kLanguages.begin(), kLanguages.end(), v) == kLanguages.end())
                 return "must be one of the API's language tags, such as en-US or fr-FR "
                        "(case-sensitive)";
             c.language = std::string(v);
             return "";
         }},
        {"sms_sender", setSmsSender},
        {"voice_caller_id", setCallerId},
        {"whatsapp_template",
         [](Config& c, std::string_view v) -> std::string {
             if (hasControlOrSpace(v))
                 return "must be a template name, without spaces";
             return setText(c.whatsappTemplate, v, 512);
         }},
        {"max_attempts",
         [](Config& c, std::string_view v) { return setRange(c.maxAttempts, v, 1, 5); }},
        {"unenrolled",
         [](Config& c, std::string_view v) -> std::string {
             if (v == "deny")
                 c.unenrolled = UnenrolledPolicy::Deny;
             else if (v == "ignore")
                 c.unenrolled = UnenrolledPolicy::Ignore;
             else
                 return "must be deny or ignore";
             return "";
         }},
        {"users_file", [](Config& c, std::string_view v) { return setPath(c.usersFile, v); }},
        {"resend_interval",
         [](Config& c, std::string_view v) { return setRange(c.resendInterval, v, 10, 7200); }},
        {"phone_command", setPhoneCommand},
        {"exempt_users", [](Config& c, std::string_view v) { return setNames(c.exemptUsers, v); }},
        {"exempt_groups",
         [](Config& c, std::string_view v) { return setNames(c.exemptGroups, v); }},
        {"only_groups", [](Config& c, std::string_view v) { return setNames(c.onlyGroups, v); }},
        {"trusted_networks", setNetworks},
        {"state_dir", [](Config& c, std::string_view v) { return setPath(c.stateDir, v); }},
        {"login_timeout",
         [](Config& c, std::string_view v) { return setRange(c.loginTimeout, v, 10, 3600); }},
        {"fail_mode",
         [](Config& c, std::string_view v) -> std::string {
             if (v == "closed")
                 c.failMode = FailMode::Closed;
             else if (v == "open")
                 c.failMode = FailMode::Open;
             else
                 return "must be closed or open";
             return "";
         }},
        {"fail_delay",
         [](Config& c, std::string_view v) { return setRange(c.failDelayMs, v, 0, 10000); }},
        {"user_send_limit",
         [](Config& c, std::string_view v) { return setSendLimit(c.userSendLimit, v); }},
        {"source_send_limit",
         [](Config& c, std::string_view v) { return setSendLimit(c.sourceSendLimit, v); }},
    };
    return rules;
}

const KeyRule* findRule(std::string_view key) {
    for (const auto& rule : keyRules()) {
        if (key == rule.name)
            return &rule;
    }
    return nullptr;
}

}  // namespace

std::string ConfigProblem::describe() const {
    if (line > 0)
        return source + ":" + std::to_string(line) + ": " + message;
    return source + ": " + message;
}

std::string ConfigParser::set(std::string_view key, std::string_view value) {
    const KeyRule* rule = findRule(key);
    if (rule == nullptr)
        return "unknown key " + describeKey(key);
    std::string error = rule->set(config_, value);
    if (!error.empty())
        return std::string(key) + ": " + error;
    return "";
}

void ConfigParser::parseText(std::string_view text, const std::string& source,
                             std::vector<ConfigProblem>& problems) {
    if (text.size() > kMaxConfigSize) {
        problems.push_back({source, 0, "larger than " + std::to_string(kMaxConfigSize) + " bytes"});
        return;
    }
    if (text.find('\0') != std::string_view::npos) {
        problems.push_back({source, 0, "contains a NUL byte: not a text file"});
        return;
    }
    std::map<std::string, int, std::less<>> seen;
    int number = 0;
    forEachLine(text, [&](std::string_view raw) {
        ++number;
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#')
            return;
        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            problems.push_back({source, number, "expected 'key = value'"});
            return;
        }
        const std::string_view key = trim(line.substr(0, equals));
        const std::string_view value = trim(line.substr(equals + 1));
        if (key.empty()) {
            problems.push_back({source, number, "missing key before '='"});
            return;
        }
        const auto previous = seen.find(key);
        if (previous != seen.end()) {
            problems.push_back({source, number,
                                "duplicate key " + describeKey(key) + " (first on line " +
                                    std::to_string(previous->second) + ")"});
            return;
        }
        seen.emplace(std::string(key), number);
        std::string error = set(key, value);
        if (!error.empty())
            problems.push_back({source, number, std::move(error)});
    });
}

void ConfigParser::checkComplete(const std::string& source,
                                 std::vector<ConfigProblem>& problems) const {
    if (config_.apiKey.empty() && config_.apiKeyFile.empty())
        problems.push_back({source, 0, "api_key or api_key_file is required"});
    if (!config_.caFile.empty() && !config_.caPath.empty())
        problems.push_back({source, 0, "ca_file and ca_path are both set: keep one"});
    if (!config_.apiKey.empty() && !config_.apiKeyFile.empty())
        problems.push_back({source, 0, "api_key and api_key_file are both set: keep one"});
    if (config_.subaccountId.empty())
        problems.push_back({source, 0, "subaccount_id is required"});
}

const std::vector<std::string>& ConfigParser::knownKeys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> names;
        for (const auto& rule : keyRules())
            names.emplace_back(rule.name);
        return names;
    }();
    return keys;
}

}  // namespace verif8
