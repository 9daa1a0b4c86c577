// Authenticator: the login flow against a scripted VerifyClient, Conversation and enrolments.
// Tables of logins: what the API answers and the user types -> the outcome, its PAM code, the
// requests sent, the prompts shown, what the user is told and the outcome line.
#include <security/_pam_types.h>

#include "login_fakes.hpp"
#include "verif8/Network.hpp"

using namespace fakes;
using namespace std::literals;

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& separator = " ") {
    std::string text;
    for (const auto& part : parts)
        text += (text.empty() ? "" : separator) + part;
    return text;
}

struct H {  // one login's fakes and clocks
    Config config;
    FakeClient client;
    FakeConversation conversation;
    FakeEnrolments enrolments;
    MemoryStore store;
    FakeLimiter limiter;
    FakeGrace grace;
    RecordingLogger logger;
    LoginContext login;
    std::time_t now = kNow;
    // The monotonic clock login_timeout is measured on; realSteadyClock keeps the module's own.
    std::chrono::steady_clock::time_point steadyNow = kSteadyStart, runStart;
    bool realSteadyClock = false;
    std::vector<std::string> trace;  // setDeadline, limiter and API calls, in order
    Holder holder{4242, 1, 0x5eed};
    std::vector<std::int64_t> slept;  // waits for a resend interval, in ms
    int runs = 0;

    H() {
        client.trace = limiter.trace = &trace;
        store.now = [this] { return bootNow(); };
        grace.now = [this] { return now; };
        config.apiKey.assign(kApiKey);
        config.subaccountId = "demo-account";
        login.user = "alice";
        login.rhost = "203.0.113.9";
        login.service = "sshd";
        login.userExists = true;
        login.key = kLoginKey;
        enrol({Channel::Sms});
    }
    std::int64_t bootNow() const { return static_cast<std::int64_t>(now) * 1000; }
    H& enrol(std::vector<Channel> channels) {
        unenrol(EnrolmentLookup::Kind::Found).enrolments.result.entry = enrolment(channels);
        return *this;
    }
    H& unenrol(EnrolmentLookup::Kind kind, std::string problem = "") {
        enrolments.result = EnrolmentLookup{};
        enrolments.result.kind = kind;
        if (!problem.empty())
            enrolments.result.problems.emplace_back(problem);
        return *this;
    }
    // The common script: initiate gives a WAITING session, then each validate answer in turn.
    H& script(std::vector<CallResult> validations) {
        client.initiateResults.push_back(waiting());
        client.validateResults.insert(client.validateResults.end(), validations.begin(),
                                      validations.end());
        return *this;
    }
    H& right() { return script({verified()}).reply({kCode}); }  // one send, the right code
    H& sends(int count) {
        client.initiateResults.insert(client.initiateResults.end(), count, waiting());
        return *this;
    }
    H& reply(std::initializer_list<std::optional<std::string>> replies) {
        conversation.replies.insert(conversation.replies.end(), replies);
        return *this;
    }
    // Before every answer, moves the boot clock on by `seconds` and the steady one by `steady`.
    H& tick(std::time_t seconds, std::chrono::seconds steady = {}) {
        conversation.onPrompt = [this, seconds, steady](std::size_t) {
            now += seconds;
            steadyNow += steady;
        };
        return *this;
    }
    H& limit(int allowed, LimitVerdict refusal = LimitVerdict::UserLimit) {
        limiter.allowed = allowed;
        limiter.refusal = refusal;
        return *this;
    }
    H& pending(PendingSession session) {
        store.rows[kPhone].session = std::move(session);
        return *this;
    }
    H& heldBy(pid_t pid, std::int64_t untilMs) {
        store.rows[kPhone].holder = Holder{pid, 5, 77};
        store.rows[kPhone].untilMs = untilMs;
        return *this;
    }
    H& open() {
        config.failMode = FailMode::Open;
        return *this;
    }
    H& two() { return enrol({Channel::Sms, Channel::Voice}); }
    H& sent(CallResult answer) {  // the only send's answer
        client.initiateResults = {answer};
        return *this;
    }
    Outcome run() {
        Authenticator authenticator(config, client, conversation, enrolments, store, limiter, grace,
                                    logger);
        authenticator.setBootClock([this] { return bootNow(); });
        authenticator.setHolder(holder);
        authenticator.setSleep([this](std::int64_t ms) {
            slept.push_back(ms);
            now += static_cast<std::time_t>((ms + 999) / 1000);
            steadyNow += std::chrono::milliseconds(ms);
        });
        if (!realSteadyClock)
            authenticator.setSteadyClock([this] { return steadyNow; });
        ++runs;
        runStart = steadyNow;
        return authenticator.authenticate(login);
    }
    const PendingSession& stored(const std::string& phone = kPhone) const {
        const auto found = store.rows.find(phone);
        if (found == store.rows.end() || !found->second.session)
            fail_msg("no session recorded for %s", phone.c_str());
        return *found->second.session;
    }
    std::string line() const {  // the outcome line
        for (const auto& line : logger.lines)
            if (line.second.rfind("outcome=", 0) == 0)
                return line.second;
        return "";
    }
    std::size_t failOpenWarnings() const {
        return logger.count(LogLevel::Warning, "fail_mode=open: letting the rest");
    }
};

using Set = std::function<void(H&)>;
const Set nothing = [](H&) {};

using O = Outcome;

// Each outcome's PAM code (design.md) is checked row by row in test_outcome.cpp.
struct Login {
    std::string name;
    Set set;  // config, session table, API answers, typed answers
    Outcome outcome;
    std::size_t sends, checks, prompts;  // initiate and validate requests, prompts shown
    Set more = nullptr;                  // this row's own checks
    std::string told = "";               // the one error the user sees ("" for none)
    std::string line = "";               // a part of the outcome line
};

const std::string kTaken =
    "The code for this phone was also asked for somewhere else; try again in a minute.";
const std::string kTimedOut = "The time for the code has run out.";
const std::string kTooMany = "Too many codes were sent recently; try again later.";
const std::string kNoService = "The verification service cannot be reached.";

std::string toPhone(const std::string& start) {  // a prompt that names the phone
    return start + " to " + kMasked + "." + kAsk;
}

