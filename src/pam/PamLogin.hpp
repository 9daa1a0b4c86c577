// PamLogin: one pam_sm_authenticate call, from the PAM handle to a PAM return code.
#pragma once

#include <security/pam_modules.h>

namespace verif8 {

// May throw; pam_entry.cpp catches everything.
int authenticateLogin(pam_handle_t* pamh, int flags, int argc, const char** argv);

}  // namespace verif8
