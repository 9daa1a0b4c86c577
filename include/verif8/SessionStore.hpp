// SessionStore: which login may use the Verify session of a phone number, kept across processes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "verif8/Channel.hpp"
#include "verif8/Result.hpp"
#include "verif8/StateDir.hpp"

namespace verif8 {

// Milliseconds on CLOCK_BOOTTIME: one clock for every process of this boot, never moved by
// changes to the wall clock, and counting suspended time (codes expire while a laptop sleeps).
std::int64_t bootClockMs();

// The process of a login, as a claim records it. A claim whose process has ended (pid gone, or
// reused: another start time) binds nobody; the nonce tells two runs of the module in one
// process apart.
struct Holder {
    pid_t pid = 0;
    std::uint64_t started = 0;  // start time, clock ticks after boot (/proc/PID/stat field 22)
    std::uint64_t nonce = 0;    // drawn for each run of the module
};
// This process with a fresh nonce; pid 0 when its start time cannot be read (no /proc).
Holder currentHolder();
// Whether the holder's process still runs: the same pid with the same start time.
bool holderAlive(const Holder& holder);

// The API keeps one pending session per phone number and hands it to any login that asks for
// that number (and assumes a finished one answers VERIFIED to any code). This is what this host
// last saw of the number's session, so that only one login uses it at a time.
struct PendingSession {
    std::string sessionId;
    Channel channel = Channel::Sms;
    int sends = 0;                 // by the login that last sent
    std::int64_t lastSendMs = 0;   // boot clock
    std::int64_t expiresMs = 0;    // boot clock: last send + code_validity
    int apiAttempt = 0;            // the API's count of wrong codes, as it last answered
    std::time_t apiExpiresAt = 0;  // the API's expiresAt, as it last answered (0: not given)
    std::string loginStamp;        // the login that sent it (loginStamp() of its key)
};

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
    std::string problem_;
    bool busy_ = false;
};

// What identifies "this login" across runs of the stack: the user, service and remote host, the
// process that owns the PAM handle (the parent of sshd's per-round child, else this process)
// with its start time, and the handle's address. Empty when it cannot be told.
std::string loginKey(const std::string& user, const std::string& service, const std::string& rhost,
                     const void* handle);
// What the table records of a login key (it holds newlines): its hash and length.
std::string loginStamp(const std::string& key);

}  // namespace verif8