// Runs one row and checks what every login must hold; `h` may carry an earlier round.
void check(const Login& row, H& h) {
    gRow = row.name;
    row.set(h);
    const Outcome outcome = h.run();
    if (outcome != row.outcome)
        fail_msg("outcome %s", std::string(outcomeName(outcome)).c_str());
    EQ(h.client.initiates.size(), row.sends);
    EQ(h.client.validatedCodes.size(), row.checks);
    EQ(h.conversation.prompts.size(), row.prompts);
    EQ(h.conversation.errors.size(), row.told.empty() ? 0 : 1);
    if (!row.told.empty())
        expect_str(h.conversation.errors[0], row.told);
    // Exactly one outcome line, at its outcome's level; no control bytes in any line.
    std::size_t outcomeLines = 0;
    for (const auto& [level, text] : h.logger.lines) {
        const bool isOutcome = text.rfind("outcome=", 0) == 0;
        outcomeLines += isOutcome;
        CHECK(!isOutcome || level == factsOf(outcome).level);
        CHECK(!test::hasControlBytes(text));
    }
    EQ(outcomeLines, 1);
    expect_starts_with(h.line(), "outcome=" + std::string(outcomeName(outcome)) + " ");
    expect_contains(h.line(), row.line);
    // Never logged: the code, the phone number, the API key, a password.
    const std::string all = h.logger.all();
    for (const std::string& secret : {kCode, std::string("91234567"), kApiKey})
        expect_not_contains(all, secret);
    for (const auto& password : h.conversation.passwords)
        expect_not_contains(all, password);
    // Before any call to the API, the login's deadline: login_timeout from its start. Sends are
    // counted for the user, where the login comes from and the number the code goes to.
    if (!h.client.initiates.empty() || !h.client.validatedCodes.empty()) {
        expect_starts_with(join(h.trace), "deadline ");
        EQ(h.client.deadlineCalls, h.runs);
        CHECK(*h.client.deadline == h.runStart + std::chrono::seconds(h.config.loginTimeout));
    }
    const std::string source = h.login.rhost.empty() ? "local" : h.login.rhost;
    for (const auto& asked : h.limiter.asked)
        CHECK(asked.first == "alice" && asked.second == source);
    for (const auto& phone : h.limiter.phones)
        CHECK(phone == kPhone);
    // Whatever the outcome, this login's claim on the number is released; a final answer from
    // the API (verified, failed, expired) forgets the number's session.
    for (const auto& [phone, stored] : h.store.rows)
        CHECK(!(stored.holder && sameHolder(*stored.holder, h.holder)));
    if (!factsOf(outcome).keepsSession)
        EQ(h.store.rows.count(kPhone), 0);
    if (row.more)
        row.more(h);
}

