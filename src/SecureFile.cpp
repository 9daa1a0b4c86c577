// SecureFile: open without following links, check the descriptor, read with a size cap.
#include "verif8/SecureFile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace verif8 {

namespace {
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0)
            close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

SecureFileResult failure(const std::string& path, const std::string& why) {
    SecureFileResult result;
    result.error = path + ": " + why;
    return result;
}

std::string modeText(mode_t mode) {
    char text[8];
    snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// What is wrong with the open file `fd` against `rules` ("" when nothing).
std::string checkOpened(int fd, const std::string& path, const SecureFileRules& rules,
                        bool directory) {
    struct stat info {};
    if (fstat(fd, &info) != 0)
        return path + ": cannot stat: " + strerror(errno);
    if (directory ? !S_ISDIR(info.st_mode) : !S_ISREG(info.st_mode))
        return path + (directory ? ": is not a directory" : ": is not a regular file");
    if (info.st_uid != rules.owner)
        return path + ": must be owned by uid " + std::to_string(rules.owner) +
               " (is owned by uid " + std::to_string(info.st_uid) + ")";
    const mode_t forbidden = rules.privateToOwner ? (S_IRWXG | S_IRWXO) : (S_IWGRP | S_IWOTH);
    if ((info.st_mode & forbidden) != 0)
        return path + ": has mode " + modeText(info.st_mode) + "; it must be " +
               (rules.privateToOwner ? "0600 (no access for group or others)"
                                     : "not writable by group or others");
    if (!directory && static_cast<unsigned long long>(info.st_size) > rules.maxSize)
        return path + ": is larger than " + std::to_string(rules.maxSize) + " bytes";
    return "";
}

std::string openProblem(const std::string& path) {
    if (errno == ELOOP)
        return path + ": is a symbolic link; refusing it";
    return path + ": cannot open: " + strerror(errno);
}
}  // namespace

SecureFileResult readSecureFile(const std::string& path, const SecureFileRules& rules) {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the login.
    FileDescriptor fd(
        open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() < 0) {
        SecureFileResult result;
        result.error = openProblem(path);
        return result;
    }
    if (std::string problem = checkOpened(fd.get(), path, rules, false); !problem.empty()) {
        SecureFileResult result;
        result.error = std::move(problem);
        return result;
    }

    SecureFileResult result;
    char buffer[4096];
    for (;;) {
        const ssize_t got = read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            wipeMemory(buffer, sizeof buffer);
            return failure(path, std::string("cannot read: ") + strerror(errno));
        }
        if (got == 0)
            break;
        // The file may grow between fstat and read; the cap holds for what is read.
        if (result.text.size() + static_cast<std::size_t>(got) > rules.maxSize) {
            wipeMemory(buffer, sizeof buffer);
            return failure(path, "is larger than " + std::to_string(rules.maxSize) + " bytes");
        }
        result.text.append(std::string_view(buffer, static_cast<std::size_t>(got)));
    }
    wipeMemory(buffer, sizeof buffer);
    result.ok = true;
    return result;
}

std::string checkTrustedPath(const std::string& path, const SecureFileRules& rules,
                             TrustedPathKind kind) {
    const bool directory = kind == TrustedPathKind::Directory;
    FileDescriptor fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                                             (directory ? O_DIRECTORY : 0)));
    if (fd.get() < 0)
        return errno == ENOTDIR ? path + ": is not a directory" : openProblem(path);
    return checkOpened(fd.get(), path, rules, directory);
}

}  // namespace verif8
