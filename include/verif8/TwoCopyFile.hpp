// TwoCopyFile: a text kept whole in two root-only files written in turn, so that a write cut short
// loses only that change; the files opened checked, locked and read with a cap.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "verif8/Result.hpp"
#include "verif8/SafeFile.hpp"
#include "verif8/StateDir.hpp"

namespace verif8 {

// The copies hold texts that know their own generation (a number that grows with each write): the
// reader tells which copies are whole and how new; the newer whole one is the text, and the next
// write goes over the other. A copy written over is padded to its old length before it is cut
// to the new one, so that a write stopped at any point leaves either copy readable or torn,
// never the older text with new lines in it.
class TwoCopyFile {
public:
    // Neither copy may grow past `maxBytes`. Copies both torn are given up once neither was
    // written for `staleAfter` seconds: what they held must no longer matter by then.
    TwoCopyFile(std::string firstPath, std::string secondPath, uid_t owner, std::size_t maxBytes,
                std::time_t staleAfter);
    // Closing both copies (the descriptors' owners) releases the lock.
    TwoCopyFile(const TwoCopyFile&) = delete;
    TwoCopyFile& operator=(const TwoCopyFile&) = delete;

    // Opens both copies (created 0600 when missing, refused when not private regular files of
    // the owner), takes the exclusive lock on the first, waiting up to `lockWaitMs`, and reads
    // both.
    Locking open(int lockWaitMs);

    // What copy 0 or 1 held when opened; nullopt when it could not be read, or held more than
    // any text written (maxBytes).
    const std::optional<std::string>& text(int copy) const;

    // Picks the copy the next write builds on, from each copy's generation (nullopt: not whole):
    // the newer whole one (the first on a tie), or nullopt to start afresh when neither is whole
    // but both are stale; a Problem when neither is whole and one was written recently.
    Result<std::optional<int>> newest(std::optional<std::uint64_t> first,
                                      std::optional<std::uint64_t> second, std::time_t wallNow);

    // Writes `text` over the copy newest() did not pick; the picked one keeps its text.
    Result<> writeOther(const std::string& text);

private:
    struct Copy {
        std::string path;
        FileDescriptor file;
        std::size_t size = 0;  // the longer of its size when opened and what was read of it
        std::time_t mtime = 0;
        std::optional<std::string> text;
    };

    void read(Copy& copy);

    Copy copies_[2];
    uid_t owner_;
    std::size_t maxBytes_;
    std::time_t staleAfter_;
    int target_ = -1;  // where writeOther() writes; -1 until newest() has picked
};

}  // namespace verif8
