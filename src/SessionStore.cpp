// SessionStore: pending sessions and their claims in two root-only files, written in turn.
//
// Long-lived files, not a file per login: creating and deleting files at every login costs far
// more than the login's other work on some filesystems (ext4 without a journal searches past
// every recently freed inode for each new one, about a millisecond a login at a few logins a
// second), and a file rewritten in place costs a few microseconds anywhere.
//
// Two copies, not one: a write can be cut short (a full disk, a process killed mid-write, a
// crash), and a table half written must never pass for one with fewer claims in it, or a second
// login could take a session another still waits on. Each change goes to the copy that does not
// hold the newest whole table, with a generation number and a checksum; a reader takes the
// newest copy that is whole. A cut write leaves the table as it was before that change.
#include "verif8/SessionStore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <vector>

#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
constexpr const char* kSlotNames[2] = {"/pending.a", "/pending.b"};
constexpr std::string_view kMagic = "verif8-pending 1 ";
constexpr std::string_view kEnd = "end ";
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

struct Parsed {
    Table table;
    unsigned long long generation = 0;
};

// The table a copy holds; nullopt when it is not one this code wrote whole. Every line is
// checked: a damaged copy yields nothing.
std::optional<Parsed> parse(std::string_view text) {
    Parsed parsed;
    if (text.empty())
        return parsed;  // never written: the empty table of generation 0
    const std::size_t endAt = text.rfind(std::string("\n") + std::string(kEnd));
    if (endAt == std::string_view::npos || text.substr(0, kMagic.size()) != kMagic)
        return std::nullopt;
    const std::string_view body = text.substr(0, endAt + 1);
    const std::string_view tail = text.substr(endAt + 1 + kEnd.size());
    const std::size_t newline = tail.find('\n');
    if (newline == std::string_view::npos ||
        tail.substr(0, newline) != stateFileName(std::string(body)))
        return std::nullopt;
    // After the end line only the padding of a shorter rewrite may follow (see Copies::write).
    if (tail.substr(newline + 1).find_first_not_of('\n') != std::string_view::npos)
        return std::nullopt;
    const std::size_t headerEnd = body.find('\n');
    const auto generation = parseNumber(body.substr(kMagic.size(), headerEnd - kMagic.size()));
    if (!generation)
        return std::nullopt;
    parsed.generation = *generation;
    bool valid = true;
    forEachLine(body.substr(headerEnd + 1), [&](std::string_view line) {
        const auto fields = fieldsOf(line);
        if (!fields.empty() && fields[0] == "session") {
            if (auto entry = parseSession(fields))
                parsed.table.sessions.push_back(std::move(*entry));
            else
                valid = false;
        } else if (!fields.empty() && fields[0] == "claim") {
            if (auto entry = parseClaim(fields))
                parsed.table.claims.push_back(std::move(*entry));
            else
                valid = false;
        } else {
            valid = false;
        }
    });
    if (!valid)
        return std::nullopt;
    return parsed;
}

