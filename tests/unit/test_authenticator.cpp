// Authenticator: the login flow against a scripted VerifyClient, Conversation and enrolments.
#include <chrono>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <security/_pam_types.h>

#include "support.hpp"
#include "verif8/Authenticator.hpp"
#include "verif8/Network.hpp"
#include "verif8/SessionLease.hpp"

using namespace verif8;

namespace {

const std::string kHexId = "a44a91be5ea5ea118169020897df5459";
const std::string kDashedId = "a44a91be-5ea5-ea11-8169-020897df5459";
const std::string kPhone = "+6591234567";
const std::string kApiKey = "APIKEY-S3CRET-0042";
const std::string kCode = "739184";
const std::string kLoginKey = "alice\nsshd\n203.0.113.9\n4242:1:00007f0000001000";
const auto kSteadyStart = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
const std::string kSmsPrompt =
    "Code sent by SMS to \u2022\u2022\u2022\u2022\u2022\u2022"
    "4567.\nVerification code: ";

CallResult sessionResult(SessionStatus status, const std::string& id = kHexId, int attempt = 0) {
    CallResult result;
    result.status = CallStatus::Ok;
    result.httpStatus = 200;
    Session session;
    session.id = id;
    session.status = status;
    session.attempt = attempt;
    session.destination = kPhone;
    result.session = session;
    result.detail = "HTTP 200";
    return result;
}

CallResult failure(CallStatus status, long http = 0, std::string detail = "scripted failure") {
    CallResult result;
    result.status = status;
    result.httpStatus = http;
    result.detail = std::move(detail);
    return result;
}

class FakeClient : public VerifyClient {
public:
    std::optional<std::chrono::steady_clock::time_point> deadline;
    int deadlineCalls = 0;
    std::vector<std::string>* trace = nullptr;  // the order of calls, shared with the limiter
    void setDeadline(std::chrono::steady_clock::time_point when) override {
        deadline = when;
        ++deadlineCalls;
        if (trace)
            trace->push_back("deadline");
    }

    std::deque<CallResult> initiateResults;
    std::deque<CallResult> validateResults;
    // Answers to status reads; when none is scripted, the session as the API would show it:
    // WAITING, with the wrong-code count and expiry of the last answer.
    std::deque<CallResult> statusResults;
    std::vector<InitiateRequest> initiates;
    std::vector<std::string> validatedSessions;
    std::vector<std::string> validatedCodes;
    std::vector<std::string> statusReads;
    // Like the API, a scripted validate answer with no count of its own gets one: WAITING one
    // more wrong code than before, a final status the same count.
    bool countAttempts = true;
    int apiAttempt = 0;
    std::optional<std::time_t> apiExpiresAt;

    CallResult initiate(const InitiateRequest& request) override {
        if (trace)
            trace->push_back("initiate");
        initiates.push_back(request);
        CallResult result = next(initiateResults);
        if (result.session) {
            apiAttempt = result.session->attempt;
            apiExpiresAt = result.session->expiresAt;
        }
        return result;
    }
    CallResult validate(const std::string& sessionId, const SecretString& code) override {
        if (trace)
            trace->push_back("validate");
        validatedSessions.push_back(sessionId);
        validatedCodes.emplace_back(code.view());
        CallResult result = next(validateResults);
        if (result.session && countAttempts && result.session->attempt == 0) {
            if (result.session->status == SessionStatus::Waiting)
                ++apiAttempt;
            result.session->attempt = apiAttempt;
            if (!result.session->expiresAt)
                result.session->expiresAt = apiExpiresAt;
        }
        if (result.session)
            apiAttempt = result.session->attempt;
        return result;
    }
    CallResult status(const std::string& sessionId) override {
        if (trace)
            trace->push_back("status");
        statusReads.push_back(sessionId);
        if (!statusResults.empty())
            return next(statusResults);
        CallResult result = sessionResult(SessionStatus::Waiting, sessionId, apiAttempt);
        result.session->expiresAt = apiExpiresAt;
        return result;
    }

private:
    static CallResult next(std::deque<CallResult>& results) {
        if (results.empty())  // an unscripted call: the test's call counts will catch it
            return failure(CallStatus::InternalError, 0, "unscripted call");
        CallResult result = results.front();
        results.pop_front();
        return result;
    }
};

class FakeConversation : public Conversation {
public:
    std::deque<std::optional<std::string>> replies;
    std::vector<std::string> prompts;
    std::vector<std::string> errors;
    // Called with each prompt's index before it is answered (to move the clock on, say).
    std::function<void(std::size_t)> onPrompt;

    std::optional<SecretString> askSecret(const std::string& prompt) override {
        if (onPrompt)
            onPrompt(prompts.size());
        prompts.push_back(prompt);
        if (replies.empty())
            return std::nullopt;
        std::optional<std::string> reply = replies.front();
        replies.pop_front();
        if (!reply)
            return std::nullopt;
        return SecretString(*reply);
    }
    void error(const std::string& text) override { errors.push_back(text); }
    std::vector<std::string> infos;
    void info(const std::string& text) override { infos.push_back(text); }
    // What PAM_AUTHTOK / PAM_OLDAUTHTOK hold in this login (empty: none).
    std::vector<std::string> passwords;
    bool isLoginPassword(std::string_view answer) const override {
        for (const auto& password : passwords) {
            if (answer == password)
                return true;
        }
        return false;
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

bool sameHolder(const Holder& a, const Holder& b) {
    return a.pid == b.pid && a.started == b.started && a.nonce == b.nonce;
}

class MemoryStore : public SessionStore {
public:
    std::map<std::string, MemoryRow> rows;
    std::set<pid_t> dead;  // holders whose process has ended
    std::function<std::int64_t()> now = [] { return std::int64_t{0}; };
    bool broken = false;
    bool busy = false;
    std::string recordProblem;  // when set, sessions cannot be recorded (a full disk, say)
    int records = 0;
    std::vector<std::string>* trace = nullptr;

    Claim claim(const std::string& phone, const Holder& holder, std::int64_t untilMs) override {
        if (trace)
            trace->push_back("claim");
        Claim result;
        if (broken || busy) {
            result.verdict = busy ? ClaimVerdict::Busy : ClaimVerdict::Unavailable;
            result.problem =
                Problem(busy ? "/state/pending.a: locked by another process for 2000 ms"
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
        ++records;
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
    std::vector<std::string> problems;
    std::vector<std::pair<std::string, std::string>> asked;
    std::vector<std::string>* trace = nullptr;

    LimitDecision take(const std::string& user, const std::string& source) override {
        if (trace)
            trace->push_back("limit");
        asked.emplace_back(user, source);
        LimitDecision decision;
        decision.problems = problems;
        decision.verdict = allowed > 0 ? LimitVerdict::Allowed : refusal;
        if (allowed > 0)
            --allowed;
        return decision;
    }
    std::vector<std::pair<std::string, std::string>> refunded;
    void refund(const std::string& user, const std::string& source) override {
        refunded.emplace_back(user, source);
        ++allowed;
    }
};

class RecordingLogger : public Logger {
public:
    bool debugOn = false;
    std::vector<std::pair<LogLevel, std::string>> lines;

    void log(LogLevel level, const std::string& line) override { lines.emplace_back(level, line); }
    bool debugEnabled() const override { return debugOn; }

    std::vector<std::string> outcomeLines() const {
        std::vector<std::string> found;
        for (const auto& line : lines) {
            if (line.second.rfind("outcome=", 0) == 0)
                found.push_back(line.second);
        }
        return found;
    }
    std::string all() const {
        std::string text;
        for (const auto& line : lines)
            text += line.second + "\n";
        return text;
    }
    std::size_t countAt(LogLevel level) const {
        std::size_t count = 0;
        for (const auto& line : lines)
            count += line.first == level ? 1 : 0;
        return count;
    }
};

Enrolment enrolment(std::vector<Channel> channels = {Channel::Sms}, std::string phone = kPhone) {
    Enrolment entry;
    entry.user = "alice";
    entry.phone = std::move(phone);
    entry.channels = std::move(channels);
    return entry;
}

struct Harness {
    Config config;
    FakeClient client;
    FakeConversation conversation;
    FakeEnrolments enrolments;
    MemoryStore store;
    FakeLimiter limiter;
    RecordingLogger logger;
    LoginContext login;
    std::time_t now = 1800000000;
    // The monotonic clock login_timeout is measured on; realSteadyClock keeps the module's own.
    std::chrono::steady_clock::time_point steadyNow = kSteadyStart;
    bool realSteadyClock = false;
    std::vector<std::string> trace;  // setDeadline, limiter and API calls, in order
    Holder holder{4242, 1, 0x5eed};
    std::vector<std::int64_t> slept;  // waits for a resend interval, in ms

    Harness() {
        client.trace = &trace;
        limiter.trace = &trace;
        store.now = [this] { return bootNow(); };
        config.apiKey.assign(kApiKey);
        config.subaccountId = "demo-account";
        login.user = "alice";
        login.rhost = "203.0.113.9";
        login.service = "sshd";
        login.userExists = true;
        login.key = kLoginKey;
        enrol(enrolment());
    }
    // The boot clock every process shares, in ms; it moves with `now`.
    std::int64_t bootNow() const { return static_cast<std::int64_t>(now) * 1000; }

    void enrol(Enrolment entry) {
        enrolments.result = EnrolmentLookup{};
        enrolments.result.kind = EnrolmentLookup::Kind::Found;
        enrolments.result.entry = std::move(entry);
    }
    // The common script: initiate gives a WAITING session, then each validate answer in turn.
    void script(std::vector<CallResult> validations) {
        client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
        for (auto& validation : validations)
            client.validateResults.push_back(std::move(validation));
    }
    void reply(std::initializer_list<std::optional<std::string>> replies) {
        for (const auto& text : replies)
            conversation.replies.push_back(text);
    }
    Outcome run() {
        Authenticator authenticator(config, client, conversation, enrolments, store, limiter,
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
        return authenticator.authenticate(login);
    }
};

void expectOutcome(Outcome actual, Outcome expected) {
    if (actual != expected) {
        print_error("outcome %s, expected %s\n", std::string(outcomeName(actual)).c_str(),
                    std::string(outcomeName(expected)).c_str());
        fail();
    }
}

// Nothing left the module: no send, no prompt.
void expectNothingSent(const Harness& h) {
    assert_int_equal(h.client.initiates.size(), 0);
    assert_int_equal(h.client.validatedCodes.size(), 0);
    assert_int_equal(h.conversation.prompts.size(), 0);
}

std::string onlyOutcomeLine(const Harness& h) {
    const auto lines = h.logger.outcomeLines();
    if (lines.size() != 1) {
        print_error("expected one outcome line, got %zu:\n%s", lines.size(),
                    h.logger.all().c_str());
        fail();
    }
    return lines[0];
}

}  // namespace

// ---- the happy path and its prompt

static void the_right_code_first_time_is_verified(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    expect_str(h.client.initiates[0].destination, kPhone);
    assert_true(h.client.initiates[0].channel == Channel::Sms);
    assert_int_equal(h.client.validatedCodes.size(), 1);
    expect_str(h.client.validatedCodes[0], kCode);
    expect_str(h.client.validatedSessions[0], kHexId);
    assert_int_equal(h.conversation.errors.size(), 0);
}

static void the_prompt_carries_the_notice_and_the_masked_phone(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    h.run();
    assert_int_equal(h.conversation.prompts.size(), 1);
    expect_str(h.conversation.prompts[0], kSmsPrompt);
}

static void a_voice_user_is_told_of_a_voice_call(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Voice, Channel::Sms}));
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_true(h.client.initiates.at(0).channel == Channel::Voice);
    expect_str(h.conversation.prompts.at(0),
               "Code sent by voice call to \u2022\u2022\u2022\u2022\u2022\u2022"
               "4567.\nVerification code: ");
}

static void a_whatsapp_user_with_a_template_is_sent_by_whatsapp(void**) {
    Harness h;
    h.config.whatsappTemplate = "auth_code_v2";
    h.enrol(enrolment({Channel::Whatsapp}));
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_true(h.client.initiates.at(0).channel == Channel::Whatsapp);
    expect_str(h.client.initiates.at(0).whatsappTemplate.value_or("?"), "auth_code_v2");
    expect_contains(h.conversation.prompts.at(0), "Code sent by WhatsApp to ");
}

// ---- wrong codes

static void a_wrong_code_then_the_right_one_is_verified(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
              sessionResult(SessionStatus::Verified, kHexId, 1)});
    h.reply({"111111", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.conversation.prompts.size(), 2);
    expect_contains(h.conversation.prompts[1], "Wrong code.");
    expect_contains(h.conversation.prompts[1], "2 attempts left.");
    expect_contains(h.conversation.prompts[1], "\nVerification code: ");
    assert_int_equal(h.client.validatedCodes.size(), 2);
    expect_str(h.client.validatedCodes[0], "111111");
    expect_str(h.client.validatedCodes[1], kCode);
    expect_str(h.client.validatedSessions[1], kHexId);
    assert_int_equal(h.client.initiates.size(), 1);  // one login, one session
}

// sshd's "password" method answers every prompt with the password: it must never go to the API.
static void the_password_as_an_answer_is_never_sent_and_costs_an_attempt(void**) {
    Harness h;
    h.conversation.passwords = {"hunter2-0042"};
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({"hunter2-0042", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    // The prompt was reached and answered with the password, and only the code went out.
    assert_int_equal(h.conversation.prompts.size(), 2);
    expect_contains(h.conversation.prompts[1], "That was a password, not the code.");
    expect_contains(h.conversation.prompts[1], "2 attempts left.");
    assert_int_equal(h.client.validatedCodes.size(), 1);
    expect_str(h.client.validatedCodes[0], kCode);
    expect_contains(h.logger.all(), "the host answers prompts with the password");
    expect_not_contains(h.logger.all(), "hunter2-0042");
}

static void a_host_that_always_answers_with_the_password_ends_after_max_attempts(void**) {
    for (const std::string password : {"hunter2-0042", "123456", "old-pass"}) {
        Harness h;
        h.conversation.passwords = {"current-pass", "old-pass", "123456", "hunter2-0042"};
        h.script({});
        h.reply({password, password, password, password});
        expectOutcome(h.run(), Outcome::TooManyWrongCodes);
        assert_int_equal(h.conversation.prompts.size(), 3);
        assert_int_equal(h.client.validatedCodes.size(), 0);
        assert_int_equal(h.client.initiates.size(), 1);
        // Said once in the log, and the outcome line names the cause.
        std::size_t said = 0;
        for (const auto& line : h.logger.lines)
            said +=
                line.second.rfind("the answer to the code prompt was the login password", 0) == 0
                    ? 1
                    : 0;
        assert_int_equal(said, 1);
        const auto outcomes = h.logger.outcomeLines();
        assert_int_equal(outcomes.size(), 1);
        expect_contains(outcomes[0], "answered with the password");
        expect_not_contains(h.logger.all(), password);
    }
}

// The password check looks at what was typed, before trimming: a code is still a code.
static void a_code_that_is_not_the_password_is_validated(void**) {
    Harness h;
    h.conversation.passwords = {"secret"};
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({" " + kCode + " "});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.validatedCodes.size(), 1);
}

static void the_last_attempt_is_announced_in_the_singular(void**) {
    Harness h;
    h.config.maxAttempts = 2;
    h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
              sessionResult(SessionStatus::Verified, kHexId, 1)});
    h.reply({"111111", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    expect_contains(h.conversation.prompts.at(1), "1 attempt left.");
}

static void max_attempts_wrong_codes_end_the_login(void**) {
    for (int max = 1; max <= 5; ++max) {
        Harness h;
        h.config.maxAttempts = max;
        std::vector<CallResult> answers;
        for (int i = 0; i < max + 2; ++i)
            answers.push_back(sessionResult(SessionStatus::Waiting, kHexId, i + 1));
        h.script(std::move(answers));
        for (int i = 0; i < max + 2; ++i)
            h.conversation.replies.emplace_back("11111" + std::to_string(i));
        expectOutcome(h.run(), Outcome::TooManyWrongCodes);
        assert_int_equal(h.client.validatedCodes.size(), max);
        assert_int_equal(h.conversation.prompts.size(), max);
        expect_contains(h.conversation.errors.at(0), "No attempts left");
    }
}

static void implausible_codes_count_as_attempts_and_are_not_sent(void**) {
    // An empty line is not among them: it asks for the code again.
    const std::vector<std::string> implausible{"12",
                                               "12345678901",
                                               "12 34",
                                               "12\xc3\xa9"
                                               "34",
                                               "%n%s",
                                               "12\x01"
                                               "34"};
    for (const auto& bad : implausible) {
        Harness h;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({bad, kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.client.validatedCodes.size(), 1);
        expect_str(h.client.validatedCodes[0], kCode);
        assert_int_equal(h.conversation.prompts.size(), 2);
        expect_contains(h.conversation.prompts[1], "2 attempts left.");
        expect_contains(h.conversation.prompts[1], "not a code");
    }
}

static void only_implausible_codes_end_the_login_without_a_validate(void**) {
    Harness h;
    h.script({});
    h.reply({"   x", "%n%s", "12"});
    expectOutcome(h.run(), Outcome::TooManyWrongCodes);
    assert_int_equal(h.client.validatedCodes.size(), 0);
    assert_int_equal(h.conversation.prompts.size(), 3);
}

static void the_code_is_trimmed_before_validate(void**) {
    Harness h;
    h.script(
        {sessionResult(SessionStatus::Waiting, kHexId, 1), sessionResult(SessionStatus::Verified)});
    h.reply({"  " + kCode + "\n", "\t123-456 \r\n"});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.validatedCodes.size(), 2);
    expect_str(h.client.validatedCodes[0], kCode);
    expect_str(h.client.validatedCodes[1], "123-456");
}

static void the_code_is_sent_as_typed_otherwise(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({"AbC12x"});
    expectOutcome(h.run(), Outcome::Verified);
    expect_str(h.client.validatedCodes.at(0), "AbC12x");
}

// ---- session identity and final statuses

static void verified_for_another_session_is_a_bad_response(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified, "ffffffff5ea5ea118169020897df5459")});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::BadResponse);
}

