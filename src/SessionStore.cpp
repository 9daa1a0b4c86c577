// SessionStore: pending sessions and their claims in one root-only file, locked for each change
// and rewritten in place.
//
// One long-lived file, not a file per login: creating and deleting files at every login costs
// far more than the login's other work on some filesystems (ext4 without a journal searches past
// every recently freed inode for each new one, about a millisecond a login at a few logins a
// second), and one file rewritten in place costs a few microseconds anywhere.
#include "verif8/SessionStore.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
constexpr const char* kFileName = "/pending";
constexpr std::string_view kHeader = "verif8-pending 1\n";
constexpr std::string_view kEnd = "end ";
constexpr std::size_t kMaxFile = 1024 * 1024;
// Codes live at most 7200 s (code_validity); an entry older than that is of no use to anyone.
constexpr std::time_t kMaxAge = 7200 + 60;

// What an entry records of its key: the key holds newlines, so its hash and length stand for it,
// and an entry left by another key with the same hash is not taken for this one.
std::string keyStamp(const std::string& key) {
    return stateFileName(key) + ":" + std::to_string(key.size());
}

// Session ids come from the API; one that could break a line or a field is not kept.
bool storable(const std::string& text) {
    if (text.empty() || text.size() > 256)
        return false;
    for (unsigned char c : text) {
        if (c <= ' ' || c >= 0x7f)
            return false;
    }
    return true;
}

struct SessionEntry {
    std::string keyStamp;
    PendingSession session;
    std::time_t written = 0;
};

struct ClaimEntry {
    std::string sessionStamp;  // the hash of the session id
    std::string keyStamp;
    std::time_t since = 0;
};

struct Table {
    std::vector<SessionEntry> sessions;
    std::vector<ClaimEntry> claims;
};

std::vector<std::string_view> fieldsOf(std::string_view line) {
    std::vector<std::string_view> fields;
    while (!line.empty()) {
        const std::size_t space = line.find(' ');
        fields.push_back(line.substr(0, space));
        if (space == std::string_view::npos)
            break;
        line.remove_prefix(space + 1);
    }
    return fields;
}

std::optional<SessionEntry> parseSession(const std::vector<std::string_view>& f) {
    if (f.size() != 9)
        return std::nullopt;
    SessionEntry entry;
    entry.keyStamp = std::string(f[1]);
    entry.session.sessionId = std::string(f[2]);
    entry.session.phone = std::string(f[3]);
    const auto channel = parseChannel(f[4]);
    const auto sends = parseNumber(f[5]);
    const auto lastSend = parseUnixTime(f[6]);
    const auto expires = parseUnixTime(f[7]);
    const auto written = parseUnixTime(f[8]);
    if (!channel || !sends || !lastSend || !expires || !written ||
        !storable(entry.session.sessionId) || !storable(entry.session.phone))
        return std::nullopt;
    entry.session.channel = *channel;
    entry.session.sends = static_cast<int>(*sends);
    entry.session.lastSend = *lastSend;
    entry.session.expiresAt = *expires;
    entry.written = *written;
    return entry;
}

std::optional<ClaimEntry> parseClaim(const std::vector<std::string_view>& f) {
    if (f.size() != 4)
        return std::nullopt;
    const auto since = parseUnixTime(f[3]);
    if (!since)
        return std::nullopt;
    return ClaimEntry{std::string(f[1]), std::string(f[2]), *since};
}

