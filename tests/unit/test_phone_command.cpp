// PhoneCommand: an administrator's program prints a user's phone; everything else about it is
// distrusted (ownership, mode, links, output, time, environment, inherited descriptors).
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "verif8/PhoneCommand.hpp"

using namespace verif8;
using Kind = EnrolmentLookup::Kind;

namespace {

const std::string kPhone = "+6591234567";

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::string joined(const std::vector<Problem>& problems) {
    std::string text;
    for (const auto& problem : problems)
        text += problem.text + "\n";
    return text;
}

// A temp directory for scripts and for what they write.
struct Scripts {
    test::TempDir dir;

    // A /bin/sh script with `body`, owned by us, with `mode`.
    std::string script(const std::string& body, mode_t mode = 0755) const {
        return dir.file("#!/bin/sh\n" + body + "\n", mode);
    }
    std::string at(const std::string& name) const { return dir.path() + "/" + name; }
};

EnrolmentLookup run(const std::vector<std::string>& command, const std::string& user = "alice",
                    Channel defaultChannel = Channel::Sms, uid_t owner = geteuid(),
                    int timeoutMs = 5000) {
    PhoneCommand phones(command, defaultChannel, owner, timeoutMs);
    return phones.find(user);
}

// Found, or else a failure naming `row` with the problems.
void expectFound(const EnrolmentLookup& lookup, const std::string& row = "") {
    if (lookup.kind != Kind::Found || !lookup.entry)
        fail_msg("%s: not found; problems:\n%s", row.c_str(), joined(lookup.problems).c_str());
}

// Unavailable (the login fails closed, whatever unenrolled says), with exactly one problem that
// names the reason, in one line, and quotes nothing of the phone.
void expectRefused(const EnrolmentLookup& lookup, const std::string& reason,
                   const std::string& row = "") {
    const bool one = lookup.problems.size() == 1;
    const std::string problem = one ? lookup.problems[0].text : joined(lookup.problems);
    if (lookup.kind != Kind::Unavailable || lookup.entry || !one ||
        problem.rfind("phone_command: ", 0) != 0 || problem.find(reason) == std::string::npos ||
        test::hasControlBytes(problem) || problem.find("912345678901234567") != std::string::npos)
        fail_msg("%s: expected one problem naming \"%s\", got:\n%s", row.c_str(), reason.c_str(),
                 problem.c_str());
}

// The text after `label` up to the end of its line.
std::string lineAfter(const std::string& text, const std::string& label) {
    const std::size_t at = text.find(label);
    if (at == std::string::npos)
        fail_msg("no \"%s\" in:\n%s", label.c_str(), text.c_str());
    const std::size_t from = at + label.size();
    return text.substr(from, text.find('\n', from) - from);
}

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Whether the process whose pid the file holds ends (a zombie waiting for its reaper counts as
// ended) within 2 s; it is killed when not.
bool endsSoon(const std::string& pidFile) {
    const pid_t pid = static_cast<pid_t>(std::atol(readFile(pidFile).c_str()));
    if (pid <= 1)
        fail_msg("no pid in %s", pidFile.c_str());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
        const std::size_t close = stat.rfind(')');
        if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z' ||
            stat[close + 2] == 'X')
            return true;
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace

// ---- what the output and the exit status make of a lookup: a phone (with its channels, or the
// default one), no phone (empty output, exit 0, no problem), or a problem naming the reason.
// Every answer comes within 3 s, endless output included.

static void the_output_and_the_status_decide_the_lookup(void**) {
    const char* const shape = "its output is not 'PHONE [CHANNEL,...]'";
    const struct {
        const char* body;
        const char* reason = nullptr;  // none: found, or not enrolled when `channels` is empty
        std::vector<Channel> channels = {};
        Channel fallback = Channel::Sms;
        int timeoutMs = 5000;
    } rows[] = {
        {"echo '+6591234567 sms,voice'", nullptr, {Channel::Sms, Channel::Voice}},
        {"echo +6591234567", nullptr, {Channel::Sms}},  // no channels: the default one
        {"echo '+6591234567'", nullptr, {Channel::Voice}, Channel::Voice},
        {"printf '+6591234567\\n'", nullptr, {Channel::Viber}, Channel::Viber},
        {"printf '  +6591234567\\tvoice  \\r\\n\\n'", nullptr, {Channel::Voice}},  // blanks, CRLF
        {"exit 0"},
        {"true"},
        {"printf '\\n'"},
        {"printf '  \\n\\t\\n'"},
        {"echo +6591234567\nexit 3", "exited with status 3"},
        {"exit 1", "exited with status 1"},
        {"exit 255", "exited with status 255"},
        {"echo +6591234567\nkill -KILL $$", "signal 9"},
        {"echo garbage", shape},
        {"echo 6591234567", shape},
        {"echo +65", shape},
        {"echo 'alice +6591234567'", shape},
        {"echo '+6591234567 carrier-pigeon'", shape},
        {"echo '+6591234567 sms extra'", shape},
        {"echo '+65912345678901234567'", "is not 'PHONE"},  // the phone is not quoted
        {"printf '+6591234567 \\033[31msms\\n'", "control characters"},
        {"echo +6591234567\necho +6598765432", "more than one line"},
        {"printf '+6591234567\\n\\n+6598765432\\n'", "more than one line"},
        {"head -c 5000 /dev/zero | tr '\\0' 'x'", "more than 4096 bytes"},
        // Exactly the limit is read whole (and then judged on its content).
        {"head -c 4096 /dev/zero | tr '\\0' 'x'", "is not 'PHONE"},
        {"exec yes +6591234567", "more than 4096 bytes"},
        {"exec sleep 30", "no answer within 1 s", {}, Channel::Sms, 1000},  // in whole seconds
    };
    Scripts s;
    // Then again in a host that ignores SIGCHLD, which would lose the exit status (waitpid:
    // ECHILD) if the lookup did not set it aside; the host's setting is given back.
    for (const auto host : {SIG_DFL, SIG_IGN}) {
        signal(SIGCHLD, host);
        for (const auto& row : rows) {
            const auto start = std::chrono::steady_clock::now();
            const auto lookup =
                run({s.script(row.body)}, "alice", row.fallback, geteuid(), row.timeoutMs);
            const std::string name = std::string(row.body) + (host == SIG_IGN ? " (SIG_IGN)" : "");
            expect_row(secondsSince(start) < 3.0, name);
            expect_row(signal(SIGCHLD, host) == host, name);
            if (row.reason) {
                expectRefused(lookup, row.reason, name);
            } else if (row.channels.empty()) {
                expect_row(lookup.kind == Kind::NotEnrolled && !lookup.entry, name);
                expect_row(lookup.problems.empty(), name);
            } else {
                expectFound(lookup, name);
                expect_row(lookup.entry->user == "alice" && lookup.entry->phone == kPhone, name);
                expect_row(lookup.entry->channels == row.channels && lookup.problems.empty(), name);
            }
        }
    }
    signal(SIGCHLD, SIG_DFL);
}

// ---- the command line

// The user replaces every "%u" in the arguments; the replacement is not searched again, and
// nothing in it is interpreted (no shell). Each argument ends in '|' where the program saw it.
// "%u" in the program's path is not replaced: the program checked must be the program run.
static void the_user_replaces_percent_u_in_the_arguments_only(void**) {
    Scripts s;
    const std::string program = s.at("look%u"), lookalike = s.at("lookalice");
    std::ofstream(program) << "#!/bin/sh\nprintf '%s|' \"$@\" > " << s.at("args")
                           << "\necho +6591234567\n";
    std::ofstream(lookalike) << "#!/bin/sh\ntouch " << s.at("pwned") << "\necho +6500000000\n";
    chmod(program.c_str(), 0755);
    chmod(lookalike.c_str(), 0777);  // writable by anyone: must never run
    const std::string odd = "%u;$(touch " + s.at("pwned") + ") *";
    const struct {
        const char* name;
        std::vector<std::string> command;
        std::string user, seen;
    } rows[] = {
        {"in every argument",
         {program, "%u", "--user=%u@%u.example", "plain"},
         "alice",
         "alice|--user=alice@alice.example|plain|"},
        {"as one argument, without a shell", {program, "%u", "x%uy"}, odd, odd + "|x" + odd + "y|"},
    };
    for (const auto& row : rows) {
        const auto lookup = run(row.command, row.user);
        expect_row(lookup.kind == Kind::Found && lookup.entry && lookup.entry->phone == kPhone,
                   row.name);
        expect_row(readFile(s.at("args")) == row.seen, row.name);
        expect_row(access(s.at("pwned").c_str(), F_OK) != 0, row.name);
    }
}

// ---- time limit: it covers the program's whole life, and what it leaves in its session ends
// with it

static void the_program_and_what_it_leaves_are_stopped(void**) {
    Scripts s;
    const std::string pid = s.at("pid");
    const struct {
        const char* name;
        std::string body;
        int timeoutMs;
        const char* reason;  // none: the phone is found
        double least;        // seconds the lookup takes at least
    } rows[] = {
        {"a slow program, with its children",
         "sleep 30 &\necho $! > " + pid + "\nwait\necho +6591234567", 300,
         "no answer within 300 ms", 0.25},
        {"a background child holding the output (the program itself ends at once)",
         "sleep 30 &\necho $! > " + pid + "\necho +6591234567\nexit 0", 300,
         "no answer within 300 ms", 0},
        {"a program that closes its output and lingers",
         "echo +6591234567\nexec >&-\necho $$ > " + pid + "\nexec sleep 30", 400,
         "no answer within 400 ms; stopped", 0.3},
        {"a background job with its output closed, when the program exits",
         "sleep 30 >/dev/null 2>&1 &\necho $! > " + pid + "\necho +6591234567", 5000, nullptr, 0},
    };
    for (const auto& row : rows) {
        const auto start = std::chrono::steady_clock::now();
        const auto lookup =
            run({s.script(row.body)}, "alice", Channel::Sms, geteuid(), row.timeoutMs);
        const double took = secondsSince(start);
        expect_row(took >= row.least && took < 3.0, row.name);
        if (row.reason)
            expectRefused(lookup, row.reason, row.name);
        else
            expectFound(lookup, row.name);
        expect_row(endsSoon(pid), row.name);
    }
}

// ---- the program itself: opened checked and run from that descriptor (one case here; every
// rule, kind of file and owner: test_safe_file.cpp)

static void a_group_writable_program_or_none_is_refused(void**) {
    Scripts s;
    const std::string program = s.script("touch " + s.at("ran") + "\necho +6591234567", 0775);
    expectRefused(run({program}), program + ": has mode 0775; it must be not writable");
    assert_int_not_equal(access(s.at("ran").c_str(), F_OK), 0);
    expectRefused(run({}), "no program configured");
}

// ---- what the program is given

// For the while, our stdin is a file, and another is open without O_CLOEXEC, as a host might (on
// a descriptor above 3, which the program's own file takes in the child).
static void the_program_gets_none_of_our_descriptors(void**) {
    Scripts s;
    const std::string ours = s.dir.file("not for the program\n"), seen = s.at("seen");
    const int saved = dup(STDIN_FILENO), file = open(ours.c_str(), O_RDONLY);
    const int extra = fcntl(file, F_DUPFD, 20);
    assert_true(saved >= 0 && file >= 0 && extra >= 20);
    dup2(file, STDIN_FILENO);
    close(file);
    const struct {
        const char* name;
        std::string body;
        const char* seen;
    } rows[] = {
        {"stdin is /dev/null", "readlink /proc/$$/fd/0 > " + seen + "\ncat", "/dev/null\n"},
        {"stderr is /dev/null, not the output",
         "readlink /proc/$$/fd/2 > " + seen + "\necho 'lookup warning' >&2", "/dev/null\n"},
        {"no other descriptor is inherited",
         "if [ -e /proc/$$/fd/" + std::to_string(extra) +
             " ]; then echo inherited; else echo closed; fi > " + seen,
         "closed\n"},
    };
    std::vector<std::string> found;  // each row's phone, then what it saw
    for (const auto& row : rows) {
        const auto lookup = run({s.script(row.body + "\necho +6591234567")});
        found.push_back(lookup.entry ? lookup.entry->phone : "");
        found.push_back(readFile(seen));
    }
    dup2(saved, STDIN_FILENO);
    close(saved);
    close(extra);
    for (std::size_t i = 0; i < std::size(rows); ++i)
        expect_row(found[2 * i] == kPhone && found[2 * i + 1] == rows[i].seen, rows[i].name);
}

// su's credentials (real uid the caller's, effective uid 0, the caller's groups), umask,
// directory, ignored signals, soft limits and environment: the program has none of them.
static void the_program_runs_as_root_in_slash_whatever_the_caller_is(void**) {
    Scripts s;
    assert_int_equal(chmod(s.dir.path().c_str(), 0755), 0);
    const std::string program = s.script(
        "{ cat /proc/$$/status; echo cwd=$(pwd); echo umask=$(umask); cat /proc/$$/limits;"
        "  echo sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$; } > " +
        s.at("seen") + "\ntr '\\0' '\\n' < /proc/$$/environ > " + s.at("env") +
        "\necho +6591234567");
    const pid_t tester = fork();
    assert_true(tester >= 0);
    if (tester == 0) {
        const gid_t groups[] = {4321};
        const rlimit core{RLIM_INFINITY, RLIM_INFINITY};
        const rlimit files{64, 4096};
        const bool asSu = setgroups(1, groups) == 0 && setresgid(4321, 4321, 4321) == 0 &&
                          setresuid(4321, 0, 0) == 0 && chdir("/tmp") == 0 &&
                          setrlimit(RLIMIT_CORE, &core) == 0 &&
                          setrlimit(RLIMIT_NOFILE, &files) == 0;
        umask(0);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        setenv("VERIF8_TEST_SECRET", "leaked", 1);
        setenv("https_proxy", "http://proxy.invalid:3128", 1);
        // The attack is in place: real uid unprivileged, effective uid 0.
        if (!asSu || getuid() != 4321 || geteuid() != 0)
            _exit(2);
        PhoneCommand phones({program}, Channel::Sms, geteuid(), 5000);
        _exit(phones.find("alice").kind == Kind::Found ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(tester, &status, 0), tester);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    const std::string seen = readFile(s.at("seen"));
    for (const char* line : {"Uid:\t0\t0\t0\t0\n", "Gid:\t0\t0\t0\t0\n", "cwd=/\n", "umask=0077\n"})
        expect_contains(seen, line);
    // No ignored signal, but those glibc reserves below SIGRTMIN (a parent such as make may
    // ignore them, and no process can change them through glibc).
    unsigned long long ignored = std::stoull(lineAfter(seen, "SigIgn:\t"), nullptr, 16);
    for (int number = 32; number < SIGRTMIN; ++number)
        ignored &= ~(1ULL << (number - 1));
    assert_int_equal(ignored, 0);
    // No supplementary groups: nothing but blanks after "Groups:".
    assert_true(lineAfter(seen, "Groups:").find_first_not_of(" \t") == std::string::npos);
    expect_starts_with(lineAfter(seen, "Max core file size"), "        0 ");
    expect_starts_with(lineAfter(seen, "Max open files"), "            1024 ");
    const std::string ids = lineAfter(seen, "sid=");  // its own session: "SID pid=PID"
    expect_str(ids.substr(0, ids.find(' ')), ids.substr(ids.find(" pid=") + 5));
    // Of the environment, only PATH, LC_ALL=C and HOME=/.
    const std::string env = readFile(s.at("env"));
    std::set<std::string> names;
    std::istringstream lines(env);
    for (std::string line; std::getline(lines, line);)
        names.insert(line.substr(0, line.find('=')));
    expect_row((names == std::set<std::string>{"PATH", "LC_ALL", "HOME"}), "environment:\n" + env);
    for (const char* part : {"LC_ALL=C\n", "HOME=/\n", "PATH=/"})
        expect_contains(env, part);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_output_and_the_status_decide_the_lookup),
        cmocka_unit_test(the_user_replaces_percent_u_in_the_arguments_only),
        cmocka_unit_test(the_program_and_what_it_leaves_are_stopped),
        cmocka_unit_test(the_program_runs_as_root_in_slash_whatever_the_caller_is),
        cmocka_unit_test(a_group_writable_program_or_none_is_refused),
        cmocka_unit_test(the_program_gets_none_of_our_descriptors),
    };
    return cmocka_run_group_tests_name("phone_command", tests, nullptr, nullptr);
}
