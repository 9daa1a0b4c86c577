// FileSendLimiter: user_send_limit and source_send_limit in flock'ed counter files under state_dir.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"
#include "verif8/SendLimiter.hpp"
#include "verif8/StateDir.hpp"

using namespace verif8;

namespace {

const std::string kHeader = "verif8-sends 1\n";
const std::string kSource = "203.0.113.9";
const std::string kPhone = "+6591234567";
const SendLimit kAnyPhone{1000, 86400};  // never decides, where the phone's is not tested

// A state directory (not yet created) inside a temp directory, removed with all it holds.
struct State {
    test::TempDir dir;
    std::string path = dir.path() + "/state";
    ~State() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }

    std::string limits() const { return path + "/limits"; }
    // A counter is named by a hash of what it counts, never by the user, host or number.
    std::string counter(const char* kind, const std::string& name) const {
        return limits() + "/" + kind + "-" + stateFileName(name);
    }
    std::string userFile(const std::string& user) const { return counter("user", user); }
    std::string sourceFile(const std::string& source) const { return counter("source", source); }
    std::string phoneFile(const std::string& phone) const { return counter("phone", phone); }
    // Creates the directories as the limiter would, so that a test can plant files first.
    void prepare() const {
        assert_int_equal(mkdir(path.c_str(), 0700), 0);
        assert_int_equal(mkdir(limits().c_str(), 0700), 0);
    }
    FileSendLimiter limiter(SendLimit user, SendLimit source = {1000, 900},
                            SendLimit phone = kAnyPhone) const {
        return FileSendLimiter(path, user, source, phone, geteuid());
    }
};

// `expected`, with as many problems as `parts`, the first holding every part; `row` names the
// table row in a failure. Verdicts print as numbers: Allowed, UserLimit, SourceLimit, PhoneLimit,
// Busy, Unavailable.
void expectVerdict(const LimitDecision& decision, LimitVerdict expected,
                   const std::vector<std::string>& parts = {}, const std::string& row = "") {
    std::string problems;
    for (const auto& problem : decision.problems)
        problems += problem.text + "\n";
    bool held = decision.verdict == expected && decision.problems.size() == (parts.empty() ? 0 : 1);
    for (const std::string& part : parts)
        held = held && decision.problems[0].text.find(part) != std::string::npos;
    if (!held)
        fail_msg("%sverdict %d, expected %d with \"%s\"; problems:\n%s", row.c_str(),
                 static_cast<int>(decision.verdict), static_cast<int>(expected),
                 parts.empty() ? "" : parts.back().c_str(), problems.c_str());
}

void expectAllowed(const LimitDecision& decision) {
    expectVerdict(decision, LimitVerdict::Allowed);
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Writes a counter file by hand: private, owned by us, holding exactly `text`.
void writeFile(const std::string& path, const std::string& text) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    assert_true(fd >= 0 && fchmod(fd, 0600) == 0);
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
}

std::string counterText(const std::vector<std::time_t>& times) {
    std::string text = kHeader;
    for (std::time_t time : times)
        text += std::to_string(time) + "\n";
    return text;
}

// The send times a counter file lists; fails the test unless it is in the documented format
// and (when `from` is given) every time lies within [from, now].
std::vector<std::time_t> timesIn(const std::string& path, std::time_t from = 0) {
    const std::string text = readFile(path);
    expect_starts_with(text, kHeader);
    expect_row(text.back() == '\n', path + ": no newline at the end");
    std::vector<std::time_t> times;
    std::istringstream lines(text.substr(kHeader.size()));
    for (std::string line; std::getline(lines, line);) {
        expect_row(!line.empty() && line.find_first_not_of("0123456789") == std::string::npos,
                   path + ": not a time: '" + line + "'");
        times.push_back(static_cast<std::time_t>(std::stoll(line)));
        expect_row(from == 0 || (times.back() >= from && times.back() <= time(nullptr)),
                   path + ": " + line + " is not in [" + std::to_string(from) + ", now]");
    }
    return times;
}

mode_t modeOf(const std::string& path) {
    struct stat info {};
    assert_int_equal(lstat(path.c_str(), &info), 0);
    return info.st_mode & 07777;
}

}  // namespace

