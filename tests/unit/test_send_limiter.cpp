// FileSendLimiter: user_send_limit and source_send_limit in flock'ed counter files under state_dir.
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/SendLimiter.hpp"
#include "verif8/StateDir.hpp"

using namespace verif8;

namespace {

const std::string kHeader = "verif8-sends 1\n";
const std::string kSource = "203.0.113.9";

int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
    return remove(path);
}

// A state directory (not yet created) inside a temp directory, removed with all it holds.
struct State {
    test::TempDir dir;
    std::string path = dir.path() + "/state";
    ~State() { nftw(path.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS); }

    std::string limits() const { return path + "/limits"; }
    std::string userFile(const std::string& user) const {
        return limits() + "/user-" + stateFileName(user);
    }
    std::string sourceFile(const std::string& source) const {
        return limits() + "/source-" + stateFileName(source);
    }
    // Creates the directories as the limiter would, so that a test can plant files first.
    void prepare() const {
        assert_int_equal(mkdir(path.c_str(), 0700), 0);
        assert_int_equal(mkdir(limits().c_str(), 0700), 0);
    }
    FileSendLimiter limiter(SendLimit user, SendLimit source = {1000, 900}) const {
        return FileSendLimiter(path, user, source, geteuid());
    }
};

const char* verdictName(LimitVerdict verdict) {
    switch (verdict) {
        case LimitVerdict::Allowed:
            return "Allowed";
        case LimitVerdict::UserLimit:
            return "UserLimit";
        case LimitVerdict::SourceLimit:
            return "SourceLimit";
        case LimitVerdict::Busy:
            return "Busy";
        case LimitVerdict::Unavailable:
            return "Unavailable";
    }
    return "?";
}

std::string problemsOf(const LimitDecision& decision) {
    std::string text;
    for (const auto& problem : decision.problems)
        text += problem + "\n";
    return text;
}

void expectVerdict(const LimitDecision& decision, LimitVerdict expected) {
    if (decision.verdict != expected) {
        print_error("verdict %s, expected %s; problems:\n%s", verdictName(decision.verdict),
                    verdictName(expected), problemsOf(decision).c_str());
        fail();
    }
}

// Allowed, and nothing to log.
void expectAllowed(const LimitDecision& decision) {
    expectVerdict(decision, LimitVerdict::Allowed);
    if (!decision.problems.empty()) {
        print_error("unexpected problems:\n%s", problemsOf(decision).c_str());
        fail();
    }
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Writes a counter file by hand: private, owned by us, holding exactly `text`.
void writeFile(const std::string& path, const std::string& text, mode_t mode = 0600) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

std::string counterText(const std::vector<std::time_t>& times) {
    std::string text = kHeader;
    for (std::time_t time : times)
        text += std::to_string(time) + "\n";
    return text;
}

// The send times a counter file lists; fails the test unless it is in the documented format.
std::vector<std::time_t> timesIn(const std::string& path) {
    const std::string text = readFile(path);
    expect_starts_with(text, kHeader);
    std::vector<std::time_t> times;
    std::istringstream lines(text.substr(kHeader.size()));
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line.find_first_not_of("0123456789") != std::string::npos) {
            print_error("%s: not a time: '%s'\n", path.c_str(), line.c_str());
            fail();
        }
        times.push_back(static_cast<std::time_t>(std::stoll(line)));
    }
    if (!text.empty() && text.back() != '\n') {
        print_error("%s: no newline at the end\n", path.c_str());
        fail();
    }
    return times;
}

// Every time lies within [from, to].
void expectTimesBetween(const std::vector<std::time_t>& times, std::time_t from, std::time_t to) {
    for (std::time_t time : times) {
        if (time < from || time > to) {
            print_error("time %lld outside [%lld, %lld]\n", static_cast<long long>(time),
                        static_cast<long long>(from), static_cast<long long>(to));
            fail();
        }
    }
}

mode_t modeOf(const std::string& path) {
    struct stat info {};
    assert_int_equal(lstat(path.c_str(), &info), 0);
    return info.st_mode & 07777;
}

