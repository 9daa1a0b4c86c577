// FileSessionStore: phone numbers' sessions and claims in two root-only copies in the state
// directory; holders; loginKey.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/SessionStore.hpp"
#include "verif8/StateDir.hpp"

using namespace verif8;

namespace {

std::string problemOf(const std::optional<Problem>& problem) {
    return problem ? problem->text : std::string();
}

bool recorded(const Recording& recording) {
    return recording.verdict == RecordVerdict::Recorded;
}

const std::string kPhone = "+6591234567";
const std::string kOtherPhone = "+6598765432";
const std::string kKeyA = "alice\nsshd\n203.0.113.9\n4242:1000:00007f0000001000";
const std::string kHexId = "a44a91be5ea5ea118169020897df5459";
const std::string kOtherId = "b55b02cf6fb6fb229270131908e06560";

int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
    return remove(path);
}

void removeTree(const std::string& path) {
    nftw(path.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}

// A state directory (not yet created) inside a temp directory, removed with all it holds.
struct State {
    test::TempDir dir;
    std::string path = dir.path() + "/state";
    ~State() { removeTree(path); }
    std::string copyA() const { return path + "/pending.a"; }
    std::string copyB() const { return path + "/pending.b"; }
};

PendingSession sample() {
    static const std::int64_t sentAt = bootClockMs();
    PendingSession session;
    session.sessionId = kHexId;
    session.channel = Channel::Viber;
    session.sends = 2;
    session.lastSendMs = sentAt;
    session.expiresMs = session.lastSendMs + 300000;
    session.apiAttempt = 1;
    session.apiExpiresAt = 4102444800;  // 2100-01-01
    session.loginStamp = loginStamp(kKeyA);
    return session;
}

void expectSame(const std::optional<PendingSession>& loaded, const PendingSession& saved) {
    if (!loaded) {
        print_error("no session offered\n");
        fail();
    }
    expect_str(loaded->sessionId, saved.sessionId);
    assert_true(loaded->channel == saved.channel);
    assert_int_equal(loaded->sends, saved.sends);
    assert_int_equal(loaded->lastSendMs, saved.lastSendMs);
    assert_int_equal(loaded->expiresMs, saved.expiresMs);
    assert_int_equal(loaded->apiAttempt, saved.apiAttempt);
    assert_int_equal(loaded->apiExpiresAt, saved.apiExpiresAt);
    expect_str(loaded->loginStamp, saved.loginStamp);
}

// This process as two logins (two runs of the module): alive, each with a nonce of its own.
Holder me() {
    Holder holder = currentHolder();
    holder.nonce = 1;
    return holder;
}
Holder otherLogin() {
    Holder holder = currentHolder();
    holder.nonce = 2;
    return holder;
}

// A login whose process has ended (and been reaped), after running `before` as that login.
Holder endedLogin(const std::function<void(const Holder&)>& before = nullptr) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        const Holder holder = currentHolder();
        if (before)
            before(holder);
        _exit(write(fds[1], &holder, sizeof holder) == sizeof holder ? 0 : 1);
    }
    close(fds[1]);
    Holder holder;
    assert_int_equal(read(fds[0], &holder, sizeof holder), sizeof holder);
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return holder;
}

std::int64_t inSeconds(int seconds) {
    return bootClockMs() + seconds * 1000LL;
}

// `holder` claims kPhone, records `session` and lets go of the number, keeping the session: a
// login that ended at its prompt.
void leaveSession(FileSessionStore& store, const Holder& holder,
                  const PendingSession& session = sample()) {
    assert_true(store.claim(kPhone, holder, inSeconds(90)).verdict == ClaimVerdict::Claimed);
    assert_true(recorded(store.record(kPhone, holder, session)));
    assert_true(store.release(kPhone, holder, true).ok());
}

std::vector<std::string> filesIn(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* handle = opendir(dir.c_str())) {
        while (const dirent* entry = readdir(handle)) {
            if (entry->d_name[0] != '.')
                names.push_back(entry->d_name);
        }
        closedir(handle);
    }
    return names;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Rewrites the file in place: same inode, owner and mode.
void overwrite(const std::string& path, const std::string& text) {
    const int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
}

// The file's lines before its "end" line, as the store wrote them.
std::string bodyOf(const std::string& text) {
    const std::size_t end = text.rfind("\nend ");
    if (end == std::string::npos) {
        print_error("no end line in:\n%s", text.c_str());
        fail();
    }
    return text.substr(0, end + 1);
}

// A body with the end line the store writes: its FNV-1a hash, as stateFileName gives it.
std::string signed_(const std::string& body) {
    return body + "end " + stateFileName(body) + "\n";
}

// Changes a copy's body and signs it again, as the store would have written it.
void edit(const std::string& path, const std::function<std::string(std::string)>& change) {
    overwrite(path, signed_(change(bodyOf(readFile(path)))));
}

