// PhoneCommand: fork/exec with a deadline, reading at most a few kilobytes of output.
#include "verif8/PhoneCommand.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
struct RunResult {
    bool started = false;
    bool timedOut = false;
    bool tooLong = false;
    int status = 0;  // from waitpid
    std::string output;
    std::string error;
};

// Descriptors the module holds across fork live above the standard three, so that a host that
// runs with 0, 1 or 2 closed cannot have them overwritten by the child's redirections.
int moveHigh(int fd) {
    if (fd < 0)
        return fd;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return moved;
}

// Opens the program and checks the open file, so that the file checked is the file run
// (fexecve): no window in which it could be swapped for another.
int openProgram(const std::string& path, uid_t owner, std::string& problem) {
    const int fd = moveHigh(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (fd < 0) {
        problem = path + ": " + (errno == ELOOP ? "is a symbolic link" : strerror(errno));
        return -1;
    }
    struct stat info {};
    if (fstat(fd, &info) != 0)
        problem = path + ": " + strerror(errno);
    else if (!S_ISREG(info.st_mode))
        problem = path + ": not a regular file";
    else if (info.st_uid != owner)
        problem = path + ": must be owned by uid " + std::to_string(owner);
    else if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        problem = path + ": must not be writable by group or others";
    else if ((info.st_mode & S_IXUSR) == 0)
        problem = path + ": is not executable";
    if (!problem.empty()) {
        close(fd);
        return -1;
    }
    return fd;
}

// The host may ignore SIGCHLD (then waitpid cannot report the exit status); restore the default
// for the duration of the call, as pam_unix does for its helper.
class DefaultSigchld {
public:
    DefaultSigchld() {
        struct sigaction action {};
        action.sa_handler = SIG_DFL;
        sigemptyset(&action.sa_mask);
        sigaction(SIGCHLD, &action, &saved_);
    }
    ~DefaultSigchld() { sigaction(SIGCHLD, &saved_, nullptr); }

private:
    struct sigaction saved_ {};
};

// Everything the child needs is built before fork: a multi-threaded host may hold the
// allocator's lock at that moment, and the child must not allocate. The environment is fixed:
// HOME=/ so that no library reads the caller's ~/.ldaprc (ldapsearch would).
struct ChildPlan {
    std::vector<std::string> argv;
    std::vector<char*> args;
    char path[40] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char locale[10] = "LC_ALL=C";
    char home[7] = "HOME=/";
    char* env[4] = {path, locale, home, nullptr};

    explicit ChildPlan(std::vector<std::string> words) : argv(std::move(words)) {
        for (auto& arg : argv)
            args.push_back(arg.data());
        args.push_back(nullptr);
    }
};

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

// Under su the real uid is the caller's, and /bin/sh (and other programs) drop to it when real
// and effective ids differ; the supplementary groups are the caller's too. The program runs as
// root, all of it, or not at all.
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

// Everything of the caller's process that exec would hand on: directory, umask, limits, nice
// value, ignored signals, blocked signals, controlling terminal.
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

[[noreturn]] void runChild(int outputFd, int programFd, ChildPlan& plan) {
    const int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(outputFd, STDOUT_FILENO) < 0 ||
        dup2(null, STDERR_FILENO) < 0)
        _exit(126);
    // The program's own file as fd 3, without close-on-exec, so that an interpreter started for
    // a script can open it as /dev/fd/3.
    if (dup2(programFd, 3) < 0)
        _exit(126);
    // Nothing else of the host's (sshd's client socket, say) reaches the program.
    if (close_range(4, ~0U, 0) != 0) {
        for (int fd = 4; fd < 65536; ++fd)
            close(fd);
    }
    if (!becomeRoot() || !leaveCallersState())
        _exit(126);
    fexecve(3, plan.args.data(), plan.env);
    _exit(127);
}

// Waits until the child has ended or `deadline` has passed. On return the child is a zombie
// (not yet reaped, so its process group id cannot be reused) or still running.
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

