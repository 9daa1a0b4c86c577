// Authenticator: the login flow against a scripted VerifyClient, Conversation and enrolments.
#include <security/_pam_types.h>

#include "login_fakes.hpp"
#include "verif8/Network.hpp"

using namespace fakes;

namespace {

struct Harness {
    Config config;
    FakeClient client;
    FakeConversation conversation;
    FakeEnrolments enrolments;
    MemoryStore store;
    FakeLimiter limiter;
    RecordingLogger logger;
    LoginContext login;
    std::time_t now = kNow;
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
    std::int64_t bootNow() const { return static_cast<std::int64_t>(now) * 1000; }
    void enrol(Enrolment entry) {
        enrolments.result = EnrolmentLookup{};
        enrolments.result.kind = EnrolmentLookup::Kind::Found;
        enrolments.result.entry = std::move(entry);
    }
    void unenrol(EnrolmentLookup::Kind kind, std::string problem = "") {
        enrolments.result = EnrolmentLookup{};
        enrolments.result.kind = kind;
        if (!problem.empty())
            enrolments.result.problems.push_back(problem);
    }
    // The common script: initiate gives a WAITING session, then each validate answer in turn.
    void script(std::vector<CallResult> validations) {
        client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
        for (auto& validation : validations)
            client.validateResults.push_back(std::move(validation));
    }
    void sends(int count) {
        for (int i = 0; i < count; ++i)
            client.initiateResults.push_back(sessionResult(SessionStatus::Waiting));
    }
    void reply(std::initializer_list<std::optional<std::string>> replies) {
        for (const auto& text : replies)
            conversation.replies.push_back(text);
    }
    // Moves the boot clock on by `seconds` before every answer.
    void tickEachPrompt(std::time_t seconds) {
        conversation.onPrompt = [this, seconds](std::size_t) { now += seconds; };
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
    std::string traced() const {
        std::string text;
        for (const auto& call : trace)
            text += (text.empty() ? "" : " ") + call;
        return text;
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

// Every login writes exactly one outcome line, at its outcome's level.
std::string onlyOutcomeLine(const Harness& h, std::optional<Outcome> outcome = std::nullopt) {
    const auto lines = h.logger.outcomeLines();
    if (lines.size() != 1) {
        print_error("expected one outcome line, got %zu:\n%s", lines.size(),
                    h.logger.all().c_str());
        fail();
    }
    if (outcome) {
        expect_starts_with(lines[0].second, "outcome=" + std::string(outcomeName(*outcome)) + " ");
        assert_true(lines[0].first == factsOf(*outcome).level);
    }
    return lines[0].second;
}

const PendingSession& storedFor(const Harness& h, const std::string& phone = kPhone) {
    const auto found = h.store.rows.find(phone);
    if (found == h.store.rows.end() || !found->second.session) {
        print_error("no session recorded for the number\n");
        fail();
    }
    return *found->second.session;
}

// Nothing of this login is left in the table: no claim (the session only if kept).
void expectReleased(const Harness& h) {
    for (const auto& [phone, row] : h.store.rows)
        assert_false(row.holder && sameHolder(*row.holder, h.holder));
}

std::size_t failOpenWarnings(const Harness& h) {
    return h.logger.count(LogLevel::Warning, "fail_mode=open: letting the rest");
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
    assert_true(h.client.initiates[0].resendingInterval == 30);
    assert_false(h.client.initiates[0].resetSession);
    expect_str(h.conversation.prompts.at(0), kSmsPrompt);
    assert_int_equal(h.conversation.prompts.size(), 1);
    expect_str(h.client.validatedCodes.at(0), kCode);
    expect_str(h.client.validatedSessions.at(0), kHexId);
    assert_int_equal(h.conversation.errors.size(), 0);
    assert_int_equal(h.store.rows.size(), 0);  // verified: nothing left to resume
}

static void the_first_send_goes_by_the_users_first_channel(void**) {
    const struct {
        std::vector<Channel> channels;
        std::string prompt;
    } cases[]{
        {{Channel::Sms}, "Code sent by SMS to "},
        {{Channel::Voice, Channel::Sms}, "Code sent by voice call to "},
        {{Channel::Whatsapp}, "Code sent by WhatsApp to "},
    };
    for (const auto& c : cases) {
        Harness h;
        h.config.whatsappTemplate = "auth_code_v2";
        h.enrol(enrolment(c.channels));
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_true(h.client.initiates.at(0).channel == c.channels.front());
        expect_str(h.client.initiates.at(0).whatsappTemplate.value_or("?"), "auth_code_v2");
        expect_str(h.conversation.prompts.at(0), c.prompt + kMasked + "." + kAsk);
    }
}

// ---- one answer at the prompt, and the notice it leads to

static void each_answer_leads_to_its_notice(void**) {
    const auto twoChannels = [](Harness& h) { h.enrol(enrolment({Channel::Sms, Channel::Voice})); };
    const struct {
        std::function<void(Harness&)> set;
        std::string typed;
        std::string notice;  // of the second prompt, before the attempts left
        std::size_t initiates;
        std::size_t limits;
    } cases[]{
        // Wrong codes, not codes, the password: wasted, never sent (but the wrong code).
        {[](Harness&) {}, "111111", "Wrong code. 2 attempts left.", 1, 1},
        {[](Harness&) {}, "12",
         "That is not a code: codes are 3 to 10 letters or digits. 2 "
         "attempts left.",
         1, 1},
        {[](Harness&) {}, "12345678901",
         "That is not a code: codes are 3 to 10 letters or "
         "digits. 2 attempts left.",
         1, 1},
        {[](Harness&) {}, "12 34",
         "That is not a code: codes are 3 to 10 letters or digits. 2 "
         "attempts left.",
         1, 1},
        {[](Harness&) {},
         "12\xc3\xa9"
         "34",
         "That is not a code: codes are 3 to 10 letters or "
         "digits. 2 attempts left.",
         1, 1},
        {[](Harness&) {}, "%n%s",
         "That is not a code: codes are 3 to 10 letters or digits. 2 "
         "attempts left.",
         1, 1},
        {[](Harness&) {},
         "12\x01"
         "34",
         "That is not a code: codes are 3 to 10 letters or "
         "digits. 2 attempts left.",
         1, 1},
        {[](Harness& h) { h.conversation.passwords = {"hunter2-0042"}; }, "hunter2-0042",
         "That was a password, not the code. 2 attempts left.", 1, 1},
        // An empty line or a channel word before resend_interval: a wait, counted from the
        // last send, with nothing taken from the limits.
        {[](Harness&) {}, "",
         "Wait 30 more seconds before asking for a new code. 2 attempts "
         "left.",
         1, 1},
        {[](Harness& h) { h.tickEachPrompt(29); }, "",
         "Wait 1 more second before asking for a "
         "new code. 2 attempts left.",
         1, 1},
        {[](Harness& h) {
             h.config.resendInterval = 120;
             h.tickEachPrompt(100);
         },
         "", "Wait 20 more seconds before asking for a new code. 2 attempts left.", 1, 1},
        {twoChannels, " voice ",
         "Wait 30 more seconds before asking for a new code. 2 attempts "
         "left.",
         1, 1},
        // Channels the user does not have, or that cannot be used.
        {[&](Harness& h) {
             twoChannels(h);
             h.tickEachPrompt(60);
         },
         "viber", "Channel viber is not available for you (yours: sms, voice). 2 attempts left.", 1,
         1},
        {[](Harness& h) {
             h.enrol(enrolment({Channel::Sms, Channel::Whatsapp}));
             h.tickEachPrompt(60);
         },
         "whatsapp", "Channel whatsapp cannot be used now. 2 attempts left.", 1, 1},
        // A resend or a switch after the interval: a free answer, with a new code.
        {[](Harness& h) {
             h.sends(1);
             h.tickEachPrompt(30);
         },
         "", "Code sent again by SMS to " + kMasked + ".", 2, 2},
        {[&](Harness& h) {
             twoChannels(h);
             h.sends(1);
             h.tickEachPrompt(30);
         },
         "voice", "Code sent by voice call to " + kMasked + ".", 2, 2},
        {[&](Harness& h) {
             twoChannels(h);
             h.sends(1);
             h.tickEachPrompt(30);
         },
         "Voice", "Code sent by voice call to " + kMasked + ".", 2, 2},
        // Resends the API or the limits refuse: wasted, the login goes on with its code.
        {[](Harness& h) {
             h.client.initiateResults.push_back(failure(CallStatus::ResendTooSoon, 403));
             h.tickEachPrompt(30);
         },
         "", "Wait a little before asking for a new code. 2 attempts left.", 2, 2},
        {[](Harness& h) {
             h.limiter.allowed = 1;
             h.tickEachPrompt(30);
         },
         "", "No more codes can be sent now; try again later. 2 attempts left.", 1, 2},
        {[&](Harness& h) {
             twoChannels(h);
             h.limiter.allowed = 1;
             h.tickEachPrompt(30);
         },
         "voice", "No more codes can be sent now; try again later. 2 attempts left.", 1, 2},
    };
    for (const auto& c : cases) {
        Harness h;
        h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
                  sessionResult(SessionStatus::Verified, kHexId, 1)});
        c.set(h);
        if (c.typed != "111111")  // a session with no wrong code to answer for
            h.client.validateResults = {sessionResult(SessionStatus::Verified)};
        h.reply({c.typed, kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.conversation.prompts.size(), 2);
        expect_str(h.conversation.prompts[1], c.notice + kAsk);
        assert_int_equal(h.client.initiates.size(), c.initiates);
        assert_int_equal(h.limiter.asked.size(), c.limits);
        expect_str(h.client.validatedCodes.back(), kCode);
        assert_int_equal(h.client.validatedCodes.size(), c.typed == "111111" ? 2 : 1);
        expect_str(h.client.validatedSessions.back(), kHexId);
        assert_true(h.client.initiates.back().resendingInterval == h.config.resendInterval);
        expect_not_contains(h.logger.all(), "hunter2-0042");
        assert_int_equal(h.conversation.errors.size(), 0);
    }
}

static void the_code_is_checked_trimmed_and_otherwise_as_typed(void**) {
    Harness h;
    h.conversation.passwords = {"secret"};  // the password check looks before trimming
    h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
              sessionResult(SessionStatus::Waiting, kHexId, 2),
              sessionResult(SessionStatus::Verified, kHexId, 2)});
    h.reply({"  " + kCode + "\n", "\t123-456 \r\n", "AbC12x"});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.validatedCodes.size(), 3);
    expect_str(h.client.validatedCodes[0], kCode);
    expect_str(h.client.validatedCodes[1], "123-456");
    expect_str(h.client.validatedCodes[2], "AbC12x");
    expect_contains(h.conversation.prompts[2], "1 attempt left.");
}

