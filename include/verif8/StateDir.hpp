// StateDir: the root-only directory (state_dir) where the module keeps what outlives one process.
#pragma once

#include <sys/types.h>

#include <string>

#include "verif8/Result.hpp"
#include "verif8/SafeFile.hpp"

namespace verif8 {

// Creates `path` (mode 0700, root's group, whatever the umask) if missing, then checks it is a real
// directory (not a link) owned by `owner` and not writable by group or others.
Result<> prepareStateDirectory(const std::string& path, uid_t owner = kTrustedOwner);

// The same checks, without creating it (verif8ctl check-config).
Result<> checkStateDirectory(const std::string& path, uid_t owner = kTrustedOwner);

// Opens a state file for reading and writing, creating it root-owned (group 0) with mode 0600
// whatever the caller's umask and group; an existing one must be a regular file (not a link) of
// `owner` with no access for group or others. Any size: its reader judges what it holds.
Result<FileDescriptor> openStateFile(const std::string& path, uid_t owner = kTrustedOwner);

// The two above in the form SessionStore.cpp calls them until it moves to them: what is wrong
// or "", and the descriptor or -1 with `problem` set. Nothing else may call these.
std::string preparePrivateDirectory(const std::string& path, uid_t owner);
int openPrivateFile(const std::string& path, uid_t owner, std::string& problem);

// How long a login waits for a lock on a state file. The module's own holders keep one for
// microseconds (no network I/O under a lock) and where the caller of su cannot stop them
// (Unstoppable.hpp), so one held longer belongs to a process root has stopped (a debugger):
// waiting on it for good would hold every login up. A login that waits this long sends nothing.
constexpr int kStateLockWaitMs = 2000;

// flock(2)s `fd` (shared or exclusive), retrying for up to `waitMs`. Returns what went wrong,
// naming `path`, or "" once the lock is held.
// `timedOut` (when given) tells a lock held by another process past the wait from other errors.
std::string lockStateFile(int fd, bool exclusive, const std::string& path, int waitMs,
                          bool* timedOut = nullptr);

// A file name for a key of any content (user names, hosts, login keys): 16 hex digits of its
// FNV-1a hash, so that no key can reach outside the directory.
std::string stateFileName(const std::string& key);

}  // namespace verif8
