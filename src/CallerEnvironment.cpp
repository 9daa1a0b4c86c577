// CallerEnvironment: an empty environment around libcurl and OpenSSL, and the risky names.
#include "verif8/CallerEnvironment.hpp"

#include <unistd.h>

#include <array>
#include <cstring>
#include <string_view>

extern char** environ;

namespace verif8 {

namespace {
// Stays valid for the life of the process: a thread that libcurl leaves running (its threaded
// resolver, after a timeout) may still read it after the scope has ended.
char* emptyEnvironment[] = {nullptr};

constexpr std::array<std::string_view, 3> kRiskyNames = {"SSLKEYLOGFILE", "NO_PROXY", "no_proxy"};
constexpr std::array<std::string_view, 4> kRiskyPrefixes = {"CURL_", "OPENSSL_", "SSL_CERT_",
                                                            "KRB5"};

bool isRisky(std::string_view name) {
    for (std::string_view exact : kRiskyNames) {
        if (name == exact)
            return true;
    }
    for (std::string_view prefix : kRiskyPrefixes) {
        if (name.substr(0, prefix.size()) == prefix)
            return true;
    }
    // <scheme>_proxy in either case (http_proxy, HTTPS_PROXY, ftp_proxy...), read per transfer.
    constexpr std::string_view kProxy = "_proxy";
    if (name.size() > kProxy.size()) {
        const std::string_view tail = name.substr(name.size() - kProxy.size());
        if (strncasecmp(tail.data(), kProxy.data(), kProxy.size()) == 0)
            return true;
    }
    return false;
}
}  // namespace

IsolatedEnvironment::IsolatedEnvironment() : saved_(environ) {
    environ = emptyEnvironment;
}

IsolatedEnvironment::~IsolatedEnvironment() {
    environ = saved_;
}

std::vector<std::string> riskyVariables(char* const* environment) {
    std::vector<std::string> names;
    if (environment == nullptr)
        return names;
    for (char* const* entry = environment; *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const std::string_view name = text.substr(0, text.find('='));
        if (!name.empty() && isRisky(name))
            names.emplace_back(name);
    }
    return names;
}

}  // namespace verif8