// ---- wasted answers run out the attempts

static void max_attempts_wasted_answers_end_the_login(void**) {
    const struct {
        std::function<void(Harness&)> set;
        std::string typed;
        std::size_t validates;
        std::size_t initiates;
        std::string last;  // what the user is told at the end
    } cases[]{
        {[](Harness& h) { h.config.failMode = FailMode::Open; }, "111111", 3, 1,
         "Wrong code. No attempts left."},
        {[](Harness&) {}, "%n%s", 0, 1,
         "That is not a code: codes are 3 to 10 letters or digits. No attempts left."},
        {[](Harness& h) {
             h.conversation.passwords = {"old-pass", "123456"};
         },
         "123456", 0, 1, "That was a password, not the code. No attempts left."},
        {[](Harness&) {}, "", 0, 1,
         "Wait 30 more seconds before asking for a new code. No attempts left."},
        {[](Harness& h) {
             h.limiter.allowed = 1;
             h.limiter.refusal = LimitVerdict::SourceLimit;
             h.tickEachPrompt(30);
         },
         "", 0, 1, "No more codes can be sent now; try again later. No attempts left."},
        // Sends 2 and 3 are free; each refusal after them counts.
        {[](Harness& h) {
             h.sends(2);
             h.tickEachPrompt(60);
         },
         "", 0, kMaxSendsPerLogin, "No more codes can be sent for this login. No attempts left."},
    };
    for (const auto& c : cases) {
        Harness h;
        c.set(h);
        h.script({});
        for (int i = 0; i < 5; ++i) {
            h.client.validateResults.push_back(
                sessionResult(SessionStatus::Waiting, kHexId, i + 1));
            h.conversation.replies.emplace_back(c.typed);
        }
        expectOutcome(h.run(), Outcome::TooManyWrongCodes);
        assert_int_equal(h.client.validatedCodes.size(), c.validates);
        assert_int_equal(h.client.initiates.size(), c.initiates);
        assert_int_equal(h.conversation.prompts.size(), c.initiates == 1 ? 3 : 5);
        expect_str(h.conversation.errors.at(0), c.last);
        expect_contains(h.conversation.prompts.back(), "1 attempt left." + kAsk);
        expect_contains(onlyOutcomeLine(h, Outcome::TooManyWrongCodes),
                        c.initiates == 1 ? " attempts=3 " : " attempts=5 ");
        expect_not_contains(h.logger.all(), "123456");
        expectReleased(h);
    }
    for (int max = 1; max <= 5; ++max) {
        Harness h;
        h.config.maxAttempts = max;
        h.script({});
        for (int i = 0; i < max + 2; ++i) {
            h.client.validateResults.push_back(
                sessionResult(SessionStatus::Waiting, kHexId, i + 1));
            h.conversation.replies.emplace_back("11111" + std::to_string(i));
        }
        expectOutcome(h.run(), Outcome::TooManyWrongCodes);
        assert_int_equal(h.client.validatedCodes.size(), max);
        assert_int_equal(h.conversation.prompts.size(), max);
    }
}

