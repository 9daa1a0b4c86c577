// GraceStore: grace_period's memory of verified codes, per account, kept in state_dir.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "verif8/GraceTable.hpp"
#include "verif8/Result.hpp"
#include "verif8/SafeFile.hpp"
#include "verif8/StateDir.hpp"

namespace verif8 {

// Grace is given per account, PAM service and remote address (a canonical IP literal).
struct GraceKey {
    std::string user;
    std::string service;
    std::string rhost;
};

struct GraceCheck {
    bool granted = false;
    std::time_t age = 0;             // seconds since the code was verified, when granted
    std::optional<Problem> problem;  // a store that could not be read: no grace, and said why
};

class GraceStore {
public:
    virtual ~GraceStore() = default;
    // Whether `key` had a code verified less than `seconds` ago. Only reads: a grace login
    // never extends the window.
    virtual GraceCheck check(const GraceKey& key, int seconds) = 0;
    // Records a code verified now for `key`; records older than `seconds` are dropped.
    virtual Result<> grant(const GraceKey& key, int seconds) = 0;
    // Ends every grace of `user` (a wrong code was typed for the account): all services, all
    // addresses.
    virtual Result<> end(const std::string& user) = 0;
};

// One file per account in STATE_DIR/grace (named by a hash of the user name), root's and
// private like every state file, under flock; each change runs where the caller of su cannot
// stop it (Unstoppable.hpp). A file that cannot be read whole gives no grace.
class FileGraceStore : public GraceStore {
public:
    explicit FileGraceStore(std::string stateDir, uid_t owner = kTrustedOwner,
                            int lockWaitMs = kStateLockWaitMs,
                            std::function<std::time_t()> clock = nullptr);

    GraceCheck check(const GraceKey& key, int seconds) override;
    Result<> grant(const GraceKey& key, int seconds) override;
    Result<> end(const std::string& user) override;

    // For verif8ctl: every account's table (problems: files that could not be read), and a
    // clear of every account.
    struct Listing {
        std::vector<GraceTable> tables;
        std::vector<Problem> problems;
    };
    Listing list() const;
    Result<std::size_t> endAll();

private:
    std::string dir() const { return stateDir_ + "/grace"; }
    std::string fileOf(const std::string& user) const;

    std::string stateDir_;
    uid_t owner_;
    int lockWaitMs_;
    std::function<std::time_t()> clock_;
};

}  // namespace verif8