static void verified_for_the_dashed_form_of_the_session_is_verified(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified, kDashedId)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
}

static void verified_for_an_empty_session_id_is_a_bad_response(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified, "")});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::BadResponse);
}

static void a_failed_session_ends_the_login(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Failed, kHexId, 5)});
    h.reply({kCode, kCode});
    expectOutcome(h.run(), Outcome::SessionFailed);
    assert_int_equal(h.client.validatedCodes.size(), 1);
    assert_int_equal(h.conversation.errors.size(), 1);
}

static void an_expired_session_ends_the_login(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Expired)});
    h.reply({kCode, kCode});
    expectOutcome(h.run(), Outcome::SessionExpired);
    assert_int_equal(h.client.validatedCodes.size(), 1);
    expect_contains(h.conversation.errors.at(0), "expired");
}

static void a_404_on_validate_is_an_expired_session(void**) {
    Harness h;
    h.script({failure(CallStatus::SessionNotFound, 404, "HTTP 404 code 1404")});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::SessionExpired);
}

static void a_new_session_that_is_already_verified_is_never_verified(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Verified));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    h.reply({kCode});
    const Outcome outcome = h.run();
    assert_true(outcome != Outcome::Verified);
    expectOutcome(outcome, Outcome::BadResponse);
    assert_int_equal(h.client.validatedCodes.size(), 0);
    assert_int_equal(h.conversation.prompts.size(), 0);
}

static void a_new_session_that_is_already_final_is_not_prompted_for(void**) {
    const std::vector<std::pair<SessionStatus, Outcome>> cases{
        {SessionStatus::Failed, Outcome::SessionFailed},
        {SessionStatus::Expired, Outcome::SessionExpired}};
    for (const auto& [status, outcome] : cases) {
        Harness h;
        h.client.initiateResults.push_back(sessionResult(status));
        h.reply({kCode});
        expectOutcome(h.run(), outcome);
        assert_int_equal(h.conversation.prompts.size(), 0);
    }
}

// ---- the conversation

static void an_aborted_conversation_is_a_conversation_failure(void**) {
    Harness h;
    h.script({});
    h.reply({std::nullopt});
    expectOutcome(h.run(), Outcome::ConversationFailed);
    assert_int_equal(h.client.validatedCodes.size(), 0);
}

static void an_abort_after_a_wrong_code_is_a_conversation_failure(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Waiting, kHexId, 1)});
    h.reply({"111111", std::nullopt});
    expectOutcome(h.run(), Outcome::ConversationFailed);
    assert_int_equal(h.client.validatedCodes.size(), 1);
}

// ---- logins that send nothing

static void an_unknown_user_sends_nothing(void**) {
    Harness h;
    h.login.userExists = false;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::UserUnknown);
    expectNothingSent(h);
}

static void the_sshd_placeholder_password_sends_nothing(void**) {
    Harness h;
    h.login.placeholderPassword = true;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::InvalidUserPassword);
    expectNothingSent(h);
    assert_int_equal(h.enrolments.asked.size(), 0);
}

static void an_unenrolled_user_is_denied_by_default(void**) {
    Harness h;
    h.enrolments.result = EnrolmentLookup{};
    h.enrolments.result.kind = EnrolmentLookup::Kind::NotEnrolled;
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::UnenrolledDenied);
    expectNothingSent(h);
    expect_str(h.enrolments.asked.at(0), "alice");
}

static void an_unenrolled_user_is_ignored_when_configured(void**) {
    Harness h;
    h.config.unenrolled = UnenrolledPolicy::Ignore;
    h.enrolments.result = EnrolmentLookup{};
    h.enrolments.result.kind = EnrolmentLookup::Kind::NotEnrolled;
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::UnenrolledIgnored);
    expectNothingSent(h);
}

static void a_user_with_a_bad_line_is_not_enrolled_and_the_line_is_logged(void**) {
    Harness h;
    h.enrolments.result = EnrolmentLookup{};
    h.enrolments.result.kind = EnrolmentLookup::Kind::NotEnrolled;
    h.enrolments.result.problems.push_back("/etc/security/pam_verif8.users:3: bad\x1b line");
    expectOutcome(h.run(), Outcome::UnenrolledDenied);
    expectNothingSent(h);
    expect_contains(h.logger.all(), "/etc/security/pam_verif8.users:3: bad? line");
    for (const auto& line : h.logger.lines)
        assert_false(test::hasControlBytes(line.second));
}

static void an_unusable_users_file_is_a_config_error(void**) {
    Harness h;
    h.enrolments.result = EnrolmentLookup{};
    h.enrolments.result.kind = EnrolmentLookup::Kind::Unavailable;
    h.enrolments.result.problems.push_back("/etc/security/pam_verif8.users: has mode 0666");
    h.config.unenrolled = UnenrolledPolicy::Ignore;  // a broken file is never "not enrolled"
    expectOutcome(h.run(), Outcome::ConfigError);
    expectNothingSent(h);
    expect_contains(h.logger.all(), "has mode 0666");
}