std::string render(const Table& table, unsigned long long generation) {
    std::string body = std::string(kMagic) + std::to_string(generation) + "\n";
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

template <typename Entry, typename Match>
void eraseIf(std::vector<Entry>& entries, Match matches) {
    entries.erase(std::remove_if(entries.begin(), entries.end(), matches), entries.end());
}

void dropStale(Table& table, std::time_t now) {
    eraseIf(table.sessions, [&](const SessionEntry& e) { return stale(e.written, now); });
    eraseIf(table.claims, [&](const ClaimEntry& c) { return stale(c.since, now); });
}

// Both copies, opened without following links and checked, the first one locked (shared to
// read, exclusive to change) for the life of the object.
class Copies {
public:
    Copies(const std::string& dir, uid_t owner, std::size_t maxBytes, int lockWaitMs,
           bool exclusive)
        : maxBytes_(maxBytes) {
        for (int i = 0; i < 2; ++i) {
            Slot& slot = slots_[i];
            slot.path = dir + kSlotNames[i];
            slot.fd = openPrivateFile(slot.path, owner, problem_);
            if (slot.fd < 0)
                return;
        }
        problem_ = lockStateFile(slots_[0].fd, exclusive, slots_[0].path, lockWaitMs);
        if (!problem_.empty())
            return;
        for (Slot& slot : slots_)
            readSlot(slot);
    }
    ~Copies() {
        for (Slot& slot : slots_) {
            if (slot.fd >= 0)
                close(slot.fd);  // the first also releases the lock
        }
    }
    Copies(const Copies&) = delete;
    Copies& operator=(const Copies&) = delete;

    bool ok() const { return problem_.empty(); }
    const std::string& problem() const { return problem_; }

    // The newest whole table; nullopt (with a problem) when neither copy holds one. Copies that
    // both stopped being written to before the oldest entry could matter are started afresh.
    std::optional<Table> current(std::time_t now) {
        if (!ok())
            return std::nullopt;
        newest_ = -1;
        for (int i = 0; i < 2; ++i) {
            const Slot& slot = slots_[i];
            if (slot.parsed &&
                (newest_ < 0 || slot.parsed->generation > slots_[newest_].parsed->generation))
                newest_ = i;
        }
        if (newest_ >= 0) {
            Table table = slots_[newest_].parsed->table;
            dropStale(table, now);
            return table;
        }
        if (stale(slots_[0].mtime, now) && stale(slots_[1].mtime, now)) {
            newest_ = 1;  // so that the fresh table goes to the first copy
            return Table{};
        }
        problem_ = slots_[0].path + " and " + slots_[1].path +
                   ": both damaged (writes cut short); they are started afresh 2 hours after "
                   "the last write, or when removed";
        return std::nullopt;
    }

    // Writes `table` as the next generation into the copy that does not hold the newest one
    // (current() must have found it). The other copy keeps the table as it was.
    bool write(const Table& table) {
        if (!ok() || newest_ < 0)
            return false;
        const Slot& newest = slots_[newest_];
        Slot& target = slots_[1 - newest_];
        const unsigned long long generation = newest.parsed ? newest.parsed->generation + 1 : 1;
        const std::string content = render(table, generation);
        if (content.size() > maxBytes_) {
            problem_ = target.path + ": the table would grow past " + std::to_string(maxBytes_) +
                       " bytes; not written";
            return false;
        }
        // Padded with empty lines to at least the old length before the cut to length, so
        // that a process killed in between leaves a whole table and some padding, not old lines
        // after new ones. Emptying the file first instead would make ext4 write it back at close.
        std::string padded = content;
        if (padded.size() < target.size)
            padded.append(target.size - padded.size(), '\n');
        for (std::size_t done = 0; done < padded.size();) {
            const ssize_t wrote = pwrite(target.fd, padded.data() + done, padded.size() - done,
                                         static_cast<off_t>(done));
            if (wrote < 0 && errno == EINTR)
                continue;
            if (wrote <= 0) {
                problem_ = target.path + ": cannot write: " +
                           (wrote < 0 ? std::string(strerror(errno)) : "no space written");
                return false;
            }
            done += static_cast<std::size_t>(wrote);
        }
        if (ftruncate(target.fd, static_cast<off_t>(content.size())) != 0) {
            problem_ = target.path + ": cannot cut to length: " + strerror(errno);
            return false;
        }
        return true;
    }

private:
    struct Slot {
        std::string path;
        int fd = -1;
        std::size_t size = 0;
        std::time_t mtime = 0;
        std::optional<Parsed> parsed;
    };

    void readSlot(Slot& slot) {
        struct stat info {};
        if (fstat(slot.fd, &info) != 0)
            return;
        slot.size = static_cast<std::size_t>(info.st_size);
        slot.mtime = info.st_mtime;
        if (slot.size > maxBytes_ + 4096)  // no table this code writes is that long
            return;
        std::string content;
        char buffer[8192];
        for (off_t at = 0;;) {
            const ssize_t got = pread(slot.fd, buffer, sizeof buffer, at);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                return;
            if (got == 0)
                break;
            content.append(buffer, static_cast<std::size_t>(got));
            at += got;
            if (content.size() > maxBytes_ + 4096)
                return;
        }
        slot.size = std::max(slot.size, content.size());
        slot.parsed = parse(content);
    }

    std::size_t maxBytes_;
    Slot slots_[2];
    int newest_ = -1;
    std::string problem_;
};

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
    problem_ = preparePrivateDirectory(stateDir_, owner_);
    return problem_.empty();
}

