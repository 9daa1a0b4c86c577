// SessionLease: claim, resume, take over, record and close a number's session over the store.
#include "login_fakes.hpp"

using namespace fakes;

namespace {
const std::int64_t kNowMs = kNow * 1000LL;

struct Table {
    MemoryStore store;
    Table() {
        store.now = [] { return kNowMs; };
    }
    SessionLease lease() { return SessionLease(store, kPhone, Holder{4242, 1, 0x5eed}); }
    SessionLease claimed() {  // a lease on kPhone, held
        SessionLease lease = this->lease();
        CHECK(lease.claim(kNowMs + 90000).verdict == LeaseVerdict::Held);
        return lease;
    }
};

Session apiSession(const std::string& id, int attempt, std::optional<std::time_t> expiresAt = {},
                   std::optional<std::time_t> retryAfter = {}) {
    Session session = *waiting(attempt, id).session;
    session.expiresAt = expiresAt;
    session.retryAfter = retryAfter;
    return session;
}

RecordVerdict recordSend(SessionLease& lease, const Session& sent, const std::string& key = "") {
    return lease.recordSend(sent, Channel::Sms, kNowMs, 300000, key).verdict;
}
}  // namespace

static void a_claim_answers_held_held_by_other_or_failed(void**) {
    const struct {
        std::function<void(MemoryStore&)> set;
        LeaseVerdict verdict;
        Outcome failure;
        std::string problem;
    } rows[]{
        {[](MemoryStore&) {}, LeaseVerdict::Held, Outcome::ConfigError, ""},
        {[](MemoryStore& s) {
             s.rows[kPhone].holder = Holder{999, 5, 77};
             s.rows[kPhone].untilMs = kNowMs + 60000;
         },
         LeaseVerdict::HeldByOther, Outcome::ConfigError, ""},
        {[](MemoryStore& s) { s.broken = true; }, LeaseVerdict::Failed, Outcome::ConfigError,
         "/state: not a directory"},
        // Not a config error: the state is fine, a process holding its lock is stopped.
        {[](MemoryStore& s) { s.busy = true; }, LeaseVerdict::Failed, Outcome::StateBusy,
         "/state/pending.a: locked by another process"},
    };
    for (const auto& c : rows) {
        gRow = "verdict " + std::to_string(static_cast<int>(c.verdict)) + " " + c.problem;
        Table t;
        c.set(t.store);
        const LeaseClaim claim = t.lease().claim(kNowMs + 90000);
        CHECK(claim.verdict == c.verdict);
        if (c.verdict == LeaseVerdict::HeldByOther)
            EQ(claim.holderPid, 999);
        if (c.verdict != LeaseVerdict::Failed)
            continue;
        CHECK(claim.failure == c.failure);
        expect_str(claim.problem.value().text, c.problem);
        expect_contains(claim.reason, "nothing sent");
    }
}

static void a_previous_session_is_resumed_only_by_the_same_login_in_time(void**) {
    const struct {
        std::string name;
        PendingSession left;
        std::string key;
        bool resumed;
    } rows[]{
        {"sent 10 s ago", pendingSession(), kLoginKey, true},
        {"284 s left", pendingSession(Channel::Sms, kNow - 300 + 16), kLoginKey, true},
        // A code that would expire while the user types it is not worth resuming.
        {"285 s left", pendingSession(Channel::Sms, kNow - 300 + 15), kLoginKey, false},
        {"1 s left", pendingSession(Channel::Sms, kNow - 300 + 1), kLoginKey, false},
        {"a channel not offered", pendingSession(Channel::Voice, kNow - 60), kLoginKey, false},
        {"another login", pendingSession(Channel::Sms, kNow - 10, 1, "other"), kLoginKey, false},
        {"no login key", pendingSession(), "", false},
        {"the last send", pendingSession(Channel::Sms, kNow - 10, kMaxSendsPerLogin), kLoginKey,
         true},
        {"past the last send", pendingSession(Channel::Sms, kNow - 10, kMaxSendsPerLogin + 1),
         kLoginKey, false},
    };
    for (const auto& c : rows) {
        gRow = c.name;
        Table t;
        t.store.rows[kPhone].session = c.left;
        SessionLease lease = t.claimed();
        CHECK(lease.previous().has_value());
        EQ(lease.resume(c.key, enrolment({Channel::Sms}), kNowMs), c.resumed);
        expect_str(lease.current().sessionId, c.resumed ? kHexId : "");
    }
}