bool exists(const std::string& path) {
    struct stat info {};
    return lstat(path.c_str(), &info) == 0;
}

}  // namespace

// ---- counting

static void sends_are_allowed_up_to_the_user_limit(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({3, 900});
    const std::time_t before = time(nullptr);
    for (int i = 0; i < 3; ++i)
        expectAllowed(limiter.take("alice", kSource));
    const LimitDecision fourth = limiter.take("alice", kSource);
    expectVerdict(fourth, LimitVerdict::UserLimit);
    assert_int_equal(fourth.problems.size(), 0);
    expectVerdict(limiter.take("alice", "198.51.100.7"), LimitVerdict::UserLimit);
    const std::vector<std::time_t> times = timesIn(state.userFile("alice"));
    assert_int_equal(times.size(), 3);
    expectTimesBetween(times, before, time(nullptr));
    // Another user is counted on its own.
    expectAllowed(limiter.take("bob", kSource));
}

static void a_second_limiter_reads_the_same_counters(void**) {
    // Each login is its own process: the count lives in the files, not in the object.
    State state;
    for (int i = 0; i < 2; ++i)
        expectAllowed(state.limiter({2, 900}).take("alice", kSource));
    expectVerdict(state.limiter({2, 900}).take("alice", kSource), LimitVerdict::UserLimit);
}

static void the_source_limit_counts_across_users(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({5, 900}, {3, 900});
    expectAllowed(limiter.take("alice", kSource));
    expectAllowed(limiter.take("bob", kSource));
    expectAllowed(limiter.take("carol", kSource));
    const LimitDecision refused = limiter.take("dave", kSource);
    expectVerdict(refused, LimitVerdict::SourceLimit);
    assert_int_equal(refused.problems.size(), 0);
    assert_int_equal(timesIn(state.sourceFile(kSource)).size(), 3);
    // The same user from another source is fine, and the source limit does not touch the
    // user's own count.
    expectAllowed(limiter.take("dave", "198.51.100.7"));
    assert_int_equal(timesIn(state.userFile("dave")).size(), 1);
}

static void the_user_limit_is_checked_first(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({1, 900}, {1, 900});
    expectAllowed(limiter.take("alice", kSource));
    expectVerdict(limiter.take("alice", kSource), LimitVerdict::UserLimit);
    expectVerdict(limiter.take("bob", kSource), LimitVerdict::SourceLimit);
}

static void a_refused_send_is_not_counted(void**) {
    State state;
    {
        FileSendLimiter limiter = state.limiter({2, 900}, {100, 900});
        expectAllowed(limiter.take("alice", kSource));
        expectAllowed(limiter.take("alice", kSource));
        for (int i = 0; i < 5; ++i)
            expectVerdict(limiter.take("alice", kSource), LimitVerdict::UserLimit);
        assert_int_equal(timesIn(state.userFile("alice")).size(), 2);
        // Nor is it counted against the source.
        assert_int_equal(timesIn(state.sourceFile(kSource)).size(), 2);
    }
    {
        FileSendLimiter limiter = state.limiter({100, 900}, {1, 900});
        expectAllowed(limiter.take("carol", "198.51.100.7"));
        for (int i = 0; i < 3; ++i)
            expectVerdict(limiter.take("erin", "198.51.100.7"), LimitVerdict::SourceLimit);
        // A send refused by the source limit is not taken from the user's allowance either.
        assert_int_equal(timesIn(state.userFile("erin")).size(), 0);
        assert_int_equal(timesIn(state.sourceFile("198.51.100.7")).size(), 1);
    }
}

static void users_and_sources_with_any_bytes_stay_inside_the_directory(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({1, 900});
    for (const std::string& user : {std::string("../../etc/passwd"), std::string("a/b"),
                                    std::string("eve\n1\n2"), std::string("")}) {
        expectAllowed(limiter.take(user, "../" + user));
        assert_true(exists(state.userFile(user)));
        assert_true(exists(state.sourceFile("../" + user)));
        expectVerdict(limiter.take(user, kSource), LimitVerdict::UserLimit);
    }
}

