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

// What the libraries read, from their sources (curl-7_88_1 and curl-8_14_1, Debian 12 and 13;
// curl-7_76_1 for RHEL 9 reads the same; OpenSSL 3.0 and 3.5):
// - libcurl: SSLKEYLOGFILE (lib/vtls/keylog.c, opened for append at global init: the way to a
//   root-owned world-writable file), <scheme>_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY
//   (lib/url.c), CURL_SSL_BACKEND (lib/vtls/vtls.c), HOME and CURL_HOME for .netrc
//   (lib/netrc.c), QLOGDIR (lib/vquic/vquic.c), SSL_DIR (lib/vtls/nss.c), NTLMUSER (lib/
//   curl_ntlm_wb.c) and, in debug builds, CURL_DEBUG, CURL_ENTROPY and other CURL_* names.
//   All with plain getenv (lib/getenv.c), which a setuid program's AT_SECURE does not hide.
// - OpenSSL: OPENSSL_CONF and OPENSSL_CONF_INCLUDE (a config can load a provider or an engine:
//   code), OPENSSL_MODULES, OPENSSL_ENGINES, SSL_CERT_FILE and SSL_CERT_DIR (the trust store),
//   CTLOG_FILE, RANDFILE, OPENSSL_TRACE, OPENSSL_ia32cap and the other *cap masks (read with
//   plain getenv at load), QLOGDIR and OSSL_QFILTER (QUIC logs, 3.2+), SSLKEYLOGFILE (3.5 built
//   with enable-sslkeylog). Most are read with secure_getenv, which a setuid program's AT_SECURE
//   hides; a module must not rely on that (a root process started otherwise has no AT_SECURE).
// - Libraries libcurl links on Debian: Kerberos (KRB5_CONFIG, KRB5CCNAME, KRB5_TRACE writes a
//   file), OpenLDAP (LDAPCONF, LDAPRC, LDAPNOINIT...).
// HOME is hidden from them too, but not reported: every environment has it, and libcurl reads
// it only for .netrc, which the module never asks for.
constexpr std::array<std::string_view, 7> kRiskyNames = {
    "SSLKEYLOGFILE", "SSL_DIR", "CTLOG_FILE", "RANDFILE", "QLOGDIR", "NTLMUSER", "NO_PROXY"};
constexpr std::array<std::string_view, 7> kRiskyPrefixes = {
    "CURL_", "OPENSSL_", "OSSL_", "SSL_CERT_", "KRB5", "LDAP", "GSS_"};

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