unsigned long long generationOf(const std::string& text) {
    const std::string magic = "verif8-pending 2 ";
    if (text.rfind(magic, 0) != 0)
        return 0;
    return std::stoull(text.substr(magic.size(), text.find(' ', magic.size()) - magic.size()));
}

// The copy's header with another generation, signed again.
void setGeneration(const std::string& path, const std::string& generation) {
    edit(path, [&](std::string body) {
        const std::size_t start = std::string("verif8-pending 2 ").size();
        return body.replace(start, body.find(' ', start) - start, generation);
    });
}

// The copy the store wrote last (both must be whole).
std::string newest(const State& state) {
    return generationOf(readFile(state.copyA())) > generationOf(readFile(state.copyB()))
               ? state.copyA()
               : state.copyB();
}

std::string older(const State& state) {
    return newest(state) == state.copyA() ? state.copyB() : state.copyA();
}

void age(const std::string& path, std::time_t seconds) {
    const std::time_t then = time(nullptr) - seconds;
    const struct timespec times[2] = {{then, 0}, {then, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

std::size_t linesStartingWith(const std::string& text, const std::string& prefix) {
    std::size_t count = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        count += line.rfind(prefix, 0) == 0 ? 1 : 0;
    return count;
}

// Replaces every whole field equal to `from` on lines starting with `kind`.
std::string replaceField(std::string body, const std::string& kind, std::size_t index,
                         const std::string& to) {
    std::istringstream lines(body);
    std::string out;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(kind + " ", 0) == 0) {
            std::vector<std::string> fields;
            std::istringstream words(line);
            for (std::string word; std::getline(words, word, ' ');)
                fields.push_back(word);
            assert_true(index < fields.size());
            fields[index] = to;
            line.clear();
            for (std::size_t i = 0; i < fields.size(); ++i)
                line += (i ? " " : "") + fields[i];
        }
        out += line + "\n";
    }
    return out;
}

mode_t modeOf(const std::string& path) {
    struct stat info {};
    assert_int_equal(lstat(path.c_str(), &info), 0);
    return info.st_mode & 07777;
}

void expectVerdict(const Claim& claim, ClaimVerdict expected) {
    if (claim.verdict != expected) {
        print_error("claim verdict %d, expected %d\n", static_cast<int>(claim.verdict),
                    static_cast<int>(expected));
        fail();
    }
}

}  // namespace

// ---- claims and sessions

static void a_left_session_is_offered_to_the_next_claim_with_every_field(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const Claim first = store.claim(kPhone, me(), inSeconds(90));
    expectVerdict(first, ClaimVerdict::Claimed);
    assert_false(first.pending.has_value());
    assert_true(store.release(kPhone, me(), true).ok());
    leaveSession(store, otherLogin());
    expectSame(store.claim(kPhone, me(), inSeconds(90)).pending, sample());
    assert_true(store.release(kPhone, me(), true).ok());
    // A second store over the same directory (the next login) reads the same.
    FileSessionStore again(state.path, geteuid());
    expectSame(again.claim(kPhone, otherLogin(), inSeconds(90)).pending, sample());
}

static void every_channel_and_large_numbers_round_trip(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    for (Channel channel : {Channel::Sms, Channel::Voice, Channel::Whatsapp, Channel::Viber}) {
        PendingSession session = sample();
        session.channel = channel;
        session.sends = 3;
        session.expiresMs = 9000000000000000000;
        session.apiAttempt = 4;
        session.apiExpiresAt = 253402300799;  // 9999-12-31
        leaveSession(store, otherLogin(), session);
        expectSame(store.claim(kPhone, otherLogin(), inSeconds(90)).pending, session);
        assert_true(store.release(kPhone, otherLogin(), false).ok());
    }
}

static void a_live_holder_keeps_the_number(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const Holder mine = me();
    expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
    const Claim refused = store.claim(kPhone, otherLogin(), inSeconds(90));
    expectVerdict(refused, ClaimVerdict::HeldByOther);
    assert_int_equal(refused.holderPid, getpid());
    assert_false(refused.pending.has_value());
    // Another number is free; the holder itself may claim again (its next round).
    expectVerdict(store.claim(kOtherPhone, otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
    expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
    // Only the holder records or lets go.
    assert_true(store.record(kPhone, otherLogin(), sample()).verdict == RecordVerdict::ClaimLost);
    assert_true(store.release(kPhone, otherLogin(), false).ok());
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::HeldByOther);
    assert_true(store.release(kPhone, mine, true).ok());
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
}

static void the_claim_of_an_ended_login_binds_nobody(void**) {
    // Killed at its prompt: its claim was never released. Its session is offered to the next.
    State state;
    FileSessionStore store(state.path, geteuid());
    const Holder ended = endedLogin([&](const Holder& holder) {
        FileSessionStore theirs(state.path, geteuid());
        if (theirs.claim(kPhone, holder, inSeconds(90)).verdict != ClaimVerdict::Claimed ||
            !recorded(theirs.record(kPhone, holder, sample())))
            _exit(1);
    });
    assert_false(holderAlive(ended));
    const Claim next = store.claim(kPhone, me(), inSeconds(90));
    expectVerdict(next, ClaimVerdict::Claimed);
    expectSame(next.pending, sample());
}

static void a_claim_past_its_time_binds_nobody(void**) {
    // A stopped login keeps its process but not the number: its time (login_timeout) is up.
    State state;
    FileSessionStore store(state.path, geteuid());
    const Holder mine = me();
    expectVerdict(store.claim(kPhone, mine, bootClockMs() + 300), ClaimVerdict::Claimed);
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::HeldByOther);
    usleep(400 * 1000);
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
    // Its owner finds out when it next records: the claim is not its own any more.
    assert_true(store.record(kPhone, mine, sample()).verdict == RecordVerdict::ClaimLost);
}

