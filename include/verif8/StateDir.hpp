// StateDir: the root-only directory (state_dir) where the module keeps what outlives one process.
#pragma once

#include <sys/types.h>

#include <optional>
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

// How long a login waits for a lock on a state file. The module's own holders keep one for
// microseconds (no network I/O under a lock) and where the caller of su cannot stop them
// (Unstoppable.hpp), so one held longer belongs to a process root has stopped (a debugger):
// waiting on it for good would hold every login up. A login that waits this long sends nothing.
constexpr int kStateLockWaitMs = 2000;

enum class LockVerdict {
    Locked,
    Busy,         // another process held the lock past the wait (`problem` says by what)
    Unavailable,  // the file cannot be opened or locked (`problem` says why)
};

struct Locking {
    LockVerdict verdict = LockVerdict::Unavailable;
    std::optional<Problem> problem;  // Busy, Unavailable
};

// flock(2)s `file` (shared or exclusive), retrying for up to `waitMs`; problems name `path`.
Locking lockStateFile(const FileDescriptor& file, bool exclusive, const std::string& path,
                      int waitMs);

// A file name for a key of any content (user names, hosts, login keys): 16 hex digits of its
// FNV-1a hash, so that no key can reach outside the directory.
std::string stateFileName(const std::string& key);

}  // namespace verif8
