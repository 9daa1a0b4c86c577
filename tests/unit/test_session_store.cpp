// FileSessionStore: claims, records and releases of phone numbers' sessions, kept in two
// root-only copies in the state directory. The table's text: test_session_table.cpp; the two
// copies on their own: test_two_copy_file.cpp; holders and login keys: test_login_identity.cpp.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/SessionStore.hpp"
#include "verif8/StateDir.hpp"

using namespace verif8;

namespace {

const std::string kPhone = "+6591234567", kOtherPhone = "+6598765432";
const std::string kHexId = "a44a91be5ea5ea118169020897df5459";
const std::string kMagic = "verif8-pending 2 ";

std::int64_t inSeconds(int seconds) {
    return bootClockMs() + seconds * 1000LL;
}

// Every field set; the API's expiry is 2100-01-01.
PendingSession sample() {
    static const std::int64_t sentAt = bootClockMs();
    PendingSession s{kHexId, Channel::Viber, 2, sentAt, sentAt + 300000, 1, 4102444800, {}};
    s.loginStamp = loginStamp("alice\nsshd\n203.0.113.9\n4242:1000:00007f0000001000");
    return s;
}

// Every field, as the table writes it.
void expectSame(const std::optional<PendingSession>& loaded, const PendingSession& saved) {
    if (!loaded)
        fail_msg("no session offered");
    expect_str(renderRow(SessionRow{"x", loaded, std::nullopt, 0}),
               renderRow(SessionRow{"x", saved, std::nullopt, 0}));
}

// This process as two logins (two runs of the module): alive, each with a nonce of its own.
Holder login(std::uint64_t nonce) {
    Holder holder = currentHolder();
    holder.nonce = nonce;
    return holder;
}
const auto me = [] { return login(1); };
const auto otherLogin = [] { return login(2); };

std::string problemOf(const std::optional<Problem>& problem) {
    return problem ? problem->text : std::string();
}

void expectVerdict(const Claim& claim, ClaimVerdict expected, const std::string& problem = "") {
    if (claim.verdict != expected)
        fail_msg("claim verdict %d, expected %d (%s)", static_cast<int>(claim.verdict),
                 static_cast<int>(expected), problemOf(claim.problem).c_str());
    expect_contains(problemOf(claim.problem), problem);
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Rewrites the file in place: same inode, owner and mode.
void overwrite(const std::string& path, const std::string& text) {
    const int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
}

// Changes a copy's body (before its "end" line) and signs it again, as the store would.
void edit(const std::string& path, const std::function<std::string(std::string)>& change) {
    const std::string text = readFile(path);
    const std::string body = change(text.substr(0, text.rfind("\nend ") + 1));
    overwrite(path, body + "end " + stateFileName(body) + "\n");
}

unsigned long long generationOf(const std::string& text) {
    if (text.rfind(kMagic, 0) != 0)
        return 0;
    return std::stoull(text.substr(kMagic.size(), text.find(' ', kMagic.size()) - kMagic.size()));
}

// lstat's mode and owner, as "MODE UID" (mode in octal with its type bits).
std::string modeOf(const std::string& path) {
    struct stat info {};
    assert_int_equal(lstat(path.c_str(), &info), 0);
    char text[32];
    snprintf(text, sizeof text, "%o %u", info.st_mode, info.st_uid);
    return text;
}

// A store over a state directory (not yet created) in a temp directory, removed with all it
// holds; its claims are of kPhone unless told, until 90 s from now.
struct Store {
    test::TempDir dir;
    std::string path = dir.path() + "/state", a = path + "/pending.a", b = path + "/pending.b";
    FileSessionStore store;

    explicit Store(std::size_t maxBytes = FileSessionStore::kDefaultMaxBytes,
                   int lockWaitMs = kStateLockWaitMs)
        : store(path, geteuid(), maxBytes, lockWaitMs) {}
    ~Store() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    Claim claim(const Holder& holder, const std::string& phone = kPhone) {
        return store.claim(phone, holder, inSeconds(90));
    }
    RecordVerdict record(const Holder& holder, const PendingSession& session = sample()) {
        return store.record(kPhone, holder, session).verdict;
    }
    bool release(const Holder& holder, bool keepSession = true) {
        return store.release(kPhone, holder, keepSession).ok();
    }
    // `holder` claims kPhone, records `session` and lets go, keeping the session: a login that
    // ended at its prompt.
    void leaveSession(const Holder& holder, const PendingSession& session = sample()) {
        expectVerdict(claim(holder), ClaimVerdict::Claimed);
        assert_true(record(holder, session) == RecordVerdict::Recorded);
        assert_true(release(holder));
    }
    // The copy the store wrote last (both must be whole), and the other.
    std::string newest() const {
        return generationOf(readFile(a)) > generationOf(readFile(b)) ? a : b;
    }
    std::string older() const { return newest() == a ? b : a; }
    std::size_t rows() const { return parseTable(readFile(newest())).value().table.rows.size(); }
};

// Runs `login(i)` in `count` processes that start together and stay alive until all have
// answered (a claim's holder must be alive to hold); returns their answers (exit statuses).
std::vector<int> inLiveProcesses(int count, const std::function<int(int)>& login) {
    int go[2], done[2], hold[2];
    assert_true(pipe(go) == 0 && pipe(done) == 0 && pipe(hold) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < count; ++i) {
        const pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            close(go[1]);
            close(hold[1]);
            char byte = 0;
            (void)!read(go[0], &byte, 1);  // EOF: everyone starts
            const int answer = login(i);
            (void)!write(done[1], &byte, 1);
            (void)!read(hold[0], &byte, 1);  // EOF: all have answered
            _exit(answer);
        }
        children.push_back(child);
    }
    for (int fd : {go[0], go[1], done[1], hold[0]})
        close(fd);
    char byte = 0;
    for (int i = 0; i < count; ++i)
        assert_int_equal(read(done[0], &byte, 1), 1);
    close(hold[1]);
    close(done[0]);
    std::vector<int> answers;
    for (pid_t child : children) {
        int status = 0;
        waitpid(child, &status, 0);
        answers.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return answers;
}

}  // namespace

// A left session is offered to the next claim with every field, in this store or the next
// login's; release keeps or drops it; one past its code is neither offered nor kept; one that
// would break the file is not kept.
static void sessions_are_offered_kept_dropped_and_expired(void**) {
    Store s;
    const Claim first = s.claim(me());
    expectVerdict(first, ClaimVerdict::Claimed);
    assert_false(first.pending.has_value());
    assert_true(s.release(me()));
    s.leaveSession(otherLogin());
    expectSame(s.claim(me()).pending, sample());
    assert_true(s.release(me()));
    FileSessionStore again(s.path, geteuid());
    expectSame(again.claim(kPhone, otherLogin(), inSeconds(90)).pending, sample());
    assert_true(s.release(otherLogin(), false));
    assert_false(s.claim(me()).pending.has_value());
    assert_true(s.release(me()));  // nothing to keep: the number leaves the table
    assert_int_equal(s.rows(), 0);
    PendingSession shortLived = sample();
    shortLived.expiresMs = bootClockMs() + 200;
    s.leaveSession(otherLogin(), shortLived);
    assert_int_equal(s.rows(), 1);
    usleep(300 * 1000);
    assert_false(s.claim(me()).pending.has_value());
    assert_true(s.release(me()));
    assert_int_equal(s.rows(), 0);
    // A session id that would break the file is not kept (which ids would: test_session_table's
    // only_plain_fields_are_storable), and the table stays whole.
    expectVerdict(s.claim(me()), ClaimVerdict::Claimed);
    PendingSession broken = sample();
    broken.sessionId = "a\nphone x";
    const Recording refused = s.store.record(kPhone, me(), broken);
    assert_true(refused.verdict == RecordVerdict::Unavailable);
    expect_contains(problemOf(refused.problem), "not kept");
    assert_true(s.record(me()) == RecordVerdict::Recorded);
    assert_true(s.release(me()));
    expectSame(s.claim(me()).pending, sample());
}

static void a_live_holder_keeps_the_number(void**) {
    Store s;
    expectVerdict(s.claim(me()), ClaimVerdict::Claimed);
    const Claim refused = s.claim(otherLogin());
    expectVerdict(refused, ClaimVerdict::HeldByOther);
    assert_int_equal(refused.holderPid, getpid());
    assert_false(refused.pending.has_value());
    // Another number is free; the holder itself may claim again (its next round).
    expectVerdict(s.claim(otherLogin(), kOtherPhone), ClaimVerdict::Claimed);
    expectVerdict(s.claim(me()), ClaimVerdict::Claimed);
    // Only the holder records or lets go.
    assert_true(s.record(otherLogin()) == RecordVerdict::ClaimLost);
    assert_true(s.release(otherLogin(), false));
    expectVerdict(s.claim(otherLogin()), ClaimVerdict::HeldByOther);
    assert_true(s.release(me()));
    expectVerdict(s.claim(otherLogin()), ClaimVerdict::Claimed);
}

// Killed at its prompt: its claim was never released, its session goes to the next login. A
// stopped login keeps its process but not the number once its time (login_timeout) is up.
static void the_claim_of_an_ended_or_late_login_binds_nobody(void**) {
    Store s;
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(s.claim(me()).verdict == ClaimVerdict::Claimed &&
                      s.record(me()) == RecordVerdict::Recorded
                  ? 0
                  : 1);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const Claim next = s.claim(me());
    expectVerdict(next, ClaimVerdict::Claimed);
    expectSame(next.pending, sample());
    expectVerdict(s.store.claim(kOtherPhone, me(), bootClockMs() + 300), ClaimVerdict::Claimed);
    expectVerdict(s.claim(otherLogin(), kOtherPhone), ClaimVerdict::HeldByOther);
    usleep(400 * 1000);
    expectVerdict(s.claim(otherLogin(), kOtherPhone), ClaimVerdict::Claimed);
    // Its owner finds out when it next records: the claim is not its own any more.
    assert_true(s.store.record(kOtherPhone, me(), sample()).verdict == RecordVerdict::ClaimLost);
}

// Created private whatever the umask; nothing else in the directory.
static void the_copies_are_private_and_name_neither_number_nor_user(void**) {
    Store s;
    const mode_t mask = umask(0);
    s.leaveSession(otherLogin());
    umask(mask);
    expectVerdict(s.claim(me(), kOtherPhone), ClaimVerdict::Claimed);
    expect_str(modeOf(s.path), "40700 " + std::to_string(geteuid()));
    for (const std::string& copy : {s.a, s.b}) {
        expect_str(modeOf(copy), "100600 " + std::to_string(geteuid()));
        const std::string text = readFile(copy);
        expect_not_contains(text, "6591234567");
        expect_not_contains(text, "alice");
        expect_starts_with(text, kMagic);
    }
    using Entries = std::filesystem::directory_iterator;
    assert_int_equal(std::distance(Entries(s.path), Entries()), 2);  // pending.a and pending.b
}

static void each_change_is_the_next_generation_in_the_other_copy(void**) {
    Store s;
    expectVerdict(s.claim(me()), ClaimVerdict::Claimed);
    const std::string first = s.newest();
    assert_int_equal(generationOf(readFile(first)), 1);
    assert_true(s.record(me()) == RecordVerdict::Recorded);
    assert_true(s.newest() != first);
    assert_int_equal(generationOf(readFile(s.newest())), 2);
    // The older copy still holds the table before the record: a claim without a session.
    expect_contains(readFile(first), " - sms ");
    expect_contains(readFile(s.newest()), " " + kHexId + " viber ");
    // Past 2^32 (a number parser sized for config values once broke this), the claim holds
    // through the next change, and that change is the next number.
    edit(s.newest(), [](std::string body) {
        return body.replace(kMagic.size(), body.find(' ', kMagic.size()) - kMagic.size(),
                            "4294967296");
    });
    expectVerdict(s.claim(otherLogin()), ClaimVerdict::HeldByOther);
    expectVerdict(s.claim(otherLogin(), kOtherPhone), ClaimVerdict::Claimed);
    expect_starts_with(readFile(s.newest()), kMagic + "4294967297 ");
    expectSame(s.claim(me()).pending, sample());
    // A table from another boot: its times count from another boot, no claim in it still runs.
    edit(s.newest(), [](std::string body) {
        const std::size_t boot = body.find(' ', kMagic.size()) + 1;
        return body.replace(boot, body.find('\n') - boot, "00000000-0000-0000-0000-000000000000");
    });
    expectVerdict(s.claim(otherLogin()), ClaimVerdict::Claimed);
}

static void torn_copies_are_not_read(void**) {
    // Which texts are torn: test_session_table; which copy is read: test_two_copy_file.
    Store s;
    expectVerdict(s.claim(otherLogin()), ClaimVerdict::Claimed);
    assert_true(s.release(otherLogin()));
    const std::string text = readFile(s.newest());
    overwrite(s.newest(), text.substr(0, text.size() / 2));
    // The older copy is read: it still holds the claim the torn one released.
    expectVerdict(s.claim(me()), ClaimVerdict::HeldByOther);
    // Both torn: nobody can tell which numbers are held, until both are older than any code.
    overwrite(s.older(), "torn too");
    expectVerdict(s.claim(me()), ClaimVerdict::Unavailable, s.a + " and " + s.b + ": both damaged");
    const std::time_t then = time(nullptr) - 3 * 3600;
    const struct timespec times[2] = {{then, 0}, {then, 0}};
    for (const std::string& copy : {s.a, s.b})
        assert_int_equal(utimensat(AT_FDCWD, copy.c_str(), times, 0), 0);
    expectVerdict(s.claim(me()), ClaimVerdict::Claimed);
}

static void a_table_past_its_size_limit_is_not_written(void**) {
    Store s(900);
    const auto phone = [](int n) { return "+65900000" + std::to_string(10 + n); };
    int kept = 0;
    Claim last;
    while (kept < 40 && (last = s.claim(me(), phone(kept))).verdict == ClaimVerdict::Claimed)
        ++kept;
    assert_true(kept >= 3 && kept < 40);
    expectVerdict(last, ClaimVerdict::Unavailable, "would grow past 900 bytes");
    // What was kept stays, and nothing more is added while the table is full.
    for (int i = 0; i < kept; ++i)
        expectVerdict(s.claim(otherLogin(), phone(i)), ClaimVerdict::HeldByOther);
    expectVerdict(s.claim(otherLogin(), phone(kept)), ClaimVerdict::Unavailable);
    // Room made by a login that ends lets the next in.
    assert_true(s.store.release(phone(0), me(), false).ok());
    expectVerdict(s.claim(otherLogin(), phone(kept)), ClaimVerdict::Claimed);
}

// Many logins at once: one number has one winner; many numbers all stay.
static void concurrent_claims_and_records_are_exact(void**) {
    for (int round = 0; round < 5; ++round) {
        Store s;
        const auto answers = inLiveProcesses(12, [&](int) {
            FileSessionStore store(s.path, geteuid());
            return static_cast<int>(store.claim(kPhone, me(), inSeconds(90)).verdict);
        });
        for (const auto& [verdict, count] :
             {std::pair{ClaimVerdict::Claimed, 1}, {ClaimVerdict::HeldByOther, 11}})
            assert_int_equal(std::count(answers.begin(), answers.end(), int(verdict)), count);
    }
    Store s;
    const auto phone = [](int i) { return "+65911111" + std::to_string(10 + i); };
    const auto answers = inLiveProcesses(20, [&](int i) {
        FileSessionStore store(s.path, geteuid());
        PendingSession session = sample();
        session.sends = i;
        return store.claim(phone(i), me(), inSeconds(90)).verdict == ClaimVerdict::Claimed &&
                       store.record(phone(i), me(), session).verdict == RecordVerdict::Recorded &&
                       store.release(phone(i), me(), true).ok()
                   ? 0
                   : 1;
    });
    assert_int_equal(std::count(answers.begin(), answers.end(), 0), 20);
    for (int i = 0; i < 20; ++i) {
        const auto pending = s.claim(me(), phone(i)).pending;
        assert_true(pending.has_value());
        assert_int_equal(pending->sends, i);
    }
}

// The checked open, each kind of refusal once (the rules, every mode and owner: test_safe_file).
static void an_untrusted_copy_or_state_dir_makes_the_store_unusable(void**) {
    {
        Store s;
        s.leaveSession(otherLogin());
        assert_int_equal(chmod(s.b.c_str(), 0640), 0);
        expectVerdict(s.claim(me()), ClaimVerdict::Unavailable,
                      s.b + ": not a private regular file");
    }
    {  // a symlinked copy: its target untouched, and a release refused too
        Store s;
        s.leaveSession(otherLogin());
        const std::string elsewhere = s.dir.path() + "/planted", copy = s.newest();
        assert_int_equal(rename(copy.c_str(), elsewhere.c_str()), 0);
        assert_int_equal(symlink(elsewhere.c_str(), copy.c_str()), 0);
        const std::string before = readFile(elsewhere);
        expectVerdict(s.claim(me()), ClaimVerdict::Unavailable, "symbolic link");
        assert_false(s.release(otherLogin(), false));
        expect_str(readFile(elsewhere), before);
    }
    Store s;
    assert_int_equal(mkdir(s.path.c_str(), 0770), 0);
    assert_int_equal(chmod(s.path.c_str(), 0770), 0);
    expectVerdict(s.claim(me()), ClaimVerdict::Unavailable, "writable by group or others");
    assert_int_equal(access(s.a.c_str(), F_OK), -1);  // nothing created in it
}

// A lock held far longer than any login holds one: a process root has stopped. Logins wait a
// bounded time, then claim nothing and say why.
static void a_lock_held_too_long_makes_the_store_busy(void**) {
    Store s(FileSessionStore::kDefaultMaxBytes, 200);
    expectVerdict(s.claim(me()), ClaimVerdict::Claimed);
    const int holder = open(s.a.c_str(), O_RDWR);
    assert_true(holder >= 0);
    assert_int_equal(flock(holder, LOCK_EX), 0);
    const auto start = std::chrono::steady_clock::now();
    const Claim claim = s.claim(otherLogin(), kOtherPhone);
    const auto waited = std::chrono::steady_clock::now() - start;
    expectVerdict(claim, ClaimVerdict::Busy, s.a + ": locked by another process");
    assert_true(waited >= std::chrono::milliseconds(190));  // each clock read rounds down
    assert_true(waited < std::chrono::milliseconds(2000));
    close(holder);  // released: the next login goes on
    expectVerdict(s.claim(otherLogin()), ClaimVerdict::HeldByOther);
    expectVerdict(s.claim(otherLogin(), kOtherPhone), ClaimVerdict::Claimed);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sessions_are_offered_kept_dropped_and_expired),
        cmocka_unit_test(a_live_holder_keeps_the_number),
        cmocka_unit_test(the_claim_of_an_ended_or_late_login_binds_nobody),
        cmocka_unit_test(the_copies_are_private_and_name_neither_number_nor_user),
        cmocka_unit_test(each_change_is_the_next_generation_in_the_other_copy),
        cmocka_unit_test(torn_copies_are_not_read),
        cmocka_unit_test(a_table_past_its_size_limit_is_not_written),
        cmocka_unit_test(concurrent_claims_and_records_are_exact),
        cmocka_unit_test(an_untrusted_copy_or_state_dir_makes_the_store_unusable),
        cmocka_unit_test(a_lock_held_too_long_makes_the_store_busy),
    };
    return cmocka_run_group_tests_name("session_store", tests, nullptr, nullptr);
}