void check(const Login& row) {
    H h;
    check(row, h);
}

}  // namespace
// clang-format off
static void each_login_ends_as_scripted(void**) {
    const auto otherLogin = pendingSession(Channel::Sms, kNow - 100, 1, "other");
    const auto justSent = pendingSession(Channel::Sms, kNow - 10, 1, "other");
    const auto storedSends = [](H& h) { EQ(h.stored().sends, 1); };  // WAITING: kept for a retry
    const auto kept = [](H& h) { EQ(h.slept.size(), 0); expect_str(h.stored().sessionId, kHexId); };
    const auto fresh = [](H& h) { CHECK(h.client.initiates[0].resetSession && h.slept.empty()); };
    const auto noOpen = [](H& h) { EQ(h.failOpenWarnings(), 0); };
    const auto asked1 = [](H& h) { EQ(h.limiter.asked.size(), 1); };
    const auto traced = [](std::string calls) {
        return [=](H& h) { expect_str(join(h.trace), calls); };
    };
    const auto prompt = [](std::string text) {  // the first prompt
        return [=](H& h) { expect_str(h.conversation.prompts[0], text); };
    };
    const auto keeps = [](H& h) { EQ(h.store.rows.size(), 1); };
    const auto answered = [](CallResult answer, bool counted = true) {
        return [=](H& h) { h.client.countAttempts = counted; h.script({answer}).reply({kCode}); };
    };
    const Login rows[]{
        {"the right code first time is verified", [](H& h) { h.right(); }, O::Verified, 1, 1, 1,
         [](H& h) {
             const InitiateRequest& sent = h.client.initiates[0];
             expect_str(sent.destination, kPhone);
             CHECK(sent.resendingInterval == 30 && !sent.resetSession);
             expect_str(h.conversation.prompts[0], kSmsPrompt);
             CHECK(h.client.validatedSessions[0] == kHexId && h.client.validatedCodes[0] == kCode);
             EQ(h.logger.count(LogLevel::Debug, ""), 0);  // debug is off
         }},
        {"the code is checked trimmed and otherwise as typed", [](H& h) {
             h.conversation.passwords = {"secret"};  // looked for before trimming
             h.script({waiting(1), waiting(2), verified(2)});
             h.reply({"  " + kCode + "\n", "\t123-456 \r\n", "AbC12x"});
         }, O::Verified, 1, 3, 3, [](H& h) {
             const std::vector<std::string> typed{kCode, "123-456", "AbC12x"};
             CHECK(h.client.validatedCodes == typed);
             expect_contains(h.conversation.prompts[2], "1 attempt left.");
         }},
        // Debug on: its lines are written, and a wrong code typed with spaces is not logged.
        {"one outcome line has every field", [](H& h) {
             h.logger.debugOn = true;
             h.script({waiting(1), verified()}).reply({"  482913 ", kCode});
         }, O::Verified, 1, 2, 2, [&](H& h) {
             const std::string line = h.line();
             const std::size_t ms = line.find(" ms=") + 4;
             CHECK(ms < line.size() && line[ms] >= '0' && line[ms] <= '9');
             expect_not_contains(h.logger.all(), "482913");
             EQ(h.logger.count(LogLevel::Debug, "initiate: ok"), 1);
             EQ(h.logger.count(LogLevel::Debug, "validate: ok"), 2);
             traced("deadline limit initiate status validate status validate")(h);
         }, "", "outcome=verified user=alice rhost=203.0.113.9 service=sshd channel=sms "
                "to=+65******67 session=a44a91be attempts=2 sends=1 ms="},
        {"a member of only_groups is asked", [](H& h) {
             h.right().config.onlyGroups = {"admins"};
             h.login.groups = {"users", "admins"};
         }, O::Verified, 1, 1, 1},
        {"a login from an untrusted network is asked", [](H& h) {
             h.right().config.trustedNetworks = {*Network::parse("198.51.100.0/24"),
                                                 *Network::parse("2001:db8::/32")};
         }, O::Verified, 1, 1, 1},
        {"an aborted conversation", [](H& h) { h.script({}).reply({std::nullopt}); },
         O::ConversationFailed, 1, 0, 1, storedSends},
        {"an abort after a wrong code", [](H& h) { h.script({waiting(1)}).reply({"111111", {}}); },
         O::ConversationFailed, 1, 1, 2, storedSends},
        // A new session that is already final is never prompted for.
        {"sent: VERIFIED", [](H& h) { h.sent(verified()); }, O::BadResponse, 1, 0, 0},
        {"sent: FAILED", [](H& h) { h.sent(sessionResult(SessionStatus::Failed)); },
         O::SessionFailed, 1, 0, 0},
        {"sent: EXPIRED", [](H& h) { h.sent(sessionResult(SessionStatus::Expired)); },
         O::SessionExpired, 1, 0, 0},
        {"sent: no session", [](H& h) { h.sent(failure(CallStatus::Ok, 200)); }, O::BadResponse,
         1, 0, 0},
        // ---- what a code check answers. Uncounted: the fake API adds no wrong-code count of its
        // own, as when another login typed codes between the status read and the check.
        {"check: verified, dashed id", answered(verified(0, kDashedId)), O::Verified, 1, 1, 1},
        {"check: verified, another id", answered(verified(0, kOtherId)), O::BadResponse, 1, 1, 1,
         keeps},
        {"check: verified, no id", answered(verified(0, "")), O::BadResponse, 1, 1, 1, keeps},
        {"check: failed", answered(sessionResult(SessionStatus::Failed, kHexId, 5)),
         O::SessionFailed, 1, 1, 1, nullptr, "Too many wrong codes for this session."},
        {"check: expired", answered(sessionResult(SessionStatus::Expired)), O::SessionExpired, 1,
         1, 1, nullptr, "The code has expired."},
        {"check: no session", answered(failure(CallStatus::Ok, 200)), O::BadResponse, 1, 1, 1,
         keeps},
        {"check: verified, 1 wrong code, uncounted", answered(verified(1), false), O::SessionTaken,
         1, 1, 1, keeps, kTaken},
        {"check: waiting, 2 wrong codes, uncounted", answered(waiting(2), false), O::SessionTaken,
         1, 1, 1, keeps, kTaken},
        // Threat-model rule 7: once this login has a code, an outage never lets it through.
        {"fail_mode=open: a resend unreachable", [](H& h) {
             h.open().sends(1).tick(30).reply({"", kCode});
             h.client.initiateResults.push_back(failure(CallStatus::Unreachable));
         }, O::Unreachable, 2, 0, 1, noOpen, kNoService},
        {"fail_mode=open: a resumed session unreachable", [](H& h) {
             h.open().pending(pendingSession()).reply({kCode});
             h.client.validateResults = {failure(CallStatus::Unreachable)};
         }, O::Unreachable, 0, 1, 1, noOpen, kNoService},
        // A send is given back to the limits only when it never went out.
        {"a send that never went out is given back", [](H& h) {
             h.sent(failure(CallStatus::Unreachable)).client.initiateResults[0].requestSent = false;
         }, O::Unreachable, 1, 0, 0, [](H& h) { CHECK(h.limiter.refunded == h.limiter.asked); },
         kNoService},
        {"a send that went out is not given back",
         [](H& h) { h.sent(failure(CallStatus::Unreachable, 500)); }, O::Unreachable, 1, 0, 0,
         [](H& h) { EQ(h.limiter.refunded.size(), 0); }, kNoService},
        // ---- resends
        {"a resend moves the pending session on", [](H& h) {
             h.config.resendInterval = 45;
             h.sends(1).tick(45).client.initiateResults.push_back(waiting(0, kOtherId));
             h.client.validateResults = {waiting(1, kOtherId), waiting(2, kOtherId)};
             // A resend is not an attempt: three codes may still be typed after it.
             h.reply({"", "111111", "222222", std::nullopt});
         }, O::ConversationFailed, 2, 2, 4, [](H& h) {
             const auto& sent = h.client.initiates;
             CHECK(sent[0].resendingInterval == 45 && sent[1].resendingInterval == 45);
             CHECK(!sent[1].resetSession);
             expect_str(h.conversation.prompts[1], toPhone("Code sent again by SMS"));
             expect_contains(h.conversation.prompts[3], "1 attempt left.");
             expect_str(h.client.validatedSessions[0], kOtherId);  // the new session
             const PendingSession& stored = h.stored();
             CHECK(stored.sessionId == kOtherId && stored.loginStamp == loginStamp(kLoginKey));
             EQ(stored.sends, 2);
             EQ(stored.lastSendMs, (kNow + 45) * 1000LL);
             EQ(stored.expiresMs, (kNow + 45 + 300) * 1000LL);
             EQ(stored.apiAttempt, 2);  // every wrong code recorded
         }, "", " sends=2 "},
        {"a channel switch is logged with its channel",
         [](H& h) { h.two().sends(1).script({verified()}).tick(30).reply({"voice", kCode}); },
         O::Verified, 2, 1, 2, [](H& h) {
             const InitiateRequest& sent = h.client.initiates[1];
             CHECK(sent.channel == Channel::Voice && sent.destination == kPhone);
         }, "", " channel=voice "},
        {"a resend, then a switch: each send counted first",
         [](H& h) { h.two().sends(2).script({verified()}).tick(30).reply({"", "voice", kCode}); },
         O::Verified, 3, 1, 3,
         traced("deadline limit initiate limit initiate limit initiate status validate")},
        {"an unavailable limiter on a resend ends the login", [](H& h) {
             h.limit(1, LimitVerdict::Unavailable).script({verified()}).tick(30).reply({"", kCode});
         }, O::ConfigError, 1, 0, 1},
        // ---- the session an earlier round of this login left waiting
        // A resumed session takes nothing from the limits, even when any send would be refused;
        // a resend after it is counted.
        {"a pending SMS session is resumed without a send", [](H& h) {
             h.two().limit(0).pending(pendingSession()).script({verified()}).reply({kCode});
         }, O::Verified, 0, 1, 1, [&](H& h) {
             prompt(toPhone("Code already sent by SMS"))(h);
             expect_str(h.client.validatedSessions[0], kHexId);
             traced("deadline status validate")(h);
         }, "", " session=a44a91be "},
        {"a resend after a resumed session is counted",
         [](H& h) { h.pending(pendingSession()).tick(30).reply({"", kCode}).script({verified()}); },
         O::Verified, 1, 1, 2, traced("deadline limit initiate status validate")},
        {"a pending voice session is resumed without a send", [](H& h) {
             h.two().pending(pendingSession(Channel::Voice)).reply({kCode});
             h.client.validateResults = {verified()};
         }, O::Verified, 0, 1, 1, prompt(toPhone("Code already sent by voice call")), "",
         " session=a44a91be "},
        {"a resumed session keeps its send time",  // sent 10 s ago: 20 s more to wait
         [](H& h) { h.pending(pendingSession()).reply({"", std::nullopt}); },
         O::ConversationFailed, 0, 0, 2,
         [](H& h) { expect_contains(h.conversation.prompts[1], "Wait 20 more seconds"); }},
        {"a resumed session keeps its send count",
         [](H& h) { h.pending(pendingSession(Channel::Sms, kNow - 60, 3)).reply({"", {}}); },
         O::ConversationFailed, 0, 0, 2, [](H& h) {
             expect_contains(h.conversation.prompts[1], "No more codes can be sent for this");
         }},
        // Its code ends too soon to be typed (test_session_lease holds the other cases).
        {"a session that cannot be resumed is taken over with a new code",
         [](H& h) { h.pending(pendingSession(Channel::Sms, kNow - 285)).right(); },
         O::Verified, 1, 1, 1, [&](H& h) { fresh(h); prompt(kSmsPrompt)(h); }},
        {"a session of another number is not this user's", [](H& h) {
             h.store.rows["+6598765432"].session = pendingSession();
             h.sent(waiting(0, kOtherId)).reply({kCode});
             h.client.validateResults = {verified(0, kOtherId)};
         }, O::Verified, 1, 1, 1, [](H& h) {
             CHECK(!h.client.initiates[0].resetSession);
             expect_str(h.client.validatedSessions[0], kOtherId);
             expect_str(h.stored("+6598765432").sessionId, kHexId);  // untouched
         }},
        // ---- the number's claim: one login at a time, and never a dead one. Dead: its process
        // ended (killed at the prompt). Timed out: stopped past its time. Their last send was
        // 100 s ago: a new code (not theirs) goes out at once.
        {"the claim of a dead login is taken over", [&](H& h) {
             h.heldBy(999, h.bootNow() + 60000).pending(otherLogin).right().store.dead.insert(999);
         }, O::Verified, 1, 1, 1, fresh},
        {"the claim of a timed-out login is taken over",
         [&](H& h) { h.heldBy(999, h.bootNow() - 1).pending(otherLogin).right(); },
         O::Verified, 1, 1, 1, fresh},
        {"a live login's claim: the phone is busy",
         [&](H& h) { h.heldBy(999, h.bootNow() + 60000).pending(justSent).reply({kCode}); },
         O::PhoneBusy, 0, 0, 0, [](H& h) {
             EQ(h.store.rows[kPhone].holder->pid, 999);  // still theirs
             EQ(h.limiter.asked.size(), 0);
             expect_not_contains(h.line(), "sends=");
         }, "Another login is waiting for a code sent to this phone; finish it, or try again "
            "when it has ended.",
         "reason=\"another login (pid 999) is waiting for a code sent to this phone; nothing "
         "sent\""},
        // Three wrong codes, 10 s ago, on another connection: the API refuses a send for 20 s.
        {"a login that ended moments ago is waited out, then replaced", [](H& h) {
             PendingSession left = pendingSession(Channel::Sms, kNow - 10, 1, "another connection");
             left.apiAttempt = 3;
             h.pending(left).sent(waiting(3)).reply({kCode}).client.validateResults = {verified(3)};
         }, O::Verified, 1, 1, 1, [&](H& h) {
             CHECK(h.slept.size() == 1 && h.slept[0] >= 20000 && h.slept[0] <= 21000);
             expect_str(h.conversation.infos.at(0), "A code was sent to this phone moments ago; "
                                                    "a new one follows in 21 seconds.");
             asked1(h);  // counted once, before the wait
             CHECK(h.limiter.refunded.empty() && h.client.initiates[0].resetSession);
             prompt(kSmsPrompt)(h);  // "sent", not "already sent"
         }},
        // Counted before the wait, given back when the wait cannot be made; the table is left
        // as it was found.
        {"no wait for a send the limits refuse",
         [&](H& h) { h.limit(0).pending(justSent).right(); }, O::SendLimitReached, 0, 0, 0,
         [&](H& h) { kept(h); asked1(h); EQ(h.limiter.refunded.size(), 0); }, kTooMany},
        {"no wait for a send the time left refuses", [&](H& h) {
             h.config.loginTimeout = 30;  // 20 s of waiting would leave 10 s to type
             h.pending(justSent).right();
         }, O::ResendTooSoon, 0, 0, 0,
         [&](H& h) { kept(h); asked1(h); EQ(h.limiter.refunded.size(), 1); },
         "A code was sent to this phone moments ago; try again in 21 seconds."},
        {"a state dir that cannot record the session ends the login", [](H& h) {
             h.store.recordProblem = "/state/pending.b: cannot write: No space left on device";
             h.right();
         }, O::ConfigError, 1, 0, 0, [](H& h) {  // no code is checked against it
             expect_contains(h.logger.all(), "state_dir: /state/pending.b: cannot write: No space");
         }, "", "reason=\"state_dir: the session could not be recorded\""},
        // ---- sessions another login, host or application started or resent
        {"a send answered with someone else's session",
         [](H& h) { h.sent(waiting(2)).reply({kCode}).client.validateResults = {verified(2)}; },
         O::SessionTaken, 1, 0, 0, nullptr, kTaken, "already had 2 wrong codes"},
        {"a resend answered with someone else's session", [](H& h) {
             h.sends(1).tick(30).reply({"", kCode}).client.initiateResults.push_back(waiting(2));
             h.client.validateResults = {verified(2)};
         }, O::SessionTaken, 2, 0, 1, nullptr, kTaken, "moved from 0 to 2"},
        // ---- login_timeout, counted from the start of the login
        {"the deadline is checked after each reply",
         [](H& h) { h.script({waiting(1), verified()}).reply({"111111", kCode}).tick(0, 45s); },
         O::LoginTimeout, 1, 1, 2, nullptr, kTimedOut, " attempts=2 "},
        {"a resend asked for after the deadline sends nothing",
         [](H& h) { h.two().script({}).reply({""}).tick(60, 91s); },
         O::LoginTimeout, 1, 0, 1, asked1, kTimedOut},
        {"a switch asked for after the deadline sends nothing",
         [](H& h) { h.two().script({}).reply({"voice"}).tick(60, 91s); },
         O::LoginTimeout, 1, 0, 1, asked1, kTimedOut},
    };
    for (const auto& row : rows)
        check(row);
}

