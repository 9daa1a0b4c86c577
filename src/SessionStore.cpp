// SessionStore: pending sessions in small root-only files, written atomically.
#include "verif8/SessionStore.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "verif8/SecureFile.hpp"
#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
constexpr const char* kSubdir = "/sessions";
constexpr const char* kClaims = "/claims";
// Codes live at most 7200 s (code_validity); a file older than that is of no use to anyone.
constexpr std::time_t kMaxAge = 7200 + 60;

// What the file records of its key: the key holds newlines, so its hash and length stand for it,
// and a file left under a colliding name by another key is not taken for this one.
std::string keyStamp(const std::string& key) {
    return stateFileName(key) + ":" + std::to_string(key.size());
}

long processStartTime(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Field 2 (comm) may hold spaces and parentheses: count fields after its last ')'.
    const std::size_t close = content.rfind(')');
    if (close == std::string::npos)
        return -1;
    std::istringstream fields(content.substr(close + 2));
    std::string field;
    for (int index = 3; fields >> field; ++index) {
        if (index == 22)
            return std::atol(field.c_str());
    }
    return -1;
}
std::string executableOf(const std::string& pid) {
    char path[4096];
    const ssize_t length = readlink(("/proc/" + pid + "/exe").c_str(), path, sizeof path - 1);
    return length > 0 ? std::string(path, static_cast<std::size_t>(length)) : std::string();
}
}  // namespace

std::string loginKey(const std::string& user, const std::string& service,
                     const std::string& rhost) {
    // sshd runs each round in a child forked from the process that holds the PAM handle, the
    // same program; login, su, sudo and pamtester run pam_authenticate in the handle's own
    // process, whose parent (a shell) outlives many logins.
    const std::string self = executableOf("self");
    const pid_t parent = getppid();
    const bool forkedRound = !self.empty() && self == executableOf(std::to_string(parent));
    const pid_t owner = forkedRound ? parent : getpid();
    const long started = processStartTime(owner);
    if (started < 0)
        return "";
    return user + '\n' + service + '\n' + rhost + '\n' + std::to_string(owner) + ':' +
           std::to_string(started);
}

bool FileSessionStore::prepareDirectory() {
    problem_.clear();
    for (const std::string& dir : {stateDir_, stateDir_ + kSubdir, stateDir_ + kClaims}) {
        problem_ = preparePrivateDirectory(dir, owner_);
        if (!problem_.empty())
            return false;
    }
    return true;
}

std::string FileSessionStore::pathFor(const std::string& key) const {
    return stateDir_ + kSubdir + "/" + stateFileName(key);
}

std::optional<PendingSession> FileSessionStore::load(const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return std::nullopt;
    SecureFileRules rules;
    rules.owner = owner_;
    rules.maxSize = 4096;
    const SecureFileResult file = readSecureFile(pathFor(key), rules);
    if (!file.ok)
        return std::nullopt;  // usually: no pending session for this login
    PendingSession session;
    std::string storedKey;
    bool complete = true;
    // save() writes every field: a file without one of them is not one it wrote.
    static constexpr std::string_view kFields[] = {"key",   "session",   "phone",  "channel",
                                                   "sends", "last_send", "expires"};
    unsigned seen = 0;
    forEachLine(file.text.view(), [&](std::string_view line) {
        const std::size_t equals = line.find('=');
        const std::string_view name = line.substr(0, equals);
        const std::string_view value =
            equals == std::string_view::npos ? std::string_view() : line.substr(equals + 1);
        for (std::size_t field = 0; field < std::size(kFields); ++field) {
            if (name == kFields[field])
                seen |= 1u << field;
        }
        if (name == "key")
            storedKey = std::string(value);
        else if (name == "session")
            session.sessionId = std::string(value);
        else if (name == "phone")
            session.phone = std::string(value);
        else if (name == "channel") {
            const auto channel = parseChannel(value);
            complete = complete && channel.has_value();
            session.channel = channel.value_or(Channel::Sms);
        } else if (name == "sends") {
            const auto sends = parseNumber(value);
            complete = complete && sends.has_value();
            session.sends = static_cast<int>(sends.value_or(0));
        } else if (name == "last_send" || name == "expires") {
            const auto time = parseUnixTime(value);
            complete = complete && time.has_value();
            (name == "last_send" ? session.lastSend : session.expiresAt) = time.value_or(0);
        }
    });
    if (!complete || seen != (1u << std::size(kFields)) - 1 || storedKey != keyStamp(key) ||
        session.sessionId.empty() || session.phone.empty())
        return std::nullopt;
    return session;
}

