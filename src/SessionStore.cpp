// SessionStore: the table of phone numbers' sessions and claims, in two root-only files written
// in turn.
//
// Long-lived files, not a file per login: creating and deleting files at every login costs far
// more than the login's other work on some filesystems (ext4 without a journal searches past
// every recently freed inode for each new one, about a millisecond a login at a few logins a
// second), and a file rewritten in place costs a few microseconds anywhere.
//
// Two copies, not one: a write can be cut short (a full disk, a process killed mid-write, a
// crash), and a table half written must never pass for one with fewer claims in it, or a second
// login could take a number another still waits on. Each change goes to the copy that does not
// hold the newest whole table, with a 64-bit generation number and a checksum; a reader takes the
// newest copy that is whole. A cut write leaves the table as it was before that change.
//
// Times are on the boot clock, which no one can set: a wall clock stepped by hours neither
// drops a live claim nor keeps a dead one. The table names its boot; a table from an earlier
// boot holds nothing that still runs, and is started afresh.
#include "verif8/SessionStore.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"
#include "verif8/Unstoppable.hpp"

namespace verif8 {

namespace {
constexpr const char* kSlotNames[2] = {"/pending.a", "/pending.b"};
constexpr std::string_view kMagicPrefix = "verif8-pending ";
constexpr std::string_view kMagic = "verif8-pending 2 ";
constexpr std::string_view kEnd = "end ";
constexpr std::string_view kNone = "-";
// Copies both left damaged are started afresh once neither was written for longer than any
// code lives (code_validity is at most 7200 s): nothing in them can matter any more.
constexpr std::time_t kMaxAge = 7200 + 60;

// Session ids come from the API; one that could break a line or a field is not kept.
bool storable(const std::string& text) {
    if (text.empty() || text.size() > 256 || text == kNone)
        return false;
    for (unsigned char c : text) {
        if (c <= ' ' || c >= 0x7f)
            return false;
    }
    return true;
}

// Reads a small file of /proc (or any file) whole, without stdio or iostreams, which the
// worker child of a multi-threaded host must not use (Unstoppable.cpp).
std::string readSmallFile(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return "";
    std::string content;
    char buffer[1024];
    for (;;) {
        const ssize_t got = read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || content.size() > 16384)
            break;
        content.append(buffer, static_cast<std::size_t>(got));
    }
    close(fd);
    return content;
}

// This boot's id, so that a table from another boot (whose times mean nothing now) is not read.
std::string bootId() {
    std::string id(trim(readSmallFile("/proc/sys/kernel/random/boot_id")));
    return storable(id) ? id : std::string(kNone);
}

std::uint64_t startTimeOf(pid_t pid) {
    const std::string content = readSmallFile("/proc/" + std::to_string(pid) + "/stat");
    // Field 2 (comm) may hold spaces and parentheses: count fields after its last ')'.
    const std::size_t close = content.rfind(')');
    if (close == std::string::npos)
        return 0;
    // Field 22 (starttime) is the 20th word after it.
    const auto words = split(std::string_view(content).substr(close + 1), " ", EmptyFields::Skip);
    return words.size() < 20 ? 0 : parseDecimal<std::uint64_t>(words[19], 20).value_or(0);
}

struct Row {
    std::string phoneStamp;
    std::optional<PendingSession> session;
    std::optional<Holder> holder;
    std::int64_t untilMs = 0;  // the holder's claim ends then
};

struct Table {
    std::string boot;
    std::vector<Row> rows;
};

struct Parsed {
    Table table;
    std::uint64_t generation = 0;
};

std::string hex64(std::uint64_t value) {
    char text[17];
    snprintf(text, sizeof text, "%016" PRIx64, value);
    return text;
}

std::optional<std::uint64_t> parseHex64(std::string_view text) {
    if (text.size() != 16)
        return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return std::nullopt;
        value = value * 16 + static_cast<std::uint64_t>(digit);
    }
    return value;
}

std::optional<std::int64_t> parseMs(std::string_view text) {
    return parseDecimal<std::int64_t>(text, 19);
}

// "phone STAMP ID CHANNEL SENDS LAST_SEND_MS EXPIRES_MS API_ATTEMPT API_EXPIRES_AT LOGIN PID
// STARTED NONCE UNTIL_MS": ID and LOGIN are "-" and the numbers 0 without a session, PID 0
// without a claim.
constexpr std::size_t kRowFields = 14;