// Counting and refunds: each row is a sequence of steps on one state directory.
namespace {

// One step of a scenario: a take with its verdict (repeated), a refund, or a count to check.
struct Step {
    enum Op { Take, Refund, User, Source, Phone } op;
    std::string user, source, phone = kPhone;
    LimitVerdict verdict = LimitVerdict::Allowed;
    std::size_t n = 1;  // times to take, or sends the counter lists
};
Step take(const std::string& user, LimitVerdict verdict, std::size_t n = 1,
          const std::string& source = kSource, const std::string& phone = kPhone) {
    return {Step::Take, user, source, phone, verdict, n};
}
Step refund(const std::string& user) {
    return {Step::Refund, user, kSource};
}
// The sends a counter lists: of a user, a source or a number.
Step sends(Step::Op counter, const std::string& name, std::size_t n) {
    return {counter, name, name, name, LimitVerdict::Allowed, n};
}
const auto userSends = [](const char* user, std::size_t n) { return sends(Step::User, user, n); };

struct Scenario {
    const char* name;
    SendLimit user, source, phone;
    bool limiterPerTake;  // each login is its own process: the count lives in the files
    std::vector<Step> steps;
};
// Limits of so many sends in 900 s; a call keeps a row to a few lines.
Scenario scenario(const char* name, int user, int source, bool perTake, std::vector<Step> steps,
                  int phone = kAnyPhone.count) {
    return {name, {user, 900}, {source, 900}, {phone, 900}, perTake, std::move(steps)};
}

// A refused send has no problem to log either; every time counted lies in [before, now].
void runStep(const State& state, FileSendLimiter& shared, const Scenario& row, const Step& step,
             std::time_t before) {
    const std::string name = row.name;
    if (step.op == Step::Take) {
        for (std::size_t i = 0; i < step.n; ++i) {
            FileSendLimiter own = state.limiter(row.user, row.source, row.phone);
            const LimitDecision decision =
                (row.limiterPerTake ? own : shared).take({step.user, step.source, step.phone});
            expectVerdict(
                decision, step.verdict, {},
                "row \"" + name + "\": " + step.user + " #" + std::to_string(i + 1) + ": ");
        }
    } else if (step.op == Step::Refund) {
        shared.refund({step.user, step.source, kPhone});
    } else {
        const std::string path = step.op == Step::User     ? state.userFile(step.user)
                                 : step.op == Step::Source ? state.sourceFile(step.source)
                                                           : state.phoneFile(step.phone);
        expect_row(timesIn(path, before).size() == step.n, name + ": sends of " + path);
    }
}

}  // namespace

static void sends_are_counted_per_user_and_per_source(void**) {
    const std::string other = "198.51.100.7", otherPhone = "+6598765432";
    const LimitVerdict ok = LimitVerdict::Allowed, byUser = LimitVerdict::UserLimit,
                       bySource = LimitVerdict::SourceLimit, byPhone = LimitVerdict::PhoneLimit;
    const Scenario rows[] = {
        scenario("up to the user limit, from any source; other users apart", 3, 1000, false,
                 {take("alice", ok, 3), take("alice", byUser), take("alice", byUser, 1, other),
                  userSends("alice", 3), take("bob", ok)}),
        scenario("a second limiter reads the same counters", 2, 1000, true,
                 {take("alice", ok, 2), take("alice", byUser)}),
        scenario(
            "the source limit counts across users, not against the user", 5, 3, false,
            {take("alice", ok), take("bob", ok), take("carol", ok), take("dave", bySource),
             sends(Step::Source, kSource, 3), take("dave", ok, 1, other), userSends("dave", 1)}),
        scenario("the user limit is checked first", 1, 1, false,
                 {take("alice", ok), take("alice", byUser), take("bob", bySource)}),
        scenario("a send refused by the user limit is counted nowhere", 2, 100, false,
                 {take("alice", ok, 2), take("alice", byUser, 5), userSends("alice", 2),
                  sends(Step::Source, kSource, 2)}),
        scenario("a send refused by the source limit is counted nowhere", 100, 1, false,
                 {take("carol", ok, 1, other), take("erin", bySource, 3, other),
                  userSends("erin", 0), sends(Step::Source, other, 1)}),
        scenario("a refund gives back the last send of both counters", 1, 1, false,
                 {take("alice", ok), take("alice", byUser), refund("alice"), userSends("alice", 0),
                  sends(Step::Source, kSource, 0), take("alice", ok)}),
        scenario("a refund of nothing changes nothing", 2, 1000, false,
                 {refund("alice"), take("alice", ok, 2), take("alice", byUser)}),
        // phone_send_limit: every send to a number counts, whatever user and source asked for it.
        scenario("the phone limit counts every user and source of the number", 1000, 1000, false,
                 {take("alice", ok), take("bob", ok, 1, other), take("carol", ok),
                  take("dave", byPhone, 1, other), take("dave", ok, 1, other, otherPhone),
                  refund("carol"), take("dave", ok, 1, other), take("erin", byPhone),
                  sends(Step::Phone, kPhone, 3)},
                 3),
    };
    for (const Scenario& row : rows) {
        State state;
        FileSendLimiter shared = state.limiter(row.user, row.source, row.phone);
        const std::time_t before = time(nullptr);
        for (const Step& step : row.steps)
            runStep(state, shared, row, step, before);
    }
}