void FileSessionStore::save(const std::string& key, const PendingSession& session) {
    if (key.empty() || !prepareDirectory())
        return;
    removeStale();
    const std::string path = pathFor(key);
    const std::string temp = path + ".tmp" + std::to_string(getpid());
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = open(temp.c_str(), flags, 0600);
    if (fd < 0 && errno == EEXIST) {
        // Left by a process that died mid-save and had our pid: nobody else writes this name.
        unlink(temp.c_str());
        fd = open(temp.c_str(), flags, 0600);
    }
    if (fd < 0) {
        problem_ = temp + ": cannot create: " + strerror(errno);
        return;
    }
    const std::string content = "key=" + keyStamp(key) + "\nsession=" + session.sessionId +
                                "\nphone=" + session.phone +
                                "\nchannel=" + std::string(channelName(session.channel)) +
                                "\nsends=" + std::to_string(session.sends) +
                                "\nlast_send=" + std::to_string(session.lastSend) +
                                "\nexpires=" + std::to_string(session.expiresAt) + "\n";
    const bool written =
        write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    close(fd);
    if (!written || rename(temp.c_str(), path.c_str()) != 0) {
        problem_ = path + ": cannot write: " + strerror(errno);
        unlink(temp.c_str());
    }
}

void FileSessionStore::forget(const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return;
    unlink(pathFor(key).c_str());
}

bool FileSessionStore::usable() {
    return prepareDirectory();
}

std::string FileSessionStore::claimPathFor(const std::string& sessionId) const {
    return stateDir_ + kClaims + "/" + stateFileName(sessionId);
}

bool FileSessionStore::claim(const std::string& sessionId, const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return false;
    const std::string path = claimPathFor(sessionId);
    const std::string stamp = keyStamp(key) + "\n";
    for (int round = 0; round < 2; ++round) {
        const int fd =
            open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            const bool written =
                write(fd, stamp.data(), stamp.size()) == static_cast<ssize_t>(stamp.size());
            close(fd);
            if (!written)
                unlink(path.c_str());  // a half-written claim would bind this login out too
            return written;
        }
        if (errno != EEXIST)
            break;
        SecureFileRules rules;
        rules.owner = owner_;
        rules.maxSize = 256;
        const SecureFileResult held = readSecureFile(path, rules);
        if (held.ok && held.text.view() == stamp)
            return true;  // ours, from an earlier round of this login
        struct stat info {};
        // A claim outlives no code: once older than the longest validity, it binds nobody.
        if (lstat(path.c_str(), &info) != 0 || time(nullptr) - info.st_mtime <= kMaxAge)
            return false;
        unlink(path.c_str());
    }
    return false;
}

void FileSessionStore::release(const std::string& sessionId, const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return;
    const std::string path = claimPathFor(sessionId);
    SecureFileRules rules;
    rules.owner = owner_;
    rules.maxSize = 256;
    const SecureFileResult held = readSecureFile(path, rules);
    if (held.ok && held.text.view() == keyStamp(key) + "\n")
        unlink(path.c_str());
}

void FileSessionStore::removeStale() {
    for (const char* subdir : {kSubdir, kClaims})
        removeStaleIn(stateDir_ + subdir);
}

void FileSessionStore::removeStaleIn(const std::string& dir) {
    DIR* handle = opendir(dir.c_str());
    if (handle == nullptr)
        return;
    const std::time_t now = time(nullptr);
    while (const dirent* entry = readdir(handle)) {
        if (entry->d_name[0] == '.')
            continue;
        struct stat info {};
        if (fstatat(dirfd(handle), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(info.st_mode) && now - info.st_mtime > kMaxAge)
            unlinkat(dirfd(handle), entry->d_name, 0);
    }
    closedir(handle);
}

}  // namespace verif8