RunResult run(int programFd, const std::vector<std::string>& argv, int timeoutMs) {
    RunResult result;
    int pipeFds[2];
    if (pipe2(pipeFds, O_CLOEXEC) != 0) {
        result.error = std::string("pipe: ") + strerror(errno);
        return result;
    }
    pipeFds[0] = moveHigh(pipeFds[0]);
    pipeFds[1] = moveHigh(pipeFds[1]);
    ChildPlan plan(argv);
    DefaultSigchld sigchld;
    const pid_t child = pipeFds[0] < 0 || pipeFds[1] < 0 ? -1 : fork();
    if (child < 0) {
        close(pipeFds[0]);
        close(pipeFds[1]);
        result.error = std::string("fork: ") + strerror(errno);
        return result;
    }
    if (child == 0)
        runChild(pipeFds[1], programFd, plan);
    close(pipeFds[1]);
    result.started = true;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    char buffer[512];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) {
            result.timedOut = true;
            break;
        }
        pollfd watch{pipeFds[0], POLLIN, 0};
        const int ready = poll(&watch, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            continue;
        const ssize_t got = read(pipeFds[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (result.output.size() + static_cast<std::size_t>(got) > PhoneCommand::kMaxOutput) {
            result.tooLong = true;
            break;
        }
        result.output.append(buffer, static_cast<std::size_t>(got));
    }
    close(pipeFds[0]);
    // The limit covers the program's whole life, not only its output: one that closes its
    // output and goes on running holds the login no longer than one that prints nothing.
    if (!result.timedOut && !result.tooLong && !waitForExit(child, deadline))
        result.timedOut = true;
    // Whatever it left running in its session (a background job) ends with it.
    kill(-child, SIGKILL);
    if (result.timedOut || result.tooLong)
        kill(child, SIGKILL);
    while (waitpid(child, &result.status, 0) < 0 && errno == EINTR) {
    }
    return result;
}

// A lookup that failed says nothing about the user: with unenrolled = ignore, taking it for
// "no phone" would let a directory outage, or a caller who makes the program fail (limits it
// cannot shed, say), skip the code. Only a clean exit with no output means "no phone".
EnrolmentLookup unavailable(std::string problem) {
    EnrolmentLookup lookup;
    lookup.kind = EnrolmentLookup::Kind::Unavailable;
    lookup.problems.push_back("phone_command: " + std::move(problem));
    return lookup;
}
}  // namespace

EnrolmentLookup PhoneCommand::find(const std::string& user) {
    if (command_.empty())
        return unavailable("no program configured");
    std::string problem;
    const int programFd = openProgram(command_.front(), owner_, problem);
    if (programFd < 0)
        return unavailable(problem);
    std::vector<std::string> argv = command_;
    // Only in the arguments: the program run must be the program checked above.
    for (auto arg = argv.begin() + 1; arg != argv.end(); ++arg) {
        for (std::size_t at = arg->find("%u"); at != std::string::npos;
             at = arg->find("%u", at + user.size()))
            arg->replace(at, 2, user);
    }
    const RunResult result = run(programFd, argv, timeoutMs_);
    close(programFd);
    if (!result.started)
        return unavailable(result.error);
    if (result.timedOut) {
        const std::string limit = timeoutMs_ % 1000 == 0 ? std::to_string(timeoutMs_ / 1000) + " s"
                                                         : std::to_string(timeoutMs_) + " ms";
        return unavailable("no answer within " + limit + "; stopped");
    }
    if (result.tooLong)
        return unavailable("more than " + std::to_string(kMaxOutput) + " bytes of output");
    if (!WIFEXITED(result.status))
        return unavailable("ended by signal " + std::to_string(WTERMSIG(result.status)));
    if (WEXITSTATUS(result.status) != 0)
        return unavailable("exited with status " + std::to_string(WEXITSTATUS(result.status)));
    std::string_view output = trim(result.output);
    if (output.empty()) {
        EnrolmentLookup none;  // a clean "no phone for this user"
        none.kind = EnrolmentLookup::Kind::NotEnrolled;
        return none;
    }
    if (output.find('\n') != std::string_view::npos)
        return unavailable("printed more than one line");
    std::string error;
    // The user is not part of the output; a stand-in keeps the users-file line format.
    auto entry = parseEnrolmentLine("user " + std::string(output), defaultChannel_, error);
    if (!entry)
        return unavailable("its output is not 'PHONE [CHANNEL,...]': " + error);
    entry->user = user;
    EnrolmentLookup lookup;
    lookup.kind = EnrolmentLookup::Kind::Found;
    lookup.entry = std::move(entry);
    return lookup;
}

std::string phoneProgramProblem(const std::string& program, uid_t owner) {
    std::string problem;
    const int fd = openProgram(program, owner, problem);
    if (fd >= 0)
        close(fd);
    return problem;
}

std::unique_ptr<EnrolmentSource> enrolmentSourceFor(const Config& config) {
    if (!config.phoneCommand.empty())
        return std::make_unique<PhoneCommand>(config.phoneCommand, config.channel);
    return std::make_unique<UsersFile>(config.usersFile, config.channel);
}

}  // namespace verif8