bool FileSessionStore::usable() {
    if (!prepareDirectory())
        return false;
    Copies copies(stateDir_, owner_, maxBytes_, lockWaitMs_, false);
    const bool whole = copies.current(time(nullptr)).has_value();
    problem_ = copies.problem();
    return whole;
}

std::optional<PendingSession> FileSessionStore::load(const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return std::nullopt;
    Copies copies(stateDir_, owner_, maxBytes_, lockWaitMs_, false);
    const auto table = copies.current(time(nullptr));
    if (!table)
        return std::nullopt;
    const std::string stamp = keyStamp(key);
    for (const SessionEntry& entry : table->sessions) {
        if (entry.keyStamp == stamp)
            return entry.session;
    }
    return std::nullopt;
}

namespace {
// One change to the table: read under the exclusive lock, edited by `edit` (which returns false
// to leave it as it is), written to the other copy. Returns whether a change was written;
// `problem` says why not, when something went wrong.
bool changeTable(const std::string& dir, uid_t owner, std::size_t maxBytes, int lockWaitMs,
                 std::string& problem, const std::function<bool(Table&, std::time_t)>& edit) {
    Copies copies(dir, owner, maxBytes, lockWaitMs, true);
    const std::time_t now = time(nullptr);
    auto table = copies.current(now);
    const bool written = table && edit(*table, now) && copies.write(*table);
    problem = copies.problem();
    return written;
}
}  // namespace

void FileSessionStore::save(const std::string& key, const PendingSession& session) {
    if (key.empty() || !prepareDirectory())
        return;
    if (!storable(session.sessionId) || !storable(session.phone)) {
        problem_ = "a session id or number with spaces or control characters is not kept";
        return;
    }
    const std::string stamp = keyStamp(key);
    const std::string sessionStamp = stateFileName(session.sessionId);
    changeTable(
        stateDir_, owner_, maxBytes_, lockWaitMs_, problem_, [&](Table& table, std::time_t now) {
            eraseIf(table.sessions, [&](const SessionEntry& e) { return e.keyStamp == stamp; });
            table.sessions.push_back(SessionEntry{stamp, session, now});
            // A claim lasts as long as the code it guards: a resend renews both.
            for (ClaimEntry& claim : table.claims) {
                if (claim.sessionStamp == sessionStamp && claim.keyStamp == stamp)
                    claim.since = now;
            }
            return true;
        });
}

void FileSessionStore::forget(const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return;
    const std::string stamp = keyStamp(key);
    changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, problem_, [&](Table& table, auto) {
        eraseIf(table.sessions, [&](const SessionEntry& e) { return e.keyStamp == stamp; });
        return true;
    });
}

bool FileSessionStore::claim(const std::string& sessionId, const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return false;
    const std::string session = stateFileName(sessionId);
    const std::string stamp = keyStamp(key);
    return changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, problem_,
                       [&](Table& table, std::time_t now) {
                           for (ClaimEntry& held : table.claims) {
                               if (held.sessionStamp != session)
                                   continue;
                               if (held.keyStamp != stamp)
                                   return false;  // another login's
                               held.since = now;  // ours, from an earlier round: renewed
                               return true;
                           }
                           table.claims.push_back(ClaimEntry{session, stamp, now});
                           return true;
                       });
}

void FileSessionStore::release(const std::string& sessionId, const std::string& key) {
    if (key.empty() || !prepareDirectory())
        return;
    const std::string session = stateFileName(sessionId);
    const std::string stamp = keyStamp(key);
    changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, problem_, [&](Table& table, auto) {
        eraseIf(table.claims, [&](const ClaimEntry& c) {
            return c.sessionStamp == session && c.keyStamp == stamp;
        });
        return true;
    });
}

}  // namespace verif8
