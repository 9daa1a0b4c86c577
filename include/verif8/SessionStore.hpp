// SessionStore: which login may use the Verify session of a phone number, kept across processes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "verif8/LoginIdentity.hpp"
#include "verif8/Result.hpp"
#include "verif8/SessionTable.hpp"
#include "verif8/StateDir.hpp"

namespace verif8 {

enum class ClaimVerdict {
    Claimed,      // this login may use the number until it releases it or its time is up
    HeldByOther,  // a live login holds the number: nothing may be sent
    Busy,         // the table stayed locked past the bound (`problem` says by what)
    Unavailable,  // the table cannot be used (`problem` says why): nothing may be sent
};

struct Claim {
    ClaimVerdict verdict = ClaimVerdict::Unavailable;
    std::optional<PendingSession> pending;  // Claimed: the number's session, if still in its time
    pid_t holderPid = 0;                    // HeldByOther: who holds it
    std::optional<Problem> problem;         // Busy, Unavailable
};

enum class RecordVerdict {
    Recorded,
    ClaimLost,    // the claim is no longer this holder's (its time ran out): nothing written
    Unavailable,  // the table cannot be used (`problem` says why)
};

struct Recording {
    RecordVerdict verdict = RecordVerdict::Unavailable;
    std::optional<Problem> problem;  // Unavailable
};

class SessionStore {
public:
    virtual ~SessionStore() = default;
    // Takes `phone` for `holder` until `untilMs` (boot clock: the login's own deadline), unless
    // another live holder's claim is still in its time. Claims of ended processes, and claims
    // past their time (a stopped login), bind nobody.
    virtual Claim claim(const std::string& phone, const Holder& holder, std::int64_t untilMs) = 0;
    // Records the session `holder` now waits on.
    virtual Recording record(const std::string& phone, const Holder& holder,
                             const PendingSession& session) = 0;
    // Ends `holder`'s claim; the session stays for a later login unless `keepSession` is false.
    virtual Result<> release(const std::string& phone, const Holder& holder, bool keepSession) = 0;
};

// Two files, STATE_DIR/pending.a and pending.b (root-only, 0600), each able to hold the whole
// table (a line per phone number with a session or a claim); a change is written to the copy
// that does not hold the newest table, so that a write cut short loses only that change. Every
// change is one short read-modify-write under a lock, run where the caller of su cannot stop it
// (Unstoppable.hpp). An unusable directory, file or table is refused: nothing is claimed then.
class FileSessionStore : public SessionStore {
public:
    static constexpr std::size_t kDefaultMaxBytes = 1024 * 1024;  // some 5000 phone numbers

    explicit FileSessionStore(std::string stateDir, uid_t owner = 0,
                              std::size_t maxBytes = kDefaultMaxBytes,
                              int lockWaitMs = kStateLockWaitMs)
        : stateDir_(std::move(stateDir)),
          owner_(owner),
          maxBytes_(maxBytes),
          lockWaitMs_(lockWaitMs) {}

    Claim claim(const std::string& phone, const Holder& holder, std::int64_t untilMs) override;
    Recording record(const std::string& phone, const Holder& holder,
                     const PendingSession& session) override;
    Result<> release(const std::string& phone, const Holder& holder, bool keepSession) override;

private:
    std::string stateDir_;
    uid_t owner_;
    std::size_t maxBytes_;
    int lockWaitMs_;
};

}  // namespace verif8