// The API hands a number's pending session to any initiator, on any host of the account.
static void a_send_must_answer_with_this_logins_session(void**) {
    // This login asks for 300 s of validity and a 30 s interval: a new session's two times are
    // 270 s apart, give or take the API's rounding.
    const auto other = pendingSession(Channel::Sms, kNow - 100, 1, "other");
    const std::string notOurs = "expiry and resend times were not set by this login";
    const struct {
        std::optional<PendingSession> previous;
        Session sent;
        std::string problem;  // "" when it is this login's
    } rows[]{
        {std::nullopt, apiSession(kOtherId, 0), ""},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1800000030), ""},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1800000031), ""},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1800000028), ""},
        {std::nullopt, apiSession(kOtherId, 2), "already had 2 wrong codes"},
        {std::nullopt, apiSession(kOtherId, 0, 1800000300, 1799999900), notOurs},
        {std::nullopt, apiSession(kOtherId, 0, 1800000900, 1800000030), notOurs},
        // Taken over with a new code: a check the ended login never saw the answer to is fine.
        {other, apiSession(kHexId, 1), ""},
        {other, apiSession(kHexId, 0), ""},
    };
    for (const auto& c : rows) {
        gRow = "attempt " + std::to_string(c.sent.attempt) + ", expires " +
               std::to_string(c.sent.expiresAt.value_or(0)) + (c.previous ? ", taken over" : "");
        Table t;
        if (c.previous)
            t.store.rows[kPhone].session = c.previous;
        const Result<> ours = t.claimed().acceptsSent(c.sent, 270);
        EQ(ours.ok(), c.problem.empty());
        if (!ours)
            expect_contains(ours.problem().text, c.problem);
    }
    // A resend must come back with the count this login left.
    gRow = "a resend";
    Table t;
    SessionLease lease = t.claimed();
    CHECK(recordSend(lease, apiSession(kHexId, 0)) == RecordVerdict::Recorded);
    CHECK(lease.acceptsSent(apiSession(kHexId, 0), 270).ok());
    expect_contains(lease.acceptsSent(apiSession(kHexId, 2), 270).problem().text,
                    "moved from 0 to 2");
}

static void a_checked_session_must_be_as_this_login_left_it(void**) {
    gRow = "one check";
    Table t;
    SessionLease lease = t.claimed();
    CHECK(recordSend(lease, apiSession(kHexId, 0, 1800000300), kLoginKey) ==
          RecordVerdict::Recorded);
    CHECK(lease.acceptsChecked(apiSession(kHexId, 0, 1800000300)).ok());
    CHECK(lease.acceptsChecked(apiSession(kHexId, 0)).ok());  // no expiry given
    expect_contains(lease.acceptsChecked(apiSession(kHexId, 1, 1800000300)).problem().text,
                    "wrong-code count is 1, this login made it 0");
    expect_contains(lease.acceptsChecked(apiSession(kHexId, 0, 1800000999)).problem().text,
                    "expiry moved");
    lease.countWrongCode();
    CHECK(lease.acceptsChecked(apiSession(kHexId, 1, 1800000300)).ok());
    CHECK(lease.record().verdict == RecordVerdict::Recorded);
    EQ(t.store.rows[kPhone].session->apiAttempt, 1);
}

// Without the record another login could take this number's session unseen: not kept.
static void a_send_that_cannot_be_recorded_is_not_kept(void**) {
    for (const bool lost : {true, false}) {
        gRow = lost ? "claim lost" : "cannot write";
        Table t;
        SessionLease lease = t.claimed();
        if (lost)
            t.store.rows[kPhone].holder = Holder{999, 5, 77};  // the claim ran out and was taken
        else
            t.store.recordProblem = "/state/pending.b: cannot write";
        CHECK(recordSend(lease, apiSession(kHexId, 0)) ==
              (lost ? RecordVerdict::ClaimLost : RecordVerdict::Unavailable));
        expect_str(lease.current().sessionId, "");
    }
}

static void closing_keeps_the_session_unless_the_api_gave_a_final_answer(void**) {
    for (std::size_t i = 0; i < kOutcomeCount; ++i) {
        const auto outcome = static_cast<Outcome>(i);
        for (const bool sent : {false, true}) {
            gRow = std::string(outcomeName(outcome)) + (sent ? ", sent" : "");
            Table t;
            t.store.rows[kPhone].session = pendingSession(Channel::Sms, kNow - 100, 1, "other");
            SessionLease lease = t.claimed();
            CHECK(!sent ||
                  recordSend(lease, apiSession(kHexId, 0), kLoginKey) == RecordVerdict::Recorded);
            CHECK(lease.close(outcome).ok());
            // A login that sent nothing leaves the number's session as it found it.
            const bool kept = !sent || factsOf(outcome).keepsSession;
            EQ(t.store.rows.count(kPhone), kept);
            CHECK(!kept || !t.store.rows[kPhone].holder.has_value());
        }
    }
    gRow = "never held";  // releases nothing
    Table t;
    t.store.busy = true;
    SessionLease lease = t.lease();
    CHECK(lease.claim(0).verdict == LeaseVerdict::Failed);
    CHECK(lease.close(Outcome::Verified).ok());
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
