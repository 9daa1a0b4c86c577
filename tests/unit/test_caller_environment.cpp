// CallerEnvironment: libcurl and OpenSSL see no variable of the caller's, and the caller's
// environment is as it was afterwards; the log names the risky variables a caller set.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/CallerEnvironment.hpp"

extern char** environ;

using namespace verif8;

static void inside_the_scope_nothing_of_the_callers_is_visible(void**) {
    const std::pair<const char*, const char*> set[] = {{"SSLKEYLOGFILE", "/etc/ld.so.preload"},
                                                       {"OPENSSL_CONF", "/tmp/evil.cnf"},
                                                       {"https_proxy", "http://127.0.0.1:9"}};
    for (const auto& [name, value] : set)
        assert_int_equal(setenv(name, value, 1), 0);
    char** const before = environ;
    {
        const IsolatedEnvironment isolated;
        for (const char* name : {"SSLKEYLOGFILE", "OPENSSL_CONF", "https_proxy", "PATH"})
            assert_null(getenv(name));
        assert_null(secure_getenv("SSLKEYLOGFILE"));
        assert_non_null(environ);
        assert_null(environ[0]);
    }
    // The very list the host had, with every value as it was.
    assert_ptr_equal(environ, before);
    for (const auto& [name, value] : set) {
        expect_str(std::string(getenv(name)), value);
        unsetenv(name);
    }
}

// One environment of both lists, interleaved: the report names the risky ones, in order. A null
// environment is empty.
static void only_the_risky_variables_are_reported(void**) {
    std::istringstream riskyText(
        "SSLKEYLOGFILE=/etc/ld.so.preload OPENSSL_CONF=/x OPENSSL_MODULES=/x SSL_CERT_FILE=/x "
        "SSL_CERT_DIR=/x CURL_CA_BUNDLE=/x http_proxy=h HTTPS_PROXY=h ALL_PROXY=h no_proxy=* "
        "NO_PROXY=* KRB5_TRACE=/x OPENSSL_ia32cap=~0 CTLOG_FILE=/x QLOGDIR=/x OSSL_QFILTER=* "
        "LDAPRC=/x CURL_SSL_BACKEND=x");
    const std::vector<std::string> ordinary = {
        "PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=xterm", "SSH_CONNECTION=1 2 3 4",
        "PROXY=x",       "SSLKEY=x",   "USER=root",    "=odd",       "NOEQUALS"};
    std::vector<std::string> entries;
    std::string expected;
    for (std::string risky; riskyText >> risky;) {
        entries.push_back(risky);
        expected += risky.substr(0, risky.find('=')) + " ";
        if (entries.size() / 2 < ordinary.size())
            entries.push_back(ordinary[entries.size() / 2]);
    }
    std::vector<char*> environment;
    for (auto& entry : entries)
        environment.push_back(entry.data());
    environment.push_back(nullptr);
    std::string reported;
    for (const auto& name : riskyVariables(environment.data()))
        reported += name + " ";
    expect_str(reported, expected);
    assert_true(riskyVariables(nullptr).empty());
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inside_the_scope_nothing_of_the_callers_is_visible),
        cmocka_unit_test(only_the_risky_variables_are_reported),
    };
    return cmocka_run_group_tests_name("caller_environment", tests, nullptr, nullptr);
}