static void a_whatsapp_user_without_a_template_is_a_config_error(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Whatsapp, Channel::Sms}));
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::ConfigError);
    expectNothingSent(h);
}

// ---- call failures

static void each_initiate_failure_has_its_outcome(void**) {
    const std::vector<std::pair<CallStatus, Outcome>> cases{
        {CallStatus::Unreachable, Outcome::Unreachable},
        {CallStatus::CertificateInvalid, Outcome::CertificateInvalid},
        {CallStatus::TlsFailed, Outcome::TlsFailed},
        {CallStatus::RateLimited, Outcome::RateLimited},
        {CallStatus::CredentialsRejected, Outcome::CredentialsRejected},
        {CallStatus::RequestRejected, Outcome::ConfigError},
        {CallStatus::TlsTooOld, Outcome::ConfigError},
        {CallStatus::InvalidDestination, Outcome::InvalidPhone},
        {CallStatus::ResendTooSoon, Outcome::ResendTooSoon},
        {CallStatus::BadResponse, Outcome::BadResponse},
        {CallStatus::InternalError, Outcome::InternalError},
    };
    for (const auto& [status, outcome] : cases) {
        Harness h;
        h.client.initiateResults.push_back(failure(status, 400));
        h.reply({kCode});
        expectOutcome(h.run(), outcome);
        assert_int_equal(h.client.initiates.size(), 1);
        assert_int_equal(h.client.validatedCodes.size(), 0);
        assert_int_equal(h.conversation.prompts.size(), 0);
        expect_contains(onlyOutcomeLine(h), "outcome=" + std::string(outcomeName(outcome)));
    }
}

static void each_validate_failure_has_its_outcome(void**) {
    const std::vector<std::pair<CallStatus, Outcome>> cases{
        {CallStatus::Unreachable, Outcome::Unreachable},
        {CallStatus::CertificateInvalid, Outcome::CertificateInvalid},
        {CallStatus::TlsFailed, Outcome::TlsFailed},
        {CallStatus::RateLimited, Outcome::RateLimited},
        {CallStatus::CredentialsRejected, Outcome::CredentialsRejected},
        {CallStatus::RequestRejected, Outcome::ConfigError},
        {CallStatus::SessionNotFound, Outcome::SessionExpired},
        {CallStatus::BadResponse, Outcome::BadResponse},
        {CallStatus::InternalError, Outcome::InternalError},
    };
    for (const auto& [status, outcome] : cases) {
        Harness h;
        h.script({failure(status, 500)});
        h.reply({kCode, kCode});
        expectOutcome(h.run(), outcome);
        assert_int_equal(h.client.validatedCodes.size(), 1);
    }
}

static void the_request_carries_the_configured_settings(void**) {
    Harness h;
    h.config.codeLength = 8;
    h.config.codeValidity = 900;
    h.config.brand = "Acme";
    h.config.messageTemplate = "{brand}: {code}";
    h.config.templateKey = "login-otp";
    h.config.language = "fr-FR";
    h.config.smsSender = "AcmeSMS";
    h.config.voiceCallerId = "+6512345678";
    h.config.whatsappTemplate = "auth_code_v2";
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    const InitiateRequest& request = h.client.initiates.at(0);
    expect_str(request.destination, kPhone);
    assert_true(request.channel == Channel::Sms);
    assert_int_equal(request.codeLength, 8);
    assert_int_equal(request.codeValidity, 900);
    expect_str(request.brand.value_or("?"), "Acme");
    expect_str(request.messageTemplate.value_or("?"), "{brand}: {code}");
    expect_str(request.templateKey.value_or("?"), "login-otp");
    expect_str(request.language.value_or("?"), "fr-FR");
    expect_str(request.smsSource.value_or("?"), "AcmeSMS");
    expect_str(request.callSource.value_or("?"), "+6512345678");
    expect_str(request.whatsappTemplate.value_or("?"), "auth_code_v2");
}

static void unset_settings_stay_unset_in_the_request(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    h.run();
    const InitiateRequest& request = h.client.initiates.at(0);
    assert_int_equal(request.codeLength, 6);
    assert_int_equal(request.codeValidity, 300);
    assert_false(request.brand || request.messageTemplate || request.templateKey ||
                 request.language || request.smsSource || request.callSource ||
                 request.whatsappTemplate);
}

// ---- the log

static void one_outcome_line_has_every_field(void**) {
    Harness h;
    h.script(
        {sessionResult(SessionStatus::Waiting, kHexId, 1), sessionResult(SessionStatus::Verified)});
    h.reply({"111111", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    const std::string line = onlyOutcomeLine(h);
    expect_starts_with(line,
                       "outcome=verified user=alice rhost=203.0.113.9 service=sshd "
                       "channel=sms to=+65******67 session=a44a91be attempts=2 sends=1 ms=");
    const std::size_t ms = line.find(" ms=") + 4;
    assert_true(ms < line.size());
    assert_true(line[ms] >= '0' && line[ms] <= '9');
}

static void every_login_logs_exactly_one_outcome_line(void**) {
    {
        Harness h;
        h.login.userExists = false;
        h.run();
        expect_starts_with(onlyOutcomeLine(h), "outcome=user_unknown user=alice ");
    }
    {
        Harness h;
        h.login.placeholderPassword = true;
        h.run();
        expect_starts_with(onlyOutcomeLine(h), "outcome=invalid_user ");
    }
    {
        Harness h;
        h.enrolments.result.kind = EnrolmentLookup::Kind::NotEnrolled;
        h.enrolments.result.entry.reset();
        h.run();
        const std::string line = onlyOutcomeLine(h);
        expect_starts_with(line, "outcome=unenrolled_denied ");
        expect_not_contains(line, "to=");
    }
    {
        Harness h;
        h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
                  sessionResult(SessionStatus::Waiting, kHexId, 2),
                  sessionResult(SessionStatus::Waiting, kHexId, 3)});
        h.reply({"111111", "222222", "333333"});
        h.run();
        const std::string line = onlyOutcomeLine(h);
        expect_starts_with(line, "outcome=too_many_wrong_codes ");
        expect_contains(line, " attempts=3 ");
    }
    {
        Harness h;
        h.script({});
        h.reply({std::nullopt});
        h.run();
        expect_starts_with(onlyOutcomeLine(h), "outcome=conversation_failed ");
    }
}

static void a_missing_rhost_and_service_are_logged_as_dashes(void**) {
    Harness h;
    h.login.rhost.clear();
    h.login.service.clear();
    h.login.userExists = false;
    h.run();
    expect_contains(onlyOutcomeLine(h), " rhost=- service=- ");
}

static void the_log_never_holds_the_code_the_phone_or_the_key(void**) {
    Harness h;
    h.logger.debugOn = true;
    h.script(
        {sessionResult(SessionStatus::Waiting, kHexId, 1), sessionResult(SessionStatus::Verified)});
    h.reply({"  482913 ", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    const std::string all = h.logger.all();
    assert_true(h.logger.lines.size() > 1);
    expect_not_contains(all, kCode);
    expect_not_contains(all, "482913");
    expect_not_contains(all, "6591234567");
    expect_not_contains(all, "91234567");
    expect_not_contains(all, kApiKey);
}

static void a_failed_login_log_never_holds_the_phone_or_the_key(void**) {
    for (CallStatus status : {CallStatus::InvalidDestination, CallStatus::CredentialsRejected,
                              CallStatus::Unreachable}) {
        Harness h;
        h.logger.debugOn = true;
        h.client.initiateResults.push_back(failure(status, 400, "HTTP 400 code 1002"));
        h.run();
        const std::string all = h.logger.all();
        expect_not_contains(all, "6591234567");
        expect_not_contains(all, kApiKey);
        expect_contains(onlyOutcomeLine(h), "to=+65******67");
    }
}

static void user_names_and_hosts_are_sanitized_in_the_log(void**) {
    Harness h;
    h.login.user = "eve\n\x1b[31moutcome=verified";
    h.login.rhost = "198.51.100.7\r\nfake";
    h.login.userExists = false;
    h.run();
    const std::string line = onlyOutcomeLine(h);
    assert_false(test::hasControlBytes(line));
    expect_contains(line, "user=\"eve??[31moutcome=verified\"");
    expect_contains(line, "rhost=198.51.100.7??fake");
    expect_starts_with(line, "outcome=user_unknown ");
}

static void debug_lines_only_when_debug_is_on(void**) {
    {
        Harness h;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        assert_int_equal(h.logger.countAt(LogLevel::Debug), 0);
    }
    {
        Harness h;
        h.logger.debugOn = true;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        assert_true(h.logger.countAt(LogLevel::Debug) >= 2);
        expect_contains(h.logger.all(), "initiate: ok");
        expect_contains(h.logger.all(), "validate: ok");
        assert_int_equal(h.logger.outcomeLines().size(), 1);
    }
}

static void outcome_lines_have_levels_by_severity(void**) {
    {
        Harness h;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        assert_int_equal(h.logger.countAt(LogLevel::Info), 1);
    }
    {
        Harness h;
        h.client.initiateResults.push_back(failure(CallStatus::CredentialsRejected, 401));
        h.run();
        assert_int_equal(h.logger.countAt(LogLevel::Error), 1);
    }
}

static void an_ok_result_without_a_session_is_a_bad_response(void**) {
    Harness h;
    CallResult hollow;
    hollow.status = CallStatus::Ok;
    hollow.httpStatus = 200;
    h.client.initiateResults.push_back(hollow);
    expectOutcome(h.run(), Outcome::BadResponse);
    assert_int_equal(h.conversation.prompts.size(), 0);

    Harness v;
    v.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    v.client.validateResults.push_back(hollow);
    v.reply({kCode});
    expectOutcome(v.run(), Outcome::BadResponse);
}

// ---- asking for the code again, and switching channel

namespace {

const std::string kMasked =
    "\u2022\u2022\u2022\u2022\u2022\u2022"
    "4567";
const std::string kAsk = "\nVerification code: ";
const std::string kOtherId = "b55b02cf6fb6fb229270131908e06560";

// Moves the clock on by `seconds` before every answer.
void tickEachPrompt(Harness& h, std::time_t seconds) {
    h.conversation.onPrompt = [&h, seconds](std::size_t) { h.now += seconds; };
}

// What a login left for kPhone: by default this same login's earlier round, sent 10 s ago.
PendingSession pendingSession(Channel channel = Channel::Sms,
                              std::time_t lastSend = 1800000000 - 10, int sends = 1,
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

const PendingSession& storedFor(const Harness& h, const std::string& phone = kPhone) {
    const auto found = h.store.rows.find(phone);
    if (found == h.store.rows.end() || !found->second.session) {
        print_error("no session recorded for the number\n");
        fail();
    }
    return *found->second.session;
}

// Nothing of this login is left in the table: no claim, and the session only if kept.
void expectReleased(const Harness& h) {
    for (const auto& [phone, row] : h.store.rows) {
        if (row.holder && sameHolder(*row.holder, h.holder)) {
            print_error("the claim on %s was not released\n", phone.c_str());
            fail();
        }
    }
}

}  // namespace

static void an_empty_line_too_soon_is_refused_with_the_wait(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({"", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_int_equal(h.conversation.prompts.size(), 2);
    expect_str(h.conversation.prompts[1],
               "Wait 30 more seconds before asking for a new code. 2 attempts left." + kAsk);
}

static void the_wait_is_counted_down_from_the_last_send(void**) {
    Harness h;
    h.script({});
    h.conversation.onPrompt = [&h](std::size_t index) { h.now += index == 0 ? 29 : 0; };
    h.reply({"", std::nullopt});
    expectOutcome(h.run(), Outcome::ConversationFailed);
    assert_int_equal(h.client.initiates.size(), 1);
    expect_str(h.conversation.prompts.at(1),
               "Wait 1 more second before asking for a new code. 2 attempts left." + kAsk);
}

static void refused_resends_count_as_attempts(void**) {
    Harness h;
    h.script({});
    h.reply({"", "", ""});
    expectOutcome(h.run(), Outcome::TooManyWrongCodes);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_int_equal(h.client.validatedCodes.size(), 0);
    assert_int_equal(h.conversation.prompts.size(), 3);
    expect_contains(h.conversation.errors.at(0), "Wait 30 more seconds");
    expect_contains(h.conversation.errors.at(0), "No attempts left.");
}

static void an_empty_line_after_the_interval_sends_again(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 1));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 2));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 2));
    tickEachPrompt(h, 30);
    // A resend is not an attempt: three codes may still be typed after it.
    h.reply({"", "111111", "222222", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 2);
    expect_str(h.client.initiates[1].destination, kPhone);
    assert_true(h.client.initiates[1].channel == Channel::Sms);
    expect_str(h.conversation.prompts.at(1), "Code sent again by SMS to " + kMasked + "." + kAsk);
    expect_contains(h.conversation.prompts.at(3), "1 attempt left.");
    assert_int_equal(h.client.validatedCodes.size(), 3);
    for (const auto& session : h.client.validatedSessions)
        expect_str(session, kHexId);
    expect_contains(onlyOutcomeLine(h), " sends=2 ");
}

