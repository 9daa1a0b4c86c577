// pam_entry: the module's C boundary, the only place that defines pam_sm_* functions.
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include <exception>

#include "PamLogger.hpp"
#include "PamLogin.hpp"
#include "verif8/Outcome.hpp"

#define VERIF8_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
// The outcome table's line and code for an exception that reached the boundary. Nothing here
// allocates, so it cannot throw again.
int internalError(pam_handle_t* pamh, const char* why) noexcept {
    const verif8::OutcomeFacts& facts = verif8::factsOf(verif8::Outcome::InternalError);
    pam_syslog(pamh, verif8::syslogPriority(facts.level), "outcome=%.*s reason=\"%s\"",
               static_cast<int>(facts.name.size()), facts.name.data(), why);
    return facts.pamCode;
}
}  // namespace

// An exception crossing into sshd or login would end the host process: every entry point
// catches everything and fails closed.
VERIF8_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int flags, int argc, const char** argv) {
    try {
        return verif8::authenticateLogin(pamh, flags, argc, argv);
    } catch (const std::exception& error) {
        return internalError(pamh, error.what());
    } catch (...) {
        return internalError(pamh, "unknown exception");
    }
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
