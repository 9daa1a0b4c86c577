// StateDir: checks of the state directory and file names inside it.
#include "verif8/StateDir.hpp"

#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace verif8 {

std::string preparePrivateDirectory(const std::string& path, uid_t owner) {
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        return path + ": cannot create: " + strerror(errno);
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

std::string lockStateFile(int fd, bool exclusive, const std::string& path, int waitMs) {
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
        if (waitedMs >= waitMs)
            return path + ": locked by another process for " + std::to_string(waitedMs) + " ms";
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
