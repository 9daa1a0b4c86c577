// CallerEnvironment: keeps the environment of the process that called libpam away from the
// libraries the module runs with root's rights (libcurl, OpenSSL and what they load).
#pragma once

#include <string>
#include <vector>

namespace verif8 {

// While one lives, the process's environment is empty: `environ` points at an empty list, and
// the caller's own list is put back, untouched, when it ends. Under su, sudo or pkexec the
// caller chooses every variable and libpam runs the module as root in that process: libcurl
// would open $SSLKEYLOGFILE for append as root, OpenSSL would load $OPENSSL_CONF, proxies would
// see the API key. An empty environment shuts out every variable they read, including any a
// later release adds, without changing what the host process sees once the module returns.
// Not for use across a call that sets variables (nothing in libcurl or OpenSSL does); not
// nestable by design: scopes are short and only CurlVerifyClient opens them.
class IsolatedEnvironment {
public:
    IsolatedEnvironment();
    ~IsolatedEnvironment();
    IsolatedEnvironment(const IsolatedEnvironment&) = delete;
    IsolatedEnvironment& operator=(const IsolatedEnvironment&) = delete;

private:
    char** saved_;
};

// The names in `environment` (a NULL-terminated "NAME=value" list, such as `environ`) that
// libcurl, OpenSSL or the libraries they load read to write files, load code, change the trust
// store or route traffic: what an attack through the environment would set. For the log only;
// IsolatedEnvironment does not depend on this list being complete.
std::vector<std::string> riskyVariables(char* const* environment);

}  // namespace verif8
