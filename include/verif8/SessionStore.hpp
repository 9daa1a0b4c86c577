// SessionStore: the Verify session a login is waiting on, kept across repeated runs of the stack.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <ctime>
#include <optional>
#include <string>

#include "verif8/Channel.hpp"
#include "verif8/StateDir.hpp"

namespace verif8 {

// sshd runs pam_authenticate in a forked child for each keyboard-interactive round, so nothing a
// module keeps in memory or in the PAM handle survives a failed round. This is what must survive:
// without it a client that retries on the same connection would have a new code sent each time.
struct PendingSession {
    std::string sessionId;
    std::string phone;
    Channel channel = Channel::Sms;
    int sends = 0;
    std::time_t lastSend = 0;
    std::time_t expiresAt = 0;  // by our clock: last send + code_validity
};

class SessionStore {
public:
    virtual ~SessionStore() = default;
    virtual std::optional<PendingSession> load(const std::string& key) = 0;
    virtual void save(const std::string& key, const PendingSession& session) = 0;
    virtual void forget(const std::string& key) = 0;

    // The API hands a pending session to any login that asks for the same number, and assumes a
    // finished one answers VERIFIED to any code: two logins must never share a session, or one
    // could ride on the code typed into the other. claim() records that `key` owns the session
    // and fails if another login holding it is still alive; release() ends the claim.
    virtual bool claim(const std::string& sessionId, const std::string& key) = 0;
    virtual void release(const std::string& sessionId, const std::string& key) = 0;

    // Whether the store can keep anything; when not, problem() says why. Nothing is sent then:
    // without it, neither claims nor (later) send limits would hold.
    virtual bool usable() = 0;
    virtual std::string problem() const = 0;
};

// Two files, STATE_DIR/pending.a and pending.b (root-only, 0600), each able to hold the whole
// table of pending sessions (by login key) and claims (by session); a change is written to the
// copy that does not hold the newest table, so that a write cut short loses only that change.
// Entries older than the longest code are dropped at each change. An unusable directory, file or
// table (both copies damaged) is the caller's to refuse (usable()); nothing is claimed then.
class FileSessionStore : public SessionStore {
public:
    static constexpr std::size_t kDefaultMaxBytes = 1024 * 1024;  // some 5000 waiting logins

    explicit FileSessionStore(std::string stateDir, uid_t owner = 0,
                              std::size_t maxBytes = kDefaultMaxBytes,
                              int lockWaitMs = kStateLockWaitMs)
        : stateDir_(std::move(stateDir)),
          owner_(owner),
          maxBytes_(maxBytes),
          lockWaitMs_(lockWaitMs) {}

    std::optional<PendingSession> load(const std::string& key) override;
    void save(const std::string& key, const PendingSession& session) override;
    void forget(const std::string& key) override;
    bool claim(const std::string& sessionId, const std::string& key) override;
    void release(const std::string& sessionId, const std::string& key) override;

    // The state directory is created if missing, then it and both files are checked.
    bool usable() override;
    std::string problem() const override { return problem_; }

private:
    bool prepareDirectory();

    std::string stateDir_;
    uid_t owner_;
    std::size_t maxBytes_;
    int lockWaitMs_;
    std::string problem_;
};

// What identifies "this login" across runs of the stack: the user, service and remote host, and
// the process that owns the PAM handle (the parent of sshd's per-round child, else this
// process), with its start time so that a reused pid is a different login. Empty when it cannot
// be told.
std::string loginKey(const std::string& user, const std::string& service, const std::string& rhost);

}  // namespace verif8