static void a_resend_updates_the_pending_session(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    tickEachPrompt(h, 40);
    h.reply({"", std::nullopt});
    expectOutcome(h.run(), Outcome::ConversationFailed);
    // The clock moved on once more before the last (unanswered) prompt.
    const std::int64_t sentAt = (h.now - 40) * 1000LL;
    const PendingSession& stored = storedFor(h);
    assert_int_equal(stored.sends, 2);
    assert_int_equal(stored.lastSendMs, sentAt);
    assert_int_equal(stored.expiresMs, sentAt + 300000);
    expect_str(stored.sessionId, kHexId);
    expect_str(stored.loginStamp, loginStamp(kLoginKey));
}

static void no_more_than_three_sends_per_login(void**) {
    Harness h;
    for (int i = 0; i < 3; ++i)
        h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    tickEachPrompt(h, 60);
    h.reply({"", "", "", "", ""});
    expectOutcome(h.run(), Outcome::TooManyWrongCodes);
    assert_int_equal(h.client.initiates.size(), kMaxSendsPerLogin);
    // Send 2 and 3 are free; each refusal after them counts.
    assert_int_equal(h.conversation.prompts.size(), 5);
    expect_str(h.conversation.prompts[3],
               "No more codes can be sent for this login. 2 attempts left." + kAsk);
    expect_str(h.conversation.prompts[4],
               "No more codes can be sent for this login. 1 attempt left." + kAsk);
    expect_str(h.conversation.errors.at(0),
               "No more codes can be sent for this login. No attempts left.");
}

static void a_channel_name_switches_channel(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Voice}));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    tickEachPrompt(h, 30);
    h.reply({"voice", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 2);
    assert_true(h.client.initiates[0].channel == Channel::Sms);
    assert_true(h.client.initiates[1].channel == Channel::Voice);
    expect_str(h.client.initiates[1].destination, kPhone);
    expect_str(h.conversation.prompts.at(1), "Code sent by voice call to " + kMasked + "." + kAsk);
    expect_contains(onlyOutcomeLine(h), " channel=voice ");
}

static void a_switch_too_soon_waits_like_a_resend(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Voice}));
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({" voice ", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    expect_str(h.conversation.prompts.at(1),
               "Wait 30 more seconds before asking for a new code. 2 attempts left." + kAsk);
}

static void a_channel_the_user_does_not_have_is_refused(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Voice}));
    h.script({sessionResult(SessionStatus::Verified)});
    tickEachPrompt(h, 60);
    h.reply({"viber", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    expect_str(
        h.conversation.prompts.at(1),
        "Channel viber is not available for you (yours: sms, voice). 2 attempts left." + kAsk);
}

static void whatsapp_without_a_template_is_refused_at_the_prompt(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Whatsapp}));
    h.script({sessionResult(SessionStatus::Verified)});
    tickEachPrompt(h, 60);
    h.reply({"whatsapp", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_true(h.client.initiates[0].channel == Channel::Sms);
    expect_str(h.conversation.prompts.at(1),
               "Channel whatsapp cannot be used now. 2 attempts left." + kAsk);
    expect_contains(h.logger.all(), "whatsapp_template");
}

static void resend_too_soon_from_the_api_is_a_wasted_attempt(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(
        failure(CallStatus::ResendTooSoon, 403, "HTTP 403 code 1400"));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    tickEachPrompt(h, 30);
    h.reply({"", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 2);
    expect_str(h.conversation.prompts.at(1),
               "Wait a little before asking for a new code. 2 attempts left." + kAsk);
    expect_str(h.client.validatedSessions.at(0), kHexId);
    assert_int_equal(h.conversation.errors.size(), 0);
}

static void a_resend_that_gets_a_new_session_moves_to_it(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kOtherId));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Waiting, kOtherId, 1));
    tickEachPrompt(h, 30);
    h.reply({"", "111111", std::nullopt});
    expectOutcome(h.run(), Outcome::ConversationFailed);
    expect_str(h.client.validatedSessions.at(0), kOtherId);
    expect_str(storedFor(h).sessionId, kOtherId);
    expectReleased(h);
}

static void every_initiate_carries_the_resend_interval(void**) {
    {
        Harness h;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        assert_true(h.client.initiates.at(0).resendingInterval == 30);
    }
    Harness h;
    h.config.resendInterval = 45;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    tickEachPrompt(h, 45);
    h.reply({"", std::nullopt});
    h.run();
    assert_int_equal(h.client.initiates.size(), 2);
    for (const auto& request : h.client.initiates)
        assert_true(request.resendingInterval == 45);
}

static void the_resend_interval_is_the_configured_one(void**) {
    Harness h;
    h.config.resendInterval = 120;
    h.script({});
    tickEachPrompt(h, 100);
    h.reply({"", std::nullopt});
    h.run();
    assert_int_equal(h.client.initiates.size(), 1);
    expect_contains(h.conversation.prompts.at(1), "Wait 20 more seconds");
}

// ---- resuming the session an earlier round of this login left waiting

static void a_pending_session_is_resumed_without_a_send(void**) {
    Harness h;
    h.store.rows[kPhone].session = pendingSession();
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 0);
    assert_int_equal(h.conversation.prompts.size(), 1);
    expect_str(h.conversation.prompts[0], "Code already sent by SMS to " + kMasked + "." + kAsk);
    assert_int_equal(h.client.validatedSessions.size(), 1);
    expect_str(h.client.validatedSessions[0], kHexId);
    expect_contains(onlyOutcomeLine(h), " session=a44a91be ");
    expectReleased(h);
    assert_int_equal(h.store.rows.count(kPhone), 0);  // verified: nothing left to resume
}

static void a_resumed_session_names_its_own_channel(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Voice}));
    h.store.rows[kPhone].session = pendingSession(Channel::Voice);
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 0);
    expect_str(h.conversation.prompts.at(0),
               "Code already sent by voice call to " + kMasked + "." + kAsk);
}

static void a_resumed_session_keeps_its_send_count_and_time(void**) {
    {
        // Sent 10 s ago: 20 s more to wait.
        Harness h;
        h.store.rows[kPhone].session = pendingSession();
        h.reply({"", std::nullopt});
        h.run();
        assert_int_equal(h.client.initiates.size(), 0);
        expect_contains(h.conversation.prompts.at(1), "Wait 20 more seconds");
    }
    {
        // Three sends already: no fourth.
        Harness h;
        h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 60, 3);
        h.reply({"", std::nullopt});
        h.run();
        assert_int_equal(h.client.initiates.size(), 0);
        expect_contains(h.conversation.prompts.at(1), "No more codes can be sent for this login.");
    }
}

static void a_session_of_another_number_is_not_this_users(void**) {
    Harness h;
    h.store.rows["+6598765432"].session = pendingSession();
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kOtherId));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kOtherId));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_false(h.client.initiates[0].resetSession);
    expect_str(h.conversation.prompts.at(0), kSmsPrompt);
    expect_str(h.client.validatedSessions.at(0), kOtherId);
    expect_str(storedFor(h, "+6598765432").sessionId, kHexId);  // untouched
}

static void a_resume_needs_time_left_on_the_code(void**) {
    // The code ends too soon to be typed: a new one is sent (the interval has passed).
    for (const std::time_t left : {15, 10, 1}) {
        Harness h;
        h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 300 + left);
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.client.initiates.size(), 1);
        assert_true(h.client.initiates[0].resetSession);
        expect_str(h.conversation.prompts.at(0), kSmsPrompt);
    }
    // 16 s left is enough.
    Harness h;
    h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 300 + 16);
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 0);
}

static void a_resume_needs_a_channel_still_offered(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms}));
    h.store.rows[kPhone].session = pendingSession(Channel::Voice, h.now - 60);
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_true(h.client.initiates[0].channel == Channel::Sms);
    expect_str(h.conversation.prompts.at(0), kSmsPrompt);
}

static void a_final_answer_forgets_the_session(void**) {
    const std::vector<std::pair<SessionStatus, Outcome>> cases{
        {SessionStatus::Verified, Outcome::Verified},
        {SessionStatus::Failed, Outcome::SessionFailed},
        {SessionStatus::Expired, Outcome::SessionExpired}};
    for (const auto& [status, outcome] : cases) {
        for (const bool resumed : {false, true}) {
            Harness h;
            if (resumed)
                h.store.rows[kPhone].session = pendingSession();
            else
                h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
            h.client.validateResults.push_back(sessionResult(status));
            h.reply({kCode});
            expectOutcome(h.run(), outcome);
            assert_int_equal(h.store.rows.size(), 0);
        }
    }
    // So does a 404: the session is gone.
    Harness h;
    h.script({failure(CallStatus::SessionNotFound, 404)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::SessionExpired);
    assert_int_equal(h.store.rows.size(), 0);
}

static void an_unfinished_login_keeps_the_session_but_not_the_number(void**) {
    {
        Harness h;
        h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
                  sessionResult(SessionStatus::Waiting, kHexId, 2),
                  sessionResult(SessionStatus::Waiting, kHexId, 3)});
        h.reply({"111111", "222222", "333333"});
        expectOutcome(h.run(), Outcome::TooManyWrongCodes);
        const PendingSession& stored = storedFor(h);
        expect_str(stored.sessionId, kHexId);
        assert_int_equal(stored.sends, 1);
        assert_int_equal(stored.lastSendMs, h.bootNow());
        assert_int_equal(stored.expiresMs, h.bootNow() + 300000);
        assert_int_equal(stored.apiAttempt, 3);  // every wrong code recorded
        expectReleased(h);                       // the number is free for the next login

        // The next round of the same login resumes it: nothing new is sent.
        h.now += 20;
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 3));
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.client.initiates.size(), 1);
        expect_str(h.client.validatedSessions.back(), kHexId);
        assert_int_equal(h.store.rows.size(), 0);
    }
    for (const bool timeout : {false, true}) {
        // A closed conversation, or the time running out: kept, released.
        Harness h;
        h.script({});
        if (timeout)
            h.conversation.onPrompt = [&h](std::size_t) { h.steadyNow += std::chrono::hours(1); };
        h.reply({timeout ? std::optional<std::string>(kCode) : std::nullopt});
        expectOutcome(h.run(), timeout ? Outcome::LoginTimeout : Outcome::ConversationFailed);
        assert_int_equal(storedFor(h).sends, 1);
        expectReleased(h);
    }
}

