// SafeFile: open without following links, check the open descriptor, read with a size cap.
#include "verif8/SafeFile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace verif8 {

FileDescriptor::~FileDescriptor() {
    if (fd_ >= 0)
        close(fd_);
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            close(fd_);
        fd_ = other.release();
    }
    return *this;
}

int FileDescriptor::release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

namespace {
Problem problemWith(const std::string& path, const std::string& what) {
    return Problem(path + ": " + what);
}

std::string modeText(mode_t mode) {
    char text[8];
    snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

int openFlags(const FileRules& rules) {
    int flags = O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    if (rules.kind == FileKind::Directory)
        return flags | O_RDONLY | O_DIRECTORY;
    return flags | (rules.createPrivate ? O_RDWR : O_RDONLY);
}

Problem openProblem(const std::string& path, const FileRules& rules, int error) {
    if (error == ELOOP)
        return problemWith(path, "is a symbolic link; refusing it");
    if (error == ENOTDIR && rules.kind == FileKind::Directory)
        return problemWith(path, "is not a directory");
    return problemWith(path, std::string("cannot open: ") + strerror(error));
}

// Under su the effective gid is the caller's (su is setuid, not setgid) and the umask is the
// caller's: what the module creates (as root: its owner is root already) is given root's group
// and its mode explicitly, so that neither decides who may read it.
Result<> makeOwn(const FileDescriptor& file, const std::string& path, mode_t mode) {
    const gid_t group = geteuid() == 0 ? 0 : static_cast<gid_t>(-1);
    if (fchown(file.get(), static_cast<uid_t>(-1), group) != 0 || fchmod(file.get(), mode) != 0)
        return problemWith(path, std::string("cannot set owner and mode: ") + strerror(errno));
    return succeeded();
}

// Opens what is there, or, under createPrivate, creates it first: O_EXCL (mkdir) never creates
// through a link planted in its place, and only what was created here is given its owner and mode.
Result<FileDescriptor> openOrCreate(const std::string& path, const FileRules& rules) {
    const bool directory = rules.kind == FileKind::Directory;
    bool created = false;
    int fd = -1;
    if (rules.createPrivate && directory) {
        created = mkdir(path.c_str(), 0700) == 0;
        if (!created && errno != EEXIST)
            return problemWith(path, std::string("cannot create: ") + strerror(errno));
    } else if (rules.createPrivate) {
        fd = open(path.c_str(), openFlags(rules) | O_CREAT | O_EXCL, 0600);
        created = fd >= 0;
    }
    if (fd < 0)
        fd = open(path.c_str(), openFlags(rules));
    if (fd < 0)
        return openProblem(path, rules, errno);
    FileDescriptor file(fd);
    if (created) {
        if (auto owned = makeOwn(file, path, directory ? 0700 : 0600); !owned)
            return owned.problem();
    }
    return Result<FileDescriptor>(std::move(file));
}

// What is wrong with the open file described by `info` against `rules`, without its path.
std::optional<std::string> findingAbout(const struct stat& info, const FileRules& rules) {
    const bool directory = rules.kind == FileKind::Directory;
    if (directory ? !S_ISDIR(info.st_mode) : !S_ISREG(info.st_mode))
        return directory ? "is not a directory" : "is not a regular file";
    if (info.st_uid != rules.owner)
        return "must be owned by uid " + std::to_string(rules.owner) + " (is owned by uid " +
               std::to_string(info.st_uid) + ")";
    const bool ownerOnly = rules.access == Access::OwnerOnly;
    if ((info.st_mode & (ownerOnly ? 077 : 022)) != 0)
        return "has mode " + modeText(info.st_mode) + "; it must be " +
               (!ownerOnly  ? "not writable by group or others"
                : directory ? "0700 (no access for group or others)"
                            : "0600 (no access for group or others)");
    if (rules.executable && (info.st_mode & S_IXUSR) == 0)
        return std::string("is not executable");
    if (!directory && rules.maxSize &&
        static_cast<unsigned long long>(info.st_size) > *rules.maxSize)
        return "is larger than " + std::to_string(*rules.maxSize) + " bytes";
    return std::nullopt;
}

Result<> checkOpened(const FileDescriptor& file, const std::string& path, const FileRules& rules) {
    struct stat info {};
    if (fstat(file.get(), &info) != 0)
        return problemWith(path, std::string("cannot stat: ") + strerror(errno));
    const auto finding = findingAbout(info, rules);
    if (!finding)
        return succeeded();
    // A state file is the module's own, created private: anything else in its place has always
    // been told as "not a private regular file", now with what is wrong with it.
    if (rules.createPrivate && rules.kind == FileKind::Regular)
        return problemWith(path, "not a private regular file: " + *finding);
    return problemWith(path, *finding);
}
}  // namespace

Result<FileDescriptor> openChecked(const std::string& path, const FileRules& rules) {
    auto opened = openOrCreate(path, rules);
    if (!opened)
        return opened;
    if (auto checked = checkOpened(opened.value(), path, rules); !checked)
        return checked.problem();
    return opened;
}

Result<SecretString> readCapped(const FileDescriptor& file, std::size_t cap) {
    SecretString text;
    char buffer[4096];
    for (off_t at = 0;;) {
        const ssize_t got = pread(file.get(), buffer, sizeof buffer, at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            const Problem problem(std::string("cannot read: ") + strerror(errno));
            wipeMemory(buffer, sizeof buffer);
            return problem;
        }
        if (got == 0)
            break;
        if (text.size() + static_cast<std::size_t>(got) > cap) {
            wipeMemory(buffer, sizeof buffer);
            return Problem("is larger than " + std::to_string(cap) + " bytes");
        }
        text.append(std::string_view(buffer, static_cast<std::size_t>(got)));
        at += got;
    }
    wipeMemory(buffer, sizeof buffer);
    return Result<SecretString>(std::move(text));
}

Result<SecretString> readChecked(const std::string& path, const FileRules& rules) {
    const auto file = openChecked(path, rules);
    if (!file)
        return file.problem();
    auto text = readCapped(file.value(), rules.maxSize.value_or(FileRules().maxSize.value()));
    if (!text)
        return problemWith(path, text.problem().text);
    return text;
}

Result<> checkTrustedPath(const std::string& path, const FileRules& rules) {
    const auto file = openChecked(path, rules);
    if (!file)
        return file.problem();
    return succeeded();
}

}  // namespace verif8
