// pam_entry: the module's C boundary, the only place that defines pam_sm_* functions.
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include <exception>

#include "PamLogin.hpp"

#define VERIF8_EXPORT extern "C" __attribute__((visibility("default")))

// An exception crossing into sshd or login would end the host process: every entry point
// catches everything and fails closed.
VERIF8_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    try {
        return verif8::authenticateLogin(pamh, flags, argc, argv);
    } catch (const std::exception& error) {
        pam_syslog(pamh, LOG_ERR, "outcome=internal_error reason=\"%s\"", error.what());
    } catch (...) {
        pam_syslog(pamh, LOG_ERR, "outcome=internal_error reason=\"unknown exception\"");
    }
    return PAM_SERVICE_ERR;
}

// The module sets no credentials; PAM_SUCCESS keeps `auth` stacks that call setcred working.
VERIF8_EXPORT int pam_sm_setcred(pam_handle_t* /*pamh*/, int /*flags*/, int /*argc*/,
                                 const char** /*argv*/) {
    try {
        return PAM_SUCCESS;
    } catch (...) {
        return PAM_SERVICE_ERR;
    }
}