std::string renderRow(const Row& row) {
    const PendingSession none;
    const PendingSession& s = row.session ? *row.session : none;
    const Holder nobody;
    const Holder& h = row.holder ? *row.holder : nobody;
    return "phone " + row.phoneStamp + " " + (row.session ? s.sessionId : std::string(kNone)) +
           " " + std::string(channelName(s.channel)) + " " + std::to_string(s.sends) + " " +
           std::to_string(s.lastSendMs) + " " + std::to_string(s.expiresMs) + " " +
           std::to_string(s.apiAttempt) + " " + std::to_string(s.apiExpiresAt) + " " +
           (row.session && !s.loginStamp.empty() ? s.loginStamp : std::string(kNone)) + " " +
           std::to_string(row.holder ? h.pid : 0) + " " + std::to_string(h.started) + " " +
           hex64(h.nonce) + " " + std::to_string(row.holder ? row.untilMs : 0) + "\n";
}

std::optional<Row> parseRow(std::string_view line) {
    const auto f = split(line, " ", EmptyFields::Keep);
    if (f.size() != kRowFields || f[0] != "phone" || f[1].size() != 16 || hasControlOrSpace(f[1]))
        return std::nullopt;
    Row row;
    row.phoneStamp = std::string(f[1]);
    const auto channel = parseChannel(f[3]);
    const auto sends = parseDecimal<long>(f[4], 9);
    const auto lastSend = parseMs(f[5]);
    const auto expires = parseMs(f[6]);
    const auto attempt = parseDecimal<long>(f[7], 9);
    const auto apiExpires = parseDecimal<std::time_t>(f[8], 12);
    const auto pid = parseDecimal<long>(f[10], 9);
    const auto started = parseDecimal<std::uint64_t>(f[11], 20);
    const auto nonce = parseHex64(f[12]);
    const auto until = parseMs(f[13]);
    if (!channel || !sends || !lastSend || !expires || !attempt || !apiExpires || !pid ||
        !started || !nonce || !until)
        return std::nullopt;
    if (f[2] != kNone) {
        PendingSession session;
        session.sessionId = std::string(f[2]);
        session.channel = *channel;
        session.sends = static_cast<int>(*sends);
        session.lastSendMs = *lastSend;
        session.expiresMs = *expires;
        session.apiAttempt = static_cast<int>(*attempt);
        session.apiExpiresAt = *apiExpires;
        if (f[9] != kNone)
            session.loginStamp = std::string(f[9]);
        if (!storable(session.sessionId) || hasControlOrSpace(session.loginStamp))
            return std::nullopt;
        row.session = std::move(session);
    }
    if (*pid != 0) {
        row.holder = Holder{static_cast<pid_t>(*pid), *started, *nonce};
        row.untilMs = *until;
    }
    return row;
}

// The table a copy holds; nullopt when it is not one this code wrote whole. Every line is
// checked: a damaged copy yields nothing. A table of another format (an older release's) holds
// nothing this one can use, and reads as empty.
std::optional<Parsed> parse(std::string_view text) {
    Parsed parsed;
    if (text.empty())
        return parsed;  // never written: the empty table of generation 0
    const std::size_t endAt = text.rfind(std::string("\n") + std::string(kEnd));
    if (endAt == std::string_view::npos || text.substr(0, kMagicPrefix.size()) != kMagicPrefix)
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
    if (text.substr(0, kMagic.size()) != kMagic)
        return parsed;
    const std::size_t headerEnd = body.find('\n');
    const auto header =
        split(body.substr(kMagic.size(), headerEnd - kMagic.size()), " ", EmptyFields::Keep);
    const auto generation =
        header.size() == 2 ? parseDecimal<std::uint64_t>(header[0], 20) : std::nullopt;
    if (!generation || hasControlOrSpace(header[1]))
        return std::nullopt;
    parsed.generation = *generation;
    parsed.table.boot = std::string(header[1]);
    bool valid = true;
    forEachLine(body.substr(headerEnd + 1), [&](std::string_view line) {
        if (auto row = parseRow(line))
            parsed.table.rows.push_back(std::move(*row));
        else
            valid = false;
    });
    if (!valid)
        return std::nullopt;
    return parsed;
}

std::string render(const Table& table, std::uint64_t generation) {
    std::string body = std::string(kMagic) + std::to_string(generation) + " " + table.boot + "\n";
    for (const Row& row : table.rows)
        body += renderRow(row);
    return body + std::string(kEnd) + stateFileName(body) + "\n";
}

