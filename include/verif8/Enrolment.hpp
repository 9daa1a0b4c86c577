// Enrolment: who has which phone and channels, from the users file (USER PHONE [CHANNEL,...]).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verif8/Channel.hpp"
#include "verif8/Result.hpp"
#include "verif8/SafeFile.hpp"
#include "verif8/SecretString.hpp"

namespace verif8 {

struct Enrolment {
    std::string user;
    std::string phone;              // "+" and 8 to 15 digits
    std::vector<Channel> channels;  // never empty; the first is the user's channel
};

struct EnrolmentLookup {
    enum class Kind {
        Found,
        NotEnrolled,  // no line for the user, or only bad ones
        Unavailable,  // the file itself cannot be used: a configuration error
    };
    Kind kind = Kind::NotEnrolled;
    std::optional<Enrolment> entry;
    std::vector<Problem> problems;  // bad lines for this user, or why the file is unusable
};

// A bad line of the users file, by its number.
struct EnrolmentProblem {
    int line = 0;
    std::string text;
};

struct EnrolmentList {
    std::vector<Enrolment> entries;
    std::vector<EnrolmentProblem> problems;  // bad and repeated lines
};

inline constexpr std::size_t kMaxUsersFileSize = 8 * 1024 * 1024;

// The user a line is about: its first field, or "" for a comment or blank line. Lookups and
// verif8ctl enrol/unenrol pick a user's lines with this, so they cannot disagree.
std::string_view enrolmentLineUser(std::string_view line);

// Parses one non-comment line.
Result<Enrolment> parseEnrolmentLine(std::string_view line, Channel defaultChannel);

// Looks one user up in users-file text. Lines of other users are not parsed beyond their first
// field, so a login pays only for its own line; a bad line or a second line for the user makes
// the user not enrolled.
EnrolmentLookup findEnrolment(std::string_view text, std::string_view user, Channel defaultChannel,
                              const std::string& source);

// Parses every line (for verif8ctl check-config).
EnrolmentList parseEnrolments(std::string_view text, Channel defaultChannel);

// Where the Authenticator finds a user's phone.
class EnrolmentSource {
public:
    virtual ~EnrolmentSource() = default;
    virtual EnrolmentLookup find(const std::string& user) = 0;
};

// The users file's text as the module reads it: a regular file of `owner`, not writable by group
// or others, at most kMaxUsersFileSize bytes, and text (no NUL byte). verif8ctl check-config
// reads it through this too.
Result<SecretString> readUsersFile(const std::string& path, uid_t owner = kTrustedOwner);

// The two halves of readUsersFile, for a caller that keeps the descriptor (verif8ctl enrol
// replaces the very file it checked): open and check, then read and check the text.
Result<FileDescriptor> openUsersFile(const std::string& path, uid_t owner = kTrustedOwner);
Result<SecretString> readUsersText(const FileDescriptor& file, const std::string& path);

// The users file (readUsersFile), read at each lookup.
class UsersFile : public EnrolmentSource {
public:
    UsersFile(std::string path, Channel defaultChannel, uid_t owner = kTrustedOwner)
        : path_(std::move(path)), defaultChannel_(defaultChannel), owner_(owner) {}
    EnrolmentLookup find(const std::string& user) override;

private:
    std::string path_;
    Channel defaultChannel_;
    uid_t owner_;
};

bool isValidPhone(std::string_view phone);

}  // namespace verif8
