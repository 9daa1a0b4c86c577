// ConfigValidators: the values of pam_verif8.conf other than URLs, checked and read.
#include "verif8/ConfigValidators.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "verif8/TextUtil.hpp"

namespace verif8::validate {

namespace {

// The 48 language tags the API documents (case-sensitive).
constexpr std::array<std::string_view, 48> kLanguages{
    "ar-EG", "ar-SA", "bg-BG", "ca-ES", "cs-CZ", "da-DK", "de-AT", "de-CH", "de-DE", "el-GR",
    "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-US", "es-ES", "es-MX", "fi-FI", "fr-CA",
    "fr-CH", "fr-FR", "he-IL", "hi-IN", "hr-HR", "hu-HU", "id-ID", "it-IT", "ja-JP", "ko-KR",
    "ms-MY", "nb-NO", "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sk-SK", "sl-SI",
    "sv-SE", "ta-IN", "th-TH", "tr-TR", "vi-VN", "zh-CN", "zh-HK", "zh-TW"};

// The widest number a value may spell: wider, it is no number anybody meant.
constexpr std::size_t kNumberDigits = 9;

template <typename T, std::size_t N>
Result<T> oneOf(std::string_view value, const std::pair<std::string_view, T> (&choices)[N],
                const char* problem) {
    for (const auto& [name, meaning] : choices) {
        if (value == name)
            return meaning;
    }
    return Problem(problem);
}

bool isSubaccountChar(char c) {
    return isAsciiAlnum(c) || c == '-' || c == '.' || c == '_' || c == '&';
}

// A phone number, or a sender in digits: an optional '+', then digits only.
std::string_view digitsAfterPlus(std::string_view value) {
    return value.substr(!value.empty() && value.front() == '+' ? 1 : 0);
}

}  // namespace

Result<long> wholeNumber(std::string_view value, long min, long max) {
    const auto number = parseDecimal<long>(value, kNumberDigits);
    if (!number)
        return Problem("'" + sanitizeForMessage(value) + "' is not a whole number");
    if (*number < min || *number > max)
        return Problem("must be from " + std::to_string(min) + " to " + std::to_string(max));
    return *number;
}

Result<SendLimit> sendLimit(std::string_view value) {
    const std::size_t slash = value.find('/');
    const long count = parseDecimal<long>(value.substr(0, slash), kNumberDigits).value_or(-1);
    const long seconds =
        slash == std::string_view::npos
            ? -1
            : parseDecimal<long>(value.substr(slash + 1), kNumberDigits).value_or(-1);
    if (count < 0 || seconds < 0)
        return Problem("must be COUNT/SECONDS, such as 5/900");
    if (count < 1 || count > 1000 || seconds < 1 || seconds > 86400)
        return Problem("COUNT must be from 1 to 1000 and SECONDS from 1 to 86400");
    return SendLimit{static_cast<int>(count), static_cast<int>(seconds)};
}

Result<Region> region(std::string_view value) {
    static const std::pair<std::string_view, Region> kRegions[] = {
        {"asia", Region::Asia},
        {"us", Region::Us},
        {"europe", Region::Europe},
        {"indonesia", Region::Indonesia}};
    return oneOf(value, kRegions, "must be asia, us, europe or indonesia");
}

Result<Channel> channel(std::string_view value) {
    const auto named = parseChannel(value);
    if (!named)
        return Problem("must be sms, voice, whatsapp or viber");
    return *named;
}

Result<UnenrolledPolicy> unenrolledPolicy(std::string_view value) {
    static const std::pair<std::string_view, UnenrolledPolicy> kPolicies[] = {
        {"deny", UnenrolledPolicy::Deny}, {"ignore", UnenrolledPolicy::Ignore}};
    return oneOf(value, kPolicies, "must be deny or ignore");
}

Result<FailMode> failMode(std::string_view value) {
    static const std::pair<std::string_view, FailMode> kModes[] = {{"closed", FailMode::Closed},
                                                                   {"open", FailMode::Open}};
    return oneOf(value, kModes, "must be closed or open");
}

Result<bool> yesNo(std::string_view value) {
    static const std::pair<std::string_view, bool> kAnswers[] = {{"yes", true}, {"no", false}};
    return oneOf(value, kAnswers, "must be yes or no");
}

Result<std::string> languageTag(std::string_view value) {
    if (std::find(kLanguages.begin(), kLanguages.end(), value) == kLanguages.end())
        return Problem(
            "must be one of the API's language tags, such as en-US or fr-FR (case-sensitive)");
    return std::string(value);
}

// Never quotes the value: it is the key itself.
Result<SecretString> apiKey(std::string_view value) {
    if (value.empty() || value.size() > 1024 || hasControlOrSpace(value))
        return Problem("must be the key itself: no spaces or control characters");
    return SecretString(value);
}

Result<std::string> subaccountId(std::string_view value) {
    if (value.size() < 3 || value.size() > 50 ||
        !std::all_of(value.begin(), value.end(), isSubaccountChar))
        return Problem("must be 3 to 50 characters of A-Z a-z 0-9 - . _ &");
    return std::string(value);
}

// Free text passed to the API (brand, template names): bounded, no control characters.
Result<std::string> freeText(std::string_view value, std::size_t maxLength) {
    if (value.empty())
        return Problem("must not be empty");
    if (value.size() > maxLength)
        return Problem("must be at most " + std::to_string(maxLength) + " characters");
    if (hasControl(value))
        return Problem("must not contain control characters");
    if (!isValidUtf8(value))
        return Problem("must be UTF-8 text");
    return std::string(value);
}

Result<std::string> messageTemplate(std::string_view value) {
    if (value.find("{code}") == std::string_view::npos)
        return Problem("must contain {code}, or the message would carry no code");
    return freeText(value, 1000);
}

Result<std::string> templateName(std::string_view value) {
    if (hasControlOrSpace(value))
        return Problem("must be a template name, without spaces");
    return freeText(value, 512);
}

Result<std::string> smsSender(std::string_view value) {
    const std::string_view digits = digitsAfterPlus(value);
    const bool numeric = !digits.empty() && digits.size() <= 16 &&
                         std::all_of(digits.begin(), digits.end(), isAsciiDigit);
    const bool alphanumeric = !value.empty() && value.size() <= 11 &&
                              std::all_of(value.begin(), value.end(),
                                          [](char ch) { return isAsciiAlnum(ch) || ch == ' '; });
    if (!numeric && !alphanumeric)
        return Problem("must be up to 11 letters, digits and spaces, or up to 16 digits");
    return std::string(value);
}

Result<std::string> callerId(std::string_view value) {
    const std::string_view digits = digitsAfterPlus(value);
    if (digits.size() < 3 || digits.size() > 16 ||
        !std::all_of(digits.begin(), digits.end(), isAsciiDigit))
        return Problem("must be a phone number: an optional + and 3 to 16 digits");
    return std::string(value);
}

Result<std::string> absolutePath(std::string_view value) {
    if (value.empty() || value.front() != '/')
        return Problem("must be an absolute path");
    if (hasControlOrSpace(value))
        return Problem("must not contain spaces or control characters");
    return std::string(value);
}

Result<std::vector<std::string>> command(std::string_view value) {
    std::vector<std::string> words;
    for (std::string_view word : split(value, kBlanks, EmptyFields::Skip)) {
        if (hasControl(word))
            return Problem("must not contain control characters");
        words.emplace_back(word);
    }
    if (words.empty() || words.front().front() != '/')
        return Problem("must start with the absolute path of a program");
    return words;
}

Result<std::vector<std::string>> names(std::string_view value) {
    std::vector<std::string> names;
    for (std::string_view word : split(value, kBlanks, EmptyFields::Skip)) {
        if (hasControl(word) || !isValidUtf8(word))
            return Problem("names must not contain control characters");
        names.emplace_back(word);
    }
    if (names.empty())
        return Problem("must list at least one name");
    return names;
}

Result<std::vector<Network>> networks(std::string_view value) {
    std::vector<Network> networks;
    for (std::string_view word : split(value, kBlanks, EmptyFields::Skip)) {
        auto network = Network::parse(word);
        if (!network)
            return Problem("'" + sanitizeForMessage(word) +
                           "' is not an IPv4 or IPv6 address or CIDR block (such as 192.0.2.0/24)");
        networks.push_back(*network);
    }
    if (networks.empty())
        return Problem("must list at least one network");
    return networks;
}

}  // namespace verif8::validate
