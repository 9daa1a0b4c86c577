// Unstoppable: a forked root child, or this process with job-control stops held back.
//
// A lock file (flock) cannot be taken from a process that holds it, and a stopped process holds
// its locks for as long as it stays stopped: under su, whose real uid is the caller's, the
// caller may SIGSTOP it while it holds the lock on the session table or a send counter (the
// caller can time it: /proc/locks is world-readable). Waiting with a time limit would then fail
// every other login that needs the file. The work is moved where the caller cannot reach it.
//
// The child allocates (the work builds strings): glibc's fork() takes and releases the
// allocator's locks around the fork, so a child of a multi-threaded host may allocate; the work
// uses nothing else that another thread could have held (no stdio, no locale, no syslog).
#include "verif8/Unstoppable.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "verif8/RootChild.hpp"

namespace verif8 {

namespace {
constexpr std::string_view kDone = "done\n";

// Job control (Ctrl-Z, a background read or write) stops a process with signals that, unlike
// SIGSTOP, can be held back: a terminal's user is not always root's equal (login on a console).
class HeldStops {
public:
    HeldStops() {
        sigset_t stops;
        sigemptyset(&stops);
        sigaddset(&stops, SIGTSTP);
        sigaddset(&stops, SIGTTIN);
        sigaddset(&stops, SIGTTOU);
        pthread_sigmask(SIG_BLOCK, &stops, &saved_);
    }
    ~HeldStops() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
    HeldStops(const HeldStops&) = delete;
    HeldStops& operator=(const HeldStops&) = delete;

private:
    sigset_t saved_{};
};

[[noreturn]] void runChild(int output, const std::function<std::string()>& work) {
    if (!becomeRoot() || !leaveCallersState())
        _exit(126);
    try {
        const std::string reply = std::string(kDone) + work();
        for (std::size_t done = 0; done < reply.size();) {
            const ssize_t wrote = write(output, reply.data() + done, reply.size() - done);
            if (wrote < 0 && errno == EINTR)
                continue;
            if (wrote <= 0)
                _exit(1);
            done += static_cast<std::size_t>(wrote);
        }
    } catch (...) {
        _exit(1);
    }
    _exit(0);
}

using Clock = std::chrono::steady_clock;

// Reads the child's reply until it closes its end; false when the deadline came first.
bool readReply(int input, Clock::time_point deadline, std::string& reply) {
    char buffer[4096];
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return false;
        pollfd watch{input, POLLIN, 0};
        const int ready = poll(&watch, 1, static_cast<int>(left));
        if (ready <= 0)
            continue;  // EINTR, or the time is up (checked above)
        const ssize_t got = read(input, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return true;
        reply.append(buffer, static_cast<std::size_t>(got));
    }
}

// Forks the child that runs `work`, writing to a pipe whose reading end is returned in `input`.
Result<pid_t> startChild(const std::function<std::string()>& work, int& input) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return Problem(std::string("pipe: ") + strerror(errno));
    fds[0] = moveHigh(fds[0]);
    fds[1] = moveHigh(fds[1]);
    const pid_t child = fds[0] < 0 || fds[1] < 0 ? -1 : fork();
    if (child < 0) {
        const Problem problem(std::string("fork: ") + strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return problem;
    }
    if (child == 0) {
        close(fds[0]);
        runChild(fds[1], work);
    }
    close(fds[1]);
    input = fds[0];
    return child;
}

WorkResult inChild(const std::function<std::string()>& work, int timeoutMs) {
    const DefaultSigchld sigchld;
    int input = -1;
    const auto started = startChild(work, input);
    if (!started)
        return {WorkVerdict::Failed, "", started.problem()};
    const pid_t child = started.value();
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    std::string reply;
    bool timedOut = !readReply(input, deadline, reply);
    close(input);
    if (!timedOut && !waitForExit(child, deadline))
        timedOut = true;
    if (timedOut)
        kill(child, SIGKILL);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (timedOut)
        return {WorkVerdict::TimedOut, "",
                Problem("not done within " + std::to_string(timeoutMs) + " ms; stopped")};
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        reply.compare(0, kDone.size(), kDone) != 0)
        return {WorkVerdict::Failed, "",
                Problem(WIFEXITED(status) && WEXITSTATUS(status) == 126
                            ? "could not become root in every id"
                            : "the worker process failed")};
    return {WorkVerdict::Done, reply.substr(kDone.size()), std::nullopt};
}
}  // namespace

bool callerCanSignal() {
    uid_t real = 0, effective = 0, saved = 0;
    if (getresuid(&real, &effective, &saved) != 0)
        return true;
    return real != 0 || saved != 0;
}

WorkResult runUnstoppable(const std::function<std::string()>& work, int timeoutMs,
                          ShieldMode mode) {
    const bool child = mode == ShieldMode::Child || (mode == ShieldMode::Auto && callerCanSignal());
    if (child)
        return inChild(work, timeoutMs);
    const HeldStops held;
    return {WorkVerdict::Done, work(), std::nullopt};
}

}  // namespace verif8
