// CallerEnvironment: libcurl and OpenSSL see no variable of the caller's, and the caller's
// environment is as it was afterwards; the log names the risky variables a caller set.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/CallerEnvironment.hpp"

extern char** environ;

using namespace verif8;

static void inside_the_scope_nothing_of_the_callers_is_visible(void**) {
    assert_int_equal(setenv("SSLKEYLOGFILE", "/etc/ld.so.preload", 1), 0);
    assert_int_equal(setenv("OPENSSL_CONF", "/tmp/evil.cnf", 1), 0);
    assert_int_equal(setenv("https_proxy", "http://127.0.0.1:9", 1), 0);
    char** const before = environ;
    {
        const IsolatedEnvironment isolated;
        assert_null(getenv("SSLKEYLOGFILE"));
        assert_null(getenv("OPENSSL_CONF"));
        assert_null(getenv("https_proxy"));
        assert_null(getenv("PATH"));
        assert_null(secure_getenv("SSLKEYLOGFILE"));
        assert_non_null(environ);
        assert_null(environ[0]);
    }
    // The very list the host had, with every value as it was.
    assert_ptr_equal(environ, before);
    expect_str(std::string(getenv("SSLKEYLOGFILE")), "/etc/ld.so.preload");
    expect_str(std::string(getenv("OPENSSL_CONF")), "/tmp/evil.cnf");
    expect_str(std::string(getenv("https_proxy")), "http://127.0.0.1:9");
    unsetenv("SSLKEYLOGFILE");
    unsetenv("OPENSSL_CONF");
    unsetenv("https_proxy");
}

// One environment of both lists, interleaved: the report names the risky ones, in order.
static void only_the_risky_variables_are_reported(void**) {
    const std::vector<std::string> risky = {"SSLKEYLOGFILE=/etc/ld.so.preload",
                                            "OPENSSL_CONF=/x",
                                            "OPENSSL_MODULES=/x",
                                            "SSL_CERT_FILE=/x",
                                            "SSL_CERT_DIR=/x",
                                            "CURL_CA_BUNDLE=/x",
                                            "http_proxy=h",
                                            "HTTPS_PROXY=h",
                                            "ALL_PROXY=h",
                                            "no_proxy=*",
                                            "NO_PROXY=*",
                                            "KRB5_TRACE=/x",
                                            "OPENSSL_ia32cap=~0",
                                            "CTLOG_FILE=/x",
                                            "QLOGDIR=/x",
                                            "OSSL_QFILTER=*",
                                            "LDAPRC=/x",
                                            "CURL_SSL_BACKEND=x"};
    const std::vector<std::string> ordinary = {
        "PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=xterm", "SSH_CONNECTION=1 2 3 4",
        "PROXY=x",       "SSLKEY=x",   "USER=root",    "=odd",       "NOEQUALS"};
    std::vector<std::string> entries;
    std::string expected;
    for (std::size_t i = 0; i < risky.size(); ++i) {
        entries.push_back(risky[i]);
        expected += risky[i].substr(0, risky[i].find('=')) + " ";
        if (i < ordinary.size())
            entries.push_back(ordinary[i]);
    }
    std::vector<char*> environment;
    for (auto& entry : entries)
        environment.push_back(entry.data());
    environment.push_back(nullptr);
    std::string reported;
    for (const auto& name : riskyVariables(environment.data()))
        reported += name + " ";
    expect_str(reported, expected);
}

static void a_null_environment_is_empty(void**) {
    assert_true(riskyVariables(nullptr).empty());
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inside_the_scope_nothing_of_the_callers_is_visible),
        cmocka_unit_test(only_the_risky_variables_are_reported),
        cmocka_unit_test(a_null_environment_is_empty),
    };
    return cmocka_run_group_tests_name("caller_environment", tests, nullptr, nullptr);
}
