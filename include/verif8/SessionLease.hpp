// SessionLease: one login's hold on its phone number's Verify session, over the SessionStore.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "verif8/Enrolment.hpp"
#include "verif8/Outcome.hpp"
#include "verif8/Result.hpp"
#include "verif8/Session.hpp"
#include "verif8/SessionStore.hpp"

namespace verif8 {

// design.md: at most 3 sends per login, the first included.
inline constexpr int kMaxSendsPerLogin = 3;

enum class LeaseVerdict {
    Held,         // this login may send to the number and check codes against its session
    HeldByOther,  // a live login holds the number: nothing may be sent
    Failed,       // the table cannot be used or stayed locked: nothing may be sent
};

struct LeaseClaim {
    LeaseVerdict verdict = LeaseVerdict::Failed;
    pid_t holderPid = 0;                     // HeldByOther: who holds it
    Outcome failure = Outcome::ConfigError;  // Failed: StateBusy when the table stayed locked
    std::string reason;                      // Failed: for the outcome line
    std::optional<Problem> problem;          // Failed: for the error line
};

// The API keeps one pending session per number and gives it to whoever asks for that number
// next: only the login holding the number's lease may send to it or check a code against it. A
// lease whose login has ended (any way, a kill included) or run out of time binds nobody.
class SessionLease {
public:
    SessionLease(SessionStore& store, std::string phone, Holder holder)
        : store_(store), phone_(std::move(phone)), holder_(holder) {}

    LeaseClaim claim(std::int64_t untilMs);
    // The number's session that a login now ended left on this host, if its code still lives.
    const std::optional<PendingSession>& previous() const { return previous_; }
    // Picks up the previous session when this same login left it (sshd runs each
    // keyboard-interactive round in a process of its own) and its code is still good.
    bool resume(const std::string& loginKey, const Enrolment& enrolment, std::int64_t nowMs);
    // The session this login waits on; its sessionId is empty before a send.
    const PendingSession& current() const { return current_; }

    // Whether a send's answer is this login's session: its own (a resend), the previous one
    // (taken over with a new code) or a new one set by this login's request. The problem says
    // why another login or host must have started, resent or checked it.
    Result<> acceptsSent(const Session& session, long expectedExpiryGapSeconds) const;
    // Whether the session is as this login last left it, before and after a code check.
    Result<> acceptsChecked(const Session& session) const;

    // Makes a send's session this login's and records it; nothing is kept when it fails.
    Recording recordSend(const Session& session, Channel channel, std::int64_t nowMs,
                         std::int64_t validityMs, const std::string& loginKey);
    // A wrong code adds exactly one to the API's count: what the next check expects.
    void countWrongCode() { current_.apiAttempt += 1; }
    Recording record() { return store_.record(phone_, holder_, current_); }

    // Ends the lease, whatever ended the login. The session stays recorded while a later run
    // could still use it (the outcome table's keepsSession), so the same login resumes it and
    // another waits out resend_interval; a login that sent nothing leaves it as it found it.
    Result<> close(Outcome outcome);

private:
    Result<> sessionTaken(std::string why) const { return Problem(std::move(why)); }

    SessionStore& store_;
    std::string phone_;
    Holder holder_;
    bool held_ = false;
    std::optional<PendingSession> previous_;
    PendingSession current_;
};

}  // namespace verif8