static void a_host_that_answers_with_the_password_is_named_once(void**) {
    Harness h;
    h.conversation.passwords = {"current-pass", "hunter2-0042"};
    h.script({});
    h.reply({"hunter2-0042", "hunter2-0042", "hunter2-0042"});
    expectOutcome(h.run(), Outcome::TooManyWrongCodes);
    assert_int_equal(
        h.logger.count(LogLevel::Warning, "the answer to the code prompt was the login password"),
        1);
    expect_contains(onlyOutcomeLine(h), "reason=\"answered with the password");
    expect_not_contains(h.logger.all(), "hunter2-0042");
}

static void an_aborted_conversation_is_a_conversation_failure(void**) {
    for (const bool afterWrongCode : {false, true}) {
        Harness h;
        h.script({sessionResult(SessionStatus::Waiting, kHexId, 1)});
        if (afterWrongCode)
            h.reply({"111111"});
        h.reply({std::nullopt});
        expectOutcome(h.run(), Outcome::ConversationFailed);
        assert_int_equal(h.client.validatedCodes.size(), afterWrongCode ? 1 : 0);
        onlyOutcomeLine(h, Outcome::ConversationFailed);
        assert_int_equal(storedFor(h).sends, 1);  // WAITING at the API: kept for a retry
        expectReleased(h);
    }
}

// ---- what a code check answers

static void each_check_answer_has_its_outcome(void**) {
    const struct {
        CallResult answer;
        Outcome outcome;
        std::string told;
        bool counted;  // false: the fake API adds no count of its own (moved by another login)
    } cases[]{
        {sessionResult(SessionStatus::Verified, kDashedId), Outcome::Verified, "", true},
        {sessionResult(SessionStatus::Verified, kOtherId), Outcome::BadResponse, "", true},
        {sessionResult(SessionStatus::Verified, ""), Outcome::BadResponse, "", true},
        {sessionResult(SessionStatus::Failed, kHexId, 5), Outcome::SessionFailed,
         "Too many wrong codes for this session.", true},
        {sessionResult(SessionStatus::Expired), Outcome::SessionExpired, "The code has expired.",
         true},
        {CallResult{CallStatus::Ok, 200, std::nullopt, std::nullopt, true, ""},
         Outcome::BadResponse, "", true},
        // Between the status read and the check, another login typed codes.
        {sessionResult(SessionStatus::Verified, kHexId, 1), Outcome::SessionTaken,
         "The code for this phone was also asked for somewhere else; try again in a minute.",
         false},
        {sessionResult(SessionStatus::Waiting, kHexId, 2), Outcome::SessionTaken,
         "The code for this phone was also asked for somewhere else; try again in a minute.",
         false},
    };
    for (const auto& c : cases) {
        Harness h;
        h.client.countAttempts = c.counted;
        h.script({c.answer});
        h.reply({kCode, kCode});
        expectOutcome(h.run(), c.outcome);
        assert_int_equal(h.client.validatedCodes.size(), 1);
        assert_int_equal(h.conversation.errors.size(), c.told.empty() ? 0 : 1);
        if (!c.told.empty())
            expect_str(h.conversation.errors[0], c.told);
        onlyOutcomeLine(h, c.outcome);
        // A final answer forgets the number's session; anything else keeps it for a retry.
        assert_int_equal(h.store.rows.size(), factsOf(c.outcome).keepsSession ? 1 : 0);
        expectReleased(h);
    }
}

static void a_new_session_that_is_already_final_is_not_prompted_for(void**) {
    const std::pair<CallResult, Outcome> cases[]{
        {sessionResult(SessionStatus::Verified), Outcome::BadResponse},
        {sessionResult(SessionStatus::Failed), Outcome::SessionFailed},
        {sessionResult(SessionStatus::Expired), Outcome::SessionExpired},
        {CallResult{CallStatus::Ok, 200, std::nullopt, std::nullopt, true, ""},
         Outcome::BadResponse},
    };
    for (const auto& [sent, outcome] : cases) {
        Harness h;
        h.client.initiateResults.push_back(sent);
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
        h.reply({kCode});
        expectOutcome(h.run(), outcome);
        assert_int_equal(h.conversation.prompts.size(), 0);
        assert_int_equal(h.client.validatedCodes.size(), 0);
        assert_int_equal(h.conversation.errors.size(), 0);
    }
}

// ---- call failures, fail_mode, and the login deadline cutting a call

