// GraceStore: grace files in state_dir, read under a shared lock and changed under an exclusive
// one.
#include "verif8/GraceStore.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "verif8/TextUtil.hpp"
#include "verif8/Unstoppable.hpp"

namespace verif8 {

namespace {
constexpr std::size_t kMaxFile = 64 * 1024;
// An account verified from more places than this keeps the newest: a bound on the file that a
// user logging in from many addresses cannot push past.
constexpr std::size_t kMaxRecords = 64;

bool mayExist(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0 || errno != ENOENT;
}

Result<FileDescriptor> openLocked(const std::string& path, uid_t owner, bool exclusive,
                                  int waitMs) {
    auto opened = openStateFile(path, owner);
    if (!opened)
        return opened.problem();
    const Locking locking = lockStateFile(opened.value(), exclusive, path, waitMs);
    if (locking.verdict != LockVerdict::Locked)
        return *locking.problem;
    return std::move(opened).value();
}

// The file's table; nullopt for an empty file (no grace recorded, or all ended).
Result<std::optional<GraceTable>> readTable(const FileDescriptor& file, const std::string& path) {
    const auto content = readCapped(file, kMaxFile);
    if (!content)
        return Problem(path + ": " + content.problem().text);
    if (content.value().view().empty())
        return std::optional<GraceTable>();
    auto table = parseGraceTable(content.value().view());
    if (!table)
        return Problem(path + ": not a whole grace file; it gives no grace until rewritten");
    return std::optional<GraceTable>(std::move(*table));
}

// Over the old text, then cut to length (as the send counters are written): a crash between the
// two leaves a text whose last line is not "end", which gives no grace.
Result<> writeText(const FileDescriptor& file, const std::string& path, const std::string& text) {
    if (pwrite(file.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
        ftruncate(file.get(), static_cast<off_t>(text.size())) != 0)
        return Problem(path + ": cannot write: " + strerror(errno));
    return succeeded();
}

Result<> checkDirectories(const std::string& stateDir, const std::string& dir, uid_t owner,
                          bool create) {
    for (const std::string& path : {stateDir, dir}) {
        auto checked =
            create ? prepareStateDirectory(path, owner) : checkStateDirectory(path, owner);
        if (!checked)
            return checked;
    }
    return succeeded();
}

// Runs `work` where the caller of su cannot stop it. Its value comes back as text: the work may
// run in a child (Unstoppable.hpp), so it cannot hand anything back in memory.
Result<std::string> shielded(const std::function<Result<std::string>()>& work, int lockWaitMs) {
    constexpr std::string_view kOk = "ok ";
    constexpr std::string_view kProblem = "problem ";
    const WorkResult done = runUnstoppable(
        [&] {
            const Result<std::string> result = work();
            return result ? std::string(kOk) + result.value()
                          : std::string(kProblem) + result.problem().text;
        },
        lockWaitMs * 2 + 2000);
    if (done.verdict != WorkVerdict::Done)
        return *done.problem;
    const std::string_view reply = done.reply;
    if (reply.substr(0, kOk.size()) == kOk)
        return std::string(reply.substr(kOk.size()));
    if (reply.substr(0, kProblem.size()) == kProblem)
        return Problem(std::string(reply.substr(kProblem.size())));
    return Problem("the grace worker gave no answer");
}

// The names of the grace files, without following anything.
Result<std::vector<std::string>> graceFiles(const std::string& dir) {
    const std::unique_ptr<DIR, int (*)(DIR*)> listing(opendir(dir.c_str()), closedir);
    if (!listing)
        return Problem(dir + ": cannot list: " + strerror(errno));
    std::vector<std::string> names;
    while (const dirent* entry = readdir(listing.get())) {
        if (entry->d_name[0] != '.')
            names.push_back(dir + "/" + entry->d_name);
    }
    std::sort(names.begin(), names.end());
    return names;
}
}  // namespace

FileGraceStore::FileGraceStore(std::string stateDir, uid_t owner, int lockWaitMs,
                               std::function<std::time_t()> clock)
    : stateDir_(std::move(stateDir)),
      owner_(owner),
      lockWaitMs_(lockWaitMs),
      clock_(clock ? std::move(clock) : [] { return time(nullptr); }) {}

std::string FileGraceStore::fileOf(const std::string& user) const {
    return dir() + "/" + stateFileName(user);
}

GraceCheck FileGraceStore::check(const GraceKey& key, int seconds) {
    GraceCheck check;
    const std::string path = fileOf(key.user);
    if (!mayExist(path))
        return check;  // never verified with grace on: the common case costs one lstat
    // The age of the record that grants grace, or "" for none.
    const Result<std::string> found = shielded(
        [&]() -> Result<std::string> {
            if (auto checked = checkDirectories(stateDir_, dir(), owner_, false); !checked)
                return checked.problem();
            auto file = openLocked(path, owner_, false, lockWaitMs_);
            if (!file)
                return file.problem();
            auto table = readTable(file.value(), path);
            if (!table)
                return table.problem();
            if (!table.value() || table.value()->user != key.user)
                return std::string();
            const std::time_t now = clock_();
            for (const GraceRecord& record : table.value()->records) {
                const std::time_t age = now - record.verifiedAt;
                // A time ahead of the clock (a clock stepped back) gives no grace.
                if (record.service == key.service && record.rhost == key.rhost && age >= 0 &&
                    age < seconds)
                    return std::to_string(age);
            }
            return std::string();
        },
        lockWaitMs_);
    if (!found) {
        check.problem = found.problem();
        return check;
    }
    if (const auto age = parseDecimal<std::time_t>(found.value(), 12)) {
        check.granted = true;
        check.age = *age;
    }
    return check;
}

Result<> FileGraceStore::grant(const GraceKey& key, int seconds) {
    const std::string path = fileOf(key.user);
    const Result<std::string> written = shielded(
        [&]() -> Result<std::string> {
            if (auto prepared = checkDirectories(stateDir_, dir(), owner_, true); !prepared)
                return prepared.problem();
            auto file = openLocked(path, owner_, true, lockWaitMs_);
            if (!file)
                return file.problem();
            auto read = readTable(file.value(), path);
            // A damaged file is written afresh: it gave no grace, and this grant is new.
            GraceTable table = read && read.value() && read.value()->user == key.user
                                   ? std::move(*read.value())
                                   : GraceTable{key.user, {}};
            const std::time_t now = clock_();
            auto& records = table.records;
            records.erase(std::remove_if(records.begin(), records.end(),
                                         [&](const GraceRecord& record) {
                                             const std::time_t age = now - record.verifiedAt;
                                             return age < 0 || age >= seconds ||
                                                    (record.service == key.service &&
                                                     record.rhost == key.rhost);
                                         }),
                          records.end());
            records.push_back(GraceRecord{key.service, key.rhost, now});
            if (records.size() > kMaxRecords)
                records.erase(records.begin(), records.end() - kMaxRecords);
            auto done = writeText(file.value(), path, renderGraceTable(table));
            if (!done)
                return done.problem();
            return std::string();
        },
        lockWaitMs_);
    if (!written)
        return written.problem();
    return succeeded();
}

namespace {
// Empties one grace file under its lock; the number of records it held (0 if damaged).
Result<std::size_t> emptyFile(const std::string& path, uid_t owner, int lockWaitMs) {
    auto file = openLocked(path, owner, true, lockWaitMs);
    if (!file)
        return file.problem();
    const auto read = readTable(file.value(), path);
    if (ftruncate(file.value().get(), 0) != 0)
        return Problem(path + ": cannot empty: " + strerror(errno));
    return read && read.value() ? read.value()->records.size() : std::size_t{0};
}
}  // namespace

Result<> FileGraceStore::end(const std::string& user) {
    const std::string path = fileOf(user);
    if (!mayExist(path))
        return succeeded();
    const Result<std::string> ended = shielded(
        [&]() -> Result<std::string> {
            if (auto checked = checkDirectories(stateDir_, dir(), owner_, false); !checked)
                return checked.problem();
            auto emptied = emptyFile(path, owner_, lockWaitMs_);
            if (!emptied)
                return emptied.problem();
            return std::string();
        },
        lockWaitMs_);
    if (!ended)
        return ended.problem();
    return succeeded();
}

FileGraceStore::Listing FileGraceStore::list() const {
    Listing listing;
    if (!mayExist(dir()))
        return listing;
    if (auto checked = checkDirectories(stateDir_, dir(), owner_, false); !checked) {
        listing.problems.push_back(checked.problem());
        return listing;
    }
    auto files = graceFiles(dir());
    if (!files) {
        listing.problems.push_back(files.problem());
        return listing;
    }
    for (const std::string& path : files.value()) {
        auto file = openLocked(path, owner_, false, lockWaitMs_);
        auto table = file ? readTable(file.value(), path)
                          : Result<std::optional<GraceTable>>(file.problem());
        if (!table)
            listing.problems.push_back(table.problem());
        else if (table.value())
            listing.tables.push_back(std::move(*table.value()));
    }
    return listing;
}

Result<std::size_t> FileGraceStore::endAll() {
    if (!mayExist(dir()))
        return std::size_t{0};
    if (auto checked = checkDirectories(stateDir_, dir(), owner_, false); !checked)
        return checked.problem();
    auto files = graceFiles(dir());
    if (!files)
        return files.problem();
    std::size_t records = 0;
    for (const std::string& path : files.value()) {
        auto emptied = emptyFile(path, owner_, lockWaitMs_);
        if (!emptied)
            return emptied.problem();
        records += emptied.value();
    }
    return records;
}

}  // namespace verif8
