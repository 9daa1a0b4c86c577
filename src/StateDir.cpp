// StateDir: checks of the state directory and file names inside it.
#include "verif8/StateDir.hpp"

#include <sys/file.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace verif8 {

namespace {
// state_dir and its subdirectories: root's, readable by others only if the admin made them so.
FileRules directoryRules(uid_t owner, bool create) {
    FileRules rules;
    rules.kind = FileKind::Directory;
    rules.owner = owner;
    rules.access = Access::OthersMayRead;
    rules.createPrivate = create;
    return rules;
}
}  // namespace

Result<> prepareStateDirectory(const std::string& path, uid_t owner) {
    return checkTrustedPath(path, directoryRules(owner, true));
}

Result<> checkStateDirectory(const std::string& path, uid_t owner) {
    return checkTrustedPath(path, directoryRules(owner, false));
}

Result<FileDescriptor> openStateFile(const std::string& path, uid_t owner) {
    FileRules rules;
    rules.owner = owner;
    rules.maxSize = std::nullopt;
    rules.createPrivate = true;
    return openChecked(path, rules);
}

Locking lockStateFile(const FileDescriptor& file, bool exclusive, const std::string& path,
                      int waitMs) {
    struct timespec start {};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (flock(file.get(), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
            return {LockVerdict::Locked, std::nullopt};
        if (errno != EWOULDBLOCK && errno != EINTR)
            return {LockVerdict::Unavailable, Problem(path + ": cannot lock: " + strerror(errno))};
        struct timespec now {};
        clock_gettime(CLOCK_MONOTONIC, &now);
        const long waitedMs =
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waitedMs >= waitMs)
            return {LockVerdict::Busy, Problem(path + ": locked by another process for " +
                                               std::to_string(waitedMs) + " ms")};
        const struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, nullptr);
    }
}

std::string stateFileName(const std::string& key) {
    std::uint64_t hash = 1469598103934665603ULL;
    for (unsigned char c : key) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    char text[17];
    snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

}  // namespace verif8