// ---- the number's claim: one login at a time, and never a dead one

static void a_number_another_live_login_holds_sends_nothing(void**) {
    Harness h;
    h.store.rows[kPhone].holder = Holder{999, 5, 77};
    h.store.rows[kPhone].untilMs = h.bootNow() + 60000;
    h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 10, 1, "bob's login");
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::PhoneBusy);
    assert_int_equal(pamCodeFor(Outcome::PhoneBusy), PAM_AUTH_ERR);
    expectNothingSent(h);
    assert_int_equal(h.limiter.asked.size(), 0);  // not even counted against the limits
    expect_contains(h.conversation.errors.at(0), "Another login is waiting");
    assert_int_equal(h.store.rows[kPhone].holder->pid, 999);  // still theirs
    const std::string line = onlyOutcomeLine(h);
    expect_starts_with(line, "outcome=phone_busy ");
    expect_contains(line, "another login (pid 999) is waiting");
    expect_contains(line, "nothing sent");
}

static void the_claim_of_a_dead_or_timed_out_login_is_taken_over(void**) {
    for (const bool dead : {true, false}) {
        Harness h;
        h.store.rows[kPhone].holder = Holder{999, 5, 77};
        // Dead: its process ended (killed at the prompt). Timed out: stopped past its time.
        h.store.rows[kPhone].untilMs = dead ? h.bootNow() + 60000 : h.bootNow() - 1;
        if (dead)
            h.store.dead.insert(999);
        h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 100, 1, "other");
        h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.client.initiates.size(), 1);
        assert_true(h.client.initiates[0].resetSession);  // a new code, not the dead login's
        assert_int_equal(h.slept.size(), 0);              // its last send was 100 s ago
    }
}

static void a_login_that_ended_moments_ago_is_waited_out_then_replaced(void**) {
    // Three wrong codes, 10 s ago, on another connection: the API refuses a send for 20 s more.
    Harness h;
    PendingSession left = pendingSession(Channel::Sms, h.now - 10, 1, "another connection");
    left.apiAttempt = 3;
    h.store.rows[kPhone].session = left;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 3));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 3));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.slept.size(), 1);
    assert_true(h.slept[0] >= 20000 && h.slept[0] <= 21000);
    assert_int_equal(h.conversation.infos.size(), 1);
    expect_str(h.conversation.infos[0],
               "A code was sent to this phone moments ago; a new one follows in 21 seconds.");
    assert_int_equal(h.client.initiates.size(), 1);
    assert_true(h.client.initiates[0].resetSession);
    expect_str(h.conversation.prompts.at(0), kSmsPrompt);  // "sent", not "already sent"
    expect_str(h.client.validatedSessions.at(0), kHexId);
}

static void the_limits_are_asked_before_the_wait_not_after(void**) {
    {
        // Refused by a limit: no wait for a send that cannot happen.
        Harness h;
        h.limiter.allowed = 0;
        h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 10, 1, "other");
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::SendLimitReached);
        expectNothingSent(h);
        assert_int_equal(h.slept.size(), 0);
    }
    {
        // Counted once, before the wait; given back when the wait cannot be made.
        Harness h;
        h.config.loginTimeout = 30;
        h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 10, 1, "other");
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::ResendTooSoon);
        assert_int_equal(h.limiter.asked.size(), 1);
        assert_int_equal(h.limiter.refunded.size(), 1);
    }
    // Counted once for a send that happens after the wait.
    Harness h;
    h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 10, 1, "other");
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.limiter.asked.size(), 1);
    assert_int_equal(h.limiter.refunded.size(), 0);
    assert_int_equal(h.slept.size(), 1);
}

static void a_takeover_accepts_a_count_the_ended_login_never_saw(void**) {
    // The ended login's last check was counted by the API but its answer never came back: the
    // table says 0 wrong codes, the API 1. Taken over with a new code, that proves nothing.
    Harness h;
    h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 100, 1, "other");
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 1));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 1));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
}

static void a_refused_session_stays_known_for_the_next_login(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.statusResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 1));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::SessionTaken);
    expect_str(storedFor(h).sessionId, kHexId);  // still WAITING at the API: kept
    expectReleased(h);
}

static void no_time_to_wait_out_the_interval_sends_nothing(void**) {
    Harness h;
    h.config.loginTimeout = 30;  // 20 s of waiting would leave 10 s to type
    h.store.rows[kPhone].session = pendingSession(Channel::Sms, h.now - 10, 1, "other");
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::ResendTooSoon);
    expectNothingSent(h);
    assert_int_equal(h.slept.size(), 0);
    expect_str(h.conversation.errors.at(0),
               "A code was sent to this phone moments ago; try again in 21 seconds.");
    expectReleased(h);
    expect_str(storedFor(h).sessionId, kHexId);  // left as it was found
}

static void a_state_dir_that_cannot_record_the_session_ends_the_login(void**) {
    Harness h;
    h.store.recordProblem = "/state/pending.b: cannot write: No space left on device";
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::ConfigError);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_int_equal(h.client.validatedCodes.size(), 0);  // no code is checked against it
    assert_int_equal(h.conversation.prompts.size(), 0);
    expect_contains(h.logger.all(), "state_dir: /state/pending.b: cannot write: No space left");
    expect_contains(onlyOutcomeLine(h), "reason=\"state_dir: the session could not be recorded\"");
}

static void an_unusable_or_locked_state_dir_sends_nothing(void**) {
    {
        Harness h;
        h.store.broken = true;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::ConfigError);
        expectNothingSent(h);
        expect_contains(h.logger.all(), "state_dir: /state: not a directory");
        expect_contains(onlyOutcomeLine(h), "reason=\"state_dir unusable; nothing sent\"");
    }
    Harness h;
    h.store.busy = true;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::StateBusy);
    assert_int_equal(pamCodeFor(Outcome::StateBusy), PAM_AUTHINFO_UNAVAIL);
    expectNothingSent(h);
    const std::string line = onlyOutcomeLine(h);
    expect_starts_with(line, "outcome=state_busy ");
    expect_contains(line, "stayed locked");
    expect_not_contains(line, "config");

    // The same for a send counter.
    Harness counters;
    counters.limiter.allowed = 0;
    counters.limiter.refusal = LimitVerdict::Busy;
    counters.script({sessionResult(SessionStatus::Verified)});
    counters.reply({kCode});
    expectOutcome(counters.run(), Outcome::StateBusy);
    expectNothingSent(counters);
    expect_contains(onlyOutcomeLine(counters), "a send counter stayed locked");
    expectReleased(counters);
}

// ---- sessions another login, host or application started, resent or checked

static void a_send_answered_with_someone_elses_session_is_refused(void**) {
    struct Case {
        int attempt;
        std::time_t expiresAt;
        std::time_t retryAfter;
        std::string reason;
    };
    // This login asks for 300 s of validity and a 30 s interval: a new session's two times are
    // 270 s apart.
    const std::vector<Case> cases{
        {2, 1800000300, 1800000030, "already had 2 wrong codes"},
        {0, 1800000300, 1799999900, "expiry and resend times were not set by this login"},
        {0, 1800000900, 1800000030, "expiry and resend times were not set by this login"},
    };
    for (const auto& c : cases) {
        Harness h;
        CallResult sent = sessionResult(SessionStatus::Waiting, kOtherId, c.attempt);
        sent.session->expiresAt = c.expiresAt;
        sent.session->retryAfter = c.retryAfter;
        h.client.initiateResults.push_back(sent);
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kOtherId));
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::SessionTaken);
        assert_int_equal(pamCodeFor(Outcome::SessionTaken), PAM_AUTH_ERR);
        assert_int_equal(h.conversation.prompts.size(), 0);
        assert_int_equal(h.client.validatedCodes.size(), 0);
        expect_contains(onlyOutcomeLine(h), c.reason);
        expectReleased(h);
    }
    // Times a new session of this login's settings has (fractions rounded either way) pass.
    for (const std::time_t retryAfter : {1800000030, 1800000031, 1800000028}) {
        Harness h;
        CallResult sent = sessionResult(SessionStatus::Waiting);
        sent.session->expiresAt = 1800000300;
        sent.session->retryAfter = retryAfter;
        h.client.initiateResults.push_back(sent);
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
    }
}

static void a_resend_answered_with_moved_counts_is_refused(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 2));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 2));
    tickEachPrompt(h, 30);
    h.reply({"", kCode});
    expectOutcome(h.run(), Outcome::SessionTaken);
    assert_int_equal(h.client.validatedCodes.size(), 0);
    expect_contains(onlyOutcomeLine(h), "moved from 0 to 2");
}

static void the_status_is_read_before_each_code_is_checked(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Waiting), sessionResult(SessionStatus::Verified)});
    h.reply({"111111", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    const std::vector<std::string> calls(h.trace.begin(), h.trace.end());
    const std::vector<std::string> expected{"deadline", "limit",  "initiate", "status",
                                            "validate", "status", "validate"};
    assert_int_equal(calls.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        expect_str(calls[i], expected[i]);
}

static void a_session_verified_or_used_elsewhere_is_refused_before_the_check(void**) {
    struct Case {
        CallResult status;
        std::string reason;
    };
    CallResult moved = sessionResult(SessionStatus::Waiting);
    moved.session->expiresAt = 1800000999;
    const std::vector<Case> cases{
        {sessionResult(SessionStatus::Verified), "VERIFIED before this login checked a code"},
        {sessionResult(SessionStatus::Waiting, kHexId, 1), "wrong-code count is 1"},
        {moved, "expiry moved"},
    };
    for (const auto& c : cases) {
        Harness h;
        CallResult sent = sessionResult(SessionStatus::Waiting);
        sent.session->expiresAt = 1800000300;
        h.client.initiateResults.push_back(sent);
        h.client.statusResults.push_back(c.status);
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
        h.reply({"000000"});
        expectOutcome(h.run(), Outcome::SessionTaken);
        assert_int_equal(h.client.validatedCodes.size(), 0);  // the code never went out
        expect_contains(onlyOutcomeLine(h), c.reason);
        expect_contains(h.conversation.errors.at(0), "also asked for somewhere else");
        expectReleased(h);
    }
}

static void a_check_answered_with_moved_counts_is_refused(void**) {
    // Between the status read and the check, another login typed codes: VERIFIED with a count
    // this login did not make, or WAITING two wrong codes on, is not this login's.
    for (const auto& answer : {sessionResult(SessionStatus::Verified, kHexId, 1),
                               sessionResult(SessionStatus::Waiting, kHexId, 2)}) {
        Harness h;
        h.client.countAttempts = false;
        h.script({answer});
        h.reply({kCode, kCode});
        expectOutcome(h.run(), Outcome::SessionTaken);
        assert_int_equal(h.client.validatedCodes.size(), 1);
    }
}

static void a_failed_status_read_never_fails_open(void**) {
    Harness h;
    h.config.failMode = FailMode::Open;
    h.script({sessionResult(SessionStatus::Verified)});
    h.client.statusResults.push_back(failure(CallStatus::Unreachable, 503));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Unreachable);
    assert_int_equal(h.client.validatedCodes.size(), 0);
}

// ---- exemptions

static void each_exemption_sends_nothing(void**) {
    struct Case {
        std::function<void(Harness&)> set;
        std::string reason;
    };
    const std::vector<Case> cases{
        {[](Harness& h) {
             h.config.exemptUsers = {"bob", "alice"};
         },
         "exempt user"},
        {[](Harness& h) {
             h.config.exemptGroups = {"breakglass"};
             h.login.groups = {"users", "breakglass"};
         },
         "exempt group"},
        {[](Harness& h) {
             h.config.onlyGroups = {"admins"};
             h.login.groups = {"users"};
         },
         "not in only_groups"},
        {[](Harness& h) { h.config.trustedNetworks = {*Network::parse("203.0.113.0/24")}; },
         "trusted network"},
    };
    for (const auto& c : cases) {
        Harness h;
        c.set(h);
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Exempt);
        assert_int_equal(h.enrolments.asked.size(), 0);
        expectNothingSent(h);
        assert_int_equal(h.store.rows.size(), 0);
        const std::string line = onlyOutcomeLine(h);
        expect_starts_with(line, "outcome=exempt user=alice rhost=203.0.113.9 service=sshd ");
        expect_contains(line, "reason=\"" + c.reason + "\"");
        expect_not_contains(line, "to=");
    }
}

