// SafeFile: the one way the module opens a file or directory it trusts, and the rules it keeps.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "verif8/Result.hpp"
#include "verif8/SecretString.hpp"

namespace verif8 {

// Root owns every file the module trusts. One constant, so that verif8ctl check-config checks
// them with the module's owner; tests pass their own uid instead.
inline constexpr uid_t kTrustedOwner = 0;

// Owns an open file descriptor and closes it when destroyed (which also drops a flock on it).
class FileDescriptor {
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor();
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
    FileDescriptor& operator=(FileDescriptor&& other) noexcept;
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const { return fd_; }
    // Hands the descriptor over to the caller, who closes it; this object then owns nothing.
    int release();

private:
    int fd_ = -1;
};

enum class FileKind { Regular, Directory };

// What group and others may do with it.
enum class Access {
    OwnerOnly,     // nothing: files holding secrets (the config, the API key) and state files
    OthersMayRead  // read and run, never write: the users file, CAs, phone_command, state_dir
};

struct FileRules {
    FileKind kind = FileKind::Regular;
    uid_t owner = kTrustedOwner;
    Access access = Access::OwnerOnly;
    // A regular file larger than this is refused when opened, and readChecked reads no more.
    // Unset: any size (state files, whose readers judge an oversized one damaged themselves).
    std::optional<std::size_t> maxSize = std::size_t{64 * 1024};
    bool executable = false;  // the owner's execute bit must be set (phone_command)
    // State files and state directories: created when missing with root's group and mode 0600
    // (0700), whatever the caller's umask and group; a regular file is opened for writing too.
    bool createPrivate = false;
};

// Opens `path` without following a symbolic link (O_NOFOLLOW, O_CLOEXEC, O_NONBLOCK so that a
// FIFO put in its place cannot hang the login), then checks the open descriptor with fstat:
// kind, owner, permission bits and size. The file checked is the file read, or run: no window in
// which it could be swapped. The problem names the path and what is wrong with it.
Result<FileDescriptor> openChecked(const std::string& path, const FileRules& rules);

// Reads the whole file from its start, whatever the descriptor's offset, refusing it once more
// than `cap` bytes have been read (a file may grow after it was checked). Its problem says what
// went wrong; the caller names the file.
Result<SecretString> readCapped(const FileDescriptor& file, std::size_t cap);

// openChecked, then readCapped with the rules' size cap: settings files. Secret, since the
// config and the API key file hold the key.
Result<SecretString> readChecked(const std::string& path, const FileRules& rules);

// The same checks for a file or directory the module hands to a library by path instead of
// reading it (ca_file, ca_path: OpenSSL reads them as root).
Result<> checkTrustedPath(const std::string& path, const FileRules& rules);

}  // namespace verif8
