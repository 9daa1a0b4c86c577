// SecureFile: reads a root-owned settings file without following links or trusting its mode.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "verif8/SecretString.hpp"

namespace verif8 {

struct SecureFileRules {
    uid_t owner = 0;
    std::size_t maxSize = 64 * 1024;
    bool privateToOwner = true;  // no read or write bits for group and others
    // Used when privateToOwner is false: group and others may read, never write.
};

struct SecureFileResult {
    bool ok = false;
    SecretString text;  // the contents: config files hold the API key, so they are secret
    std::string error;  // what was wrong, naming the path
};

// Opens with O_NOFOLLOW and checks the open descriptor (fstat), so the file checked is the file
// read: a regular file, owned by rules.owner, with no permission bits it should not have, and no
// larger than rules.maxSize.
SecureFileResult readSecureFile(const std::string& path, const SecureFileRules& rules);

enum class TrustedPathKind { File, Directory };

// The same checks for a file or directory the module hands to a library by path instead of
// reading it (ca_file, ca_path: OpenSSL reads them as root). What is wrong, or "".
std::string checkTrustedPath(const std::string& path, const SecureFileRules& rules,
                             TrustedPathKind kind);

}  // namespace verif8