static void the_first_send_goes_by_the_users_first_channel(void**) {
    const std::pair<std::vector<Channel>, std::string> rows[]{
        {{Channel::Sms}, "Code sent by SMS to "},
        {{Channel::Voice, Channel::Sms}, "Code sent by voice call to "},
        {{Channel::Whatsapp}, "Code sent by WhatsApp to "},
    };
    for (const auto& row : rows) {
        check({row.second, [&](H& h) {
                   h.config.whatsappTemplate = "auth_code_v2";
                   h.enrol(row.first).right();
               }, O::Verified, 1, 1, 1, [&](H& h) {
                   CHECK(h.client.initiates[0].channel == row.first.front());
                   expect_str(h.client.initiates[0].whatsappTemplate.value_or("?"), "auth_code_v2");
                   expect_str(h.conversation.prompts[0], row.second + kMasked + "." + kAsk);
               }});
    }
}

// One answer at the first prompt, the notice it leads to, then the right code.
static void each_answer_leads_to_its_notice(void**) {
    const std::string notACode = "That is not a code: codes are 3 to 10 letters or digits.";
    const std::string wait30 = "Wait 30 more seconds before asking for a new code.";
    const std::string noMore = "No more codes can be sent now; try again later.";
    const std::string byVoice = "Code sent by voice call to " + kMasked + ".";
    const struct {
        Set set;
        std::string typed, notice;  // the second prompt's first line, before the attempts left
        std::size_t sends, limits;
    } rows[]{
        // Wrong codes, not codes, the password: wasted, never sent (but the wrong code).
        {nothing, "111111", "Wrong code.", 1, 1},
        {nothing, "12", notACode, 1, 1},
        {nothing, "12345678901", notACode, 1, 1},
        {nothing, "12 34", notACode, 1, 1},
        {nothing, "12\303\25134", notACode, 1, 1},  // "12é34"
        {nothing, "%n%s", notACode, 1, 1},
        {nothing, "12\00134", notACode, 1, 1},
        {[](H& h) { h.conversation.passwords = {"hunter2-0042"}; }, "hunter2-0042",
         "That was a password, not the code.", 1, 1},
        // An empty line or a channel word before resend_interval: a wait, counted from the last
        // send, with nothing taken from the limits.
        {nothing, "", wait30, 1, 1},
        {[](H& h) { h.tick(29); }, "", "Wait 1 more second before asking for a new code.", 1, 1},
        {[](H& h) { h.tick(100).config.resendInterval = 120; }, "",
         "Wait 20 more seconds before asking for a new code.", 1, 1},
        {[](H& h) { h.two(); }, " voice ", wait30, 1, 1},
        // Channels the user does not have, or that cannot be used.
        {[](H& h) { h.two().tick(60); }, "viber",
         "Channel viber is not available for you (yours: sms, voice).", 1, 1},
        {[](H& h) { h.enrol({Channel::Sms, Channel::Whatsapp}).tick(60); }, "whatsapp",
         "Channel whatsapp cannot be used now.", 1, 1},
        // A resend or a switch after the interval: a free answer, with a new code.
        {[](H& h) { h.sends(1).tick(30); }, "", "Code sent again by SMS to " + kMasked + ".", 2, 2},
        {[](H& h) { h.two().sends(1).tick(30); }, "voice", byVoice, 2, 2},
        {[](H& h) { h.two().sends(1).tick(30); }, "Voice", byVoice, 2, 2},
        // Resends the API or the limits refuse: wasted, the login goes on with its code.
        {[](H& h) {
             h.tick(30).client.initiateResults.push_back(failure(CallStatus::ResendTooSoon, 403));
         },
         "", "Wait a little before asking for a new code.", 2, 2},
        {[](H& h) { h.limit(1).tick(30); }, "", noMore, 1, 2},
        {[](H& h) { h.two().limit(1).tick(30); }, "voice", noMore, 1, 2},
    };
    for (const auto& c : rows) {
        const bool wrong = c.typed == "111111";
        const std::string left = c.notice.rfind("Code sent", 0) == 0 ? "" : " 2 attempts left.";
        check({"typed \"" + c.typed + "\"", [&](H& h) {
                   h.script({wrong ? waiting(1) : verified(), verified(1)});
                   c.set(h);
                   h.reply({c.typed, kCode});
               }, O::Verified, c.sends, wrong ? 2u : 1u, 2, [&](H& h) {
                   expect_str(h.conversation.prompts[1], c.notice + left + kAsk);
                   EQ(h.limiter.asked.size(), c.limits);
                   expect_str(h.client.validatedCodes.back(), kCode);
                   expect_str(h.client.validatedSessions.back(), kHexId);
                   CHECK(h.client.initiates.back().resendingInterval == h.config.resendInterval);
               }});
    }
}

