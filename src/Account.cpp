// Account: reentrant NSS lookups with buffers that grow as entries need.
#include "verif8/Account.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>

namespace verif8 {

namespace {
constexpr std::size_t kMaxBuffer = 1 << 20;

std::size_t suggestedSize(int name) {
    const long suggested = sysconf(name);
    return suggested > 0 ? static_cast<std::size_t>(suggested) : 16384;
}

// getpwnam_r and getpwuid_r, so that a module in a threaded host does not share getpwnam's
// static buffer. `lookup` is one of them, bound to its key.
template <typename Lookup>
std::optional<Account> passwdEntry(Lookup lookup) {
    std::vector<char> buffer(suggestedSize(_SC_GETPW_R_SIZE_MAX));
    for (;;) {
        passwd entry{};
        passwd* found = nullptr;
        const int error = lookup(&entry, buffer.data(), buffer.size(), &found);
        if (error == ERANGE && buffer.size() < kMaxBuffer) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        if (error != 0 || found == nullptr || found->pw_name == nullptr)
            return std::nullopt;
        return Account{found->pw_name, found->pw_uid, found->pw_gid};
    }
}

std::optional<Account> byName(const std::string& user) {
    return passwdEntry([&user](passwd* entry, char* buffer, size_t size, passwd** found) {
        return getpwnam_r(user.c_str(), entry, buffer, size, found);
    });
}

std::optional<Account> byUid(uid_t uid) {
    return passwdEntry([uid](passwd* entry, char* buffer, size_t size, passwd** found) {
        return getpwuid_r(uid, entry, buffer, size, found);
    });
}

std::optional<gid_t> primaryGroup(const std::string& user) {
    const auto account = byName(user);
    if (!account)
        return std::nullopt;
    return account->gid;
}

std::optional<std::string> groupName(gid_t gid) {
    std::vector<char> buffer(suggestedSize(_SC_GETGR_R_SIZE_MAX));
    for (;;) {
        group entry{};
        group* found = nullptr;
        const int error = getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found);
        if (error == ERANGE && buffer.size() < kMaxBuffer) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        if (error != 0 || found == nullptr)
            return std::nullopt;
        return std::string(found->gr_name);
    }
}
}  // namespace

bool userExists(const std::string& user) {
    return byName(user).has_value();
}

std::optional<Account> resolveAccount(const std::string& user) {
    const auto named = byName(user);
    if (!named)
        return std::nullopt;
    auto canonical = byUid(named->uid);
    if (!canonical || canonical->name.empty())
        return std::nullopt;
    return canonical;
}

std::optional<std::vector<std::string>> groupsOf(const std::string& user) {
    const auto primary = primaryGroup(user);
    if (!primary)
        return std::nullopt;
    int count = 64;
    std::vector<gid_t> gids(static_cast<std::size_t>(count));
    if (getgrouplist(user.c_str(), *primary, gids.data(), &count) < 0) {
        gids.resize(static_cast<std::size_t>(count));
        if (getgrouplist(user.c_str(), *primary, gids.data(), &count) < 0)
            return std::nullopt;
    }
    gids.resize(static_cast<std::size_t>(count));
    std::vector<std::string> names;
    for (gid_t gid : gids) {
        auto name = groupName(gid);
        if (!name)
            return std::nullopt;
        names.push_back(std::move(*name));
    }
    return names;
}

}  // namespace verif8
