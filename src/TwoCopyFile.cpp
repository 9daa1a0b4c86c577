// TwoCopyFile: a text kept whole in two root-only files written in turn, so that a write cut short
// loses only that change; the files opened checked, locked and read with a cap.
//
// Long-lived files, not a file per change: creating and deleting files at every login costs far
// more than the login's other work on some filesystems (ext4 without a journal searches past
// every recently freed inode for each new one, about a millisecond a login at a few logins a
// second), and a file rewritten in place costs a few microseconds anywhere.
//
// Two copies, not one: a write can be cut short (a full disk, a process killed mid-write, a
// crash), and a text half written must never pass for an older whole one. Each change goes to
// the copy that does not hold the newest whole text; a reader takes the newest copy that is
// whole. A cut write leaves the text as it was before that change.
//
// Every state file this store opens or reads goes through open() and read() below.
#include "verif8/TwoCopyFile.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "verif8/StateDir.hpp"

namespace verif8 {

namespace {
// Slack over maxBytes for the padding of a shorter rewrite: no copy written is longer.
constexpr std::size_t kReadSlack = 4096;

bool stale(std::time_t when, std::time_t now, std::time_t staleAfter) {
    return now - when > staleAfter || when - now > staleAfter;
}
}  // namespace

TwoCopyFile::TwoCopyFile(std::string firstPath, std::string secondPath, uid_t owner,
                         std::size_t maxBytes, std::time_t staleAfter)
    : owner_(owner), maxBytes_(maxBytes), staleAfter_(staleAfter) {
    copies_[0].path = std::move(firstPath);
    copies_[1].path = std::move(secondPath);
}

Locking TwoCopyFile::open(int lockWaitMs) {
    for (Copy& copy : copies_) {
        auto opened = openStateFile(copy.path, owner_);
        if (!opened)
            return {LockVerdict::Unavailable, opened.problem()};
        copy.file = std::move(opened).value();
    }
    const Locking locking = lockStateFile(copies_[0].file, true, copies_[0].path, lockWaitMs);
    if (locking.verdict != LockVerdict::Locked)
        return locking;
    for (Copy& copy : copies_)
        read(copy);
    return locking;
}

void TwoCopyFile::read(Copy& copy) {
    struct stat info {};
    if (fstat(copy.file.get(), &info) != 0)
        return;
    copy.size = static_cast<std::size_t>(info.st_size);
    copy.mtime = info.st_mtime;
    const auto content = readCapped(copy.file, maxBytes_ + kReadSlack);
    if (!content)
        return;  // unreadable, or more than any text written: not a whole copy
    copy.size = std::max(copy.size, content.value().size());
    copy.text = std::string(content.value().view());
}

const std::optional<std::string>& TwoCopyFile::text(int copy) const {
    return copies_[copy].text;
}

Result<std::optional<int>> TwoCopyFile::newest(std::optional<std::uint64_t> first,
                                               std::optional<std::uint64_t> second,
                                               std::time_t wallNow) {
    if (first || second) {
        const int newest = !first || (second && *second > *first) ? 1 : 0;
        target_ = 1 - newest;
        return std::optional<int>(newest);
    }
    if (stale(copies_[0].mtime, wallNow, staleAfter_) &&
        stale(copies_[1].mtime, wallNow, staleAfter_)) {
        target_ = 0;
        return std::optional<int>();
    }
    return Problem(copies_[0].path + " and " + copies_[1].path +
                   ": both damaged (writes cut short); they are started afresh " +
                   std::to_string(staleAfter_ / 3600) +
                   " hours after the last write, or when removed");
}

Result<> TwoCopyFile::writeOther(const std::string& text) {
    if (target_ < 0)
        return Problem(copies_[0].path + ": written before it was read");
    Copy& target = copies_[target_];
    if (text.size() > maxBytes_)
        return Problem(target.path + ": the table would grow past " + std::to_string(maxBytes_) +
                       " bytes; not written");
    // Padded with empty lines to at least the old length before the cut to length, so that a
    // process killed in between leaves a whole text and some padding, not old lines after new
    // ones. Emptying the file first instead would make ext4 write it back at close.
    std::string padded = text;
    if (padded.size() < target.size)
        padded.append(target.size - padded.size(), '\n');
    for (std::size_t done = 0; done < padded.size();) {
        const ssize_t wrote = pwrite(target.file.get(), padded.data() + done, padded.size() - done,
                                     static_cast<off_t>(done));
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0)
            return Problem(target.path + ": cannot write: " +
                           (wrote < 0 ? std::string(strerror(errno)) : "no space written"));
        done += static_cast<std::size_t>(wrote);
    }
    if (ftruncate(target.file.get(), static_cast<off_t>(text.size())) != 0)
        return Problem(target.path + ": cannot cut to length: " + strerror(errno));
    return succeeded();
}

}  // namespace verif8