static void an_exemption_holds_even_with_a_broken_state_dir(void**) {
    Harness h;
    h.store.broken = true;
    h.config.exemptUsers = {"alice"};
    expectOutcome(h.run(), Outcome::Exempt);
}

static void members_of_only_groups_are_asked(void**) {
    Harness h;
    h.config.onlyGroups = {"admins"};
    h.login.groups = {"users", "admins"};
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
}

static void an_untrusted_network_is_asked(void**) {
    Harness h;
    h.config.trustedNetworks = {*Network::parse("198.51.100.0/24"),
                                *Network::parse("2001:db8::/32")};
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
}

static void exemption_comes_after_the_user_checks(void**) {
    // A user that does not exist, or sshd's placeholder, is never "exempt".
    Harness h;
    h.config.exemptUsers = {"alice"};
    h.login.userExists = false;
    expectOutcome(h.run(), Outcome::UserUnknown);
    Harness p;
    p.config.exemptUsers = {"alice"};
    p.login.placeholderPassword = true;
    expectOutcome(p.run(), Outcome::InvalidUserPassword);
}

static void channel_words_are_matched_in_any_case(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Voice}));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    h.conversation.onPrompt = [&h](std::size_t index) {
        if (index == 1)
            h.now += 30;
    };
    h.reply({"", "Voice", kCode});
    // The first empty line comes too early; "Voice" after the interval switches channel.
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 2);
    assert_true(h.client.initiates[1].channel == Channel::Voice);
}

// ---- the time budget: login_timeout

namespace {

std::string joinedTrace(const Harness& h) {
    std::string text;
    for (const auto& call : h.trace)
        text += (text.empty() ? "" : " ") + call;
    return text;
}

// Moves the steady clock on by `by` before the answer to prompt `index`.
void lateAnswer(Harness& h, std::size_t index, std::chrono::steady_clock::duration by) {
    h.conversation.onPrompt = [&h, index, by](std::size_t asked) {
        if (asked == index)
            h.steadyNow += by;
    };
}

const std::string kTimeUp = "The time for the code has run out.";

}  // namespace

static void the_deadline_is_set_once_before_any_call(void**) {
    Harness h;
    h.config.loginTimeout = 120;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.deadlineCalls, 1);
    assert_true(h.client.deadline.has_value());
    assert_true(*h.client.deadline == kSteadyStart + std::chrono::seconds(120));
    expect_str(joinedTrace(h), "deadline limit initiate status validate");
}

static void the_deadline_is_set_once_for_a_whole_login_with_resends(void**) {
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 1));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    tickEachPrompt(h, 30);
    h.reply({"", "111111", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.deadlineCalls, 1);
    assert_true(*h.client.deadline == kSteadyStart + std::chrono::seconds(90));
    expect_str(joinedTrace(h),
               "deadline limit initiate limit initiate status validate status validate");
}

static void the_deadline_is_on_the_real_steady_clock_by_default(void**) {
    Harness h;
    h.realSteadyClock = true;
    h.config.loginTimeout = 45;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    const auto before = std::chrono::steady_clock::now();
    expectOutcome(h.run(), Outcome::Verified);
    const auto after = std::chrono::steady_clock::now();
    assert_true(h.client.deadline.has_value());
    assert_true(*h.client.deadline >= before + std::chrono::seconds(45));
    assert_true(*h.client.deadline <= after + std::chrono::seconds(45));
}

static void a_reply_after_the_deadline_is_a_login_timeout(void**) {
    for (const auto late : {std::chrono::steady_clock::duration(std::chrono::seconds(90)),
                            std::chrono::steady_clock::duration(std::chrono::seconds(91)),
                            std::chrono::steady_clock::duration(std::chrono::hours(5))}) {
        Harness h;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        lateAnswer(h, 0, late);
        const Outcome outcome = h.run();
        expectOutcome(outcome, Outcome::LoginTimeout);
        assert_int_equal(pamCodeFor(outcome), PAM_AUTH_ERR);
        assert_int_equal(h.client.validatedCodes.size(), 0);
        assert_int_equal(h.conversation.errors.size(), 1);
        expect_str(h.conversation.errors[0], kTimeUp);
        const std::string line = onlyOutcomeLine(h);
        expect_starts_with(line, "outcome=login_timeout ");
        expect_contains(line, " attempts=1 ");
        expect_contains(line, "reason=\"login_timeout of 90 s\"");
    }
}

static void a_reply_just_before_the_deadline_is_checked(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    lateAnswer(h, 0, std::chrono::seconds(90) - std::chrono::milliseconds(1));
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.validatedCodes.size(), 1);
}

static void the_login_timeout_is_the_configured_one(void**) {
    Harness h;
    h.config.loginTimeout = 10;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    lateAnswer(h, 0, std::chrono::seconds(10));
    expectOutcome(h.run(), Outcome::LoginTimeout);
    expect_contains(onlyOutcomeLine(h), "reason=\"login_timeout of 10 s\"");

    Harness g;
    g.config.loginTimeout = 600;
    g.script({sessionResult(SessionStatus::Verified)});
    g.reply({kCode});
    lateAnswer(g, 0, std::chrono::seconds(599));
    expectOutcome(g.run(), Outcome::Verified);
}

static void the_deadline_is_checked_after_each_reply(void**) {
    // Counted from the start of the login, not from the last prompt or send.
    Harness h;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 1));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    h.conversation.onPrompt = [&h](std::size_t) { h.steadyNow += std::chrono::seconds(45); };
    h.reply({"111111", kCode});
    expectOutcome(h.run(), Outcome::LoginTimeout);
    assert_int_equal(h.client.validatedCodes.size(), 1);
    expect_str(h.client.validatedCodes[0], "111111");
    assert_int_equal(h.conversation.prompts.size(), 2);
    expect_str(h.conversation.errors.at(0), kTimeUp);
    expect_contains(onlyOutcomeLine(h), " attempts=2 ");
}

static void a_resend_asked_for_after_the_deadline_sends_nothing(void**) {
    for (const std::string& typed : {std::string(""), std::string("voice")}) {
        Harness h;
        h.enrol(enrolment({Channel::Sms, Channel::Voice}));
        h.script({});
        h.reply({typed});
        h.conversation.onPrompt = [&h](std::size_t) {
            h.now += 60;
            h.steadyNow += std::chrono::seconds(91);
        };
        expectOutcome(h.run(), Outcome::LoginTimeout);
        assert_int_equal(h.client.initiates.size(), 1);
        assert_int_equal(h.limiter.asked.size(), 1);
        expect_str(h.conversation.errors.at(0), kTimeUp);
    }
}

static void a_login_timeout_is_never_relaxed_by_fail_mode_open(void**) {
    // The user's own slowness is not an outage: waiting out the clock must not skip the code.
    Harness h;
    h.config.failMode = FailMode::Open;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    lateAnswer(h, 0, std::chrono::seconds(100));
    const Outcome outcome = h.run();
    expectOutcome(outcome, Outcome::LoginTimeout);
    assert_int_not_equal(pamCodeFor(outcome), PAM_IGNORE);
    expect_not_contains(h.logger.all(), "fail_mode=open");
}

// ---- fail_mode

namespace {

// The warning line fail_mode=open writes, besides the outcome line.
std::size_t failOpenWarnings(const Harness& h) {
    std::size_t count = 0;
    for (const auto& line : h.logger.lines) {
        if (line.first == LogLevel::Warning && line.second.rfind("outcome=", 0) != 0 &&
            line.second.find("fail_mode=open") != std::string::npos)
            ++count;
    }
    return count;
}

}  // namespace

static void fail_mode_open_steps_aside_when_initiate_is_unreachable(void**) {
    Harness h;
    h.config.failMode = FailMode::Open;
    h.client.initiateResults.push_back(failure(CallStatus::Unreachable, 0, "connect timeout"));
    h.reply({kCode});
    const Outcome outcome = h.run();
    expectOutcome(outcome, Outcome::UnreachableFailOpen);
    assert_int_equal(pamCodeFor(outcome), PAM_IGNORE);
    assert_int_equal(h.conversation.prompts.size(), 0);
    assert_int_equal(failOpenWarnings(h), 1);
    const std::string line = onlyOutcomeLine(h);
    expect_starts_with(line, "outcome=unreachable_fail_open ");
    // The outcome line itself is a warning: an outage that skips the code must be seen.
    for (const auto& logged : h.logger.lines) {
        if (logged.second == line)
            assert_true(logged.first == LogLevel::Warning);
    }
}