// The table the file holds; nullopt when it is not one this code wrote whole (a write cut
// short by a crash, or anything else). Every line is checked: a damaged file yields nothing.
std::optional<Table> parse(std::string_view text) {
    if (text.empty())
        return Table{};
    if (text.substr(0, kHeader.size()) != kHeader)
        return std::nullopt;
    const std::size_t endAt = text.rfind(std::string("\n") + std::string(kEnd));
    if (endAt == std::string_view::npos)
        return std::nullopt;
    const std::string_view body = text.substr(0, endAt + 1);
    std::string_view tail = text.substr(endAt + 1 + kEnd.size());
    const std::size_t newline = tail.find('\n');
    if (newline == std::string_view::npos ||
        tail.substr(0, newline) != stateFileName(std::string(body)))
        return std::nullopt;
    // After the end line only the padding of a shorter rewrite may follow (see write()).
    if (tail.substr(newline + 1).find_first_not_of('\n') != std::string_view::npos)
        return std::nullopt;
    Table table;
    bool valid = true;
    forEachLine(body.substr(kHeader.size()), [&](std::string_view line) {
        const auto fields = fieldsOf(line);
        if (!fields.empty() && fields[0] == "session") {
            if (auto entry = parseSession(fields))
                table.sessions.push_back(std::move(*entry));
            else
                valid = false;
        } else if (!fields.empty() && fields[0] == "claim") {
            if (auto entry = parseClaim(fields))
                table.claims.push_back(std::move(*entry));
            else
                valid = false;
        } else {
            valid = false;
        }
    });
    if (!valid)
        return std::nullopt;
    return table;
}

std::string render(const Table& table) {
    std::string body(kHeader);
    for (const SessionEntry& e : table.sessions) {
        body += "session " + e.keyStamp + " " + e.session.sessionId + " " + e.session.phone + " " +
                std::string(channelName(e.session.channel)) + " " +
                std::to_string(e.session.sends) + " " + std::to_string(e.session.lastSend) + " " +
                std::to_string(e.session.expiresAt) + " " + std::to_string(e.written) + "\n";
    }
    for (const ClaimEntry& c : table.claims)
        body += "claim " + c.sessionStamp + " " + c.keyStamp + " " + std::to_string(c.since) + "\n";
    return body + std::string(kEnd) + stateFileName(body) + "\n";
}

// Whether an entry written at `when` is past any use: older than any code, or from a clock that
// has since been stepped back by more than that.
bool stale(std::time_t when, std::time_t now) {
    return now - when > kMaxAge || when - now > kMaxAge;
}

// The file, opened without following links, checked, and locked for the life of the object.
class LockedFile {
public:
    LockedFile(const std::string& path, uid_t owner, bool exclusive) : path_(path) {
        fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
        if (fd_ < 0) {
            problem_ = path + ": " + strerror(errno);
            return;
        }
        struct stat info {};
        if (fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != owner ||
            (info.st_mode & 077) != 0) {
            problem_ = path + ": not a private regular file of uid " + std::to_string(owner);
            return;
        }
        while (flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0) {
            if (errno != EINTR) {
                problem_ = path + ": cannot lock: " + strerror(errno);
                return;
            }
        }
    }
    ~LockedFile() {
        if (fd_ >= 0)
            close(fd_);  // also releases the lock
    }
    LockedFile(const LockedFile&) = delete;
    LockedFile& operator=(const LockedFile&) = delete;

    bool ok() const { return problem_.empty(); }
    const std::string& problem() const { return problem_; }

    // The table in the file: empty for a new file, nullopt (and a problem) for a damaged one.
    std::optional<Table> read() {
        std::string content;
        char buffer[8192];
        for (off_t at = 0;;) {
            const ssize_t got = pread(fd_, buffer, sizeof buffer, at);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                problem_ = path_ + ": cannot read: " + strerror(errno);
                return std::nullopt;
            }
            if (got == 0)
                break;
            content.append(buffer, static_cast<std::size_t>(got));
            at += got;
            if (content.size() > kMaxFile)
                break;
        }
        size_ = content.size();
        auto table = content.size() > kMaxFile ? std::nullopt : parse(content);
        if (!table)
            problem_ = path_ + ": damaged";
        return table;
    }

    // Over the old content, padded with empty lines to at least its length, then cut to length:
    // a process killed between the two leaves a whole table and some padding, never old lines
    // after new ones. Emptying the file first instead would make ext4 write it back at close.
    bool write(const Table& table) {
        const std::string content = render(table);
        std::string padded = content;
        if (padded.size() < size_)
            padded.append(size_ - padded.size(), '\n');
        const bool written =
            pwrite(fd_, padded.data(), padded.size(), 0) == static_cast<ssize_t>(padded.size()) &&
            ftruncate(fd_, static_cast<off_t>(content.size())) == 0;
        if (!written)
            problem_ = path_ + ": cannot write: " + strerror(errno);
        else
            size_ = content.size();
        return written;
    }

