// StateDir: checks of the state directory and file names inside it.
#include "verif8/StateDir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace verif8 {

namespace {
// Under su the effective gid is the caller's (su is setuid, not setgid) and the umask is the
// caller's: what the module creates (as root: its owner is root already) is given root's group
// and mode `mode` explicitly, so that neither decides who may read it.
bool makeOwn(int fd, mode_t mode) {
    const gid_t group = geteuid() == 0 ? 0 : static_cast<gid_t>(-1);
    return fchown(fd, static_cast<uid_t>(-1), group) == 0 && fchmod(fd, mode) == 0;
}
}  // namespace

std::string preparePrivateDirectory(const std::string& path, uid_t owner) {
    if (mkdir(path.c_str(), 0700) == 0) {
        const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const bool owned = fd >= 0 && makeOwn(fd, 0700);
        const int error = errno;
        if (fd >= 0)
            close(fd);
        if (!owned)
            return path + ": cannot set owner and mode: " + strerror(error);
    } else if (errno != EEXIST) {
        return path + ": cannot create: " + strerror(errno);
    }
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0)
        return path + ": " + strerror(errno);
    if (!S_ISDIR(info.st_mode))
        return path + ": not a directory";
    if (info.st_uid != owner)
        return path + ": must be owned by uid " + std::to_string(owner);
    if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return path + ": must not be writable by group or others";
    return "";
}

int openPrivateFile(const std::string& path, uid_t owner, std::string& problem) {
    constexpr int kFlags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    int fd = open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && !makeOwn(fd, 0600)) {
        problem = path + ": cannot set owner and mode: " + strerror(errno);
        close(fd);
        return -1;
    }
    if (fd < 0 && errno == EEXIST)
        fd = open(path.c_str(), kFlags);
    if (fd < 0) {
        problem = path + ": " + (errno == ELOOP ? "is a symbolic link" : strerror(errno));
        return -1;
    }
    struct stat info {};
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != owner ||
        (info.st_mode & 077) != 0) {
        problem = path + ": not a private regular file of uid " + std::to_string(owner);
        close(fd);
        return -1;
    }
    return fd;
}

std::string lockStateFile(int fd, bool exclusive, const std::string& path, int waitMs,
                          bool* timedOut) {
    struct timespec start {};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
            return "";
        if (errno != EWOULDBLOCK && errno != EINTR)
            return path + ": cannot lock: " + strerror(errno);
        struct timespec now {};
        clock_gettime(CLOCK_MONOTONIC, &now);
        const long waitedMs =
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waitedMs >= waitMs) {
            if (timedOut != nullptr)
                *timedOut = true;
            return path + ": locked by another process for " + std::to_string(waitedMs) + " ms";
        }
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
