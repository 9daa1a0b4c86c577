// Authenticator: the code step of a login, from the user's enrolment to a verified code.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/Conversation.hpp"
#include "verif8/Enrolment.hpp"
#include "verif8/Logger.hpp"
#include "verif8/Outcome.hpp"
#include "verif8/SendLimiter.hpp"
#include "verif8/SessionStore.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

// What the PAM side knows about the login before the code step.
struct LoginContext {
    std::string user;       // the account's canonical name (LoginUser.hpp)
    std::string typedUser;  // the name as PAM_USER gave it, when that was another spelling
    std::string rhost;
    std::string service;
    bool userExists = false;
    bool placeholderPassword = false;  // sshd's "\b\n\r\177INCORRECT" for invalid users
    std::vector<std::string> groups;   // filled only when the policy needs them
    bool groupsKnown = true;           // false: the lookup failed, so no group may exempt
    std::string key;                   // identifies this login across runs of the stack
};

inline constexpr std::string_view kSshdPlaceholderPrefix = "\b\n\r\177INCORRECT";
// design.md: at most 3 sends per login, the first included.
inline constexpr int kMaxSendsPerLogin = 3;

// Knows nothing of PAM: it talks to the user through a Conversation and to the API through a
// VerifyClient, keeps the pending session in a SessionStore, counts sends with a SendLimiter,
// and writes one outcome line per login to the Logger. The whole code step, typing included,
// ends within login_timeout.
class Authenticator {
public:
    Authenticator(const Config& config, VerifyClient& client, Conversation& conversation,
                  EnrolmentSource& enrolments, SessionStore& sessions, SendLimiter& limiter,
                  Logger& logger)
        : config_(config),
          client_(client),
          conversation_(conversation),
          enrolments_(enrolments),
          sessions_(sessions),
          limiter_(limiter),
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

    // What one answer at the prompt leads to (defined with the flow, in Authenticator.cpp).
    struct Step;

private:
    struct Attempt;
    Outcome run(const LoginContext& login, Attempt& attempt);
    std::optional<Outcome> resolveEnrolment(const LoginContext& login, Attempt& attempt);
    std::optional<Outcome> claimPhone(Attempt& attempt);
    std::optional<Step> takeSend(const LoginContext& login, Attempt& attempt, bool again);
    bool resume(const LoginContext& login, Attempt& attempt);
    std::optional<Outcome> waitForResend(Attempt& attempt);
    Step send(const LoginContext& login, Attempt& attempt, Channel channel, bool again);
    std::optional<Outcome> checkInitiated(Attempt& attempt, const Session& session);
    std::optional<Outcome> checkUntouched(Attempt& attempt, const Session& session);
    Outcome sessionTaken(Attempt& attempt, std::string why);
    Step sendAgain(const LoginContext& login, Attempt& attempt, Channel channel);
    Step answer(const LoginContext& login, Attempt& attempt, std::string_view typed);
    Step validate(Attempt& attempt, std::string_view code);
    Step passwordAnswer(Attempt& attempt);
    Outcome promptAndValidate(const LoginContext& login, Attempt& attempt, std::string notice);
    Outcome failedCall(const CallResult& result, Attempt& attempt, bool mayFailOpen);
    void finish(const LoginContext& login, const Attempt& attempt, Outcome outcome);
    void logOutcome(const LoginContext& login, const Attempt& attempt, Outcome outcome);
    std::string sentNotice(const Attempt& attempt, std::string_view how) const;

    const Config& config_;
    VerifyClient& client_;
    Conversation& conversation_;
    EnrolmentSource& enrolments_;
    SessionStore& sessions_;
    SendLimiter& limiter_;
    Logger& logger_;
    std::function<std::chrono::steady_clock::time_point()> steadyClock_ = [] {
        return std::chrono::steady_clock::now();
    };
    std::function<std::int64_t()> bootClock_ = bootClockMs;
    std::optional<Holder> holder_;
    std::function<void(std::int64_t)> sleep_;
};

// Whether what the user typed (trimmed) can be a code at all: 3 to 10 letters, digits or '-'.
bool isPlausibleCode(std::string_view code);

}  // namespace verif8
