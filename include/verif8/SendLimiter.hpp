// SendLimiter: user_send_limit, source_send_limit and phone_send_limit, counted in state_dir
// across processes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/StateDir.hpp"

namespace verif8 {

// Busy: a counter stayed locked past the wait (a process root has stopped holds it).
enum class LimitVerdict { Allowed, UserLimit, SourceLimit, PhoneLimit, Busy, Unavailable };

struct LimitDecision {
    LimitVerdict verdict = LimitVerdict::Unavailable;
    std::vector<Problem> problems;  // to log: corrupt counters, unusable directory
};

// Who a send is counted against: the user, where the login comes from, and the number it goes
// to (whatever user names map to it).
struct SendKeys {
    std::string user;
    std::string source;
    std::string phone;
};

// Every send (the first of a login and each resend) must be taken from all three allowances
// first: 8x8 asks its customers to limit sends per number and per source themselves (SMS
// pumping).
class SendLimiter {
public:
    virtual ~SendLimiter() = default;
    // Counts one send against each of `keys` if every limit allows it.
    virtual LimitDecision take(const SendKeys& keys) = 0;
    // Gives back the last send taken, for a request that never went out (no connection, say):
    // an outage must not use up the users' allowance.
    virtual void refund(const SendKeys& keys) = 0;
};

// Counters in STATE_DIR/limits, one file per user, source and number (named by a hash, never by
// the name or number itself), each a list of send times
// kept under flock so that concurrent logins (sshd forks one process per connection) count
// exactly; each change runs where the caller of su cannot stop it (Unstoppable.hpp). A file that
// cannot be read as counters is logged and taken as full, never as empty.
class FileSendLimiter : public SendLimiter {
public:
    FileSendLimiter(std::string stateDir, SendLimit user, SendLimit source, SendLimit phone,
                    uid_t owner = 0, int lockWaitMs = kStateLockWaitMs)
        : stateDir_(std::move(stateDir)),
          user_(user),
          source_(source),
          phone_(phone),
          owner_(owner),
          lockWaitMs_(lockWaitMs) {}

    LimitDecision take(const SendKeys& keys) override;
    void refund(const SendKeys& keys) override;

private:
    LimitDecision takeHere(const SendKeys& keys);
    void refundHere(const SendKeys& keys);

    std::string stateDir_;
    SendLimit user_;
    SendLimit source_;
    SendLimit phone_;
    uid_t owner_;
    int lockWaitMs_;
};

}  // namespace verif8