// Wasted answers run out max_attempts.
static void max_attempts_wasted_answers_end_the_login(void**) {
    const struct {
        Set set;
        std::string typed;
        std::size_t checks, sends;
        std::string told, line;
    } rows[]{
        {[](H& h) { h.open(); }, "111111", 3, 1, "Wrong code. No attempts left.", " attempts=3 "},
        {nothing, "%n%s", 0, 1,
         "That is not a code: codes are 3 to 10 letters or digits. No attempts left.",
         " attempts=3 "},
        // A host that answers with a password is named once, whichever password it was.
        {[](H& h) { h.conversation.passwords = {"current-pass", "hunter2-0042"}; }, "hunter2-0042",
         0, 1, "That was a password, not the code. No attempts left.",
         "reason=\"answered with the password"},
        {nothing, "", 0, 1, "Wait 30 more seconds before asking for a new code. No attempts left.",
         " attempts=3 "},
        {[](H& h) { h.limit(1, LimitVerdict::SourceLimit).tick(30); }, "", 0, 1,
         "No more codes can be sent now; try again later. No attempts left.", " attempts=3 "},
        // Sends 2 and 3 are free; each refusal after them counts.
        {[](H& h) { h.sends(2).tick(60); }, "", 0, kMaxSendsPerLogin,
         "No more codes can be sent for this login. No attempts left.", " attempts=5 "},
    };
    for (const auto& c : rows) {
        check({c.told, [&](H& h) {
                   c.set(h);
                   h.script({});
                   for (int i = 0; i < 5; ++i)
                       h.reply({c.typed}).client.validateResults.push_back(waiting(i + 1));
               }, O::TooManyWrongCodes, c.sends, c.checks, c.sends == 1 ? 3u : 5u, [&](H& h) {
                   expect_contains(h.conversation.prompts.back(), "1 attempt left." + kAsk);
                   EQ(h.logger.count(LogLevel::Warning,
                                     "the answer to the code prompt was the login password"),
                      c.typed == "hunter2-0042");
               }, c.told, c.line});
    }
    for (std::size_t max = 1; max <= 5; ++max) {
        check({"max_attempts=" + std::to_string(max), [max](H& h) {
                   h.config.maxAttempts = static_cast<int>(max);
                   h.script({});
                   for (std::size_t i = 0; i < max + 2; ++i)
                       h.reply({"11111" + std::to_string(i)})
                           .client.validateResults.push_back(waiting(static_cast<int>(i) + 1));
               }, O::TooManyWrongCodes, 1, max, max, nullptr, "Wrong code. No attempts left."});
    }
}