static void each_call_failure_has_its_outcome(void**) {
    const struct {
        CallStatus status;
        Outcome outcome;
        std::string told;
    } cases[]{
        {CallStatus::Unreachable, Outcome::Unreachable,
         "The verification service cannot be reached."},
        {CallStatus::CertificateInvalid, Outcome::CertificateInvalid, ""},
        {CallStatus::TlsFailed, Outcome::TlsFailed, ""},
        {CallStatus::RateLimited, Outcome::RateLimited,
         "Too many verification requests; try again later."},
        {CallStatus::CredentialsRejected, Outcome::CredentialsRejected, ""},
        {CallStatus::RequestRejected, Outcome::ConfigError, ""},
        {CallStatus::TlsTooOld, Outcome::ConfigError, ""},
        {CallStatus::InvalidDestination, Outcome::InvalidPhone, ""},
        {CallStatus::ResendTooSoon, Outcome::ResendTooSoon,
         "A code was sent moments ago; wait a little and try again."},
        {CallStatus::SessionNotFound, Outcome::SessionExpired, "The code has expired."},
        {CallStatus::BadResponse, Outcome::BadResponse, ""},
        // The user's own slowness is not an outage: fail_mode never relaxes it.
        {CallStatus::DeadlinePassed, Outcome::LoginTimeout, "The time for the code has run out."},
        {CallStatus::InternalError, Outcome::InternalError, ""},
    };
    enum Call { Initiate, Status, Validate };
    for (const auto& c : cases) {
        for (const Call call : {Initiate, Status, Validate}) {
            for (const FailMode mode : {FailMode::Closed, FailMode::Open}) {
                Harness h;
                h.logger.debugOn = true;
                h.config.failMode = mode;
                const CallResult failed = failure(c.status, 400, "HTTP 400 code 1002");
                if (call == Initiate) {
                    h.client.initiateResults.push_back(failed);
                } else {
                    h.script({call == Validate ? failed : sessionResult(SessionStatus::Verified)});
                    if (call == Status)
                        h.client.statusResults.push_back(failed);
                }
                h.reply({kCode});
                // Only unreachable at a login's first send is relaxed (threat-model rule 7).
                const bool open = mode == FailMode::Open && c.status == CallStatus::Unreachable;
                const Outcome expected =
                    open && call == Initiate ? Outcome::UnreachableFailOpen : c.outcome;
                expectOutcome(h.run(), expected);
                assert_int_not_equal(pamCodeFor(expected), PAM_SUCCESS);
                assert_int_equal(h.client.validatedCodes.size(), call == Validate ? 1 : 0);
                assert_int_equal(h.conversation.prompts.size(), call == Initiate ? 0 : 1);
                assert_int_equal(failOpenWarnings(h), expected == Outcome::UnreachableFailOpen);
                assert_int_equal(h.logger.count(LogLevel::Notice,
                                                "applies only to a login's "
                                                "first send"),
                                 open && call != Initiate);
                const std::string told = expected == c.outcome ? c.told : "";
                assert_int_equal(h.conversation.errors.size(), told.empty() ? 0 : 1);
                if (!told.empty())
                    expect_str(h.conversation.errors[0], told);
                const std::string line = onlyOutcomeLine(h, expected);
                expect_contains(line, "to=+65******67");
                expect_not_contains(h.logger.all(), "6591234567");
                expect_not_contains(h.logger.all(), kApiKey);
            }
        }
    }
}

// Threat-model rule 7: once this login has a code, an outage never lets it through.
static void fail_mode_open_never_applies_to_a_resend_or_a_resumed_session(void**) {
    for (const bool resumed : {false, true}) {
        Harness h;
        h.config.failMode = FailMode::Open;
        if (resumed) {
            h.store.rows[kPhone].session = pendingSession();
            h.client.validateResults.push_back(failure(CallStatus::Unreachable, 0, "timed out"));
            h.reply({kCode});
        } else {
            h.sends(1);
            h.client.initiateResults.push_back(failure(CallStatus::Unreachable, 0, "timed out"));
            h.tickEachPrompt(30);
            h.reply({"", kCode});
        }
        expectOutcome(h.run(), Outcome::Unreachable);
        assert_int_equal(failOpenWarnings(h), 0);
    }
}

static void a_send_is_given_back_only_when_it_never_went_out(void**) {
    for (const bool wentOut : {false, true}) {
        Harness h;
        CallResult failed = failure(CallStatus::Unreachable, wentOut ? 500 : 0);
        failed.requestSent = wentOut;
        h.client.initiateResults.push_back(failed);
        expectOutcome(h.run(), Outcome::Unreachable);
        assert_int_equal(h.limiter.refunded.size(), wentOut ? 0 : 1);
        if (!wentOut)
            assert_true(h.limiter.refunded[0] == h.limiter.asked[0]);
    }
}

// ---- logins refused before anything is sent

