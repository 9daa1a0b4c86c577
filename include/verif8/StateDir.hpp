// StateDir: the root-only directory (state_dir) where the module keeps what outlives one process.
#pragma once

#include <sys/types.h>

#include <string>

namespace verif8 {

// Creates `path` (mode 0700) if missing, then checks it is a real directory (not a link) owned by
// `owner` and not writable by group or others. Returns what is wrong, or "" when it can be used.
std::string preparePrivateDirectory(const std::string& path, uid_t owner);

// A file name for a key of any content (user names, hosts, login keys): 16 hex digits of its
// FNV-1a hash, so that no key can reach outside the directory.
std::string stateFileName(const std::string& key);

}  // namespace verif8
