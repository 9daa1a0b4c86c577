// ConfigUrls: the URL values of pam_verif8.conf (api_url, https_proxy), checked and read.
#include <algorithm>
#include <cctype>

#include "verif8/ConfigValidators.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8::validate {

namespace {

constexpr std::size_t kMaxUrls = 4;

bool isBracketedHost(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
}

bool isNamedHost(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return isAsciiAlnum(c) || c == '-' || c == '.';
    });
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
        if (!isBracketedHost(host))
            return false;
    } else {
        const std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
        if ((colon != std::string_view::npos && port.empty()) || !isNamedHost(host))
            return false;
    }
    if (port.empty())
        return authority.back() != ':';
    const auto number = parseDecimal<long>(port, 9);
    return number && *number >= 1 && *number <= 65535;
}

std::string_view withoutTrailingSlashes(std::string_view text) {
    while (!text.empty() && text.back() == '/')
        text.remove_suffix(1);
    return text;
}

// An https URL without userinfo, query or fragment, returned without trailing slashes.
Result<std::string> httpsUrl(std::string_view value) {
    constexpr std::string_view kScheme = "https://";
    if (value.substr(0, kScheme.size()) != kScheme)
        return Problem("must start with https:// (plain HTTP would expose the API key and codes)");
    const std::string_view rest = withoutTrailingSlashes(value.substr(kScheme.size()));
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.empty())
        return Problem("has no host");
    if (hasControlOrSpace(rest) || rest.find_first_of("?#@\\,") != std::string_view::npos ||
        !isHostAndPort(authority))
        return Problem("must be a plain https://host[:port][/path] URL");
    return std::string(kScheme) + std::string(rest);
}

// The port of a proxy, after its last ']' when it is an IPv6 address.
bool hasPort(std::string_view authority) {
    const std::size_t bracket = authority.rfind(']');
    return !authority.empty() && authority.back() != ']' &&
           authority.find(':', bracket == std::string_view::npos ? 0 : bracket) !=
               std::string_view::npos;
}

}  // namespace

Result<std::vector<std::string>> httpsUrls(std::string_view value) {
    std::vector<std::string> urls;
    for (std::string_view word : split(value, kBlanks, EmptyFields::Skip)) {
        Result<std::string> url = httpsUrl(word);
        if (!url) {
            // A URL with user information may carry a password: never quote it.
            const bool secret = word.find('@') != std::string_view::npos;
            return Problem((secret ? std::string("a URL") : "'" + sanitizeForMessage(word) + "'") +
                           " " + url.problem().text);
        }
        urls.push_back(std::move(url).value());
    }
    if (urls.empty())
        return Problem("must list at least one URL");
    if (urls.size() > kMaxUrls)
        return Problem("takes at most " + std::to_string(kMaxUrls) + " URLs");
    return urls;
}

// The proxy may speak http or https to us; the API traffic inside it is TLS either way. Never
// quotes the value: it may hold a password.
Result<std::string> proxyUrl(std::string_view value) {
    std::string_view scheme;
    for (std::string_view candidate : {"http://", "https://"}) {
        if (value.substr(0, candidate.size()) == candidate)
            scheme = candidate;
    }
    const std::string_view rest = withoutTrailingSlashes(value.substr(scheme.size()));
    const std::size_t at = rest.rfind('@');
    const std::string_view authority = at == std::string_view::npos ? rest : rest.substr(at + 1);
    // The port is required: curl would otherwise pick 1080, which is not what anybody meant.
    if (scheme.empty() || authority.empty() || hasControlOrSpace(rest) ||
        authority.find('/') != std::string_view::npos || !isHostAndPort(authority) ||
        !hasPort(authority))
        return Problem("must be http://host:port or https://host:port (user:password@ allowed)");
    return std::string(scheme) + std::string(rest);
}

}  // namespace verif8::validate
