// SessionLease: claim, resume, take over, record and close a number's session over the store.
#include "login_fakes.hpp"

using namespace fakes;

namespace {
const Holder kMine{4242, 1, 0x5eed};

struct Table {
    MemoryStore store;
    Table() {
        store.now = [] { return static_cast<std::int64_t>(kNow) * 1000; };
    }
    SessionLease lease() { return SessionLease(store, kPhone, kMine); }
};

Session apiSession(const std::string& id, int attempt, std::optional<std::time_t> expiresAt = {},
                   std::optional<std::time_t> retryAfter = {}) {
    Session session = *sessionResult(SessionStatus::Waiting, id, attempt).session;
    session.expiresAt = expiresAt;
    session.retryAfter = retryAfter;
    return session;
}
}  // namespace

static void a_claim_answers_held_held_by_other_or_failed(void**) {
    const struct {
        std::function<void(MemoryStore&)> set;
        LeaseVerdict verdict;
        Outcome failure;
        std::string problem;
    } cases[]{
        {[](MemoryStore&) {}, LeaseVerdict::Held, Outcome::ConfigError, ""},
        {[](MemoryStore& s) {
             s.rows[kPhone].holder = Holder{999, 5, 77};
             s.rows[kPhone].untilMs = (kNow + 60) * 1000LL;
         },
         LeaseVerdict::HeldByOther, Outcome::ConfigError, ""},
        {[](MemoryStore& s) { s.broken = true; }, LeaseVerdict::Failed, Outcome::ConfigError,
         "/state: not a directory"},
        // Not a config error: the state is fine, a process holding its lock is stopped.
        {[](MemoryStore& s) { s.busy = true; }, LeaseVerdict::Failed, Outcome::StateBusy,
         "/state/pending.a: locked by another process"},
    };
    for (const auto& c : cases) {
        Table t;
        c.set(t.store);
        SessionLease lease = t.lease();
        const LeaseClaim claim = lease.claim((kNow + 90) * 1000LL);
        assert_true(claim.verdict == c.verdict);
        if (c.verdict == LeaseVerdict::HeldByOther)
            assert_int_equal(claim.holderPid, 999);
        if (c.verdict != LeaseVerdict::Failed)
            continue;
        assert_true(claim.failure == c.failure);
        expect_str(claim.problem.value().text, c.problem);
        expect_contains(claim.reason, "nothing sent");
    }
}

static void a_previous_session_is_resumed_only_by_the_same_login_in_time(void**) {
    const struct {
        PendingSession left;
        std::vector<Channel> offered;
        std::string key;
        bool resumed;
    } cases[]{
        {pendingSession(), {Channel::Sms}, kLoginKey, true},
        {pendingSession(Channel::Sms, kNow - 300 + 16), {Channel::Sms}, kLoginKey, true},
        // A code that would expire while the user types it is not worth resuming.
        {pendingSession(Channel::Sms, kNow - 300 + 15), {Channel::Sms}, kLoginKey, false},
        {pendingSession(Channel::Sms, kNow - 300 + 1), {Channel::Sms}, kLoginKey, false},
        {pendingSession(Channel::Voice, kNow - 60), {Channel::Sms}, kLoginKey, false},
        {pendingSession(Channel::Sms, kNow - 10, 1, "other"), {Channel::Sms}, kLoginKey, false},
        {pendingSession(), {Channel::Sms}, "", false},
        {pendingSession(Channel::Sms, kNow - 10, kMaxSendsPerLogin),
         {Channel::Sms},
         kLoginKey,
         true},
        {pendingSession(Channel::Sms, kNow - 10, kMaxSendsPerLogin + 1),
         {Channel::Sms},
         kLoginKey,
         false},
    };
    for (const auto& c : cases) {
        Table t;
        t.store.rows[kPhone].session = c.left;
        SessionLease lease = t.lease();
        assert_true(lease.claim((kNow + 90) * 1000LL).verdict == LeaseVerdict::Held);
        assert_true(lease.previous().has_value());
        assert_int_equal(lease.resume(c.key, enrolment(c.offered), kNow * 1000LL), c.resumed);
        expect_str(lease.current().sessionId, c.resumed ? kHexId : "");
    }
}