static void fail_mode_closed_keeps_unreachable_closed(void**) {
    Harness h;
    h.client.initiateResults.push_back(failure(CallStatus::Unreachable, 0, "connect timeout"));
    const Outcome outcome = h.run();
    expectOutcome(outcome, Outcome::Unreachable);
    assert_int_equal(pamCodeFor(outcome), PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(failOpenWarnings(h), 0);
    expect_not_contains(h.logger.all(), "fail_mode=open");
    expect_str(h.conversation.errors.at(0), "The verification service cannot be reached.");
}

static void fail_mode_open_relaxes_no_other_initiate_failure(void**) {
    const std::vector<std::pair<CallStatus, Outcome>> cases{
        {CallStatus::CertificateInvalid, Outcome::CertificateInvalid},
        {CallStatus::TlsFailed, Outcome::TlsFailed},
        {CallStatus::RateLimited, Outcome::RateLimited},
        {CallStatus::CredentialsRejected, Outcome::CredentialsRejected},
        {CallStatus::RequestRejected, Outcome::ConfigError},
        {CallStatus::TlsTooOld, Outcome::ConfigError},
        {CallStatus::InvalidDestination, Outcome::InvalidPhone},
        {CallStatus::ResendTooSoon, Outcome::ResendTooSoon},
        {CallStatus::BadResponse, Outcome::BadResponse},
        {CallStatus::InternalError, Outcome::InternalError},
    };
    for (const auto& [status, outcome] : cases) {
        for (const FailMode mode : {FailMode::Closed, FailMode::Open}) {
            Harness h;
            h.config.failMode = mode;
            h.client.initiateResults.push_back(failure(status, 400));
            h.reply({kCode});
            const Outcome got = h.run();
            expectOutcome(got, outcome);
            assert_int_not_equal(pamCodeFor(got), PAM_IGNORE);
            assert_int_not_equal(pamCodeFor(got), PAM_SUCCESS);
            assert_int_equal(failOpenWarnings(h), 0);
        }
    }
}

static void fail_mode_open_relaxes_no_other_validate_failure(void**) {
    const std::vector<std::pair<CallStatus, Outcome>> cases{
        {CallStatus::CertificateInvalid, Outcome::CertificateInvalid},
        {CallStatus::TlsFailed, Outcome::TlsFailed},
        {CallStatus::RateLimited, Outcome::RateLimited},
        {CallStatus::CredentialsRejected, Outcome::CredentialsRejected},
        {CallStatus::RequestRejected, Outcome::ConfigError},
        {CallStatus::TlsTooOld, Outcome::ConfigError},
        {CallStatus::SessionNotFound, Outcome::SessionExpired},
        {CallStatus::BadResponse, Outcome::BadResponse},
        {CallStatus::InternalError, Outcome::InternalError},
    };
    for (const auto& [status, outcome] : cases) {
        Harness h;
        h.config.failMode = FailMode::Open;
        h.script({failure(status, 500)});
        h.reply({kCode});
        const Outcome got = h.run();
        expectOutcome(got, outcome);
        assert_int_not_equal(pamCodeFor(got), PAM_IGNORE);
        assert_int_equal(failOpenWarnings(h), 0);
    }
}

// Threat-model rule 7: once this login has a code, an outage never lets it through.
static void fail_mode_open_never_applies_once_a_code_was_sent(void**) {
    {
        // The code check could not reach the service.
        Harness h;
        h.config.failMode = FailMode::Open;
        h.script({failure(CallStatus::Unreachable, 503, "HTTP 503")});
        h.reply({kCode});
        const Outcome outcome = h.run();
        expectOutcome(outcome, Outcome::Unreachable);
        assert_int_equal(pamCodeFor(outcome), PAM_AUTHINFO_UNAVAIL);
        assert_int_equal(h.client.validatedCodes.size(), 1);
        assert_int_equal(failOpenWarnings(h), 0);
        expect_contains(h.logger.all(), "fail_mode=open applies only to a login's first send");
    }
    {
        // A resend could not.
        Harness h;
        h.config.failMode = FailMode::Open;
        h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
        h.client.initiateResults.push_back(failure(CallStatus::Unreachable, 0, "timed out"));
        tickEachPrompt(h, 30);
        h.reply({"", kCode});
        expectOutcome(h.run(), Outcome::Unreachable);
        assert_int_equal(failOpenWarnings(h), 0);
    }
    {
        // A resumed session has had its first send already.
        Harness h;
        h.config.failMode = FailMode::Open;
        h.store.rows[kPhone].session = pendingSession();
        h.client.validateResults.push_back(failure(CallStatus::Unreachable, 0, "timed out"));
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Unreachable);
    }
    Harness closed;
    closed.script({failure(CallStatus::Unreachable, 503, "HTTP 503")});
    closed.reply({kCode});
    expectOutcome(closed.run(), Outcome::Unreachable);
}

static void a_call_cut_by_the_login_deadline_is_a_login_timeout(void**) {
    for (const bool open : {true, false}) {
        for (const bool atCheck : {true, false}) {
            Harness h;
            h.config.failMode = open ? FailMode::Open : FailMode::Closed;
            const CallResult cut =
                failure(CallStatus::DeadlinePassed, 0, "login_timeout reached during the request");
            if (atCheck) {
                h.script({cut});
                h.reply({"000000"});
            } else {
                h.client.initiateResults.push_back(cut);
            }
            const Outcome outcome = h.run();
            expectOutcome(outcome, Outcome::LoginTimeout);
            assert_int_equal(pamCodeFor(outcome), PAM_AUTH_ERR);
            assert_int_equal(failOpenWarnings(h), 0);
        }
    }
}

static void fail_mode_open_relaxes_no_refusal_of_the_login_itself(void**) {
    {
        Harness h;
        h.config.failMode = FailMode::Open;
        h.limiter.allowed = 0;
        expectOutcome(h.run(), Outcome::SendLimitReached);
    }
    {
        Harness h;
        h.config.failMode = FailMode::Open;
        h.limiter.allowed = 0;
        h.limiter.refusal = LimitVerdict::Unavailable;
        expectOutcome(h.run(), Outcome::ConfigError);
    }
    {
        Harness h;
        h.config.failMode = FailMode::Open;
        h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
                  sessionResult(SessionStatus::Waiting, kHexId, 2),
                  sessionResult(SessionStatus::Waiting, kHexId, 3)});
        h.reply({"111111", "222222", "333333"});
        expectOutcome(h.run(), Outcome::TooManyWrongCodes);
    }
    {
        Harness h;
        h.config.failMode = FailMode::Open;
        h.store.broken = true;
        expectOutcome(h.run(), Outcome::ConfigError);
    }
}

// ---- send limits

static void the_limiter_is_asked_before_every_send(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Voice}));
    for (int i = 0; i < 3; ++i)
        h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    tickEachPrompt(h, 30);
    h.reply({"", "voice", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 3);
    assert_int_equal(h.limiter.asked.size(), 3);
    for (const auto& [user, source] : h.limiter.asked) {
        expect_str(user, "alice");
        expect_str(source, "203.0.113.9");
    }
    expect_str(joinedTrace(h),
               "deadline limit initiate limit initiate limit initiate status validate");
}

static void a_local_login_is_counted_as_local(void**) {
    Harness h;
    h.login.rhost.clear();
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.limiter.asked.size(), 1);
    expect_str(h.limiter.asked[0].first, "alice");
    expect_str(h.limiter.asked[0].second, "local");
}

static void a_refused_first_send_is_send_limit_reached(void**) {
    const std::vector<std::pair<LimitVerdict, std::string>> cases{
        {LimitVerdict::UserLimit, "user_send_limit reached"},
        {LimitVerdict::SourceLimit, "source_send_limit reached"}};
    for (const auto& [verdict, reason] : cases) {
        Harness h;
        h.limiter.allowed = 0;
        h.limiter.refusal = verdict;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        const Outcome outcome = h.run();
        expectOutcome(outcome, Outcome::SendLimitReached);
        assert_int_equal(pamCodeFor(outcome), PAM_AUTH_ERR);
        expectNothingSent(h);
        assert_int_equal(h.limiter.asked.size(), 1);
        assert_int_equal(h.conversation.errors.size(), 1);
        expect_str(h.conversation.errors[0], "Too many codes were sent recently; try again later.");
        assert_int_equal(h.store.rows.size(), 0);
        const std::string line = onlyOutcomeLine(h);
        expect_starts_with(line, "outcome=send_limit user=alice ");
        expect_contains(line, "reason=\"" + reason + "\"");
        expect_not_contains(line, "sends=");
    }
}

static void a_refused_resend_is_a_wasted_attempt(void**) {
    for (const std::string& typed : {std::string(""), std::string("voice")}) {
        Harness h;
        h.enrol(enrolment({Channel::Sms, Channel::Voice}));
        h.limiter.allowed = 1;
        h.script({sessionResult(SessionStatus::Verified)});
        tickEachPrompt(h, 30);
        h.reply({typed, kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.client.initiates.size(), 1);
        assert_int_equal(h.limiter.asked.size(), 2);
        assert_int_equal(h.conversation.prompts.size(), 2);
        expect_str(h.conversation.prompts[1],
                   "No more codes can be sent now; try again later. 2 attempts left." + kAsk);
        // The login goes on with the code already sent.
        expect_str(h.client.validatedSessions.at(0), kHexId);
        assert_true(h.client.initiates[0].channel == Channel::Sms);
    }
}

static void refused_resends_run_out_the_attempts(void**) {
    Harness h;
    h.limiter.allowed = 1;
    h.limiter.refusal = LimitVerdict::SourceLimit;
    h.script({});
    tickEachPrompt(h, 30);
    h.reply({"", "", "", ""});
    expectOutcome(h.run(), Outcome::TooManyWrongCodes);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_int_equal(h.limiter.asked.size(), 4);
    assert_int_equal(h.conversation.prompts.size(), 3);
    expect_str(h.conversation.errors.at(0),
               "No more codes can be sent now; try again later. No attempts left.");
}

static void an_unavailable_limiter_is_a_config_error(void**) {
    Harness h;
    h.limiter.allowed = 0;
    h.limiter.refusal = LimitVerdict::Unavailable;
    h.limiter.problems = {"/var/lib/pam_verif8: must not be writable by group or others"};
    h.config.unenrolled = UnenrolledPolicy::Ignore;  // nothing about the user relaxes it
    h.config.failMode = FailMode::Open;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    const Outcome outcome = h.run();
    expectOutcome(outcome, Outcome::ConfigError);
    assert_int_equal(pamCodeFor(outcome), PAM_SERVICE_ERR);
    expectNothingSent(h);
    expect_contains(onlyOutcomeLine(h), "reason=\"send counters unusable\"");
    bool logged = false;
    for (const auto& line : h.logger.lines) {
        if (line.second ==
            "send limits: /var/lib/pam_verif8: must not be writable by group or others") {
            logged = true;
            assert_true(line.first == LogLevel::Error);
        }
    }
    assert_true(logged);
}

static void an_unavailable_limiter_on_a_resend_ends_the_login(void**) {
    Harness h;
    h.limiter.allowed = 1;
    h.limiter.refusal = LimitVerdict::Unavailable;
    h.script({sessionResult(SessionStatus::Verified)});
    tickEachPrompt(h, 30);
    h.reply({"", kCode});
    expectOutcome(h.run(), Outcome::ConfigError);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_int_equal(h.client.validatedCodes.size(), 0);
}

static void limiter_problems_are_logged_as_errors(void**) {
    for (const LimitVerdict verdict :
         {LimitVerdict::Allowed, LimitVerdict::UserLimit, LimitVerdict::Unavailable}) {
        Harness h;
        if (verdict != LimitVerdict::Allowed) {
            h.limiter.allowed = 0;
            h.limiter.refusal = verdict;
        }
        h.limiter.problems = {"/state/limits/user-0123: user send counter is damaged\x1b[2J",
                              "second\nproblem"};
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        std::vector<std::string> found;
        for (const auto& line : h.logger.lines) {
            assert_false(test::hasControlBytes(line.second));
            if (line.second.rfind("send limits: ", 0) == 0) {
                assert_true(line.first == LogLevel::Error);
                found.push_back(line.second);
            }
        }
        assert_int_equal(found.size(), 2);
        expect_str(found[0],
                   "send limits: /state/limits/user-0123: user send counter is damaged?[2J");
        expect_str(found[1], "send limits: second?problem");
    }
}

static void a_resumed_session_takes_nothing_from_the_limiter(void**) {
    Harness h;
    h.limiter.allowed = 0;  // any send would be refused
    h.store.rows[kPhone].session = pendingSession();
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.limiter.asked.size(), 0);
    assert_int_equal(h.client.initiates.size(), 0);
    expect_str(joinedTrace(h), "deadline status validate");
}

