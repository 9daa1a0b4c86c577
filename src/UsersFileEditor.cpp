// UsersFileEditor: one user's lines changed in the users file, atomically and under a lock.
#include "verif8/UsersFileEditor.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "verif8/Enrolment.hpp"
#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
// A line as read, with its ending ("\n", "\r\n", or none for a last line without one).
std::string_view endingOf(std::string_view raw) {
    if (raw.size() >= 2 && raw.substr(raw.size() - 2) == "\r\n")
        return raw.substr(raw.size() - 2);
    if (!raw.empty() && raw.back() == '\n')
        return raw.substr(raw.size() - 1);
    return {};
}
}  // namespace

Result<UsersTextChange> changeUserLines(std::string_view text, std::string_view user,
                                        const std::optional<std::string>& line) {
    if (user.empty())
        return Problem("no user name given");
    UsersTextChange change;
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t newline = text.find('\n', at);
        const std::size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
        const std::string_view raw = text.substr(at, end - at);
        at = end;
        const std::string_view ending = endingOf(raw);
        if (enrolmentLineUser(raw.substr(0, raw.size() - ending.size())) != user) {
            change.text.append(raw);
            continue;
        }
        if (line && change.found == 0)
            change.text.append(*line).append(ending.empty() ? "\n" : ending);
        ++change.found;
    }
    if (!line && change.found == 0)
        return Problem("user '" + sanitizeForMessage(user) + "' has no line");
    if (line && change.found == 0) {
        if (!change.text.empty() && change.text.back() != '\n')
            change.text += '\n';
        change.text.append(*line).append("\n");
    }
    return change;
}

namespace {
Problem failed(const std::string& path, const std::string& what) {
    return Problem(path + ": cannot " + what + ": " + strerror(errno));
}

// The users file as it was when the lock was taken: absent, or open with what it held.
struct Original {
    std::optional<FileDescriptor> file;
    struct stat info {};
    SecretString text;
};

Result<Original> readOriginal(const std::string& path, uid_t owner) {
    Original original;
    struct stat seen {};
    if (lstat(path.c_str(), &seen) != 0 && errno == ENOENT)
        return Result<Original>(std::move(original));
    auto file = openUsersFile(path, owner);
    if (!file)
        return file.problem();
    auto text = readUsersText(file.value(), path);
    if (!text)
        return text.problem();
    if (fstat(file.value().get(), &original.info) != 0)
        return failed(path, "stat");
    original.text = std::move(text).value();
    original.file = std::move(file).value();
    return Result<Original>(std::move(original));
}

struct TempFile {
    FileDescriptor file;
    std::string name;  // in the users file's directory
};

std::string tempPrefix(const std::string& base) {
    return "." + base + ".verif8ctl-";
}

// Temp files an edit left when it was killed or the machine went down before its rename. Every
// edit holds the lock while its temp file exists, so under the lock any found is left over.
// Returns how many were removed; one that cannot be is left (the edit itself does not need it).
int removeLeftovers(int dir, const std::string& base) {
    const int copy = fcntl(dir, F_DUPFD_CLOEXEC, 0);
    DIR* listing = copy < 0 ? nullptr : fdopendir(copy);
    if (listing == nullptr) {
        if (copy >= 0)
            close(copy);
        return 0;
    }
    const std::string prefix = tempPrefix(base);
    int removed = 0;
    while (const dirent* entry = readdir(listing))
        if (std::string_view(entry->d_name).substr(0, prefix.size()) == prefix &&
            unlinkat(dir, entry->d_name, 0) == 0)
            ++removed;
    closedir(listing);
    return removed;
}

// A new file beside the users file: O_EXCL, so nothing planted under its name is written to.
Result<TempFile> createTemp(int dir, const std::string& dirPath, const std::string& base) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string name =
            tempPrefix(base) + std::to_string(getpid()) + "-" + std::to_string(attempt);
        const int fd =
            openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            return TempFile{FileDescriptor(fd), std::move(name)};
        if (errno != EEXIST)
            return failed(dirPath, "create a temporary file");
    }
    return Problem(dirPath + ": cannot create a temporary file: every name taken");
}

