// UsersFileEditor: changes one user's line of the users file (verif8ctl enrol and unenrol),
// every other byte kept, the file replaced whole and atomically under a lock.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "verif8/Result.hpp"
#include "verif8/SafeFile.hpp"

namespace verif8 {

struct UsersTextChange {
    std::string text;  // the whole new file
    int found = 0;     // lines of the user there were (a second one made the user unenrolled)
};

// `text` with the user's lines (enrolmentLineUser) changed: with a `line`, the first one is
// replaced by it in place, keeping its line ending, and any others removed; with none there, it
// is appended (after a newline, when the text lacks a final one). Without a `line`, every one
// is removed, and having none is a problem. All other bytes stay as they were.
Result<UsersTextChange> changeUserLines(std::string_view text, std::string_view user,
                                        const std::optional<std::string>& line);

struct UsersFileTarget {
    std::string path;      // users_file
    std::string lockPath;  // a file of its own: the rename replaces the users file's inode
    uid_t owner = kTrustedOwner;
    int lockWaitMs = 30000;
};

struct UsersFileEdit {
    int found = 0;             // the user's lines before (UsersTextChange::found)
    bool created = false;      // there was no users file: it was created, root's group, mode 0600
    int leftoversRemoved = 0;  // temp files of edits that were killed before their rename
};

// Changes `user`'s lines of target.path (changeUserLines) under an exclusive flock of
// target.lockPath: the file is opened and read with the module's own rules (openUsersFile), the
// temp files that edits killed midway left beside it are removed, the new text is written to a
// temp file in the same directory given the file's owner, group and mode, fsynced, renamed over
// the file (only if the path still names the file that was read), and the directory fsynced. On
// any problem the users file is not changed.
Result<UsersFileEdit> editUsersFile(const UsersFileTarget& target, const std::string& user,
                                    const std::optional<std::string>& line);

}  // namespace verif8