static void a_resend_after_a_resume_is_counted(void**) {
    Harness h;
    h.store.rows[kPhone].session = pendingSession();
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
    tickEachPrompt(h, 30);
    h.reply({"", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.limiter.asked.size(), 1);
    expect_str(joinedTrace(h), "deadline limit initiate status validate");
}

static void nothing_sent_is_nothing_counted(void**) {
    const std::vector<std::function<void(Harness&)>> cases{
        [](Harness& h) { h.login.userExists = false; },
        [](Harness& h) { h.login.placeholderPassword = true; },
        [](Harness& h) { h.config.exemptUsers = {"alice"}; },
        [](Harness& h) {
            h.enrolments.result = EnrolmentLookup{};
            h.enrolments.result.kind = EnrolmentLookup::Kind::NotEnrolled;
        },
        [](Harness& h) {
            h.enrolments.result = EnrolmentLookup{};
            h.enrolments.result.kind = EnrolmentLookup::Kind::Unavailable;
        },
        [](Harness& h) { h.store.broken = true; },
        [](Harness& h) { h.enrol(enrolment({Channel::Whatsapp})); },
    };
    for (const auto& set : cases) {
        Harness h;
        set(h);
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        assert_int_equal(h.limiter.asked.size(), 0);
        expectNothingSent(h);
    }
}

static void refused_resends_before_the_limiter_take_nothing(void**) {
    {
        // Too soon after the last send.
        Harness h;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({"", kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.limiter.asked.size(), 1);
    }
    {
        // Past the three sends of a login.
        Harness h;
        for (int i = 0; i < 3; ++i)
            h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
        tickEachPrompt(h, 60);
        h.reply({"", "", "", "", ""});
        expectOutcome(h.run(), Outcome::TooManyWrongCodes);
        assert_int_equal(h.limiter.asked.size(), kMaxSendsPerLogin);
    }
    {
        // A channel the user does not have, and WhatsApp without a template.
        Harness h;
        h.enrol(enrolment({Channel::Sms, Channel::Whatsapp}));
        h.script({sessionResult(SessionStatus::Verified)});
        tickEachPrompt(h, 60);
        h.reply({"voice", "whatsapp", kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.limiter.asked.size(), 1);
    }
}

static void a_send_that_never_went_out_is_given_back(void**) {
    Harness h;
    CallResult refused = failure(CallStatus::Unreachable, 0, "connection refused");
    refused.requestSent = false;
    h.client.initiateResults.push_back(refused);
    expectOutcome(h.run(), Outcome::Unreachable);
    assert_int_equal(h.limiter.refunded.size(), 1);
    expect_str(h.limiter.refunded[0].first, "alice");
    expect_str(h.limiter.refunded[0].second, "203.0.113.9");
}

static void a_send_that_went_out_is_kept_even_when_it_failed(void**) {
    Harness h;
    h.client.initiateResults.push_back(failure(CallStatus::Unreachable, 500, "HTTP 500"));
    expectOutcome(h.run(), Outcome::Unreachable);
    assert_int_equal(h.limiter.refunded.size(), 0);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_send_that_never_went_out_is_given_back),
        cmocka_unit_test(a_send_that_went_out_is_kept_even_when_it_failed),
        cmocka_unit_test(channel_words_are_matched_in_any_case),
        cmocka_unit_test(an_ok_result_without_a_session_is_a_bad_response),
        cmocka_unit_test(the_right_code_first_time_is_verified),
        cmocka_unit_test(the_prompt_carries_the_notice_and_the_masked_phone),
        cmocka_unit_test(a_voice_user_is_told_of_a_voice_call),
        cmocka_unit_test(a_whatsapp_user_with_a_template_is_sent_by_whatsapp),
        cmocka_unit_test(a_wrong_code_then_the_right_one_is_verified),
        cmocka_unit_test(the_last_attempt_is_announced_in_the_singular),
        cmocka_unit_test(the_password_as_an_answer_is_never_sent_and_costs_an_attempt),
        cmocka_unit_test(a_host_that_always_answers_with_the_password_ends_after_max_attempts),
        cmocka_unit_test(a_code_that_is_not_the_password_is_validated),
        cmocka_unit_test(max_attempts_wrong_codes_end_the_login),
        cmocka_unit_test(implausible_codes_count_as_attempts_and_are_not_sent),
        cmocka_unit_test(only_implausible_codes_end_the_login_without_a_validate),
        cmocka_unit_test(the_code_is_trimmed_before_validate),
        cmocka_unit_test(the_code_is_sent_as_typed_otherwise),
        cmocka_unit_test(verified_for_another_session_is_a_bad_response),
        cmocka_unit_test(verified_for_the_dashed_form_of_the_session_is_verified),
        cmocka_unit_test(verified_for_an_empty_session_id_is_a_bad_response),
        cmocka_unit_test(a_failed_session_ends_the_login),
        cmocka_unit_test(an_expired_session_ends_the_login),
        cmocka_unit_test(a_404_on_validate_is_an_expired_session),
        cmocka_unit_test(a_new_session_that_is_already_verified_is_never_verified),
        cmocka_unit_test(a_new_session_that_is_already_final_is_not_prompted_for),
        cmocka_unit_test(an_aborted_conversation_is_a_conversation_failure),
        cmocka_unit_test(an_abort_after_a_wrong_code_is_a_conversation_failure),
        cmocka_unit_test(an_unknown_user_sends_nothing),
        cmocka_unit_test(the_sshd_placeholder_password_sends_nothing),
        cmocka_unit_test(an_unenrolled_user_is_denied_by_default),
        cmocka_unit_test(an_unenrolled_user_is_ignored_when_configured),
        cmocka_unit_test(a_user_with_a_bad_line_is_not_enrolled_and_the_line_is_logged),
        cmocka_unit_test(an_unusable_users_file_is_a_config_error),
        cmocka_unit_test(a_whatsapp_user_without_a_template_is_a_config_error),
        cmocka_unit_test(each_initiate_failure_has_its_outcome),
        cmocka_unit_test(each_validate_failure_has_its_outcome),
        cmocka_unit_test(the_request_carries_the_configured_settings),
        cmocka_unit_test(unset_settings_stay_unset_in_the_request),
        cmocka_unit_test(one_outcome_line_has_every_field),
        cmocka_unit_test(every_login_logs_exactly_one_outcome_line),
        cmocka_unit_test(a_missing_rhost_and_service_are_logged_as_dashes),
        cmocka_unit_test(the_log_never_holds_the_code_the_phone_or_the_key),
        cmocka_unit_test(a_failed_login_log_never_holds_the_phone_or_the_key),
        cmocka_unit_test(user_names_and_hosts_are_sanitized_in_the_log),
        cmocka_unit_test(debug_lines_only_when_debug_is_on),
        cmocka_unit_test(outcome_lines_have_levels_by_severity),
        cmocka_unit_test(an_empty_line_too_soon_is_refused_with_the_wait),
        cmocka_unit_test(the_wait_is_counted_down_from_the_last_send),
        cmocka_unit_test(refused_resends_count_as_attempts),
        cmocka_unit_test(an_empty_line_after_the_interval_sends_again),
        cmocka_unit_test(a_resend_updates_the_pending_session),
        cmocka_unit_test(no_more_than_three_sends_per_login),
        cmocka_unit_test(a_channel_name_switches_channel),
        cmocka_unit_test(a_switch_too_soon_waits_like_a_resend),
        cmocka_unit_test(a_channel_the_user_does_not_have_is_refused),
        cmocka_unit_test(whatsapp_without_a_template_is_refused_at_the_prompt),
        cmocka_unit_test(resend_too_soon_from_the_api_is_a_wasted_attempt),
        cmocka_unit_test(a_resend_that_gets_a_new_session_moves_to_it),
        cmocka_unit_test(every_initiate_carries_the_resend_interval),
        cmocka_unit_test(the_resend_interval_is_the_configured_one),
        cmocka_unit_test(a_pending_session_is_resumed_without_a_send),
        cmocka_unit_test(a_resumed_session_names_its_own_channel),
        cmocka_unit_test(a_resumed_session_keeps_its_send_count_and_time),
        cmocka_unit_test(a_session_of_another_number_is_not_this_users),
        cmocka_unit_test(a_resume_needs_time_left_on_the_code),
        cmocka_unit_test(a_resume_needs_a_channel_still_offered),
        cmocka_unit_test(a_final_answer_forgets_the_session),
        cmocka_unit_test(an_unfinished_login_keeps_the_session_but_not_the_number),
        cmocka_unit_test(a_number_another_live_login_holds_sends_nothing),
        cmocka_unit_test(the_claim_of_a_dead_or_timed_out_login_is_taken_over),
        cmocka_unit_test(a_login_that_ended_moments_ago_is_waited_out_then_replaced),
        cmocka_unit_test(the_limits_are_asked_before_the_wait_not_after),
        cmocka_unit_test(a_takeover_accepts_a_count_the_ended_login_never_saw),
        cmocka_unit_test(a_refused_session_stays_known_for_the_next_login),
        cmocka_unit_test(no_time_to_wait_out_the_interval_sends_nothing),
        cmocka_unit_test(a_state_dir_that_cannot_record_the_session_ends_the_login),
        cmocka_unit_test(an_unusable_or_locked_state_dir_sends_nothing),
        cmocka_unit_test(a_send_answered_with_someone_elses_session_is_refused),
        cmocka_unit_test(a_resend_answered_with_moved_counts_is_refused),
        cmocka_unit_test(the_status_is_read_before_each_code_is_checked),
        cmocka_unit_test(a_session_verified_or_used_elsewhere_is_refused_before_the_check),
        cmocka_unit_test(a_check_answered_with_moved_counts_is_refused),
        cmocka_unit_test(a_failed_status_read_never_fails_open),
        cmocka_unit_test(each_exemption_sends_nothing),
        cmocka_unit_test(an_exemption_holds_even_with_a_broken_state_dir),
        cmocka_unit_test(members_of_only_groups_are_asked),
        cmocka_unit_test(an_untrusted_network_is_asked),
        cmocka_unit_test(exemption_comes_after_the_user_checks),
        cmocka_unit_test(the_deadline_is_set_once_before_any_call),
        cmocka_unit_test(the_deadline_is_set_once_for_a_whole_login_with_resends),
        cmocka_unit_test(the_deadline_is_on_the_real_steady_clock_by_default),
        cmocka_unit_test(a_reply_after_the_deadline_is_a_login_timeout),
        cmocka_unit_test(a_reply_just_before_the_deadline_is_checked),
        cmocka_unit_test(the_login_timeout_is_the_configured_one),
        cmocka_unit_test(the_deadline_is_checked_after_each_reply),
        cmocka_unit_test(a_resend_asked_for_after_the_deadline_sends_nothing),
        cmocka_unit_test(a_login_timeout_is_never_relaxed_by_fail_mode_open),
        cmocka_unit_test(fail_mode_open_steps_aside_when_initiate_is_unreachable),
        cmocka_unit_test(fail_mode_closed_keeps_unreachable_closed),
        cmocka_unit_test(fail_mode_open_relaxes_no_other_initiate_failure),
        cmocka_unit_test(fail_mode_open_relaxes_no_other_validate_failure),
        cmocka_unit_test(fail_mode_open_never_applies_once_a_code_was_sent),
        cmocka_unit_test(a_call_cut_by_the_login_deadline_is_a_login_timeout),
        cmocka_unit_test(fail_mode_open_relaxes_no_refusal_of_the_login_itself),
        cmocka_unit_test(the_limiter_is_asked_before_every_send),
        cmocka_unit_test(a_local_login_is_counted_as_local),
        cmocka_unit_test(a_refused_first_send_is_send_limit_reached),
        cmocka_unit_test(a_refused_resend_is_a_wasted_attempt),
        cmocka_unit_test(refused_resends_run_out_the_attempts),
        cmocka_unit_test(an_unavailable_limiter_is_a_config_error),
        cmocka_unit_test(an_unavailable_limiter_on_a_resend_ends_the_login),
        cmocka_unit_test(limiter_problems_are_logged_as_errors),
        cmocka_unit_test(a_resumed_session_takes_nothing_from_the_limiter),
        cmocka_unit_test(a_resend_after_a_resume_is_counted),
        cmocka_unit_test(nothing_sent_is_nothing_counted),
        cmocka_unit_test(refused_resends_before_the_limiter_take_nothing),
    };
    return cmocka_run_group_tests_name("authenticator", tests, nullptr, nullptr);
}