// The directories and counters are private, and their names hold neither the user nor the host
// nor anything that leads outside the directory.
static void counters_are_private_files_inside_the_directory_whatever_the_name(void**) {
    State state;
    FileSendLimiter limiter = state.limiter({1, 900});
    expectAllowed(limiter.take({"alice", kSource, kPhone}));
    assert_int_equal(modeOf(state.path), 0700);
    assert_int_equal(modeOf(state.limits()), 0700);
    assert_int_equal(modeOf(state.userFile("alice")), 0600);
    assert_int_equal(modeOf(state.sourceFile(kSource)), 0600);
    assert_int_equal(modeOf(state.phoneFile(kPhone)), 0600);
    for (const auto& entry : std::filesystem::directory_iterator(state.limits())) {
        for (const char* part : {"alice", "203.0.113", "6591234567"})
            expect_not_contains(entry.path().filename().string(), part);
    }
    for (const std::string& user : {std::string("../../etc/passwd"), std::string("a/b"),
                                    std::string("eve\n1\n2"), std::string("")}) {
        expectAllowed(limiter.take({user, "../" + user, kPhone}));
        expect_row(access(state.userFile(user).c_str(), F_OK) == 0 &&
                       access(state.sourceFile("../" + user).c_str(), F_OK) == 0,
                   user);
        expectVerdict(limiter.take({user, kSource, kPhone}), LimitVerdict::UserLimit);
    }
}

// ---- the sliding window: counters written by hand, then one take and a second one

static void only_sends_inside_the_configured_window_count(void**) {
    const std::time_t now = time(nullptr);
    const std::nullopt_t none = std::nullopt;
    const LimitVerdict ok = LimitVerdict::Allowed, byUser = LimitVerdict::UserLimit;
    using Text = std::optional<std::string>;
    struct Row {
        const char* name;
        Text userText, sourceText;               // the counters planted, if any
        int userCount, userWindow, sourceCount;  // the source window is 900 s
        LimitVerdict first, second;              // the verdicts of two takes
        std::string kept;         // the old sends the user's counter keeps, as a counter
        std::size_t sourceSends;  // what the source counter lists after the first take
    };
    const Row rows[] = {
        {"old sends are pruned and do not count",
         counterText({now - 86400, now - 5000, now - 905, now - 600}), none, 2, 900, 1000, ok,
         byUser, counterText({now - 600}), 1},
        {"a full window of old sends is empty", counterText({now - 1000, now - 990, now - 980}),
         counterText({now - 1000, now - 990, now - 980}), 3, 900, 3, ok, ok, kHeader, 1},
        {"a full window refuses and is pruned anyway",
         counterText({now - 7200, now - 100, now - 50}), none, 2, 900, 1000, byUser, byUser,
         counterText({now - 100, now - 50}), 0},
        {"inside a 3600 s window", counterText({now - 3000}), none, 1, 3600, 1000, byUser, byUser,
         counterText({now - 3000}), 0},
        {"outside a 900 s window", counterText({now - 3000}), none, 1, 900, 1000, ok, byUser,
         kHeader, 1},
        {"an empty counter file is a new counter", std::string(), kHeader, 1, 900, 1000, ok, byUser,
         kHeader, 1},
    };
    for (const Row& row : rows) {
        State state;
        state.prepare();
        if (row.userText)
            writeFile(state.userFile("alice"), *row.userText);
        if (row.sourceText)
            writeFile(state.sourceFile(kSource), *row.sourceText);
        FileSendLimiter limiter =
            state.limiter({row.userCount, row.userWindow}, {row.sourceCount, 900});
        const LimitDecision first = limiter.take({"alice", kSource, kPhone});
        expect_row(first.verdict == row.first && first.problems.empty(), row.name);
        std::vector<std::time_t> times = timesIn(state.userFile("alice"));
        if (row.first == ok) {  // the new send is listed last
            expect_row(!times.empty() && times.back() >= now && times.back() <= time(nullptr),
                       row.name);
            times.pop_back();
        }
        expect_row(counterText(times) == row.kept, row.name);
        expect_row(timesIn(state.sourceFile(kSource)).size() == row.sourceSends, row.name);
        expect_row(limiter.take({"alice", kSource, kPhone}).verdict == row.second, row.name);
    }
}