static void the_directories_and_counters_are_private(void**) {
    State state;
    expectAllowed(state.limiter({5, 900}).take("alice", kSource));
    assert_int_equal(modeOf(state.path), 0700);
    assert_int_equal(modeOf(state.limits()), 0700);
    assert_int_equal(modeOf(state.userFile("alice")), 0600);
    assert_int_equal(modeOf(state.sourceFile(kSource)), 0600);
    // The file names hold neither the user nor the host.
    expect_not_contains(state.userFile("alice"), "alice");
    expect_not_contains(state.sourceFile(kSource), kSource);
}

// ---- the sliding window

static void old_sends_are_pruned_and_do_not_count(void**) {
    State state;
    state.prepare();
    const std::time_t now = time(nullptr);
    // Two sends far outside the window, one just outside, one inside.
    writeFile(state.userFile("alice"),
              counterText({now - 86400, now - 5000, now - 905, now - 600}));
    FileSendLimiter limiter = state.limiter({2, 900});
    expectAllowed(limiter.take("alice", kSource));
    const std::vector<std::time_t> times = timesIn(state.userFile("alice"));
    assert_int_equal(times.size(), 2);
    assert_int_equal(times[0], now - 600);
    expectTimesBetween({times[1]}, now, time(nullptr));
    expectVerdict(limiter.take("alice", kSource), LimitVerdict::UserLimit);
}

static void a_full_window_of_old_sends_is_empty(void**) {
    State state;
    state.prepare();
    const std::time_t now = time(nullptr);
    writeFile(state.userFile("alice"), counterText({now - 1000, now - 990, now - 980}));
    writeFile(state.sourceFile(kSource), counterText({now - 1000, now - 990, now - 980}));
    FileSendLimiter limiter = state.limiter({3, 900}, {3, 900});
    expectAllowed(limiter.take("alice", kSource));
    assert_int_equal(timesIn(state.userFile("alice")).size(), 1);
    assert_int_equal(timesIn(state.sourceFile(kSource)).size(), 1);
}

static void a_full_window_refuses_and_is_pruned_anyway(void**) {
    State state;
    state.prepare();
    const std::time_t now = time(nullptr);
    writeFile(state.userFile("alice"), counterText({now - 7200, now - 100, now - 50}));
    const LimitDecision decision = state.limiter({2, 900}).take("alice", kSource);
    expectVerdict(decision, LimitVerdict::UserLimit);
    assert_int_equal(decision.problems.size(), 0);
    const std::vector<std::time_t> times = timesIn(state.userFile("alice"));
    assert_int_equal(times.size(), 2);
    assert_int_equal(times[0], now - 100);
    assert_int_equal(times[1], now - 50);
}

static void the_window_is_the_configured_one(void**) {
    State state;
    state.prepare();
    const std::time_t now = time(nullptr);
    writeFile(state.userFile("alice"), counterText({now - 3000}));
    // Inside a 3600 s window, outside a 900 s one.
    expectVerdict(state.limiter({1, 3600}).take("alice", kSource), LimitVerdict::UserLimit);
    expectAllowed(state.limiter({1, 900}).take("alice", kSource));
}

static void an_empty_counter_file_is_a_new_counter(void**) {
    State state;
    state.prepare();
    writeFile(state.userFile("alice"), "");
    writeFile(state.sourceFile(kSource), kHeader);
    expectAllowed(state.limiter({1, 900}).take("alice", kSource));
    assert_int_equal(timesIn(state.userFile("alice")).size(), 1);
}

static void the_window_slides_in_real_time(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({1, 1});
    expectAllowed(limiter.take("alice", kSource));
    expectVerdict(limiter.take("alice", kSource), LimitVerdict::UserLimit);
    usleep(2100 * 1000);
    expectAllowed(limiter.take("alice", kSource));
    assert_int_equal(timesIn(state.userFile("alice")).size(), 1);
}

// ---- damaged counters