private:
    std::string path_;
    int fd_ = -1;
    std::size_t size_ = 0;
    std::string problem_;
};

// Reads the table for a change. A damaged file is started afresh: it holds nothing a live login
// needs, as only a crash can tear it (writes are whole otherwise, under the lock), and a crash
// ends every login that was under way.
Table tableForChange(LockedFile& file, std::time_t now) {
    Table table = file.read().value_or(Table{});
    auto& sessions = table.sessions;
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [&](const SessionEntry& e) { return stale(e.written, now); }),
                   sessions.end());
    auto& claims = table.claims;
    claims.erase(std::remove_if(claims.begin(), claims.end(),
                                [&](const ClaimEntry& c) { return stale(c.since, now); }),
                 claims.end());
    return table;
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

std::string FileSessionStore::path() const {
    return stateDir_ + kFileName;
}

bool FileSessionStore::prepareDirectory() {
    problem_ = preparePrivateDirectory(stateDir_, owner_);
    return problem_.empty();
}

bool FileSessionStore::usable() {
    if (!prepareDirectory())
        return false;
    LockedFile file(path(), owner_, false);
    problem_ = file.problem();
    return file.ok();
}

std::optional<PendingSession> FileSessionStore::load(const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return std::nullopt;
    LockedFile file(path(), owner_, false);
    const auto table = file.ok() ? file.read() : std::nullopt;
    if (!table)
        return std::nullopt;
    const std::string stamp = keyStamp(key);
    for (const SessionEntry& entry : table->sessions) {
        if (entry.keyStamp == stamp && !stale(entry.written, time(nullptr)))
            return entry.session;
    }
    return std::nullopt;
}

void FileSessionStore::save(const std::string& key, const PendingSession& session) {
    if (key.empty() || !prepareDirectory())
        return;
    if (!storable(session.sessionId) || !storable(session.phone)) {
        problem_ = "a session id or number with spaces or control characters is not kept";
        return;
    }
    LockedFile file(path(), owner_, true);
    if (!file.ok())
        return;
    const std::time_t now = time(nullptr);
    Table table = tableForChange(file, now);
    const std::string stamp = keyStamp(key);
    auto& sessions = table.sessions;
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [&](const SessionEntry& e) { return e.keyStamp == stamp; }),
                   sessions.end());
    sessions.push_back(SessionEntry{stamp, session, now});
    file.write(table);
    problem_ = file.problem();
}

void FileSessionStore::forget(const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return;
    LockedFile file(path(), owner_, true);
    if (!file.ok())
        return;
    Table table = tableForChange(file, time(nullptr));
    const std::string stamp = keyStamp(key);
    auto& sessions = table.sessions;
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [&](const SessionEntry& e) { return e.keyStamp == stamp; }),
                   sessions.end());
    file.write(table);
}

bool FileSessionStore::claim(const std::string& sessionId, const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return false;
    LockedFile file(path(), owner_, true);
    if (!file.ok())
        return false;
    const std::time_t now = time(nullptr);
    Table table = tableForChange(file, now);
    const std::string session = stateFileName(sessionId);
    const std::string stamp = keyStamp(key);
    for (const ClaimEntry& held : table.claims) {
        if (held.sessionStamp == session)
            return held.keyStamp == stamp;  // ours from an earlier round, or another login's
    }
    table.claims.push_back(ClaimEntry{session, stamp, now});
    return file.write(table);
}

void FileSessionStore::release(const std::string& sessionId, const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return;
    LockedFile file(path(), owner_, true);
    if (!file.ok())
        return;
    Table table = tableForChange(file, time(nullptr));
    const std::string session = stateFileName(sessionId);
    const std::string stamp = keyStamp(key);
    auto& claims = table.claims;
    claims.erase(std::remove_if(claims.begin(), claims.end(),
                                [&](const ClaimEntry& c) {
                                    return c.sessionStamp == session && c.keyStamp == stamp;
                                }),
                 claims.end());
    file.write(table);
}

}  // namespace verif8