static void each_refusal_before_a_send_sends_nothing(void**) {
    using Set = std::function<void(Harness&)>;
    const auto dirBroken = [](Harness& h) { h.store.broken = true; };
    const auto limited = [](LimitVerdict verdict) {
        return [verdict](Harness& h) {
            h.limiter.allowed = 0;
            h.limiter.refusal = verdict;
        };
    };
    const struct {
        Set set;
        Outcome outcome;
        std::string reason;  // in the outcome line
        std::string told;    // what the user is told ("" for nothing)
        std::string logged;  // another line of the log ("" for none)
        std::size_t limits;  // sends taken from the limits
    } cases[]{
        {[](Harness& h) { h.login.userExists = false; }, Outcome::UserUnknown,
         "reason=\"no such user\"", "", "", 0},
        {[](Harness& h) { h.login.placeholderPassword = true; }, Outcome::InvalidUserPassword,
         "reason=\"sshd marked this login invalid\"", "", "", 0},
        // A user that does not exist, or sshd's placeholder, is never "exempt".
        {[](Harness& h) {
             h.login.userExists = false;
             h.config.exemptUsers = {"alice"};
         },
         Outcome::UserUnknown, "no such user", "", "", 0},
        {[](Harness& h) {
             h.login.placeholderPassword = true;
             h.config.exemptUsers = {"alice"};
         },
         Outcome::InvalidUserPassword, "invalid", "", "", 0},
        {[](Harness& h) {
             h.config.exemptUsers = {"bob", "alice"};
         },
         Outcome::Exempt, "reason=\"exempt user\"", "", "", 0},
        {[](Harness& h) {
             h.config.exemptGroups = {"breakglass"};
             h.login.groups = {"users", "breakglass"};
         },
         Outcome::Exempt, "reason=\"exempt group\"", "", "", 0},
        {[](Harness& h) {
             h.config.onlyGroups = {"admins"};
             h.login.groups = {"users"};
         },
         Outcome::Exempt, "reason=\"not in only_groups\"", "", "", 0},
        {[](Harness& h) { h.config.trustedNetworks = {*Network::parse("203.0.113.0/24")}; },
         Outcome::Exempt, "reason=\"trusted network\"", "", "", 0},
        {[&](Harness& h) {
             dirBroken(h);
             h.config.exemptUsers = {"alice"};
         },
         Outcome::Exempt, "exempt user", "", "", 0},
        {[](Harness& h) { h.unenrol(EnrolmentLookup::Kind::NotEnrolled); },
         Outcome::UnenrolledDenied, "reason=\"no phone number\"", "", "", 0},
        {[](Harness& h) {
             h.unenrol(EnrolmentLookup::Kind::NotEnrolled);
             h.config.unenrolled = UnenrolledPolicy::Ignore;
         },
         Outcome::UnenrolledIgnored, "no phone number", "", "", 0},
        {[](Harness& h) {
             h.unenrol(EnrolmentLookup::Kind::NotEnrolled,
                       "/etc/security/pam_verif8.users:3: bad\x1b line");
         },
         Outcome::UnenrolledDenied, "reason=\"bad enrolment\"", "",
         "/etc/security/pam_verif8.users:3: bad? line", 0},
        // A broken file is never "not enrolled", whatever unenrolled says.
        {[](Harness& h) {
             h.unenrol(EnrolmentLookup::Kind::Unavailable,
                       "/etc/security/pam_verif8.users: has mode 0666");
             h.config.unenrolled = UnenrolledPolicy::Ignore;
         },
         Outcome::ConfigError, "reason=\"users file unusable\"", "", "has mode 0666", 0},
        {[](Harness& h) {
             h.enrol(enrolment({Channel::Whatsapp, Channel::Sms}));
         },
         Outcome::ConfigError, "whatsapp_template is required", "", "whatsapp_template is required",
         0},
        {dirBroken, Outcome::ConfigError, "reason=\"state_dir unusable; nothing sent\"", "",
         "state_dir: /state: not a directory", 0},
        {[&](Harness& h) {
             dirBroken(h);
             h.config.failMode = FailMode::Open;
         },
         Outcome::ConfigError, "state_dir unusable", "", "", 0},
        {[](Harness& h) { h.store.busy = true; }, Outcome::StateBusy,
         "the session table stayed locked", "", "state_dir: /state/pending.a: locked", 0},
        {limited(LimitVerdict::Busy), Outcome::StateBusy, "a send counter stayed locked", "", "",
         1},
        {[&](Harness& h) {
             limited(LimitVerdict::Unavailable)(h);
             h.limiter.problems = {"/var/lib/pam_verif8: must not be writable by group"};
             h.config.unenrolled = UnenrolledPolicy::Ignore;
             h.config.failMode = FailMode::Open;
         },
         Outcome::ConfigError, "reason=\"send counters unusable\"", "",
         "send limits: /var/lib/pam_verif8: must not be writable by group", 1},
        {limited(LimitVerdict::UserLimit), Outcome::SendLimitReached,
         "reason=\"user_send_limit reached\"",
         "Too many codes were sent recently; try again later.", "", 1},
        {[&](Harness& h) {
             limited(LimitVerdict::SourceLimit)(h);
             h.config.failMode = FailMode::Open;
         },
         Outcome::SendLimitReached, "reason=\"source_send_limit reached\"",
         "Too many codes were sent recently; try again later.", "", 1},
        {[](Harness& h) {
             h.store.rows[kPhone].holder = Holder{999, 5, 77};
             h.store.rows[kPhone].untilMs = h.bootNow() + 60000;
             h.store.rows[kPhone].session = pendingSession(Channel::Sms, kNow - 10, 1, "bob");
         },
         Outcome::PhoneBusy,
         "reason=\"another login (pid 999) is waiting for a code sent to this phone; nothing "
         "sent\"",
         "Another login is waiting for a code sent to this phone; finish it, or try again when "
         "it has ended.",
         "", 0},
    };
    for (const auto& c : cases) {
        Harness h;
        c.set(h);
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        const Outcome outcome = h.run();
        expectOutcome(outcome, c.outcome);
        expectNothingSent(h);
        assert_int_equal(h.limiter.asked.size(), c.limits);
        const std::string line = onlyOutcomeLine(h, c.outcome);
        expect_starts_with(line, "outcome=" + std::string(outcomeName(c.outcome)) +
                                     " user=alice rhost=203.0.113.9 service=sshd ");
        expect_contains(line, c.reason);
        expect_not_contains(line, "sends=");
        if (c.outcome == Outcome::Exempt || c.outcome == Outcome::UserUnknown ||
            c.outcome == Outcome::InvalidUserPassword)
            assert_int_equal(h.enrolments.asked.size(), 0);
        if (h.enrolments.result.kind != EnrolmentLookup::Kind::Found)
            expect_not_contains(line, "to=");
        assert_int_equal(h.conversation.errors.size(), c.told.empty() ? 0 : 1);
        if (!c.told.empty())
            expect_str(h.conversation.errors[0], c.told);
        if (!c.logged.empty())
            assert_int_equal(h.logger.count(LogLevel::Error, c.logged) -
                                 (line.find(c.logged) != std::string::npos ? 1 : 0),
                             1);
        for (const auto& logged : h.logger.lines)
            assert_false(test::hasControlBytes(logged.second));
        expectReleased(h);
        if (c.outcome != Outcome::PhoneBusy)
            assert_int_equal(h.store.rows.size(), 0);
        else
            assert_int_equal(h.store.rows[kPhone].holder->pid, 999);  // still theirs
    }
}

static void members_of_only_groups_and_untrusted_networks_are_asked(void**) {
    for (const bool groups : {true, false}) {
        Harness h;
        if (groups) {
            h.config.onlyGroups = {"admins"};
            h.login.groups = {"users", "admins"};
        } else {
            h.config.trustedNetworks = {*Network::parse("198.51.100.0/24"),
                                        *Network::parse("2001:db8::/32")};
        }
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
    }
}

// ---- the log

