// An exception thrown inside a login stops at the module's boundary (pam_entry.cpp): the host
// gets the outcome table's code for internal_error and one outcome line, never the exception.
//
// This program exports its own pam_get_user and pam_syslog (export_dynamic): the module, loaded
// with dlopen, binds to them before libpam's. pam_get_user is the first thing a login asks of
// libpam, and here it throws what the test chooses, through the module's frames.
#include <dlfcn.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include <cstdarg>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "../unit/cmocka.hpp"

namespace {
std::string modulePath;
int throwWhat = 0;  // 1: a std::exception, 2: an int
int getUserCalls = 0;
std::string logged;
int loggedPriority = -1;

using Entry = int (*)(pam_handle_t*, int, int, const char**);

int authenticateThrowing(int what) {
    void* module = dlopen(modulePath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (module == nullptr)
        fail_msg("dlopen: %s", dlerror());
    auto entry = reinterpret_cast<Entry>(dlsym(module, "pam_sm_authenticate"));
    assert_non_null(entry);
    throwWhat = what;
    getUserCalls = 0;
    logged.clear();
    const char* argv[] = {"conf=/nonexistent/pam_verif8.conf"};
    // The handle is never dereferenced: every call that would use it is this program's.
    const int code = entry(reinterpret_cast<pam_handle_t*>(&throwWhat), 0, 1, argv);
    dlclose(module);
    return code;
}
}  // namespace

extern "C" int pam_get_user(pam_handle_t*, const char**, const char*) {
    ++getUserCalls;
    if (throwWhat == 1)
        throw std::runtime_error("thrown by the test's pam_get_user");
    throw 42;
}

extern "C" void pam_syslog(const pam_handle_t*, int priority, const char* format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    logged += line;
    loggedPriority = priority;
}

static void a_std_exception_becomes_internal_error(void**) {
    assert_int_equal(authenticateThrowing(1), PAM_SERVICE_ERR);
    assert_int_equal(getUserCalls, 1);  // it got there: the throw came from inside the login
    assert_string_equal(logged.c_str(),
                        "outcome=internal_error reason=\"thrown by the test's pam_get_user\"");
    assert_int_equal(loggedPriority, LOG_ERR);
}

static void any_other_throw_becomes_internal_error(void**) {
    assert_int_equal(authenticateThrowing(2), PAM_SERVICE_ERR);
    assert_int_equal(getUserCalls, 1);
    assert_string_equal(logged.c_str(), "outcome=internal_error reason=\"unknown exception\"");
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE.so\n", argv[0]);
        return 2;
    }
    modulePath = argv[1];
    const CMUnitTest tests[] = {
        cmocka_unit_test(a_std_exception_becomes_internal_error),
        cmocka_unit_test(any_other_throw_becomes_internal_error),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