namespace {

struct Damage {
    const char* what;
    std::string text;
};

std::vector<Damage> damages() {
    std::string huge = kHeader;
    const std::string line = std::to_string(time(nullptr) - 86400) + "\n";
    while (huge.size() <= 64 * 1024)
        huge += line;  // valid lines, but more than any counter holds
    return {
        {"garbage",
         "\x7f"
         "ELF\x02\x01\x01garbage"},
        {"text without a header", "1800000000\n1800000001\n"},
        {"wrong header", "verif8-sends 2\n1800000000\n"},
        {"header without newline", "verif8-sends 1"},
        {"a non-number line", kHeader + std::to_string(time(nullptr)) + "\nabc\n"},
        {"a negative number", kHeader + "-5\n"},
        {"an empty line", kHeader + "\n"},
        {"a number too long", kHeader + "1234567890123\n"},
        {"over 64 KiB", huge},
    };
}

}  // namespace

static void a_damaged_user_counter_is_reported_and_counted_as_full(void**) {
    for (const Damage& damage : damages()) {
        State state;
        state.prepare();
        const std::string path = state.userFile("alice");
        writeFile(path, damage.text);
        const std::time_t before = time(nullptr);
        const LimitDecision decision = state.limiter({4, 900}).take("alice", kSource);
        if (decision.verdict != LimitVerdict::UserLimit) {
            print_error("%s: verdict %s\n", damage.what, verdictName(decision.verdict));
            fail();
        }
        assert_int_equal(decision.problems.size(), 1);
        expect_contains(decision.problems[0], path);
        expect_contains(decision.problems[0], "damaged");
        // Rebuilt as a full counter in the documented format: refused for a whole window.
        const std::vector<std::time_t> times = timesIn(path);
        assert_int_equal(times.size(), 4);
        expectTimesBetween(times, before, time(nullptr));
        assert_int_equal(modeOf(path), 0600);
        // The refused send was counted against nobody else.
        assert_int_equal(timesIn(state.sourceFile(kSource)).size(), 0);
        // Read again, the rebuilt file is a sound counter: refused without a new problem.
        const LimitDecision again = state.limiter({4, 900}).take("alice", kSource);
        expectVerdict(again, LimitVerdict::UserLimit);
        assert_int_equal(again.problems.size(), 0);
    }
}

static void a_damaged_source_counter_is_reported_and_counted_as_full(void**) {
    State state;
    state.prepare();
    const std::string path = state.sourceFile(kSource);
    writeFile(path, "verif8-sends 1\n17x\n");
    const LimitDecision decision = state.limiter({5, 900}, {20, 900}).take("alice", kSource);
    expectVerdict(decision, LimitVerdict::SourceLimit);
    assert_int_equal(decision.problems.size(), 1);
    expect_contains(decision.problems[0], path);
    expect_contains(decision.problems[0], "source");
    assert_int_equal(timesIn(path).size(), 20);
    assert_int_equal(timesIn(state.userFile("alice")).size(), 0);
}

static void a_damaged_counter_heals_after_the_window(void**) {
    State state;
    state.prepare();
    const std::vector<Damage> all = damages();
    for (std::size_t i = 0; i < all.size(); ++i)
        writeFile(state.userFile("user" + std::to_string(i)), all[i].text);
    FileSendLimiter limiter = state.limiter({2, 1});
    for (std::size_t i = 0; i < all.size(); ++i)
        expectVerdict(limiter.take("user" + std::to_string(i), kSource), LimitVerdict::UserLimit);
    usleep(2100 * 1000);
    for (std::size_t i = 0; i < all.size(); ++i) {
        const LimitDecision decision = limiter.take("user" + std::to_string(i), kSource);
        if (decision.verdict != LimitVerdict::Allowed || !decision.problems.empty()) {
            print_error("%s: did not heal: %s\n%s", all[i].what, verdictName(decision.verdict),
                        problemsOf(decision).c_str());
            fail();
        }
        assert_int_equal(timesIn(state.userFile("user" + std::to_string(i))).size(), 1);
    }
}