static void one_outcome_line_has_every_field(void**) {
    Harness h;
    h.script(
        {sessionResult(SessionStatus::Waiting, kHexId, 1), sessionResult(SessionStatus::Verified)});
    h.reply({"111111", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    const std::string line = onlyOutcomeLine(h, Outcome::Verified);
    expect_starts_with(line,
                       "outcome=verified user=alice rhost=203.0.113.9 service=sshd "
                       "channel=sms to=+65******67 session=a44a91be attempts=2 sends=1 ms=");
    const std::size_t ms = line.find(" ms=") + 4;
    assert_true(ms < line.size() && line[ms] >= '0' && line[ms] <= '9');
}

static void the_log_never_holds_the_code_the_phone_or_the_key(void**) {
    Harness h;
    h.logger.debugOn = true;
    h.script(
        {sessionResult(SessionStatus::Waiting, kHexId, 1), sessionResult(SessionStatus::Verified)});
    h.reply({"  482913 ", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    const std::string all = h.logger.all();
    for (const std::string& secret :
         {kCode, std::string("482913"), std::string("91234567"), kApiKey})
        expect_not_contains(all, secret);
}

static void debug_lines_only_when_debug_is_on(void**) {
    for (const bool debug : {false, true}) {
        Harness h;
        h.logger.debugOn = debug;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        assert_int_equal(h.logger.count(LogLevel::Debug, "initiate: ok"), debug);
        assert_int_equal(h.logger.count(LogLevel::Debug, "validate: ok"), debug);
        onlyOutcomeLine(h, Outcome::Verified);
    }
}

// ---- resends

static void a_resend_moves_the_pending_session_on(void**) {
    Harness h;
    h.config.resendInterval = 45;
    h.sends(1);
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kOtherId));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Waiting, kOtherId, 1));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Waiting, kOtherId, 2));
    h.tickEachPrompt(45);
    // A resend is not an attempt: three codes may still be typed after it.
    h.reply({"", "111111", "222222", std::nullopt});
    expectOutcome(h.run(), Outcome::ConversationFailed);
    assert_int_equal(h.client.initiates.size(), 2);
    for (const auto& request : h.client.initiates)
        assert_true(request.resendingInterval == 45);
    assert_false(h.client.initiates[1].resetSession);
    expect_str(h.conversation.prompts.at(1), "Code sent again by SMS to " + kMasked + "." + kAsk);
    expect_contains(h.conversation.prompts.at(3), "1 attempt left.");
    expect_str(h.client.validatedSessions.at(0), kOtherId);  // the new session
    const std::int64_t sentAt = (kNow + 45) * 1000LL;
    const PendingSession& stored = storedFor(h);
    expect_str(stored.sessionId, kOtherId);
    assert_int_equal(stored.sends, 2);
    assert_int_equal(stored.lastSendMs, sentAt);
    assert_int_equal(stored.expiresMs, sentAt + 300000);
    assert_int_equal(stored.apiAttempt, 2);  // every wrong code recorded
    expect_str(stored.loginStamp, loginStamp(kLoginKey));
    expect_contains(onlyOutcomeLine(h), " sends=2 ");
    expectReleased(h);
}

static void a_channel_switch_is_logged_with_its_channel(void**) {
    Harness h;
    h.enrol(enrolment({Channel::Sms, Channel::Voice}));
    h.sends(1);
    h.script({sessionResult(SessionStatus::Verified)});
    h.tickEachPrompt(30);
    h.reply({"voice", kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_true(h.client.initiates[1].channel == Channel::Voice);
    expect_str(h.client.initiates[1].destination, kPhone);
    expect_contains(onlyOutcomeLine(h), " channel=voice ");
}

static void an_unavailable_limiter_on_a_resend_ends_the_login(void**) {
    Harness h;
    h.limiter.allowed = 1;
    h.limiter.refusal = LimitVerdict::Unavailable;
    h.script({sessionResult(SessionStatus::Verified)});
    h.tickEachPrompt(30);
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
        h.limiter.problems = {"/state/limits/user-0123: damaged\x1b[2J", "second\nproblem"};
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.run();
        assert_int_equal(h.logger.count(LogLevel::Error,
                                        "send limits: /state/limits/user-0123: "
                                        "damaged?[2J"),
                         1);
        assert_int_equal(h.logger.count(LogLevel::Error, "send limits: second?problem"), 1);
    }
}

static void a_local_login_is_counted_as_local(void**) {
    Harness h;
    h.login.rhost.clear();
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_true(h.limiter.asked.at(0) ==
                std::make_pair(std::string("alice"), std::string("local")));
}

// ---- the order of calls: the deadline first, the limits before each send, the status before
// each check

static void each_login_makes_its_calls_in_order(void**) {
    const struct {
        std::function<void(Harness&)> set;
        std::string trace;
    } cases[]{
        {[](Harness& h) {
             h.script(
                 {sessionResult(SessionStatus::Waiting), sessionResult(SessionStatus::Verified)});
             h.reply({"111111", kCode});
         },
         "deadline limit initiate status validate status validate"},
        {[](Harness& h) {
             h.enrol(enrolment({Channel::Sms, Channel::Voice}));
             h.sends(2);
             h.script({sessionResult(SessionStatus::Verified)});
             h.tickEachPrompt(30);
             h.reply({"", "voice", kCode});
         },
         "deadline limit initiate limit initiate limit initiate status validate"},
        // A resumed session takes nothing from the limits, even when any send would be refused;
        // a resend after it is counted.
        {[](Harness& h) {
             h.limiter.allowed = 0;
             h.store.rows[kPhone].session = pendingSession();
             h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
             h.reply({kCode});
         },
         "deadline status validate"},
        {[](Harness& h) {
             h.store.rows[kPhone].session = pendingSession();
             h.sends(1);
             h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
             h.tickEachPrompt(30);
             h.reply({"", kCode});
         },
         "deadline limit initiate status validate"},
    };
    for (const auto& c : cases) {
        Harness h;
        h.config.loginTimeout = 120;
        c.set(h);
        expectOutcome(h.run(), Outcome::Verified);
        expect_str(h.traced(), c.trace);
        for (const auto& asked : h.limiter.asked)
            assert_true(asked == std::make_pair(std::string("alice"), std::string("203.0.113.9")));
        assert_int_equal(h.client.deadlineCalls, 1);
        assert_true(*h.client.deadline == kSteadyStart + std::chrono::seconds(120));
    }
}

// ---- resuming the session an earlier round of this login left waiting

static void a_pending_session_is_resumed_without_a_send(void**) {
    for (const Channel channel : {Channel::Sms, Channel::Voice}) {
        Harness h;
        h.enrol(enrolment({Channel::Sms, Channel::Voice}));
        h.store.rows[kPhone].session = pendingSession(channel);
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_int_equal(h.client.initiates.size(), 0);
        expect_str(h.conversation.prompts.at(0), "Code already sent by " +
                                                     std::string(channelDisplayName(channel)) +
                                                     " to " + kMasked + "." + kAsk);
        expect_str(h.client.validatedSessions.at(0), kHexId);
        expect_contains(onlyOutcomeLine(h), " session=a44a91be ");
        assert_int_equal(h.store.rows.count(kPhone), 0);  // verified: nothing left to resume
    }
}

static void a_resumed_session_keeps_its_send_count_and_time(void**) {
    const struct {
        PendingSession left;
        std::string notice;
    } cases[]{
        {pendingSession(), "Wait 20 more seconds"},  // sent 10 s ago: 20 s more to wait
        {pendingSession(Channel::Sms, kNow - 60, 3), "No more codes can be sent for this login."},
    };
    for (const auto& c : cases) {
        Harness h;
        h.store.rows[kPhone].session = c.left;
        h.reply({"", std::nullopt});
        h.run();
        assert_int_equal(h.client.initiates.size(), 0);
        expect_contains(h.conversation.prompts.at(1), c.notice);
    }
}

static void a_session_that_cannot_be_resumed_is_taken_over_with_a_new_code(void**) {
    // The code ends too soon to be typed (the lease's own tests hold the other cases).
    Harness h;
    h.store.rows[kPhone].session = pendingSession(Channel::Sms, kNow - 300 + 15);
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_true(h.client.initiates.at(0).resetSession);
    expect_str(h.conversation.prompts.at(0), kSmsPrompt);
}

static void a_session_of_another_number_is_not_this_users(void**) {
    Harness h;
    h.store.rows["+6598765432"].session = pendingSession();
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kOtherId));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kOtherId));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_false(h.client.initiates.at(0).resetSession);
    expect_str(h.client.validatedSessions.at(0), kOtherId);
    expect_str(storedFor(h, "+6598765432").sessionId, kHexId);  // untouched
}