static void release_keeps_or_drops_the_session(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    leaveSession(store, otherLogin());
    const Holder mine = me();
    expectSame(store.claim(kPhone, mine, inSeconds(90)).pending, sample());
    assert_true(store.release(kPhone, mine, false).ok());
    assert_false(store.claim(kPhone, mine, inSeconds(90)).pending.has_value());
    assert_true(
        store.release(kPhone, mine, true).ok());  // nothing to keep: the number leaves the table
    assert_int_equal(linesStartingWith(readFile(newest(state)), "phone "), 0);
}

static void a_session_past_its_code_is_neither_offered_nor_kept(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    PendingSession session = sample();
    session.expiresMs = bootClockMs() + 200;
    leaveSession(store, otherLogin(), session);
    assert_int_equal(linesStartingWith(readFile(newest(state)), "phone "), 1);
    usleep(300 * 1000);
    const Holder mine = me();
    assert_false(store.claim(kPhone, mine, inSeconds(90)).pending.has_value());
    assert_true(store.release(kPhone, mine, true).ok());
    assert_int_equal(linesStartingWith(readFile(newest(state)), "phone "), 0);
}

static void the_copies_name_neither_number_nor_user(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    leaveSession(store, otherLogin());
    expectVerdict(store.claim(kOtherPhone, me(), inSeconds(90)), ClaimVerdict::Claimed);
    auto files = filesIn(state.path);
    std::sort(files.begin(), files.end());
    assert_int_equal(files.size(), 2);
    expect_str(files[0], "pending.a");
    expect_str(files[1], "pending.b");
    for (const std::string& copy : {state.copyA(), state.copyB()}) {
        assert_int_equal(modeOf(copy), 0600);
        const std::string text = readFile(copy);
        expect_not_contains(text, "6591234567");
        expect_not_contains(text, "alice");
        expect_starts_with(text, "verif8-pending 2 ");
    }
}

static void a_session_id_that_would_break_the_file_is_not_kept(void**) {
    for (const std::string& id :
         {std::string("a b"), std::string("a\nphone x"), std::string("\x01"), std::string(),
          std::string("-"), std::string(300, 'a')}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        const Holder mine = me();
        expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
        PendingSession session = sample();
        session.sessionId = id;
        const Recording refused = store.record(kPhone, mine, session);
        assert_true(refused.verdict == RecordVerdict::Unavailable);
        expect_contains(problemOf(refused.problem), "not kept");
        assert_true(store.release(kPhone, mine, true).ok());
        leaveSession(store, mine);  // the table is still whole
        expectSame(store.claim(kPhone, mine, inSeconds(90)).pending, sample());
    }
}

// ---- the two copies

static void changes_go_to_the_two_copies_in_turn(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const Holder mine = me();
    expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
    const std::string first = newest(state);
    assert_int_equal(generationOf(readFile(first)), 1);
    assert_true(recorded(store.record(kPhone, mine, sample())));
    assert_true(newest(state) != first);
    assert_int_equal(generationOf(readFile(newest(state))), 2);
    // The older copy still holds the table before the record: a claim without a session.
    expect_contains(readFile(first), " - sms ");
    expect_contains(readFile(newest(state)), " " + kHexId + " viber ");
}

static void the_generation_counter_goes_past_ten_to_the_ninth(void**) {
    for (const std::string& generation :
         {std::string("999999999"), std::string("1000000000"), std::string("4294967296"),
          std::string("9999999999999999990")}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        const Holder mine = me();
        expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
        assert_true(recorded(store.record(kPhone, mine, sample())));
        setGeneration(newest(state), generation);
        // The claim holds through every change after it, and each change is the next number.
        for (int change = 1; change <= 3; ++change) {
            expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)),
                          ClaimVerdict::HeldByOther);
            expectVerdict(store.claim(kOtherPhone, otherLogin(), inSeconds(90)),
                          ClaimVerdict::Claimed);
            const std::string text = readFile(newest(state));
            const std::string expected = std::to_string(std::stoull(generation) + change);
            expect_starts_with(text, "verif8-pending 2 " + expected + " ");
        }
        expectSame(store.claim(kPhone, mine, inSeconds(90)).pending, sample());
    }
}

