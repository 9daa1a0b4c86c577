// runUnstoppable: state changes the caller of su can neither stop nor signal.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "support.hpp"
#include "verif8/Unstoppable.hpp"

using namespace verif8;

namespace {
// What the process running the work is: its pid, session, and every uid and gid.
std::string describeSelf() {
    uid_t ruid = 9, euid = 9, suid = 9;
    gid_t rgid = 9, egid = 9, sgid = 9;
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    return std::to_string(getpid()) + " " + std::to_string(getsid(0)) + " " + std::to_string(ruid) +
           std::to_string(euid) + std::to_string(suid) + std::to_string(rgid) +
           std::to_string(egid) + std::to_string(sgid);
}
}  // namespace

static void in_a_child_the_work_runs_as_root_in_a_session_of_its_own(void**) {
    if (geteuid() != 0)
        skip();  // becoming root in every id needs root
    const WorkResult work = runUnstoppable(describeSelf, 2000, ShieldMode::Child);
    if (work.verdict != WorkVerdict::Done)
        fail_msg("no reply: %s", work.problem ? work.problem->text.c_str() : "?");
    const std::string& reply = work.reply;
    const std::string pid = reply.substr(0, reply.find(' '));
    assert_true(pid != std::to_string(getpid()));                 // another process
    expect_starts_with(reply.substr(pid.size() + 1), pid + " ");  // leading its own session
    expect_str(reply.substr(reply.rfind(' ') + 1), "000000");     // root in every id
}

static void the_caller_of_su_cannot_signal_the_child(void**) {
    if (geteuid() != 0)
        skip();
    // Run as su is run: real uid the caller's, effective uid 0. The work reports whether a
    // process of the caller's (real uid 2010) may signal it.
    const pid_t su = fork();
    assert_true(su >= 0);
    if (su == 0) {
        if (setresuid(2010, 0, 0) != 0)
            _exit(2);
        assert_true(callerCanSignal());
        const WorkResult work = runUnstoppable(
            [] {
                const pid_t worker = getpid();
                const pid_t caller = fork();
                if (caller == 0) {
                    // The caller: a process of uid 2010 trying to stop the worker.
                    if (setresuid(2010, 2010, 2010) != 0)
                        _exit(2);
                    _exit(kill(worker, SIGSTOP) == 0 ? 1 : errno == EPERM ? 0 : 3);
                }
                int status = 0;
                waitpid(caller, &status, 0);
                return std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
            },
            2000);  // Auto: a child, because the caller may signal this process
        _exit(work.verdict == WorkVerdict::Done && work.reply == "0" ? 0 : 1);
    }
    int status = 0;
    waitpid(su, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void work_that_hangs_or_throws_is_a_failure_not_a_reply(void**) {
    if (geteuid() != 0)
        skip();
    const auto start = std::chrono::steady_clock::now();
    const WorkResult late = runUnstoppable(
        [] {
            sleep(30);
            return std::string("late");
        },
        200, ShieldMode::Child);
    assert_true(late.verdict == WorkVerdict::TimedOut);
    expect_contains(late.problem->text, "not done within 200 ms");
    assert_true(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    const WorkResult thrown =
        runUnstoppable([]() -> std::string { throw std::bad_alloc(); }, 2000, ShieldMode::Child);
    assert_true(thrown.verdict == WorkVerdict::Failed);
    expect_contains(thrown.problem->text, "failed");
}

static void inline_work_runs_here_with_the_terminal_stops_held(void**) {
    const WorkResult work = runUnstoppable(
        [] {
            sigset_t mask;
            pthread_sigmask(SIG_BLOCK, nullptr, &mask);
            return std::to_string(getpid()) + (sigismember(&mask, SIGTSTP) ? " held" : " open");
        },
        2000, ShieldMode::Inline);
    assert_true(work.verdict == WorkVerdict::Done);
    expect_str(work.reply, std::to_string(getpid()) + " held");
    sigset_t after;
    pthread_sigmask(SIG_BLOCK, nullptr, &after);
    assert_false(sigismember(&after, SIGTSTP));  // given back
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_a_child_the_work_runs_as_root_in_a_session_of_its_own),
        cmocka_unit_test(the_caller_of_su_cannot_signal_the_child),
        cmocka_unit_test(work_that_hangs_or_throws_is_a_failure_not_a_reply),
        cmocka_unit_test(inline_work_runs_here_with_the_terminal_stops_held),
    };
    return cmocka_run_group_tests_name("unstoppable", tests, nullptr, nullptr);
}
