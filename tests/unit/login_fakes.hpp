// login_fakes.hpp: a scripted VerifyClient, Conversation, enrolments, session table, send limits
// and logger for the login flow's tests. Every failure names the table row it happened in
// (gRow): fail() is redefined for support.hpp's checks, and CHECK/EQ stand for cmocka's asserts.
#pragma once

#include <chrono>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"
#include "verif8/Authenticator.hpp"
#include "verif8/SessionLease.hpp"

#undef fail
#define fail() (print_error("in row \"%s\"\n", fakes::gRow.c_str()), _fail(__FILE__, __LINE__))
#define CHECK(condition) fakes::check_(condition, #condition " does not hold", __FILE__, __LINE__)
#define EQ(actual, expected)                                                                 \
    fakes::equal_(static_cast<long long>(actual), static_cast<long long>(expected), #actual, \
                  __FILE__, __LINE__)

namespace fakes {

using namespace verif8;

// The table row being run: any failure in these tests names it (support.hpp's checks too).
inline std::string gRow;

inline void check_(bool held, const std::string& failure, const char* file, int line) {
    if (!held) {
        print_error("%s\nin row \"%s\"\n", failure.c_str(), gRow.c_str());
        _fail(file, line);
    }
}
inline void equal_(long long actual, long long expected, const char* what, const char* file,
                   int line) {
    check_(actual == expected,
           what + (" is " + std::to_string(actual)) + ", expected " + std::to_string(expected),
           file, line);
}

inline const std::string kHexId = "a44a91be5ea5ea118169020897df5459";
inline const std::string kDashedId = "a44a91be-5ea5-ea11-8169-020897df5459";
inline const std::string kOtherId = "b55b02cf6fb6fb229270131908e06560";
inline const std::string kPhone = "+6591234567", kApiKey = "APIKEY-S3CRET-0042", kCode = "739184";
inline const std::string kLoginKey = "alice\nsshd\n203.0.113.9\n4242:1:00007f0000001000";
inline const std::string kMasked = "\u2022\u2022\u2022\u2022\u2022\u20224567";
inline const std::string kAsk = "\nVerification code: ";
inline const std::string kSmsPrompt = "Code sent by SMS to " + kMasked + "." + kAsk;
inline const auto kSteadyStart = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
inline constexpr std::time_t kNow = 1800000000;

inline CallResult sessionResult(SessionStatus status, const std::string& id = kHexId,
                                int attempt = 0) {
    Session session;
    session.id = id;
    session.status = status;
    session.attempt = attempt;
    return CallResult{CallStatus::Ok, 200, session, std::nullopt, true, "HTTP 200"};
}
inline CallResult waiting(int attempt = 0, const std::string& id = kHexId) {
    return sessionResult(SessionStatus::Waiting, id, attempt);
}
inline CallResult verified(int attempt = 0, const std::string& id = kHexId) {
    return sessionResult(SessionStatus::Verified, id, attempt);
}
inline CallResult failure(CallStatus status, long http = 0, std::string detail = "scripted") {
    return CallResult{status, http, std::nullopt, std::nullopt, true, std::move(detail)};
}

class FakeClient : public VerifyClient {
public:
    std::optional<std::chrono::steady_clock::time_point> deadline;
    int deadlineCalls = 0;
    std::vector<std::string>* trace = nullptr;  // the order of calls, shared with the limiter
    std::deque<CallResult> initiateResults, validateResults;
    // When none is scripted, a status read answers as the API would: WAITING, with the
    // wrong-code count and expiry of the last answer.
    std::deque<CallResult> statusResults;
    std::vector<InitiateRequest> initiates;
    std::vector<std::string> validatedSessions, validatedCodes;
    // Like the API, a scripted validate answer with no count of its own gets one: WAITING one
    // more wrong code than before, a final status the same count.
    bool countAttempts = true;
    int apiAttempt = 0;
    std::optional<std::time_t> apiExpiresAt;