static void a_table_from_another_boot_is_started_afresh(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    expectVerdict(store.claim(kPhone, me(), inSeconds(90)), ClaimVerdict::Claimed);
    edit(newest(state), [](std::string body) {
        const std::size_t boot = body.find(' ', std::string("verif8-pending 2 ").size()) + 1;
        return body.replace(boot, body.find('\n') - boot, "00000000-0000-0000-0000-000000000000");
    });
    // Its times count from another boot: no claim in it can still run.
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
}

static void a_table_of_an_older_release_reads_as_empty(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    expectVerdict(store.claim(kPhone, me(), inSeconds(90)), ClaimVerdict::Claimed);
    const std::string old = signed_("verif8-pending 1 7\nclaim 0000000000000001 x:1 1800000000\n");
    overwrite(state.copyA(), old);
    overwrite(state.copyB(), old);
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
    expect_starts_with(readFile(newest(state)), "verif8-pending 2 ");
}

static void a_copy_that_is_not_whole_is_not_read(void**) {
    const std::vector<std::function<std::string(const std::string&)>> spoil{
        [](const std::string&) { return std::string("garbage\n"); },
        [](const std::string&) { return std::string("\x01\x02\x03", 3); },
        [](const std::string&) { return std::string(5000, 'x'); },
        // cut anywhere before the end of its end line
        [](const std::string& text) { return text.substr(0, text.size() - 1); },
        [](const std::string& text) { return text.substr(0, text.size() / 2); },
        [](const std::string& text) { return text.substr(0, text.rfind("end ")); },
        // a line changed but not signed again
        [](const std::string& text) {
            std::string changed = text;
            changed[changed.find(" viber ") - 1] = 'f';
            return changed;
        },
        // anything but empty lines after the end line
        [](const std::string& text) { return text + "phone x\n"; },
        // signed, but not lines this code writes
        [](const std::string& text) { return signed_(bodyOf(text) + "phone x\n"); },
        [](const std::string& text) { return signed_(bodyOf(text) + "unknown line\n"); },
        [](const std::string& text) {
            return signed_(replaceField(bodyOf(text), "phone", 4, "two"));
        },
        [](const std::string& text) {
            return signed_(replaceField(bodyOf(text), "phone", 3, "pigeon"));
        },
        [](const std::string& text) {
            return signed_(replaceField(bodyOf(text), "phone", 12, "xyz"));
        },
        [](const std::string& text) {
            return signed_(replaceField(bodyOf(text), "phone", 5, "99999999999999999999"));
        },
        [](const std::string& text) { return signed_(bodyOf(text) + "phone 1 2 3\n"); },
        [](const std::string& text) {
            return signed_("verif8-pending 2 x" + bodyOf(text).substr(18));
        },
    };
    for (std::size_t i = 0; i < spoil.size(); ++i) {
        State state;
        FileSessionStore store(state.path, geteuid());
        leaveSession(store, otherLogin());  // the newest copy has the session, the older not
        overwrite(newest(state), spoil[i](readFile(newest(state))));
        if (store.claim(kPhone, me(), inSeconds(90)).pending) {
            print_error("spoiled copy %zu read\n", i);
            fail();
        }
    }
}

static void a_write_cut_short_leaves_the_table_as_it_was(void**) {
    // The next change goes to the older copy; cut short, it leaves that copy torn.
    for (const auto& cut : std::vector<std::function<std::string(const std::string&)>>{
             [](const std::string& text) { return text.substr(0, text.size() / 2); },
             [](const std::string& text) { return text + "phone torn"; },
             [](const std::string&) { return std::string(); }}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        const Holder mine = me();
        expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
        assert_true(recorded(store.record(kPhone, mine, sample())));
        overwrite(older(state), cut(readFile(older(state))));
        expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::HeldByOther);
        // The next change overwrites the torn copy.
        expectVerdict(store.claim(kOtherPhone, otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
        expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::HeldByOther);
        expectSame(store.claim(kPhone, mine, inSeconds(90)).pending, sample());
    }
}

static void a_write_stopped_by_a_full_disk_leaves_the_table_as_it_was(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const Holder mine = me();
    expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
    assert_true(recorded(store.record(kPhone, mine, sample())));
    const std::string target = older(state);  // where the next change goes
    const std::string before = readFile(target);
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        // Files may not grow past 200 bytes here: the next table is longer, so its write fails
        // part-way, as on a full disk.
        signal(SIGXFSZ, SIG_IGN);
        const struct rlimit limit = {200, 200};
        setrlimit(RLIMIT_FSIZE, &limit);
        FileSessionStore writer(state.path, geteuid());
        const Claim claim = writer.claim(kOtherPhone, me(), inSeconds(90));
        const bool reported = claim.verdict == ClaimVerdict::Unavailable &&
                              problemOf(claim.problem).find("cannot write") != std::string::npos;
        _exit(reported ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);  // the failed write was reported
    assert_true(readFile(target) != before);   // torn
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::HeldByOther);
    expectSame(store.claim(kPhone, mine, inSeconds(90)).pending, sample());
}