// The API hands a number's pending session to any initiator, on any host of the account.
static void a_send_must_answer_with_this_logins_session(void**) {
    // This login asks for 300 s of validity and a 30 s interval: a new session's two times are
    // 270 s apart, give or take the API's rounding.
    const struct {
        std::optional<PendingSession> previous;
        Session sent;
        std::string problem;  // "" when it is this login's
    } cases[]{
        {std::nullopt, apiSession(kOtherId, 0), ""},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1800000030), ""},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1800000031), ""},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1800000028), ""},
        {std::nullopt, apiSession(kOtherId, 2), "already had 2 wrong codes"},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1799999900),
         "expiry and resend times were not set by this login"},
        {std::nullopt, apiSession(kOtherId, 0, 1800000900, 1800000030),
         "expiry and resend times were not set by this login"},
        // Taken over with a new code: a check the ended login never saw the answer to is fine.
        {pendingSession(Channel::Sms, kNow - 100, 1, "other"), apiSession(kHexId, 1), ""},
        {pendingSession(Channel::Sms, kNow - 100, 1, "other"), apiSession(kHexId, 0), ""},
    };
    for (const auto& c : cases) {
        Table t;
        if (c.previous)
            t.store.rows[kPhone].session = c.previous;
        SessionLease lease = t.lease();
        assert_true(lease.claim((kNow + 90) * 1000LL).verdict == LeaseVerdict::Held);
        const Result<> ours = lease.acceptsSent(c.sent, 270);
        assert_int_equal(ours.ok(), c.problem.empty());
        if (!ours)
            expect_contains(ours.problem().text, c.problem);
    }
    // A resend must come back with the count this login left.
    Table t;
    SessionLease lease = t.lease();
    assert_true(lease.claim((kNow + 90) * 1000LL).verdict == LeaseVerdict::Held);
    assert_true(
        lease.recordSend(apiSession(kHexId, 0), Channel::Sms, kNow * 1000LL, 300000, "").verdict ==
        RecordVerdict::Recorded);
    assert_true(lease.acceptsSent(apiSession(kHexId, 0), 270).ok());
    expect_contains(lease.acceptsSent(apiSession(kHexId, 2), 270).problem().text,
                    "moved from 0 to 2");
}

static void a_checked_session_must_be_as_this_login_left_it(void**) {
    Table t;
    SessionLease lease = t.lease();
    assert_true(lease.claim((kNow + 90) * 1000LL).verdict == LeaseVerdict::Held);
    assert_true(lease
                    .recordSend(apiSession(kHexId, 0, 1800000300), Channel::Sms, kNow * 1000LL,
                                300000, kLoginKey)
                    .verdict == RecordVerdict::Recorded);
    assert_true(lease.acceptsChecked(apiSession(kHexId, 0, 1800000300)).ok());
    assert_true(lease.acceptsChecked(apiSession(kHexId, 0)).ok());  // no expiry given
    expect_contains(lease.acceptsChecked(apiSession(kHexId, 1, 1800000300)).problem().text,
                    "wrong-code count is 1, this login made it 0");
    expect_contains(lease.acceptsChecked(apiSession(kHexId, 0, 1800000999)).problem().text,
                    "expiry moved");
    lease.countWrongCode();
    assert_true(lease.acceptsChecked(apiSession(kHexId, 1, 1800000300)).ok());
    assert_true(lease.record().verdict == RecordVerdict::Recorded);
    assert_int_equal(t.store.rows[kPhone].session->apiAttempt, 1);
}

static void a_send_that_cannot_be_recorded_is_not_kept(void**) {
    for (const bool lost : {true, false}) {
        Table t;
        SessionLease lease = t.lease();
        assert_true(lease.claim((kNow + 90) * 1000LL).verdict == LeaseVerdict::Held);
        if (lost)
            t.store.rows[kPhone].holder = Holder{999, 5, 77};  // the claim ran out and was taken
        else
            t.store.recordProblem = "/state/pending.b: cannot write";
        const Recording recording =
            lease.recordSend(apiSession(kHexId, 0), Channel::Sms, kNow * 1000LL, 300000, "");
        assert_true(recording.verdict ==
                    (lost ? RecordVerdict::ClaimLost : RecordVerdict::Unavailable));
        // Without the record another login could take this number's session unseen.
        expect_str(lease.current().sessionId, "");
    }
}

static void closing_keeps_the_session_unless_the_api_gave_a_final_answer(void**) {
    for (std::size_t i = 0; i < kOutcomeCount; ++i) {
        const auto outcome = static_cast<Outcome>(i);
        for (const bool sent : {false, true}) {
            Table t;
            t.store.rows[kPhone].session = pendingSession(Channel::Sms, kNow - 100, 1, "other");
            SessionLease lease = t.lease();
            assert_true(lease.claim((kNow + 90) * 1000LL).verdict == LeaseVerdict::Held);
            if (sent)
                assert_true(lease
                                .recordSend(apiSession(kHexId, 0), Channel::Sms, kNow * 1000LL,
                                            300000, kLoginKey)
                                .verdict == RecordVerdict::Recorded);
            assert_true(lease.close(outcome).ok());
            // A login that sent nothing leaves the number's session as it found it.
            const bool kept = !sent || factsOf(outcome).keepsSession;
            assert_int_equal(t.store.rows.count(kPhone), kept);
            if (kept)
                assert_false(t.store.rows[kPhone].holder.has_value());
        }
    }
    // A lease never held releases nothing.
    Table t;
    t.store.busy = true;
    SessionLease lease = t.lease();
    assert_true(lease.claim(0).verdict == LeaseVerdict::Failed);
    assert_true(lease.close(Outcome::Verified).ok());
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_claim_answers_held_held_by_other_or_failed),
        cmocka_unit_test(a_previous_session_is_resumed_only_by_the_same_login_in_time),
        cmocka_unit_test(a_send_must_answer_with_this_logins_session),
        cmocka_unit_test(a_checked_session_must_be_as_this_login_left_it),
        cmocka_unit_test(a_send_that_cannot_be_recorded_is_not_kept),
        cmocka_unit_test(closing_keeps_the_session_unless_the_api_gave_a_final_answer),
    };
    return cmocka_run_group_tests_name("session_lease", tests, nullptr, nullptr);
}