// A session verified or used elsewhere after this login's send is refused before the check.
static void a_session_moved_elsewhere_is_refused_before_the_check(void**) {
    CallResult moved = waiting();
    moved.session->expiresAt = 1800000999;
    const std::pair<CallResult, std::string> rows[]{
        {verified(), "VERIFIED before this login checked a code"},
        {waiting(1), "wrong-code count is 1"},
        {moved, "expiry moved"},
    };
    for (const auto& [status, reason] : rows) {
        check({reason, [&, &status = status](H& h) {
                   h.script({verified()}).reply({"000000"}).client.statusResults = {status};
                   h.client.initiateResults[0].session->expiresAt = 1800000300;
               }, O::SessionTaken, 1, 0, 1, [](H& h) {
                   expect_str(h.stored().sessionId, kHexId);  // WAITING at the API
               }, kTaken, reason});
    }
}

// Every failure of every call, with fail_mode closed and open.
static void each_call_failure_has_its_outcome(void**) {
    const struct {
        CallStatus status;
        Outcome outcome;
        std::string told = "";
    } rows[]{
        {CallStatus::Unreachable, O::Unreachable, kNoService},
        {CallStatus::CertificateInvalid, O::CertificateInvalid},
        {CallStatus::TlsFailed, O::TlsFailed},
        {CallStatus::RateLimited, O::RateLimited,
         "Too many verification requests; try again later."},
        {CallStatus::CredentialsRejected, O::CredentialsRejected},
        {CallStatus::RequestRejected, O::ConfigError},
        {CallStatus::TlsTooOld, O::ConfigError},
        {CallStatus::InvalidDestination, O::InvalidPhone},
        {CallStatus::ResendTooSoon, O::ResendTooSoon,
         "A code was sent moments ago; wait a little and try again."},
        {CallStatus::SessionNotFound, O::SessionExpired, "The code has expired."},
        {CallStatus::BadResponse, O::BadResponse},
        // The user's own slowness is not an outage: fail_mode never relaxes it.
        {CallStatus::DeadlinePassed, O::LoginTimeout, kTimedOut},
        {CallStatus::InternalError, O::InternalError},
    };
    for (const auto& c : rows) {
        for (const std::string call : {"initiate", "status", "validate"}) {
            for (const FailMode mode : {FailMode::Closed, FailMode::Open}) {
                // Only unreachable at a login's first send is relaxed (threat-model rule 7).
                const bool open = mode == FailMode::Open && c.status == CallStatus::Unreachable;
                const bool relaxed = open && call == "initiate";
                check({std::string(outcomeName(c.outcome)) + " at " + call +
                           (mode == FailMode::Open ? ", fail_mode=open" : ""), [&](H& h) {
                           h.logger.debugOn = true;
                           h.config.failMode = mode;
                           const CallResult failed = failure(c.status, 400, "HTTP 400 code 1002");
                           h.script({call == "validate" ? failed : verified()});
                           h.client.initiateResults = {call == "initiate" ? failed : waiting()};
                           if (call == "status")
                               h.client.statusResults = {failed};
                           h.reply({kCode});
                       }, relaxed ? O::UnreachableFailOpen : c.outcome, 1, call == "validate",
                       call != "initiate", [&](H& h) {
                           EQ(h.failOpenWarnings(), relaxed);
                           const char* notice = "applies only to a login's first send";
                           EQ(h.logger.count(LogLevel::Notice, notice), open && !relaxed);
                       }, relaxed ? "" : c.told, "to=+65******67"});
            }
        }
    }
}