// ---- counters and directories that cannot be trusted: the directories and each counter are
// opened checked (one case each here; every rule, kind of file and owner: test_safe_file.cpp)

static void a_symlinked_counter_is_unavailable_and_its_target_untouched(void**) {
    for (const bool user : {true, false}) {
        State state;
        state.prepare();
        const std::string target = state.dir.file("precious\n");
        const std::string path = user ? state.userFile("alice") : state.sourceFile(kSource);
        assert_int_equal(symlink(target.c_str(), path.c_str()), 0);
        const LimitDecision decision = state.limiter({5, 900}).take("alice", kSource);
        expectVerdict(decision, LimitVerdict::Unavailable);
        assert_int_equal(decision.problems.size(), 1);
        expect_contains(decision.problems[0], path + ": is a symbolic link");
        expect_str(readFile(target), "precious\n");
    }
}

// A lock held far longer than any login holds one: a stopped process. The login waits a bounded
// time, then sends nothing.
static void a_counter_locked_too_long_is_busy(void**) {
    State state;
    state.prepare();
    expectAllowed(state.limiter({5, 900}).take("alice", kSource));
    const int holder = open(state.userFile("alice").c_str(), O_RDWR);
    assert_true(holder >= 0);
    assert_int_equal(flock(holder, LOCK_EX), 0);
    FileSendLimiter limiter(state.path, {5, 900}, {1000, 900}, geteuid(), 200);
    const LimitDecision decision = limiter.take("alice", kSource);
    expectVerdict(decision, LimitVerdict::Busy);
    assert_int_equal(decision.problems.size(), 1);
    expect_contains(decision.problems[0], state.userFile("alice"));
    expect_contains(decision.problems[0], "locked by another process");
    assert_int_equal(timesIn(state.userFile("alice")).size(), 1);  // nothing counted
    close(holder);  // released: the next login goes on
    expectAllowed(limiter.take("alice", kSource));
}

static void a_group_writable_state_dir_or_limits_dir_is_unavailable(void**) {
    for (const bool top : {true, false}) {
        State state;
        state.prepare();
        const std::string dir = top ? state.path : state.limits();
        assert_int_equal(chmod(dir.c_str(), 0770), 0);
        const LimitDecision decision = state.limiter({5, 900}).take("alice", kSource);
        expectVerdict(decision, LimitVerdict::Unavailable);
        assert_int_equal(decision.problems.size(), 1);
        expect_contains(decision.problems[0], dir + ": has mode 0770");
        assert_false(exists(state.userFile("alice")));
    }
}

// ---- concurrency: sshd forks one process per connection

namespace {

// Forks `children` processes that wait on a pipe, then all call take() at once; returns how
// many were Allowed (exit 0), refused (exit 1), or anything else (exit 2).
struct Race {
    int allowed = 0;
    int refused = 0;
    int other = 0;
};

Race race(const State& state, int children, SendLimit user, SendLimit source, bool differentUsers) {
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < children; ++i) {
        const pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(gate[1]);
            char byte;
            while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
            }
            FileSendLimiter limiter(state.path, user, source, geteuid());
            const LimitDecision decision =
                limiter.take(differentUsers ? "user" + std::to_string(i) : "alice", kSource);
            const bool refused = decision.verdict == LimitVerdict::UserLimit ||
                                 decision.verdict == LimitVerdict::SourceLimit;
            _exit(decision.verdict == LimitVerdict::Allowed && decision.problems.empty() ? 0
                  : refused && decision.problems.empty()                                 ? 1
                                                                                         : 2);
        }
        pids.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]);  // every child's read returns at once
    Race result;
    for (pid_t pid : pids) {
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 3;
        if (code == 0)
            ++result.allowed;
        else if (code == 1)
            ++result.refused;
        else
            ++result.other;
    }
    return result;
}

}  // namespace