static void a_write_cut_before_its_truncation_still_reads(void**) {
    // A shorter table is padded with empty lines to the old length before the file is cut:
    // killed in between, the copy is the new table and some padding.
    State state;
    FileSessionStore store(state.path, geteuid());
    leaveSession(store, otherLogin());
    overwrite(newest(state), readFile(newest(state)) + std::string(300, '\n'));
    expectSame(store.claim(kPhone, me(), inSeconds(90)).pending, sample());
    for (int i = 0; i < 3; ++i)
        expectVerdict(store.claim(kOtherPhone + std::to_string(i), me(), inSeconds(90)),
                      ClaimVerdict::Claimed);
    for (const std::string& copy : {state.copyA(), state.copyB()})
        assert_true(readFile(copy).find("\n\n") == std::string::npos);
}

static void both_copies_damaged_refuse_everything_until_they_are_old(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    leaveSession(store, otherLogin());
    overwrite(state.copyA(), "verif8-pending 2 7 x\ntorn");
    overwrite(state.copyB(), "torn too");
    const Claim refused = store.claim(kOtherPhone, me(), inSeconds(90));
    expectVerdict(refused, ClaimVerdict::Unavailable);
    expect_contains(problemOf(refused.problem), "both damaged");
    expect_contains(problemOf(refused.problem), state.copyA());
    expect_str(readFile(state.copyB()), "torn too");  // nothing written over them
    // One copy last written longer ago than any code lives is not enough...
    age(state.copyA(), 3 * 3600);
    expectVerdict(store.claim(kPhone, me(), inSeconds(90)), ClaimVerdict::Unavailable);
    // ...both are: whatever they held binds nobody any more.
    age(state.copyB(), 3 * 3600);
    expectVerdict(store.claim(kPhone, me(), inSeconds(90)), ClaimVerdict::Claimed);
}