bool oldFile(std::time_t when, std::time_t now) {
    return now - when > kMaxAge || when - now > kMaxAge;
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
        problem_ = lockStateFile(slots_[0].fd, exclusive, slots_[0].path, lockWaitMs, &busy_);
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
    bool busy() const { return busy_; }
    const std::string& problem() const { return problem_; }

    // The newest whole table; nullopt (with a problem) when neither copy holds one. Copies that
    // both stopped being written to before the oldest entry could matter are started afresh.
    std::optional<Table> current(std::time_t wallNow) {
        if (!ok())
            return std::nullopt;
        newest_ = -1;
        for (int i = 0; i < 2; ++i) {
            const Slot& slot = slots_[i];
            if (slot.parsed &&
                (newest_ < 0 || slot.parsed->generation > slots_[newest_].parsed->generation))
                newest_ = i;
        }
        if (newest_ >= 0)
            return slots_[newest_].parsed->table;
        if (oldFile(slots_[0].mtime, wallNow) && oldFile(slots_[1].mtime, wallNow)) {
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
        const std::uint64_t generation = newest.parsed ? newest.parsed->generation + 1 : 1;
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
    bool busy_ = false;
};

bool claimLive(const Row& row, std::int64_t now) {
    return row.holder && now < row.untilMs && holderAlive(*row.holder);
}

// Drops what binds nobody any more: claims of ended processes or past their time, sessions past
// their code's life, and rows left with neither.
void prune(Table& table, std::int64_t now) {
    for (Row& row : table.rows) {
        if (row.holder && !claimLive(row, now))
            row.holder.reset();
        if (row.session && now >= row.session->expiresMs)
            row.session.reset();
    }
    table.rows.erase(std::remove_if(table.rows.begin(), table.rows.end(),
                                    [](const Row& row) { return !row.holder && !row.session; }),
                     table.rows.end());
}

bool sameHolder(const std::optional<Holder>& a, const Holder& b) {
    return a && a->pid == b.pid && a->started == b.started && a->nonce == b.nonce;
}

Row* rowOf(Table& table, const std::string& stamp) {
    for (Row& row : table.rows) {
        if (row.phoneStamp == stamp)
            return &row;
    }
    return nullptr;
}
}  // namespace

std::int64_t bootClockMs() {
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

Holder currentHolder() {
    Holder holder;
    holder.started = startTimeOf(getpid());
    holder.pid = holder.started != 0 ? getpid() : 0;
    if (getrandom(&holder.nonce, sizeof holder.nonce, GRND_NONBLOCK) !=
        static_cast<ssize_t>(sizeof holder.nonce)) {
        // Without the random source (early boot), this run's address and time still differ
        // from any other run of this process.
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        holder.nonce = static_cast<std::uint64_t>(now.tv_nsec) ^
                       (static_cast<std::uint64_t>(now.tv_sec) << 30) ^
                       reinterpret_cast<std::uintptr_t>(&holder);
    }
    return holder;
}

bool holderAlive(const Holder& holder) {
    return holder.pid > 0 && startTimeOf(holder.pid) == holder.started;
}

namespace {
// One change to the table: one short read-modify-write under the exclusive lock, run where the
// caller cannot stop it. `edit` changes the pruned table and returns the reply, setting `write`
// when the table is to be written back. nullopt (with `problem`) when the table is unusable.
std::optional<std::string> changeTable(
    const std::string& dir, uid_t owner, std::size_t maxBytes, int lockWaitMs, std::string& problem,
    bool& busy, const std::function<std::string(Table&, std::int64_t, bool&)>& edit) {
    problem.clear();
    busy = false;
    std::string workProblem;
    const auto work = [&]() -> std::string {
        std::string prepared = preparePrivateDirectory(dir, owner);
        if (!prepared.empty())
            return "problem " + prepared;
        Copies copies(dir, owner, maxBytes, lockWaitMs, true);
        auto table = copies.current(time(nullptr));
        if (!table)
            return (copies.busy() ? "busy " : "problem ") + copies.problem();
        const std::string boot = bootId();
        if (table->boot != boot)
            *table = Table{boot, {}};  // from another boot: nothing in it still runs
        const std::int64_t now = bootClockMs();
        const std::size_t before = table->rows.size();
        prune(*table, now);
        bool write = table->rows.size() != before;
        std::string reply = edit(*table, now, write);
        if (write && !copies.write(*table))
            return "problem " + copies.problem();
        return "ok " + reply;
    };
    // The worker needs the lock for microseconds; the wait for it is bounded by lockWaitMs.
    const auto reply = runUnstoppable(work, lockWaitMs + 2000, workProblem);
    if (!reply) {
        problem = dir + ": " + workProblem;
        busy = workProblem.find("not done within") != std::string::npos;
        return std::nullopt;
    }
    if (reply->compare(0, 8, "problem ") == 0 || reply->compare(0, 5, "busy ") == 0) {
        busy = reply->front() == 'b';
        problem = reply->substr(reply->find(' ') + 1);
        return std::nullopt;
    }
    return reply->substr(3);
}

std::string phoneStamp(const std::string& phone) {
    return stateFileName("phone\n" + phone);
}
}  // namespace

Claim FileSessionStore::claim(const std::string& phone, const Holder& holder,
                              std::int64_t untilMs) {
    Claim result;
    if (holder.pid <= 0) {
        result.problem = Problem("the login's process cannot be told (no /proc)");
        return result;
    }
    const std::string stamp = phoneStamp(phone);
    const auto reply =
        changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, problem_, busy_,
                    [&](Table& table, std::int64_t, bool& write) -> std::string {
                        Row* row = rowOf(table, stamp);
                        if (row != nullptr && row->holder && !sameHolder(row->holder, holder))
                            return "held " + std::to_string(row->holder->pid);
                        if (row == nullptr) {
                            table.rows.push_back(Row{stamp, std::nullopt, std::nullopt, 0});
                            row = &table.rows.back();
                        }
                        const std::string previous = renderRow(*row);
                        row->holder = holder;
                        row->untilMs = untilMs;
                        write = true;
                        return "claimed " + previous;
                    });
    if (!reply) {
        result.verdict = busy_ ? ClaimVerdict::Busy : ClaimVerdict::Unavailable;
        result.problem = Problem(problem_);
        return result;
    }
    if (reply->compare(0, 5, "held ") == 0) {
        result.verdict = ClaimVerdict::HeldByOther;
        result.holderPid = static_cast<pid_t>(parseDecimal<long>(reply->substr(5), 9).value_or(0));
        return result;
    }
    const auto row = reply->compare(0, 8, "claimed ") == 0
                         ? parseRow(trim(std::string_view(*reply).substr(8)))
                         : std::nullopt;
    if (!row) {
        result.problem = Problem("the table's worker gave an answer that is not one");
        return result;
    }
    result.verdict = ClaimVerdict::Claimed;
    result.pending = row->session;
    return result;
}

Recording FileSessionStore::record(const std::string& phone, const Holder& holder,
                                   const PendingSession& session) {
    if (!storable(session.sessionId) || hasControlOrSpace(session.loginStamp))
        return {RecordVerdict::Unavailable,
                Problem("a session id with spaces or control characters is not kept")};
    const std::string stamp = phoneStamp(phone);
    const auto reply = changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, problem_, busy_,
                                   [&](Table& table, std::int64_t, bool& write) -> std::string {
                                       Row* row = rowOf(table, stamp);
                                       if (row == nullptr || !sameHolder(row->holder, holder))
                                           return "lost";
                                       row->session = session;
                                       write = true;
                                       return "recorded";
                                   });
    if (!reply)
        return {RecordVerdict::Unavailable, Problem(problem_)};
    if (*reply == "lost")
        return {RecordVerdict::ClaimLost, std::nullopt};
    return {RecordVerdict::Recorded, std::nullopt};
}