// Logins refused before anything is sent.
static void each_refusal_before_a_send_sends_nothing(void**) {
    const auto exempt = [](H& h) -> H& { h.config.exemptUsers = {"alice"}; return h; };
    const auto nobody = [](H& h) -> H& { h.login.userExists = false; return h; };
    const auto invalid = [](H& h) -> H& { h.login.placeholderPassword = true; return h; };
    const auto broken = [](H& h) -> H& { h.store.broken = true; return h; };
    const auto ignore = [](H& h) -> H& {
        h.config.unenrolled = UnenrolledPolicy::Ignore;
        return h;
    };
    const auto none = EnrolmentLookup::Kind::NotEnrolled;
    const auto bad = EnrolmentLookup::Kind::Unavailable;
    const struct {
        Set set;
        Outcome outcome;
        std::string reason;       // in the outcome line
        std::string logged = "";  // an error line of the log besides the outcome ("" for none)
        std::string told = "";    // what the user is told ("" for nothing)
    } rows[]{
        {[&](H& h) { nobody(h); }, O::UserUnknown, "reason=\"no such user\""},
        {[&](H& h) { invalid(h); }, O::InvalidUserPassword,
         "reason=\"sshd marked this login invalid\""},
        // A user that does not exist, or sshd's placeholder, is never "exempt".
        {[&](H& h) { exempt(nobody(h)); }, O::UserUnknown, "no such user"},
        {[&](H& h) { exempt(invalid(h)); }, O::InvalidUserPassword, "invalid"},
        {[](H& h) { h.config.exemptUsers = {"bob", "alice"}; }, O::Exempt,
         "reason=\"exempt user\""},
        {[](H& h) {
             h.config.exemptGroups = {"breakglass"};
             h.login.groups = {"users", "breakglass"};
         },
         O::Exempt, "reason=\"exempt group\""},
        {[](H& h) { h.config.onlyGroups = {"admins"}; h.login.groups = {"users"}; },
         O::Exempt, "reason=\"not in only_groups\""},
        {[](H& h) { h.config.trustedNetworks = {*Network::parse("203.0.113.0/24")}; },
         O::Exempt, "reason=\"trusted network\""},
        {[&](H& h) { exempt(broken(h)); }, O::Exempt, "exempt user"},
        {[](H& h) { h.unenrol(none); }, O::UnenrolledDenied, "reason=\"no phone number\""},
        {[&](H& h) { ignore(h.unenrol(none)); }, O::UnenrolledIgnored, "no phone number"},
        {[](H& h) { h.unenrol(none, "/etc/security/pam_verif8.users:3: bad\x1b line"); },
         O::UnenrolledDenied, "reason=\"bad enrolment\"",
         "/etc/security/pam_verif8.users:3: bad? line"},
        // A broken file is never "not enrolled", whatever unenrolled says.
        {[&](H& h) { ignore(h.unenrol(bad, "/etc/security/pam_verif8.users: has mode 0666")); },
         O::ConfigError, "reason=\"users file unusable\"", "has mode 0666"},
        {[](H& h) { h.enrol({Channel::Whatsapp, Channel::Sms}); }, O::ConfigError,
         "whatsapp_template is required", "whatsapp_template is required"},
        {[&](H& h) { broken(h); }, O::ConfigError, "reason=\"state_dir unusable; nothing sent\"",
         "state_dir: /state: not a directory"},
        {[&](H& h) { broken(h).open(); }, O::ConfigError, "state_dir unusable"},
        {[](H& h) { h.store.busy = true; }, O::StateBusy, "the session table stayed locked",
         "state_dir: /state/pending.a: locked"},
        // Refused by the limits: asked once (check the loop); no other refusal asks them.
        {[](H& h) { h.limit(0, LimitVerdict::Busy); }, O::StateBusy,
         "a send counter stayed locked"},
        {[&](H& h) {
             ignore(h.limit(0, LimitVerdict::Unavailable).open());
             h.limiter.problems = {Problem("/var/lib/pam_verif8: must not be writable by group")};
         }, O::ConfigError, "reason=\"send counters unusable\"",
         "send limits: /var/lib/pam_verif8: must not be writable by group"},
        {[](H& h) { h.limit(0); }, O::SendLimitReached, "reason=\"user_send_limit reached\"", "",
         kTooMany},
        {[](H& h) { h.limit(0, LimitVerdict::SourceLimit).open(); }, O::SendLimitReached,
         "reason=\"source_send_limit reached\"", "", kTooMany},
        {[](H& h) { h.limit(0, LimitVerdict::PhoneLimit).open(); }, O::SendLimitReached,
         "reason=\"phone_send_limit reached\"", "", kTooMany},
    };
    for (const auto& c : rows) {
        check({c.reason, [&](H& h) { c.set(h); h.right(); }, c.outcome, 0, 0, 0, [&](H& h) {
                   EQ(h.limiter.asked.size(), h.limiter.allowed == 0 ? 1 : 0);
                   const std::string line = h.line();
                   expect_starts_with(line, "outcome=" + std::string(outcomeName(c.outcome)) +
                                                " user=alice rhost=203.0.113.9 service=sshd ");
                   expect_not_contains(line, "sends=");
                   if (c.outcome == O::Exempt || c.outcome == O::UserUnknown ||
                       c.outcome == O::InvalidUserPassword)
                       EQ(h.enrolments.asked.size(), 0);
                   if (h.enrolments.result.kind != EnrolmentLookup::Kind::Found)
                       expect_not_contains(line, "to=");
                   if (!c.logged.empty())
                       EQ(h.logger.count(LogLevel::Error, c.logged) -
                              (line.find(c.logged) != std::string::npos), 1);
                   EQ(h.store.rows.size(), 0);
               }, c.told, c.reason});
    }
}
// clang-format on

static void limiter_problems_are_logged_as_errors(void**) {
    for (const auto verdict :
         {LimitVerdict::Allowed, LimitVerdict::UserLimit, LimitVerdict::Unavailable}) {
        gRow = "verdict " + std::to_string(static_cast<int>(verdict));
        H h;
        h.limit(verdict == LimitVerdict::Allowed ? 100 : 0, verdict);
        h.limiter.problems = {Problem("/state/limits/user-0123: damaged\x1b[2J"),
                              Problem("second\nproblem")};
        h.right().run();
        EQ(h.logger.count(LogLevel::Error, "send limits: /state/limits/user-0123: damaged?[2J"), 1);
        EQ(h.logger.count(LogLevel::Error, "send limits: second?problem"), 1);
    }
}

static void an_unfinished_login_is_resumed_by_its_next_round(void**) {
    H h;
    h.script({waiting(1), waiting(2), waiting(3)}).reply({"111111", "222222", "333333"});
    check({"three wrong codes", nothing, O::TooManyWrongCodes, 1, 3, 3, nullptr,
           "Wrong code. No attempts left."},
          h);
    h.now += 20;
    h.logger.lines.clear();
    h.conversation.errors.clear();
    h.client.validateResults = {verified(3)};
    check({"the next round", [](H& h) { h.reply({kCode}); }, O::Verified, 1, 4, 4,
           [](H& h) { EQ(h.store.rows.size(), 0); }},
          h);
}

static void the_deadline_is_on_the_real_steady_clock_by_default(void**) {
    gRow = "the real steady clock";
    H h;
    h.realSteadyClock = true;
    h.config.loginTimeout = 45;
    h.right();
    const auto before = std::chrono::steady_clock::now();
    CHECK(h.run() == O::Verified);
    const auto after = std::chrono::steady_clock::now();
    CHECK(*h.client.deadline >= before + 45s && *h.client.deadline <= after + 45s);
}

// clang-format off
static void a_reply_after_the_deadline_is_a_login_timeout(void**) {
    using std::chrono::milliseconds;
    const struct {
        int timeout;
        milliseconds late;
        FailMode mode = FailMode::Closed;
    } rows[]{
        {90, 90000ms}, {90, 91000ms}, {90, 5h}, {10, 10000ms}, {90, 89999ms}, {600, 599000ms},
        {90, 100000ms, FailMode::Open},  // slowness is no outage
    };
    for (const auto& c : rows) {
        const bool late = c.late >= std::chrono::seconds(c.timeout);
        const std::string timeout = "login_timeout of " + std::to_string(c.timeout) + " s";
        check({timeout + ", reply after " + std::to_string(c.late.count()) + " ms", [&](H& h) {
                   h.config.loginTimeout = c.timeout;
                   h.config.failMode = c.mode;
                   h.right().conversation.onPrompt = [&](std::size_t) { h.steadyNow += c.late; };
               }, late ? O::LoginTimeout : O::Verified, 1, late ? 0u : 1u, 1, [&](H& h) {
                   expect_not_contains(h.logger.all(), "fail_mode=open");
                   if (late) {
                       expect_contains(h.line(), "reason=\"" + timeout + "\"");
                       EQ(h.stored().sends, 1);  // kept for the next round
                   }
               }, late ? kTimedOut : "", late ? " attempts=1 " : ""});
    }
}