static void a_table_past_its_size_limit_is_not_written(void**) {
    State state;
    FileSessionStore store(state.path, geteuid(), 900);
    const Holder mine = me();
    const auto phone = [](int n) { return "+65900000" + std::to_string(10 + n); };
    int kept = 0;
    Claim last;
    for (; kept < 40; ++kept) {
        last = store.claim(phone(kept), mine, inSeconds(90));
        if (last.verdict != ClaimVerdict::Claimed)
            break;
    }
    assert_true(kept >= 3 && kept < 40);
    expect_contains(problemOf(last.problem), "would grow past 900 bytes");
    // What was kept stays, and nothing more is added while the table is full.
    for (int i = 0; i < kept; ++i)
        expectVerdict(store.claim(phone(i), otherLogin(), inSeconds(90)),
                      ClaimVerdict::HeldByOther);
    expectVerdict(store.claim(phone(kept), otherLogin(), inSeconds(90)), ClaimVerdict::Unavailable);
    for (const std::string& copy : {state.copyA(), state.copyB()})
        assert_true(readFile(copy).size() <= 900);
    // Room made by a login that ends lets the next in.
    assert_true(store.release(phone(0), mine, false).ok());
    expectVerdict(store.claim(phone(kept), otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
}

// ---- many logins at once

// Runs `login(i)` in `count` processes that start together and stay alive until all have
// reported (a claim's holder must be alive to hold); returns what each wrote.
static std::vector<std::string> inLiveProcesses(int count,
                                                const std::function<std::string(int)>& login) {
    int go[2], hold[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(hold), 0);
    std::vector<std::pair<pid_t, int>> children;
    for (int i = 0; i < count; ++i) {
        int out[2];
        assert_int_equal(pipe(out), 0);
        const pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            close(go[1]);
            close(hold[1]);
            close(out[0]);
            char byte;
            (void)!read(go[0], &byte, 1);  // EOF: everyone starts
            const std::string result = login(i) + "\n";
            (void)!write(out[1], result.data(), result.size());
            close(out[1]);
            (void)!read(hold[0], &byte, 1);  // EOF: all have reported
            _exit(0);
        }
        close(out[1]);
        children.emplace_back(child, out[0]);
    }
    close(go[0]);
    close(hold[0]);
    close(go[1]);
    std::vector<std::string> results;
    for (auto& [child, out] : children) {
        std::string text;
        char buffer[256];
        for (ssize_t got; (got = read(out, buffer, sizeof buffer)) > 0;)
            text.append(buffer, static_cast<std::size_t>(got));
        close(out);
        results.push_back(text);
    }
    close(hold[1]);
    for (auto& [child, out] : children) {
        int status = 0;
        waitpid(child, &status, 0);
    }
    return results;
}

static void concurrent_claims_of_one_number_have_one_winner(void**) {
    for (int round = 0; round < 5; ++round) {
        State state;
        const auto results = inLiveProcesses(12, [&](int) {
            FileSessionStore store(state.path, geteuid());
            const Claim claim = store.claim(kPhone, me(), inSeconds(90));
            return std::to_string(static_cast<int>(claim.verdict));
        });
        const std::string claimed = std::to_string(static_cast<int>(ClaimVerdict::Claimed)) + "\n";
        const std::string held = std::to_string(static_cast<int>(ClaimVerdict::HeldByOther)) + "\n";
        assert_int_equal(std::count(results.begin(), results.end(), claimed), 1);
        assert_int_equal(std::count(results.begin(), results.end(), held), 11);
    }
}

static void concurrent_records_of_many_numbers_all_stay(void**) {
    State state;
    constexpr int kLogins = 20;
    const auto phone = [](int i) { return "+65911111" + std::to_string(10 + i); };
    inLiveProcesses(kLogins, [&](int i) {
        FileSessionStore store(state.path, geteuid());
        const Holder mine = me();
        PendingSession session = sample();
        session.sends = i;
        const bool ok =
            store.claim(phone(i), mine, inSeconds(90)).verdict == ClaimVerdict::Claimed &&
            recorded(store.record(phone(i), mine, session));
        assert_true(store.release(phone(i), mine, true).ok());
        return std::string(ok ? "ok" : "failed");
    });
    FileSessionStore store(state.path, geteuid());
    for (int i = 0; i < kLogins; ++i) {
        const auto pending = store.claim(phone(i), me(), inSeconds(90)).pending;
        assert_true(pending.has_value());
        assert_int_equal(pending->sends, i);
    }
}

// ---- files and directory

static void a_copy_readable_by_others_makes_the_store_unusable(void**) {
    for (const bool first : {true, false}) {
        for (mode_t mode : {0644, 0640, 0604, 0660, 0606}) {
            State state;
            FileSessionStore store(state.path, geteuid());
            leaveSession(store, otherLogin());
            const std::string copy = first ? state.copyA() : state.copyB();
            assert_int_equal(chmod(copy.c_str(), mode), 0);
            const Claim claim = store.claim(kPhone, me(), inSeconds(90));
            expectVerdict(claim, ClaimVerdict::Unavailable);
            expect_contains(problemOf(claim.problem), copy);
            expect_contains(problemOf(claim.problem), "not a private regular file");
        }
    }
}

static void a_copy_owned_by_another_uid_makes_the_store_unusable(void**) {
    if (geteuid() != 0)
        skip();  // only root can give a file away
    State state;
    FileSessionStore store(state.path, geteuid());
    leaveSession(store, otherLogin());
    assert_int_equal(chown(state.copyB().c_str(), 4242, static_cast<gid_t>(-1)), 0);
    expectVerdict(store.claim(kPhone, me(), inSeconds(90)), ClaimVerdict::Unavailable);
}

static void a_symlinked_copy_is_unusable_and_its_target_untouched(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    leaveSession(store, otherLogin());
    const std::string elsewhere = state.dir.path() + "/planted";
    const std::string copy = newest(state);
    assert_int_equal(rename(copy.c_str(), elsewhere.c_str()), 0);
    assert_int_equal(symlink(elsewhere.c_str(), copy.c_str()), 0);
    const std::string before = readFile(elsewhere);
    const Claim claim = store.claim(kPhone, me(), inSeconds(90));
    expectVerdict(claim, ClaimVerdict::Unavailable);
    expect_contains(problemOf(claim.problem), "symbolic link");
    assert_false(store.release(kPhone, otherLogin(), false).ok());  // refused too
    expect_str(readFile(elsewhere), before);
}

// A lock held far longer than any login holds one: a process root has stopped. Logins wait a
// bounded time, then claim nothing and say why.
static void a_lock_held_too_long_makes_the_store_busy(void**) {
    State state;
    FileSessionStore store(state.path, geteuid(), FileSessionStore::kDefaultMaxBytes, 200);
    const Holder mine = me();
    expectVerdict(store.claim(kPhone, mine, inSeconds(90)), ClaimVerdict::Claimed);
    const int holder = open(state.copyA().c_str(), O_RDWR);
    assert_true(holder >= 0);
    assert_int_equal(flock(holder, LOCK_EX), 0);
    const auto start = std::chrono::steady_clock::now();
    const Claim claim = store.claim(kOtherPhone, otherLogin(), inSeconds(90));
    expectVerdict(claim, ClaimVerdict::Busy);
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (waited < std::chrono::milliseconds(190)) {  // each clock read rounds down
        print_error("busy after %lld ms: %s\n", static_cast<long long>(waited.count()),
                    problemOf(claim.problem).c_str());
        fail();
    }
    assert_true(waited < std::chrono::milliseconds(2000));
    expect_contains(problemOf(claim.problem), state.copyA());
    expect_contains(problemOf(claim.problem), "locked by another process");
    close(holder);  // released: the next login goes on
    expectVerdict(store.claim(kPhone, otherLogin(), inSeconds(90)), ClaimVerdict::HeldByOther);
    expectVerdict(store.claim(kOtherPhone, otherLogin(), inSeconds(90)), ClaimVerdict::Claimed);
}

static void a_directory_in_place_of_a_copy_is_unusable(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    leaveSession(store, otherLogin());
    assert_int_equal(unlink(state.copyB().c_str()), 0);
    assert_int_equal(mkdir(state.copyB().c_str(), 0700), 0);
    expectVerdict(store.claim(kPhone, me(), inSeconds(90)), ClaimVerdict::Unavailable);
    rmdir(state.copyB().c_str());
}

static void a_missing_state_dir_is_created_private(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const mode_t mask = umask(0);  // even with a permissive umask
    const Claim claim = store.claim(kPhone, me(), inSeconds(90));
    umask(mask);
    expectVerdict(claim, ClaimVerdict::Claimed);
    struct stat info {};
    assert_int_equal(lstat(state.path.c_str(), &info), 0);
    assert_true(S_ISDIR(info.st_mode));
    assert_int_equal(info.st_mode & 07777, 0700);
    assert_int_equal(info.st_uid, geteuid());
    assert_int_equal(modeOf(state.copyA()), 0600);
    assert_int_equal(modeOf(state.copyB()), 0600);
}

static void unusable_state_dirs_claim_nothing(void**) {
    {
        test::TempDir dir;
        FileSessionStore store(dir.path() + "/missing/parent/state", geteuid());
        const Claim claim = store.claim(kPhone, me(), inSeconds(90));
        expectVerdict(claim, ClaimVerdict::Unavailable);
        expect_contains(problemOf(claim.problem), "cannot create");
    }
    for (mode_t mode : {0770, 0702, 0777, 0730}) {
        State state;
        assert_int_equal(mkdir(state.path.c_str(), 0700), 0);
        assert_int_equal(chmod(state.path.c_str(), mode), 0);
        FileSessionStore store(state.path, geteuid());
        const Claim claim = store.claim(kPhone, me(), inSeconds(90));
        expectVerdict(claim, ClaimVerdict::Unavailable);
        expect_contains(problemOf(claim.problem), "writable by group or others");
        assert_int_equal(filesIn(state.path).size(), 0);
    }
    {
        State state;
        const std::string real = state.dir.path() + "/real";
        assert_int_equal(mkdir(real.c_str(), 0700), 0);
        assert_int_equal(symlink(real.c_str(), state.path.c_str()), 0);
        FileSessionStore store(state.path, geteuid());
        const Claim claim = store.claim(kPhone, me(), inSeconds(90));
        expectVerdict(claim, ClaimVerdict::Unavailable);
        expect_contains(problemOf(claim.problem), "not a directory");
        assert_int_equal(filesIn(real).size(), 0);  // nothing written through the link
        rmdir(real.c_str());
    }
    {
        State state;
        FileSessionStore mine(state.path, geteuid());
        expectVerdict(mine.claim(kPhone, me(), inSeconds(90)), ClaimVerdict::Claimed);
        FileSessionStore store(state.path, geteuid() + 1);
        const Claim claim = store.claim(kPhone, me(), inSeconds(90));
        expectVerdict(claim, ClaimVerdict::Unavailable);
        expect_contains(problemOf(claim.problem),
                        "must be owned by uid " + std::to_string(geteuid() + 1));
    }
}

// ---- holders

static void a_holder_is_this_process_while_it_runs(void**) {
    const Holder a = currentHolder();
    const Holder b = currentHolder();
    assert_int_equal(a.pid, getpid());
    assert_true(a.started > 0);
    assert_int_equal(a.started, b.started);
    assert_true(a.nonce != b.nonce);  // two runs of the module in one process differ
    assert_true(holderAlive(a));
    Holder reused = a;  // the same pid, started at another time: another process
    reused.started += 1;
    assert_false(holderAlive(reused));
    assert_false(holderAlive(endedLogin()));
    assert_false(holderAlive(Holder{}));
}

// ---- loginKey

static void the_login_key_names_user_service_host_process_and_handle(void**) {
    // Run directly (not forked from a process of the same program), the handle is our own.
    int handle = 0;
    const std::string key = loginKey("alice", "sshd", "203.0.113.9", &handle);
    expect_starts_with(key, "alice\nsshd\n203.0.113.9\n" + std::to_string(getpid()) + ":");
    expect_str(loginKey("alice", "sshd", "203.0.113.9", &handle), key);  // stable
    int otherHandle = 0;
    assert_true(loginKey("alice", "sshd", "203.0.113.9", &otherHandle) != key);
    assert_true(loginStamp(key) !=
                loginStamp(loginKey("alice", "sshd", "203.0.113.9", &otherHandle)));
}

// loginKey in a forked child of this process, as sshd runs each round.
std::string keyInForkedRound(const void* handle) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        const std::string key = loginKey("alice", "sshd", "203.0.113.9", handle);
        const ssize_t wrote = write(fds[1], key.data(), key.size());
        _exit(wrote == static_cast<ssize_t>(key.size()) ? 0 : 1);
    }
    close(fds[1]);
    std::string key;
    char buffer[256];
    for (ssize_t got; (got = read(fds[0], buffer, sizeof buffer)) > 0;)
        key.append(buffer, static_cast<std::size_t>(got));
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return key;
}