// Sends leave the window in real time: this process's own, one far in the future (a counter
// written before the clock stepped back) and a damaged counter's, rebuilt as full.
static void the_window_slides_in_real_time_past_a_time_ahead_of_the_clock(void**) {
    State state;
    state.prepare();
    writeFile(state.userFile("bob"), "garbage\n");
    writeFile(state.userFile("carol"), counterText({99999999999}));
    FileSendLimiter limiter = state.limiter({1, 2});
    expectAllowed(limiter.take({"alice", kSource, kPhone}));
    expectVerdict(limiter.take({"alice", kSource, kPhone}), LimitVerdict::UserLimit);
    expectVerdict(limiter.take({"bob", kSource, kPhone}), LimitVerdict::UserLimit, {"damaged"});
    expectVerdict(limiter.take({"carol", kSource, kPhone}), LimitVerdict::UserLimit);
    sleep(3);
    for (const std::string user : {"alice", "bob", "carol"}) {
        expectVerdict(limiter.take({user, kSource, kPhone}), LimitVerdict::Allowed, {},
                      user + ": ");
        expect_row(timesIn(state.userFile(user)).size() == 1, user);
    }
}

// ---- damaged counters

// A damaged counter is logged, rebuilt as full in the documented format (refused for a whole
// window, without a new problem when read again), and the refused send counts against nobody.
static void a_damaged_counter_is_reported_and_counted_as_full(void**) {
    const auto check = [](const std::string& row, const std::string& text, bool user) {
        State state;
        state.prepare();
        const std::string path = user ? state.userFile("alice") : state.sourceFile(kSource);
        const std::string other = user ? state.sourceFile(kSource) : state.userFile("alice");
        writeFile(path, text);
        const std::time_t before = time(nullptr);
        const SendLimit limit = user ? SendLimit{4, 900} : SendLimit{20, 900};
        FileSendLimiter limiter = user ? state.limiter(limit) : state.limiter({5, 900}, limit);
        const LimitVerdict full = user ? LimitVerdict::UserLimit : LimitVerdict::SourceLimit;
        expectVerdict(limiter.take({"alice", kSource, kPhone}), full,
                      {path, user ? "damaged" : "source"}, "row \"" + row + "\": ");
        expect_row(timesIn(path, before).size() == std::size_t(limit.count), row);
        expect_row(modeOf(path) == 0600, row);
        expect_row(timesIn(other).empty(), row);
        const LimitDecision again = limiter.take({"alice", kSource, kPhone});
        expect_row(again.verdict == full && again.problems.empty(), row);
    };
    std::string huge = kHeader;
    while (huge.size() <= 64 * 1024)  // valid lines, but more than any counter holds
        huge += std::to_string(time(nullptr) - 86400) + "\n";
    const std::pair<const char*, std::string> damages[] = {
        {"garbage", std::string("\x7f") + "ELF\x02\x01\x01garbage"},
        {"text without a header", "1800000000\n1800000001\n"},
        {"wrong header", "verif8-sends 2\n1800000000\n"},
        {"header without newline", "verif8-sends 1"},
        {"a non-number line", kHeader + std::to_string(time(nullptr)) + "\nabc\n"},
        {"a negative number", kHeader + "-5\n"},
        {"an empty line", kHeader + "\n"},
        {"a number too long", kHeader + "1234567890123\n"},
        {"over 64 KiB", huge},
    };
    for (const auto& [what, text] : damages)
        check(what, text, true);
    check("a source counter with a bad line", "verif8-sends 1\n17x\n", false);
}

// ---- counters and directories that cannot be trusted: the directories and each counter are
// opened checked (one case each here; every rule, kind of file and owner: test_safe_file.cpp)

// Nothing is written through a link, and nothing is created in a directory others may write to.
static void an_untrusted_counter_or_directory_is_unavailable(void**) {
    const char* const names[] = {"symlinked user counter", "symlinked source counter",
                                 "group-writable state dir", "group-writable limits dir"};
    for (int row = 0; row < 4; ++row) {
        State state;
        state.prepare();
        const std::string target = state.dir.file("precious\n");
        const std::string path = std::vector<std::string>{
            state.userFile("alice"), state.sourceFile(kSource), state.path, state.limits()}[row];
        const bool link = row < 2;
        assert_int_equal(link ? symlink(target.c_str(), path.c_str()) : chmod(path.c_str(), 0770),
                         0);
        expectVerdict(state.limiter({5, 900}).take({"alice", kSource, kPhone}),
                      LimitVerdict::Unavailable,
                      {path + (link ? ": is a symbolic link" : ": has mode 0770")},
                      std::string("row \"") + names[row] + "\": ");
        expect_row(readFile(target) == "precious\n", names[row]);
        expect_row(link || access(state.userFile("alice").c_str(), F_OK) != 0, names[row]);
    }
}

