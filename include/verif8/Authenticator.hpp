// Authenticator: the code step of a login, from the user's enrolment to a verified code.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "verif8/Config.hpp"
#include "verif8/Conversation.hpp"
#include "verif8/Enrolment.hpp"
#include "verif8/GraceStore.hpp"
#include "verif8/Logger.hpp"
#include "verif8/LoginContext.hpp"
#include "verif8/Outcome.hpp"
#include "verif8/SendLimiter.hpp"
#include "verif8/SessionStore.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

struct LoginAttempt;
struct LoginServices;

// Knows nothing of PAM: it talks to the user through a Conversation and to the API through a
// VerifyClient, keeps the pending session in a SessionStore, counts sends with a SendLimiter,
// remembers verified codes for grace_period in a GraceStore, and writes one outcome line per
// login to the Logger. The whole code step, typing included, ends within login_timeout.
class Authenticator {
public:
    Authenticator(const Config& config, VerifyClient& client, Conversation& conversation,
                  EnrolmentSource& enrolments, SessionStore& sessions, SendLimiter& limiter,
                  GraceStore& grace, Logger& logger)
        : config_(config),
          client_(client),
          conversation_(conversation),
          enrolments_(enrolments),
          sessions_(sessions),
          limiter_(limiter),
          grace_(grace),
          logger_(logger) {}

    Outcome authenticate(const LoginContext& login);

    // For tests: the monotonic clock that measures login_timeout.
    void setSteadyClock(std::function<std::chrono::steady_clock::time_point()> clock) {
        steadyClock_ = std::move(clock);
    }
    // For tests: the clock every process of the host shares (claims, code lifetimes), the
    // identity of this login's process, and how the login waits out a resend interval.
    void setBootClock(std::function<std::int64_t()> clock) { bootClock_ = std::move(clock); }
    void setHolder(Holder holder) { holder_ = holder; }
    void setSleep(std::function<void(std::int64_t ms)> sleep) { sleep_ = std::move(sleep); }

private:
    Outcome run(const LoginServices& services, LoginAttempt& attempt);
    std::optional<Outcome> admit(LoginAttempt& attempt);
    std::optional<Outcome> resolveEnrolment(LoginAttempt& attempt);
    std::optional<Outcome> checkGrace(LoginAttempt& attempt);
    void noteGrace(const LoginServices& services, const LoginAttempt& attempt, Outcome outcome);
    std::optional<Outcome> claimPhone(LoginAttempt& attempt);
    std::optional<Outcome> waitForResend(LoginAttempt& attempt);
    void finish(LoginAttempt& attempt, Outcome outcome);

    const Config& config_;
    VerifyClient& client_;
    Conversation& conversation_;
    EnrolmentSource& enrolments_;
    SessionStore& sessions_;
    SendLimiter& limiter_;
    GraceStore& grace_;
    Logger& logger_;
    std::function<std::chrono::steady_clock::time_point()> steadyClock_ = [] {
        return std::chrono::steady_clock::now();
    };
    std::function<std::int64_t()> bootClock_ = bootClockMs;
    std::optional<Holder> holder_;
    std::function<void(std::int64_t)> sleep_;
};

}  // namespace verif8