// The new text, with the old file's owner, group and mode (a new file: root's group, 0600).
Result<> fillTemp(const TempFile& temp, const Original& original, std::string_view text,
                  const std::string& dirPath) {
    const std::string where = dirPath + "/" + temp.name;
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t wrote = write(temp.file.get(), text.data() + done, text.size() - done);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0)
            return failed(where, "write");
        done += static_cast<std::size_t>(wrote);
    }
    const bool had = original.file.has_value();
    const uid_t uid = had ? original.info.st_uid : static_cast<uid_t>(-1);
    const gid_t gid = had ? original.info.st_gid : geteuid() == 0 ? 0 : static_cast<gid_t>(-1);
    const mode_t mode = had ? (original.info.st_mode & 07777) : 0600;
    if (fchown(temp.file.get(), uid, gid) != 0 || fchmod(temp.file.get(), mode) != 0)
        return failed(where, "give it the users file's owner and mode");
    if (fsync(temp.file.get()) != 0)
        return failed(where, "sync");
    return succeeded();
}

// Renames the temp file over the users file, if the path still names the file that was read
// (an editor that saved meanwhile made a new one: its change would be lost). A file that was not
// there is linked in place instead, which fails if one has appeared.
Result<> putInPlace(int dir, const TempFile& temp, const std::string& base, const std::string& path,
                    const Original& original) {
    const char* again = ": changed by someone else while being edited; nothing written, try again";
    if (!original.file) {
        if (linkat(dir, temp.name.c_str(), dir, base.c_str(), 0) == 0)
            return unlinkat(dir, temp.name.c_str(), 0) == 0 ? succeeded()
                                                            : failed(path, "remove the temp file");
        return errno == EEXIST ? Problem(path + again) : failed(path, "create");
    }
    struct stat now {};
    if (fstatat(dir, base.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 ||
        now.st_dev != original.info.st_dev || now.st_ino != original.info.st_ino)
        return Problem(path + again);
    if (renameat(dir, temp.name.c_str(), dir, base.c_str()) != 0)
        return failed(path, "replace");
    return succeeded();
}

Result<> replaceWith(const std::string& path, const Original& original, std::string_view text,
                     UsersFileEdit& edit) {
    const std::size_t slash = path.rfind('/');
    const std::string dirPath = slash == std::string::npos ? "."
                                : slash == 0               ? "/"
                                                           : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    const FileDescriptor dir(open(dirPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0)
        return failed(dirPath, "open the directory");
    edit.leftoversRemoved = removeLeftovers(dir.get(), base);
    const auto temp = createTemp(dir.get(), dirPath, base);
    if (!temp)
        return temp.problem();
    Result<> done = fillTemp(temp.value(), original, text, dirPath);
    if (done)
        done = putInPlace(dir.get(), temp.value(), base, path, original);
    if (!done) {
        unlinkat(dir.get(), temp.value().name.c_str(), 0);
        return done;
    }
    // The rename is done: without this sync a crash could still bring back the old file.
    if (fsync(dir.get()) != 0)
        return failed(dirPath, "sync the directory after the change (it is made)");
    return succeeded();
}
}  // namespace

Result<UsersFileEdit> editUsersFile(const UsersFileTarget& target, const std::string& user,
                                    const std::optional<std::string>& line) {
    const auto lock = openStateFile(target.lockPath, target.owner);
    if (!lock)
        return lock.problem();
    const Locking locking = lockStateFile(lock.value(), true, target.lockPath, target.lockWaitMs);
    if (locking.verdict != LockVerdict::Locked)
        return *locking.problem;
    const auto original = readOriginal(target.path, target.owner);
    if (!original)
        return original.problem();
    const auto change = changeUserLines(original.value().text.view(), user, line);
    if (!change)
        return Problem(target.path + ": " + change.problem().text);
    if (change.value().text.size() > kMaxUsersFileSize)
        return Problem(target.path + ": would be larger than " + std::to_string(kMaxUsersFileSize) +
                       " bytes, which the module refuses");
    UsersFileEdit edit;
    if (auto replaced = replaceWith(target.path, original.value(), change.value().text, edit);
        !replaced)
        return replaced.problem();
    edit.found = change.value().found;
    edit.created = !original.value().file;
    return edit;
}

}  // namespace verif8