static void concurrent_sends_for_one_user_are_counted_exactly(void**) {
    for (int round = 0; round < 3; ++round) {
        State state;
        // The directories are created by the racers too, at the same moment.
        const Race result = race(state, 20, {5, 900}, {1000, 900}, false);
        assert_int_equal(result.other, 0);
        assert_int_equal(result.allowed, 5);
        assert_int_equal(result.refused, 15);
        assert_int_equal(timesIn(state.userFile("alice")).size(), 5);
        assert_int_equal(timesIn(state.sourceFile(kSource)).size(), 5);
    }
}

static void concurrent_sends_from_one_source_are_counted_exactly(void**) {
    State state;
    const Race result = race(state, 20, {5, 900}, {7, 900}, true);
    assert_int_equal(result.other, 0);
    assert_int_equal(result.allowed, 7);
    assert_int_equal(result.refused, 13);
    assert_int_equal(timesIn(state.sourceFile(kSource)).size(), 7);
}

static void a_time_ahead_of_the_clock_leaves_the_window_like_any_other(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({1, 2});
    expectAllowed(limiter.take("alice", kSource));
    // A send far in the future, as a counter written before the clock stepped back.
    writeFile(state.userFile("alice"), counterText({99999999999}));
    expectVerdict(limiter.take("alice", kSource), LimitVerdict::UserLimit);
    sleep(3);
    expectAllowed(limiter.take("alice", kSource));
}

static void a_refund_gives_back_the_last_send_of_both_counters(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({1, 900}, {1, 900});
    expectAllowed(limiter.take("alice", kSource));
    expectVerdict(limiter.take("alice", kSource), LimitVerdict::UserLimit);
    limiter.refund("alice", kSource);
    assert_int_equal(timesIn(state.userFile("alice")).size(), 0);
    assert_int_equal(timesIn(state.sourceFile(kSource)).size(), 0);
    expectAllowed(limiter.take("alice", kSource));
}

static void a_refund_of_nothing_changes_nothing(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({2, 900});
    limiter.refund("alice", kSource);
    expectAllowed(limiter.take("alice", kSource));
    expectAllowed(limiter.take("alice", kSource));
    expectVerdict(limiter.take("alice", kSource), LimitVerdict::UserLimit);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_refund_gives_back_the_last_send_of_both_counters),
        cmocka_unit_test(a_refund_of_nothing_changes_nothing),
        cmocka_unit_test(a_time_ahead_of_the_clock_leaves_the_window_like_any_other),
        cmocka_unit_test(sends_are_allowed_up_to_the_user_limit),
        cmocka_unit_test(a_second_limiter_reads_the_same_counters),
        cmocka_unit_test(the_source_limit_counts_across_users),
        cmocka_unit_test(the_user_limit_is_checked_first),
        cmocka_unit_test(a_refused_send_is_not_counted),
        cmocka_unit_test(users_and_sources_with_any_bytes_stay_inside_the_directory),
        cmocka_unit_test(the_directories_and_counters_are_private),
        cmocka_unit_test(old_sends_are_pruned_and_do_not_count),
        cmocka_unit_test(a_full_window_of_old_sends_is_empty),
        cmocka_unit_test(a_full_window_refuses_and_is_pruned_anyway),
        cmocka_unit_test(the_window_is_the_configured_one),
        cmocka_unit_test(an_empty_counter_file_is_a_new_counter),
        cmocka_unit_test(the_window_slides_in_real_time),
        cmocka_unit_test(a_damaged_user_counter_is_reported_and_counted_as_full),
        cmocka_unit_test(a_damaged_source_counter_is_reported_and_counted_as_full),
        cmocka_unit_test(a_damaged_counter_heals_after_the_window),
        cmocka_unit_test(a_symlinked_counter_is_unavailable_and_its_target_untouched),
        cmocka_unit_test(a_counter_locked_too_long_is_busy),
        cmocka_unit_test(a_group_writable_state_dir_or_limits_dir_is_unavailable),
        cmocka_unit_test(concurrent_sends_for_one_user_are_counted_exactly),
        cmocka_unit_test(concurrent_sends_from_one_source_are_counted_exactly),
    };
    return cmocka_run_group_tests_name("send_limiter", tests, nullptr, nullptr);
}