// grace_period: a login of the same account, service and address within the window of a
// verified code is let in with PAM_IGNORE and sends nothing; a wrong code ends the account's
// grace; only IP literals get it.
static void grace_lets_in_only_its_own_key_and_a_wrong_code_ends_it(void**) {
    const auto on = [](H& h) -> H& { h.config.gracePeriod = 300; return h; };
    const auto verifiedAgo = [](H& h, std::time_t ago, std::string service = "sshd",
                                std::string rhost = "203.0.113.9") -> H& {
        h.grace.verified[{"alice", service, rhost}] = h.now - ago;
        return h;
    };
    const auto calls = [](std::vector<std::string> expected) {
        return [expected](H& h) { expect_str(join(h.grace.calls, ";"), join(expected, ";")); };
    };
    const std::string look = "check alice sshd 203.0.113.9", grant = "grant alice sshd 203.0.113.9";
    const Login rows[]{
        {"a verified code starts grace", [&](H& h) { on(h).right(); }, O::Verified, 1, 1, 1,
         calls({look, grant})},
        {"inside the window: no code", [&](H& h) { verifiedAgo(on(h), 299); }, O::Grace, 0, 0, 0,
         [&](H& h) {
             calls({look})(h);  // a grace login does not extend the window
             EQ(h.limiter.asked.size(), 0);
             EQ(h.store.rows.size(), 0);
             EQ(h.conversation.infos.size(), 0);
         }, "", "reason=\"code verified 299 s ago for this service from this address\""},
        {"at the window's end: asked again", [&](H& h) { verifiedAgo(on(h), 300).right(); },
         O::Verified, 1, 1, 1, [&](H& h) {
             calls({look, grant})(h);
             EQ(h.grace.verified.at({"alice", "sshd", "203.0.113.9"}), h.now);
         }},
        {"another service: asked", [&](H& h) { verifiedAgo(on(h), 10, "su").right(); },
         O::Verified, 1, 1, 1, calls({look, grant})},
        {"another address: asked",
         [&](H& h) { verifiedAgo(on(h), 10, "sshd", "203.0.113.10").right(); },
         O::Verified, 1, 1, 1, calls({look, grant})},
        {"an address spelled another way is the same address", [&](H& h) {
             verifiedAgo(on(h), 10, "sshd", "2001:db8::1").login.rhost = "2001:DB8:0:0::1";
         }, O::Grace, 0, 0, 0, calls({"check alice sshd 2001:db8::1"})},
        {"a host name: never grace, never recorded", [&](H& h) {
             verifiedAgo(on(h), 10, "sshd", "host.example.com").right();
             h.login.rhost = "host.example.com";
         }, O::Verified, 1, 1, 1, calls({})},
        // Counted for the limits as from "local" (check()).
        {"a local login: never grace, never recorded",
         [&](H& h) { on(h).right().login.rhost.clear(); }, O::Verified, 1, 1, 1, [&](H& h) {
             calls({})(h);
             EQ(h.limiter.asked.size(), 1);
         }, "", " rhost=- "},
        {"grace_period 0: not looked up, not recorded", [&](H& h) { verifiedAgo(h, 10).right(); },
         O::Verified, 1, 1, 1, calls({})},
        {"an account no longer enrolled is not let in by its grace",
         [&](H& h) { verifiedAgo(on(h), 10).unenrol(EnrolmentLookup::Kind::NotEnrolled); },
         O::UnenrolledDenied, 0, 0, 0, calls({})},
        {"a wrong code ends grace everywhere, the right one starts it here", [&](H& h) {
             verifiedAgo(on(h), 10, "su", "192.0.2.1").script({waiting(1), verified()});
             h.reply({"111111", kCode});
             // Ended at once, while this login still waits for its next answer.
             h.conversation.onPrompt = [&h](std::size_t prompt) {
                 if (prompt == 1)
                     EQ(h.grace.verified.size(), 0);
             };
         }, O::Verified, 1, 2, 2, [&](H& h) {
             calls({look, "end alice", grant})(h);
             EQ(h.grace.verified.size(), 1);
             EQ(h.grace.verified.count({"alice", "su", "192.0.2.1"}), 0);
         }},
        {"wrong codes to the end end grace, even with grace off", [&](H& h) {
             verifiedAgo(h, 10, "su", "192.0.2.1").script({waiting(1), waiting(2), waiting(3)});
             h.reply({"111111", "222222", "333333"});
         }, O::TooManyWrongCodes, 1, 3, 3, [&](H& h) {
             calls({"end alice", "end alice", "end alice"})(h);  // at each wrong code
             EQ(h.grace.verified.size(), 0);
         }, "Wrong code. No attempts left."},
        {"a store that cannot be read: asked, and said why", [&](H& h) {
             verifiedAgo(on(h), 10).right().grace.problem =
                 Problem("/state/grace: must not be writable by group");
         }, O::Verified, 1, 1, 1, [&](H& h) {
             calls({look, grant})(h);
             EQ(h.logger.count(LogLevel::Warning, "grace: /state/grace: must not be writable by "
                                                  "group; asking for a code"), 1);
             EQ(h.logger.count(LogLevel::Warning, "grace: not recorded: /state/grace"), 1);
         }},
    };
    for (const Login& row : rows)
        check(row);
}
// clang-format on

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_login_ends_as_scripted),
        cmocka_unit_test(the_first_send_goes_by_the_users_first_channel),
        cmocka_unit_test(each_answer_leads_to_its_notice),
        cmocka_unit_test(max_attempts_wasted_answers_end_the_login),
        cmocka_unit_test(a_session_moved_elsewhere_is_refused_before_the_check),
        cmocka_unit_test(each_call_failure_has_its_outcome),
        cmocka_unit_test(each_refusal_before_a_send_sends_nothing),
        cmocka_unit_test(limiter_problems_are_logged_as_errors),
        cmocka_unit_test(an_unfinished_login_is_resumed_by_its_next_round),
        cmocka_unit_test(the_deadline_is_on_the_real_steady_clock_by_default),
        cmocka_unit_test(a_reply_after_the_deadline_is_a_login_timeout),
        cmocka_unit_test(grace_lets_in_only_its_own_key_and_a_wrong_code_ends_it),
    };
    return cmocka_run_group_tests_name("authenticator", tests, nullptr, nullptr);
}