// A lock held far longer than any login holds one: a stopped process. The login waits a bounded
// time, then sends nothing.
static void a_counter_locked_too_long_is_busy(void**) {
    State state;
    state.prepare();
    expectAllowed(state.limiter({5, 900}).take({"alice", kSource, kPhone}));
    const int holder = open(state.userFile("alice").c_str(), O_RDWR);
    assert_true(holder >= 0);
    assert_int_equal(flock(holder, LOCK_EX), 0);
    FileSendLimiter limiter(state.path, {5, 900}, {1000, 900}, kAnyPhone, geteuid(), 200);
    expectVerdict(limiter.take({"alice", kSource, kPhone}), LimitVerdict::Busy,
                  {state.userFile("alice"), "locked by another process"});
    assert_int_equal(timesIn(state.userFile("alice")).size(), 1);  // nothing counted
    close(holder);  // released: the next login goes on
    expectAllowed(limiter.take({"alice", kSource, kPhone}));
}

// ---- concurrency: sshd forks one process per connection

namespace {
// Forks `children` processes that wait on a pipe, then all call take() at once; returns
// how many were Allowed without a problem, refused without one, and anything else.
std::array<int, 3> race(const State& state, int children, SendLimit user, SendLimit source,
                        SendLimit phone, bool differentUsers) {
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < children; ++i) {
        const pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(gate[1]);
            char byte;
            (void)!read(gate[0], &byte, 1);  // EOF: everyone starts
            FileSendLimiter limiter(state.path, user, source, phone, geteuid());
            const LimitDecision decision = limiter.take(
                {differentUsers ? "user" + std::to_string(i) : "alice", kSource, kPhone});
            const LimitVerdict v = decision.verdict;
            const bool refused = v == LimitVerdict::UserLimit || v == LimitVerdict::SourceLimit ||
                                 v == LimitVerdict::PhoneLimit;
            const bool allowed = v == LimitVerdict::Allowed;
            _exit(decision.problems.empty() && (allowed || refused) ? int(refused) : 2);
        }
        pids.push_back(pid);
    }
    close(gate[0]);
    close(gate[1]);  // every child's read returns at once
    std::array<int, 3> counts{};
    for (pid_t pid : pids) {
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        ++counts[WIFEXITED(status) ? std::min(WEXITSTATUS(status), 2) : 2];
    }
    return counts;
}

}  // namespace

static void concurrent_sends_are_counted_exactly(void**) {
    const struct {
        const char* name;
        SendLimit user, source, phone;
        bool differentUsers;
        int allowed;
    } rows[] = {
        {"one user", {5, 900}, {1000, 900}, kAnyPhone, false, 5},
        {"one source", {5, 900}, {7, 900}, kAnyPhone, true, 7},
        // Twenty user names mapped to one number.
        {"one number", {5, 900}, {1000, 900}, {6, 3600}, true, 6},
    };
    for (const auto& row : rows) {
        for (int round = 0; round < (row.differentUsers ? 1 : 3); ++round) {
            State state;
            // The directories are created by the racers too, at the same moment.
            const auto [allowed, refused, other] =
                race(state, 20, row.user, row.source, row.phone, row.differentUsers);
            expect_row(other == 0 && allowed == row.allowed && refused == 20 - row.allowed,
                       row.name);
            expect_row(timesIn(state.sourceFile(kSource)).size() == std::size_t(row.allowed),
                       row.name);
            expect_row(timesIn(state.phoneFile(kPhone)).size() == std::size_t(row.allowed),
                       row.name);
            if (!row.differentUsers)
                expect_row(timesIn(state.userFile("alice")).size() == 5, row.name);
        }
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sends_are_counted_per_user_and_per_source),
        cmocka_unit_test(counters_are_private_files_inside_the_directory_whatever_the_name),
        cmocka_unit_test(only_sends_inside_the_configured_window_count),
        cmocka_unit_test(the_window_slides_in_real_time_past_a_time_ahead_of_the_clock),
        cmocka_unit_test(a_damaged_counter_is_reported_and_counted_as_full),
        cmocka_unit_test(an_untrusted_counter_or_directory_is_unavailable),
        cmocka_unit_test(a_counter_locked_too_long_is_busy),
        cmocka_unit_test(concurrent_sends_are_counted_exactly),
    };
    return cmocka_run_group_tests_name("send_limiter", tests, nullptr, nullptr);
}
