// RootChild: credentials, limits, signals and session of a child the module forks.
#include "verif8/RootChild.hpp"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

namespace verif8 {

namespace {
// The limits the program runs with, whatever the caller of su set (RLIMIT_FSIZE 0 or NOFILE 3
// to make a lookup fail in a chosen way, CORE unlimited to dump what the program held). Core
// dumps stay off; the time limit below bounds the CPU a program can take.
struct ChildLimit {
    int resource;
    rlim_t soft;
    rlim_t hard;
};
constexpr rlim_t kNoLimit = RLIM_INFINITY;
constexpr ChildLimit kChildLimits[] = {
    {RLIMIT_CPU, kNoLimit, kNoLimit},
    {RLIMIT_FSIZE, kNoLimit, kNoLimit},
    {RLIMIT_DATA, kNoLimit, kNoLimit},
    {RLIMIT_STACK, 8 << 20, kNoLimit},
    {RLIMIT_CORE, 0, 0},
    {RLIMIT_RSS, kNoLimit, kNoLimit},
    {RLIMIT_NOFILE, 1024, 4096},
    {RLIMIT_AS, kNoLimit, kNoLimit},
    {RLIMIT_NPROC, kNoLimit, kNoLimit},
    {RLIMIT_MEMLOCK, 8 << 20, 8 << 20},
    {RLIMIT_LOCKS, kNoLimit, kNoLimit},
    {RLIMIT_MSGQUEUE, 819200, 819200},
    {RLIMIT_NICE, 0, 0},
    {RLIMIT_RTPRIO, 0, 0},
    {RLIMIT_RTTIME, kNoLimit, kNoLimit},
};

bool applyLimit(const ChildLimit& limit) {
    rlimit value{limit.soft, limit.hard};
    if (setrlimit(limit.resource, &value) == 0)
        return true;
    // Root without CAP_SYS_RESOURCE (many containers) cannot raise a hard limit the caller
    // lowered: the soft limit then comes as near ours as that hard limit allows. A lookup that
    // fails under it fails closed (the lookup is unavailable, not "no phone").
    rlimit current{};
    if (getrlimit(limit.resource, &current) != 0)
        return false;
    value.rlim_max = std::min(limit.hard, current.rlim_max);
    value.rlim_cur = std::min(limit.soft, value.rlim_max);
    return setrlimit(limit.resource, &value) == 0;
}

}  // namespace

int moveHigh(int fd) {
    if (fd < 0)
        return fd;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return moved;
}

DefaultSigchld::DefaultSigchld() {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(SIGCHLD, &action, &saved_);
}

DefaultSigchld::~DefaultSigchld() {
    sigaction(SIGCHLD, &saved_, nullptr);
}

bool becomeRoot() {
    if (setgroups(0, nullptr) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
        return false;
    uid_t ruid = 1, euid = 1, suid = 1;
    gid_t rgid = 1, egid = 1, sgid = 1;
    gid_t extra[1];
    return getresuid(&ruid, &euid, &suid) == 0 && getresgid(&rgid, &egid, &sgid) == 0 &&
           ruid == 0 && euid == 0 && suid == 0 && rgid == 0 && egid == 0 && sgid == 0 &&
           getgroups(1, extra) == 0;
}

bool leaveCallersState() {
    if (chdir("/") != 0)
        return false;
    umask(077);
    for (const ChildLimit& limit : kChildLimits) {
        if (!applyLimit(limit))
            return false;
    }
    // Best effort: a caller's nice value only slows the program down, and raising the priority
    // back needs CAP_SYS_NICE, which some containers withhold from root.
    setpriority(PRIO_PROCESS, 0, 0);
    // A signal the caller ignores stays ignored across exec; handlers are reset by exec anyway.
    // glibc keeps the two signals below SIGRTMIN for itself and refuses to change them here;
    // the program's own C library sets them up when it starts.
    for (int number = 1; number < NSIG; ++number) {
        if (number == SIGKILL || number == SIGSTOP)
            continue;
        signal(number, SIG_DFL);  // fails harmlessly for numbers that are not signals
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0)
        return false;
    // A session of its own: no controlling terminal (the caller's), and a process group the
    // time limit can end as a whole.
    return setsid() >= 0;
}

bool waitForExit(pid_t child, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        siginfo_t info{};
        const int ready =
            waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOHANG | WNOWAIT);
        if (ready == 0 && info.si_pid == child)
            return true;
        if (ready != 0 && errno != EINTR)
            return true;  // nothing to wait for: waitpid below says what happened
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        const timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, nullptr);
    }
}

}  // namespace verif8