    void setDeadline(std::chrono::steady_clock::time_point when) override {
        deadline = when;
        ++deadlineCalls;
        note("deadline");
    }
    CallResult initiate(const InitiateRequest& request) override {
        initiates.push_back(request);
        CallResult result = next("initiate", initiateResults);
        if (result.session) {
            apiAttempt = result.session->attempt;
            apiExpiresAt = result.session->expiresAt;
        }
        return result;
    }
    CallResult validate(const std::string& sessionId, const SecretString& code) override {
        validatedSessions.push_back(sessionId);
        validatedCodes.emplace_back(code.view());
        CallResult result = next("validate", validateResults);
        if (result.session && countAttempts && result.session->attempt == 0) {
            result.session->attempt =
                apiAttempt + (result.session->status == SessionStatus::Waiting);
            if (!result.session->expiresAt)
                result.session->expiresAt = apiExpiresAt;
        }
        if (result.session)
            apiAttempt = result.session->attempt;
        return result;
    }
    CallResult status(const std::string& sessionId) override {
        if (!statusResults.empty())
            return next("status", statusResults);
        note("status");
        CallResult result = waiting(apiAttempt, sessionId);
        result.session->expiresAt = apiExpiresAt;
        return result;
    }

private:
    void note(const char* call) {
        if (trace)
            trace->push_back(call);
    }
    CallResult next(const char* call, std::deque<CallResult>& results) {
        note(call);
        if (results.empty())  // an unscripted call: the test's call counts will catch it
            return failure(CallStatus::InternalError, 0, "unscripted call");
        CallResult result = results.front();
        results.pop_front();
        return result;
    }
};

class FakeConversation : public Conversation {
public:
    std::deque<std::optional<std::string>> replies;  // nullopt: the user aborts
    std::vector<std::string> prompts, errors, infos;
    std::vector<std::string> passwords;  // what PAM_AUTHTOK / PAM_OLDAUTHTOK hold
    // Called with each prompt's index before it is answered (to move the clock on, say).
    std::function<void(std::size_t)> onPrompt;

    std::optional<SecretString> askSecret(const std::string& prompt) override {
        if (onPrompt)
            onPrompt(prompts.size());
        prompts.push_back(prompt);
        if (replies.empty())
            return std::nullopt;
        const std::optional<std::string> reply = replies.front();
        replies.pop_front();
        return reply ? std::optional<SecretString>(SecretString(*reply)) : std::nullopt;
    }
    void error(const std::string& text) override { errors.push_back(text); }
    void info(const std::string& text) override { infos.push_back(text); }
    bool isLoginPassword(std::string_view answer) const override {
        return std::find(passwords.begin(), passwords.end(), answer) != passwords.end();
    }
};

class FakeEnrolments : public EnrolmentSource {
public:
    EnrolmentLookup result;
    std::vector<std::string> asked;
    EnrolmentLookup find(const std::string& user) override {
        asked.push_back(user);
        return result;
    }
};

// The number's session and claim in memory, by phone, as FileSessionStore keeps them.
struct MemoryRow {
    std::optional<PendingSession> session;
    std::optional<Holder> holder;
    std::int64_t untilMs = 0;
};

inline bool sameHolder(const Holder& a, const Holder& b) {
    return a.pid == b.pid && a.started == b.started && a.nonce == b.nonce;
}

class MemoryStore : public SessionStore {
public:
    std::map<std::string, MemoryRow> rows;
    std::set<pid_t> dead;  // holders whose process has ended
    std::function<std::int64_t()> now = [] { return std::int64_t{0}; };
    bool broken = false, busy = false;
    std::string recordProblem;  // when set, sessions cannot be recorded (a full disk, say)

    Claim claim(const std::string& phone, const Holder& holder, std::int64_t untilMs) override {
        Claim result;
        if (broken || busy) {
            result.verdict = busy ? ClaimVerdict::Busy : ClaimVerdict::Unavailable;
            result.problem = Problem(busy ? "/state/pending.a: locked by another process"
                                          : "/state: not a directory");
            return result;
        }
        MemoryRow& row = rows[phone];
        if (row.holder && !sameHolder(*row.holder, holder) && dead.count(row.holder->pid) == 0 &&
            now() < row.untilMs) {
            result.verdict = ClaimVerdict::HeldByOther;
            result.holderPid = row.holder->pid;
            return result;
        }
        row.holder = holder;
        row.untilMs = untilMs;
        result.verdict = ClaimVerdict::Claimed;
        if (row.session && now() < row.session->expiresMs)
            result.pending = row.session;
        return result;
    }
    Recording record(const std::string& phone, const Holder& holder,
                     const PendingSession& session) override {
        if (!recordProblem.empty())
            return {RecordVerdict::Unavailable, Problem(recordProblem)};
        MemoryRow& row = rows[phone];
        if (!row.holder || !sameHolder(*row.holder, holder))
            return {RecordVerdict::ClaimLost, std::nullopt};
        row.session = session;
        return {RecordVerdict::Recorded, std::nullopt};
    }
    Result<> release(const std::string& phone, const Holder& holder, bool keepSession) override {
        const auto found = rows.find(phone);
        if (found == rows.end() || !found->second.holder ||
            !sameHolder(*found->second.holder, holder))
            return succeeded();
        found->second.holder.reset();
        if (!keepSession)
            found->second.session.reset();
        if (!found->second.session)
            rows.erase(found);
        return succeeded();
    }
};

// Sends allowed until `allowed` runs out; records who asked.
class FakeLimiter : public SendLimiter {
public:
    int allowed = 100;
    LimitVerdict refusal = LimitVerdict::UserLimit;
    std::vector<Problem> problems;
    std::vector<std::pair<std::string, std::string>> asked, refunded;  // user and source
    std::vector<std::string> phones;  // the number of each send asked for
    std::vector<std::string>* trace = nullptr;