static void forked_rounds_share_the_key_of_their_parent(void**) {
    int handle = 0;
    const std::string mine = loginKey("alice", "sshd", "203.0.113.9", &handle);
    expect_str(keyInForkedRound(&handle), mine);
    expect_str(keyInForkedRound(&handle), mine);
}

static void the_login_key_changes_with_each_part(void**) {
    int handle = 0;
    const std::string key = loginKey("alice", "sshd", "203.0.113.9", &handle);
    for (const std::string& other : {loginKey("bob", "sshd", "203.0.113.9", &handle),
                                     loginKey("alice", "login", "203.0.113.9", &handle),
                                     loginKey("alice", "sshd", "203.0.113.10", &handle),
                                     loginKey("alice", "sshd", "", &handle)}) {
        assert_false(other.empty());
        if (other == key) {
            print_error("same key for another login: %s\n", key.c_str());
            fail();
        }
    }
    // The separator keeps "ab"+"c" and "a"+"bc" apart.
    assert_true(loginKey("ab", "c", "h", &handle) != loginKey("a", "bc", "h", &handle));
    assert_true(loginKey("a", "b", "", &handle) != loginKey("a", "", "b", &handle));
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_left_session_is_offered_to_the_next_claim_with_every_field),
        cmocka_unit_test(every_channel_and_large_numbers_round_trip),
        cmocka_unit_test(a_live_holder_keeps_the_number),
        cmocka_unit_test(the_claim_of_an_ended_login_binds_nobody),
        cmocka_unit_test(a_claim_past_its_time_binds_nobody),
        cmocka_unit_test(release_keeps_or_drops_the_session),
        cmocka_unit_test(a_session_past_its_code_is_neither_offered_nor_kept),
        cmocka_unit_test(the_copies_name_neither_number_nor_user),
        cmocka_unit_test(a_session_id_that_would_break_the_file_is_not_kept),
        cmocka_unit_test(changes_go_to_the_two_copies_in_turn),
        cmocka_unit_test(the_generation_counter_goes_past_ten_to_the_ninth),
        cmocka_unit_test(a_table_from_another_boot_is_started_afresh),
        cmocka_unit_test(a_table_of_an_older_release_reads_as_empty),
        cmocka_unit_test(a_copy_that_is_not_whole_is_not_read),
        cmocka_unit_test(a_write_cut_short_leaves_the_table_as_it_was),
        cmocka_unit_test(a_write_stopped_by_a_full_disk_leaves_the_table_as_it_was),
        cmocka_unit_test(a_write_cut_before_its_truncation_still_reads),
        cmocka_unit_test(both_copies_damaged_refuse_everything_until_they_are_old),
        cmocka_unit_test(a_table_past_its_size_limit_is_not_written),
        cmocka_unit_test(concurrent_claims_of_one_number_have_one_winner),
        cmocka_unit_test(concurrent_records_of_many_numbers_all_stay),
        cmocka_unit_test(a_copy_readable_by_others_makes_the_store_unusable),
        cmocka_unit_test(a_copy_owned_by_another_uid_makes_the_store_unusable),
        cmocka_unit_test(a_symlinked_copy_is_unusable_and_its_target_untouched),
        cmocka_unit_test(a_lock_held_too_long_makes_the_store_busy),
        cmocka_unit_test(a_directory_in_place_of_a_copy_is_unusable),
        cmocka_unit_test(a_missing_state_dir_is_created_private),
        cmocka_unit_test(unusable_state_dirs_claim_nothing),
        cmocka_unit_test(a_holder_is_this_process_while_it_runs),
        cmocka_unit_test(the_login_key_names_user_service_host_process_and_handle),
        cmocka_unit_test(forked_rounds_share_the_key_of_their_parent),
        cmocka_unit_test(the_login_key_changes_with_each_part),
    };
    return cmocka_run_group_tests_name("session_store", tests, nullptr, nullptr);
}