static void an_unfinished_login_is_resumed_by_its_next_round(void**) {
    Harness h;
    h.script({sessionResult(SessionStatus::Waiting, kHexId, 1),
              sessionResult(SessionStatus::Waiting, kHexId, 2),
              sessionResult(SessionStatus::Waiting, kHexId, 3)});
    h.reply({"111111", "222222", "333333"});
    expectOutcome(h.run(), Outcome::TooManyWrongCodes);
    expectReleased(h);  // the number is free for the next login
    h.now += 20;
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 3));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.client.initiates.size(), 1);
    assert_int_equal(h.store.rows.size(), 0);
}

// ---- the number's claim: one login at a time, and never a dead one

static void the_claim_of_a_dead_or_timed_out_login_is_taken_over(void**) {
    for (const bool dead : {true, false}) {
        Harness h;
        h.store.rows[kPhone].holder = Holder{999, 5, 77};
        // Dead: its process ended (killed at the prompt). Timed out: stopped past its time.
        h.store.rows[kPhone].untilMs = dead ? h.bootNow() + 60000 : h.bootNow() - 1;
        if (dead)
            h.store.dead.insert(999);
        h.store.rows[kPhone].session = pendingSession(Channel::Sms, kNow - 100, 1, "other");
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::Verified);
        assert_true(h.client.initiates.at(0).resetSession);  // a new code, not the dead login's
        assert_int_equal(h.slept.size(), 0);                 // its last send was 100 s ago
    }
}

static void a_login_that_ended_moments_ago_is_waited_out_then_replaced(void**) {
    // Three wrong codes, 10 s ago, on another connection: the API refuses a send for 20 s more.
    Harness h;
    PendingSession left = pendingSession(Channel::Sms, kNow - 10, 1, "another connection");
    left.apiAttempt = 3;
    h.store.rows[kPhone].session = left;
    h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 3));
    h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 3));
    h.reply({kCode});
    expectOutcome(h.run(), Outcome::Verified);
    assert_int_equal(h.slept.size(), 1);
    assert_true(h.slept[0] >= 20000 && h.slept[0] <= 21000);
    expect_str(h.conversation.infos.at(0),
               "A code was sent to this phone moments ago; a new one follows in 21 seconds.");
    assert_int_equal(h.limiter.asked.size(), 1);  // counted once, before the wait
    assert_int_equal(h.limiter.refunded.size(), 0);
    assert_true(h.client.initiates.at(0).resetSession);
    expect_str(h.conversation.prompts.at(0), kSmsPrompt);  // "sent", not "already sent"
}

static void no_wait_for_a_send_the_limits_or_the_time_left_refuse(void**) {
    for (const bool limited : {true, false}) {
        Harness h;
        if (limited)
            h.limiter.allowed = 0;
        else
            h.config.loginTimeout = 30;  // 20 s of waiting would leave 10 s to type
        h.store.rows[kPhone].session = pendingSession(Channel::Sms, kNow - 10, 1, "other");
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        expectOutcome(h.run(), limited ? Outcome::SendLimitReached : Outcome::ResendTooSoon);
        expectNothingSent(h);
        assert_int_equal(h.slept.size(), 0);
        assert_int_equal(h.limiter.asked.size(), 1);
        // Counted before the wait, given back when the wait cannot be made.
        assert_int_equal(h.limiter.refunded.size(), limited ? 0 : 1);
        expect_str(h.conversation.errors.at(0),
                   limited ? "Too many codes were sent recently; try again later."
                           : "A code was sent to this phone moments ago; try again in 21 "
                             "seconds.");
        expectReleased(h);
        expect_str(storedFor(h).sessionId, kHexId);  // left as it was found
    }
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

// ---- sessions another login, host or application started, resent or checked

static void a_send_answered_with_someone_elses_session_is_refused(void**) {
    for (const bool resend : {false, true}) {
        Harness h;
        if (resend) {
            h.sends(1);
            h.tickEachPrompt(30);
            h.reply({""});
        }
        h.client.initiateResults.push_back(sessionResult(SessionStatus::Waiting, kHexId, 2));
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified, kHexId, 2));
        h.reply({kCode});
        expectOutcome(h.run(), Outcome::SessionTaken);
        assert_int_equal(h.conversation.prompts.size(), resend ? 1 : 0);
        assert_int_equal(h.client.validatedCodes.size(), 0);
        expect_contains(onlyOutcomeLine(h, Outcome::SessionTaken),
                        resend ? "moved from 0 to 2" : "already had 2 wrong codes");
        expect_str(h.conversation.errors.at(0),
                   "The code for this phone was also asked for somewhere else; try again in a "
                   "minute.");
        expectReleased(h);
    }
}

static void a_session_verified_or_used_elsewhere_is_refused_before_the_check(void**) {
    CallResult moved = sessionResult(SessionStatus::Waiting);
    moved.session->expiresAt = 1800000999;
    const std::pair<CallResult, std::string> cases[]{
        {sessionResult(SessionStatus::Verified), "VERIFIED before this login checked a code"},
        {sessionResult(SessionStatus::Waiting, kHexId, 1), "wrong-code count is 1"},
        {moved, "expiry moved"},
    };
    for (const auto& [status, reason] : cases) {
        Harness h;
        CallResult sent = sessionResult(SessionStatus::Waiting);
        sent.session->expiresAt = 1800000300;
        h.client.initiateResults.push_back(sent);
        h.client.statusResults.push_back(status);
        h.client.validateResults.push_back(sessionResult(SessionStatus::Verified));
        h.reply({"000000"});
        expectOutcome(h.run(), Outcome::SessionTaken);
        assert_int_equal(h.client.validatedCodes.size(), 0);  // the code never went out
        expect_contains(onlyOutcomeLine(h), reason);
        expect_contains(h.conversation.errors.at(0), "also asked for somewhere else");
        expect_str(storedFor(h).sessionId, kHexId);  // still WAITING at the API: kept
        expectReleased(h);
    }
}