    LimitDecision take(const SendKeys& keys) override {
        if (trace)
            trace->push_back("limit");
        asked.emplace_back(keys.user, keys.source);
        phones.push_back(keys.phone);
        const bool allow = allowed > 0;
        allowed -= allow;
        return LimitDecision{allow ? LimitVerdict::Allowed : refusal, problems};
    }
    void refund(const SendKeys& keys) override {
        refunded.emplace_back(keys.user, keys.source);
        ++allowed;
    }
};

// Grace in memory, on the fakes' clock; every call is noted, and `problem` fails them all.
class FakeGrace : public GraceStore {
public:
    std::function<std::time_t()> now = [] { return std::time_t{0}; };
    std::map<std::tuple<std::string, std::string, std::string>, std::time_t> verified;
    std::optional<Problem> problem;
    std::vector<std::string> calls;  // "check|grant USER SERVICE RHOST", "end USER"

    GraceCheck check(const GraceKey& key, int seconds) override {
        calls.push_back("check " + key.user + " " + key.service + " " + key.rhost);
        const auto found = verified.find({key.user, key.service, key.rhost});
        if (problem)
            return GraceCheck{false, 0, problem};
        if (found != verified.end() && now() - found->second < seconds)
            return GraceCheck{true, now() - found->second, std::nullopt};
        return GraceCheck{};
    }
    Result<> grant(const GraceKey& key, int) override {
        calls.push_back("grant " + key.user + " " + key.service + " " + key.rhost);
        if (problem)
            return *problem;
        verified[{key.user, key.service, key.rhost}] = now();
        return succeeded();
    }
    Result<> end(const std::string& user) override {
        calls.push_back("end " + user);
        if (problem)
            return *problem;
        for (auto it = verified.begin(); it != verified.end();)
            it = std::get<0>(it->first) == user ? verified.erase(it) : std::next(it);
        return succeeded();
    }
};

class RecordingLogger : public Logger {
public:
    bool debugOn = false;
    std::vector<std::pair<LogLevel, std::string>> lines;

    void log(LogLevel level, const std::string& line) override { lines.emplace_back(level, line); }
    bool debugEnabled() const override { return debugOn; }
    std::string all() const {
        std::string text;
        for (const auto& line : lines)
            text += line.second + "\n";
        return text;
    }
    std::size_t count(LogLevel level, std::string_view part) const {
        return std::count_if(lines.begin(), lines.end(), [&](const auto& line) {
            return line.first == level && line.second.find(part) != std::string::npos;
        });
    }
};

inline Enrolment enrolment(std::vector<Channel> channels = {Channel::Sms}) {
    return Enrolment{"alice", kPhone, std::move(channels)};
}

// What a login left for kPhone: by default this same login's earlier round, sent 10 s ago.
inline PendingSession pendingSession(Channel channel = Channel::Sms,
                                     std::time_t lastSend = kNow - 10, int sends = 1,
                                     const std::string& key = kLoginKey) {
    PendingSession session;
    session.sessionId = kHexId;
    session.channel = channel;
    session.sends = sends;
    session.lastSendMs = static_cast<std::int64_t>(lastSend) * 1000;
    session.expiresMs = (static_cast<std::int64_t>(lastSend) + 300) * 1000;
    session.loginStamp = loginStamp(key);
    return session;
}

}  // namespace fakes
