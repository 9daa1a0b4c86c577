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

namespace {
std::vector<std::string> risky(std::vector<std::string> entries) {
    std::vector<char*> list;
    for (auto& entry : entries)
        list.push_back(entry.data());
    list.push_back(nullptr);
    return riskyVariables(list.data());
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
    for (const auto& each : names) {
        if (each == name)
            return true;
    }
    return false;
}
}  // namespace

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

static void the_risky_names_are_found(void**) {
    const auto names =
        risky({"SSLKEYLOGFILE=/etc/ld.so.preload", "OPENSSL_CONF=/x", "OPENSSL_MODULES=/x",
               "SSL_CERT_FILE=/x", "SSL_CERT_DIR=/x", "CURL_CA_BUNDLE=/x", "http_proxy=h",
               "HTTPS_PROXY=h", "ALL_PROXY=h", "no_proxy=*", "NO_PROXY=*", "KRB5_TRACE=/x",
               "OPENSSL_ia32cap=~0", "CTLOG_FILE=/x", "QLOGDIR=/x", "OSSL_QFILTER=*", "LDAPRC=/x",
               "CURL_SSL_BACKEND=x"});
    for (const char* name : {"SSLKEYLOGFILE", "OPENSSL_CONF", "OPENSSL_MODULES", "SSL_CERT_FILE",
                             "SSL_CERT_DIR", "CURL_CA_BUNDLE", "http_proxy", "HTTPS_PROXY",
                             "ALL_PROXY", "no_proxy", "NO_PROXY", "KRB5_TRACE"}) {
        if (!contains(names, name)) {
            print_error("%s not found\n", name);
            fail();
        }
    }
}

static void ordinary_variables_are_not_reported(void**) {
    const auto names =
        risky({"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "TERM=xterm",
               "SSH_CONNECTION=1 2 3 4", "PROXY=x", "SSLKEY=x", "USER=root", "=odd", "NOEQUALS"});
    if (!names.empty()) {
        print_error("reported: %s\n", names.front().c_str());
        fail();
    }
}

static void a_null_environment_is_empty(void**) {
    assert_true(riskyVariables(nullptr).empty());
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inside_the_scope_nothing_of_the_callers_is_visible),
        cmocka_unit_test(the_risky_names_are_found),
        cmocka_unit_test(ordinary_variables_are_not_reported),
        cmocka_unit_test(a_null_environment_is_empty),
    };
    return cmocka_run_group_tests_name("caller_environment", tests, nullptr, nullptr);
}