// ---- the time budget: login_timeout

static void the_deadline_is_on_the_real_steady_clock_by_default(void**) {
    Harness h;
    h.realSteadyClock = true;
    h.config.loginTimeout = 45;
    h.script({sessionResult(SessionStatus::Verified)});
    h.reply({kCode});
    const auto before = std::chrono::steady_clock::now();
    expectOutcome(h.run(), Outcome::Verified);
    const auto after = std::chrono::steady_clock::now();
    assert_true(*h.client.deadline >= before + std::chrono::seconds(45));
    assert_true(*h.client.deadline <= after + std::chrono::seconds(45));
}

static void a_reply_after_the_deadline_is_a_login_timeout(void**) {
    using std::chrono::seconds;
    const struct {
        int timeout;
        std::chrono::steady_clock::duration late;
        FailMode mode;
        Outcome outcome;
    } cases[]{
        {90, seconds(90), FailMode::Closed, Outcome::LoginTimeout},
        {90, seconds(91), FailMode::Closed, Outcome::LoginTimeout},
        {90, std::chrono::hours(5), FailMode::Closed, Outcome::LoginTimeout},
        {90, seconds(100), FailMode::Open, Outcome::LoginTimeout},  // slowness is no outage
        {10, seconds(10), FailMode::Closed, Outcome::LoginTimeout},
        {90, seconds(90) - std::chrono::milliseconds(1), FailMode::Closed, Outcome::Verified},
        {600, seconds(599), FailMode::Closed, Outcome::Verified},
    };
    for (const auto& c : cases) {
        Harness h;
        h.config.loginTimeout = c.timeout;
        h.config.failMode = c.mode;
        h.script({sessionResult(SessionStatus::Verified)});
        h.reply({kCode});
        h.conversation.onPrompt = [&h, &c](std::size_t) { h.steadyNow += c.late; };
        expectOutcome(h.run(), c.outcome);
        const bool late = c.outcome == Outcome::LoginTimeout;
        assert_int_equal(h.client.validatedCodes.size(), late ? 0 : 1);
        if (!late)
            continue;
        expect_str(h.conversation.errors.at(0), "The time for the code has run out.");
        const std::string line = onlyOutcomeLine(h, Outcome::LoginTimeout);
        expect_contains(line, " attempts=1 ");
        expect_contains(line, "reason=\"login_timeout of " + std::to_string(c.timeout) + " s\"");
        expect_not_contains(h.logger.all(), "fail_mode=open");
        assert_int_equal(storedFor(h).sends, 1);  // kept for the next round, released
        expectReleased(h);
    }
}

static void the_deadline_is_checked_after_each_reply(void**) {
    // Counted from the start of the login, not from the last prompt or send.
    Harness h;
    h.script(
        {sessionResult(SessionStatus::Waiting, kHexId, 1), sessionResult(SessionStatus::Verified)});
    h.conversation.onPrompt = [&h](std::size_t) { h.steadyNow += std::chrono::seconds(45); };
    h.reply({"111111", kCode});
    expectOutcome(h.run(), Outcome::LoginTimeout);
    assert_int_equal(h.client.validatedCodes.size(), 1);
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
        expect_str(h.conversation.errors.at(0), "The time for the code has run out.");
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_right_code_first_time_is_verified),
        cmocka_unit_test(the_first_send_goes_by_the_users_first_channel),
        cmocka_unit_test(each_answer_leads_to_its_notice),
        cmocka_unit_test(the_code_is_checked_trimmed_and_otherwise_as_typed),
        cmocka_unit_test(max_attempts_wasted_answers_end_the_login),
        cmocka_unit_test(a_host_that_answers_with_the_password_is_named_once),
        cmocka_unit_test(an_aborted_conversation_is_a_conversation_failure),
        cmocka_unit_test(each_check_answer_has_its_outcome),
        cmocka_unit_test(a_new_session_that_is_already_final_is_not_prompted_for),
        cmocka_unit_test(each_call_failure_has_its_outcome),
        cmocka_unit_test(fail_mode_open_never_applies_to_a_resend_or_a_resumed_session),
        cmocka_unit_test(a_send_is_given_back_only_when_it_never_went_out),
        cmocka_unit_test(each_refusal_before_a_send_sends_nothing),
        cmocka_unit_test(members_of_only_groups_and_untrusted_networks_are_asked),
        cmocka_unit_test(one_outcome_line_has_every_field),
        cmocka_unit_test(the_log_never_holds_the_code_the_phone_or_the_key),
        cmocka_unit_test(debug_lines_only_when_debug_is_on),
        cmocka_unit_test(a_resend_moves_the_pending_session_on),
        cmocka_unit_test(a_channel_switch_is_logged_with_its_channel),
        cmocka_unit_test(an_unavailable_limiter_on_a_resend_ends_the_login),
        cmocka_unit_test(limiter_problems_are_logged_as_errors),
        cmocka_unit_test(a_local_login_is_counted_as_local),
        cmocka_unit_test(each_login_makes_its_calls_in_order),
        cmocka_unit_test(a_pending_session_is_resumed_without_a_send),
        cmocka_unit_test(a_resumed_session_keeps_its_send_count_and_time),
        cmocka_unit_test(a_session_that_cannot_be_resumed_is_taken_over_with_a_new_code),
        cmocka_unit_test(a_session_of_another_number_is_not_this_users),
        cmocka_unit_test(an_unfinished_login_is_resumed_by_its_next_round),
        cmocka_unit_test(the_claim_of_a_dead_or_timed_out_login_is_taken_over),
        cmocka_unit_test(a_login_that_ended_moments_ago_is_waited_out_then_replaced),
        cmocka_unit_test(no_wait_for_a_send_the_limits_or_the_time_left_refuse),
        cmocka_unit_test(a_state_dir_that_cannot_record_the_session_ends_the_login),
        cmocka_unit_test(a_send_answered_with_someone_elses_session_is_refused),
        cmocka_unit_test(a_session_verified_or_used_elsewhere_is_refused_before_the_check),
        cmocka_unit_test(the_deadline_is_on_the_real_steady_clock_by_default),
        cmocka_unit_test(a_reply_after_the_deadline_is_a_login_timeout),
        cmocka_unit_test(the_deadline_is_checked_after_each_reply),
        cmocka_unit_test(a_resend_asked_for_after_the_deadline_sends_nothing),
    };
    return cmocka_run_group_tests_name("authenticator", tests, nullptr, nullptr);
}