Result<> FileSessionStore::release(const std::string& phone, const Holder& holder,
                                   bool keepSession) {
    const std::string stamp = phoneStamp(phone);
    const auto reply =
        changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, problem_, busy_,
                    [&](Table& table, std::int64_t, bool& write) -> std::string {
                        Row* row = rowOf(table, stamp);
                        if (row == nullptr || !sameHolder(row->holder, holder))
                            return "not held";
                        row->holder.reset();
                        if (!keepSession)
                            row->session.reset();
                        if (!row->session)
                            table.rows.erase(table.rows.begin() + (row - table.rows.data()));
                        write = true;
                        return "released";
                    });
    if (!reply)
        return Problem(problem_);
    return succeeded();
}

namespace {
std::string executableOf(const std::string& pid) {
    char path[4096];
    const ssize_t length = readlink(("/proc/" + pid + "/exe").c_str(), path, sizeof path - 1);
    return length > 0 ? std::string(path, static_cast<std::size_t>(length)) : std::string();
}
}  // namespace

std::string loginKey(const std::string& user, const std::string& service, const std::string& rhost,
                     const void* handle) {
    // sshd runs each keyboard-interactive round in a child forked from the process that holds
    // the PAM handle, the same program; login, su, sudo and pamtester run pam_authenticate in
    // the handle's own process, whose parent (a shell) outlives many logins. A daemon whose
    // workers run the same program as it does (sshd's password method in its monitor, vsftpd)
    // would give its workers one key: the handle's address tells them apart.
    const std::string self = executableOf("self");
    const pid_t parent = getppid();
    const bool forkedRound = !self.empty() && self == executableOf(std::to_string(parent));
    const pid_t owner = forkedRound ? parent : getpid();
    const std::uint64_t started = startTimeOf(owner);
    if (started == 0)
        return "";
    return user + '\n' + service + '\n' + rhost + '\n' + std::to_string(owner) + ':' +
           std::to_string(started) + ':' + hex64(reinterpret_cast<std::uintptr_t>(handle));
}

std::string loginStamp(const std::string& key) {
    return stateFileName(key) + ":" + std::to_string(key.size());
}

}  // namespace verif8
