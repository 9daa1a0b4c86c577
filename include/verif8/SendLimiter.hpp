// SendLimiter: user_send_limit and source_send_limit, counted in state_dir across processes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/StateDir.hpp"

namespace verif8 {

// Busy: a counter stayed locked past the wait (a process root has stopped holds it).
enum class LimitVerdict { Allowed, UserLimit, SourceLimit, Busy, Unavailable };

struct LimitDecision {
    LimitVerdict verdict = LimitVerdict::Unavailable;
    std::vector<Problem> problems;  // to log: corrupt counters, unusable directory
};

// Every send (the first of a login and each resend) must be taken from both allowances first:
// 8x8 asks its customers to limit sends per number and per source themselves (SMS pumping).
class SendLimiter {
public:
    virtual ~SendLimiter() = default;
    // Counts one send for `user` from `source` if both limits allow it.
    virtual LimitDecision take(const std::string& user, const std::string& source) = 0;
    // Gives back the last send taken, for a request that never went out (no connection, say):
    // an outage must not use up the users' allowance.
    virtual void refund(const std::string& user, const std::string& source) = 0;
};

// Counters in STATE_DIR/limits, one file per user and per source, each a list of send times
// kept under flock so that concurrent logins (sshd forks one process per connection) count
// exactly; each change runs where the caller of su cannot stop it (Unstoppable.hpp). A file that
// cannot be read as counters is logged and taken as full, never as empty.
class FileSendLimiter : public SendLimiter {
public:
    FileSendLimiter(std::string stateDir, SendLimit user, SendLimit source, uid_t owner = 0,
                    int lockWaitMs = kStateLockWaitMs)
        : stateDir_(std::move(stateDir)),
          user_(user),
          source_(source),
          owner_(owner),
          lockWaitMs_(lockWaitMs) {}

    LimitDecision take(const std::string& user, const std::string& source) override;
    void refund(const std::string& user, const std::string& source) override;

private:
    LimitDecision takeHere(const std::string& user, const std::string& source);
    void refundHere(const std::string& user, const std::string& source);

    std::string stateDir_;
    SendLimit user_;
    SendLimit source_;
    uid_t owner_;
    int lockWaitMs_;
};

}  // namespace verif8
