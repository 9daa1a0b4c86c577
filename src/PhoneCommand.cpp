// PhoneCommand: fork/exec with a deadline, reading at most a few kilobytes of output.
#include "verif8/PhoneCommand.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "verif8/RootChild.hpp"
#include "verif8/SafeFile.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
struct RunResult {
    bool timedOut = false;
    bool tooLong = false;
    int status = 0;  // from waitpid
    std::string output;
};

// Opens the program and checks the open file, so that the file checked is the file run
// (fexecve): no window in which it could be swapped for another. Moved high, so that the child's
// descriptors 0 to 3 cannot be it.
Result<FileDescriptor> openProgram(const std::string& path, uid_t owner) {
    FileRules rules;
    rules.owner = owner;
    rules.access = Access::OthersMayRead;
    rules.maxSize = std::nullopt;
    rules.executable = true;
    auto opened = openChecked(path, rules);
    if (!opened)
        return opened;
    const int high = moveHigh(opened.value().release());
    if (high < 0)
        return Problem(path + ": cannot open: " + strerror(errno));
    return FileDescriptor(high);
}

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
    // close_range by number: glibc has a wrapper only since 2.34 (Debian 11 has 2.31), the
    // kernel since 5.9; without it, every descriptor the process may have.
    long closed = -1;
#ifdef SYS_close_range
    closed = syscall(SYS_close_range, 4U, ~0U, 0U);
#endif
    if (closed != 0) {
        rlimit limit{};
        const long last = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                              ? std::max<long>(65536, static_cast<long>(limit.rlim_cur))
                              : 65536;
        for (long fd = 4; fd < last; ++fd)
            close(static_cast<int>(fd));
    }
    if (!becomeRoot() || !leaveCallersState())
        _exit(126);
    fexecve(3, plan.args.data(), plan.env);
    _exit(127);
}

// Reads the program's output until it closes it, the deadline passes or it prints too much.
void readOutput(const FileDescriptor& pipe, std::chrono::steady_clock::time_point deadline,
                RunResult& result) {
    char buffer[512];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) {
            result.timedOut = true;
            return;
        }
        pollfd watch{pipe.get(), POLLIN, 0};
        const int ready = poll(&watch, 1, static_cast<int>(left));
        if (ready <= 0)
            continue;  // EINTR, or time to look at the deadline again
        const ssize_t got = read(pipe.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return;
        if (result.output.size() + static_cast<std::size_t>(got) > PhoneCommand::kMaxOutput) {
            result.tooLong = true;
            return;
        }
        result.output.append(buffer, static_cast<std::size_t>(got));
    }
}

Result<RunResult> run(int programFd, const std::vector<std::string>& argv, int timeoutMs) {
    int pipeFds[2];
    if (pipe2(pipeFds, O_CLOEXEC) != 0)
        return Problem(std::string("pipe: ") + strerror(errno));
    FileDescriptor output(moveHigh(pipeFds[0]));
    FileDescriptor input(moveHigh(pipeFds[1]));
    ChildPlan plan(argv);
    DefaultSigchld sigchld;
    const pid_t child = output.get() < 0 || input.get() < 0 ? -1 : fork();
    if (child < 0)
        return Problem(std::string("fork: ") + strerror(errno));
    if (child == 0)
        runChild(input.get(), programFd, plan);
    input = FileDescriptor();  // only the child writes: its exit ends the reading
    RunResult result;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    readOutput(output, deadline, result);
    output = FileDescriptor();
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
    lookup.problems.emplace_back("phone_command: " + std::move(problem));
    return lookup;
}
}  // namespace

EnrolmentLookup PhoneCommand::find(const std::string& user) {
    if (command_.empty())
        return unavailable("no program configured");
    const auto program = openProgram(command_.front(), owner_);
    if (!program)
        return unavailable(program.problem().text);
    std::vector<std::string> argv = command_;
    // Only in the arguments: the program run must be the program checked above.
    for (auto arg = argv.begin() + 1; arg != argv.end(); ++arg) {
        for (std::size_t at = arg->find("%u"); at != std::string::npos;
             at = arg->find("%u", at + user.size()))
            arg->replace(at, 2, user);
    }
    const auto ran = run(program.value().get(), argv, timeoutMs_);
    if (!ran)
        return unavailable(ran.problem().text);
    const RunResult& result = ran.value();
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
    // The user is not part of the output; a stand-in keeps the users-file line format.
    auto entry = parseEnrolmentLine("user " + std::string(output), defaultChannel_);
    if (!entry)
        return unavailable("its output is not 'PHONE [CHANNEL,...]': " + entry.problem().text);
    EnrolmentLookup lookup;
    lookup.kind = EnrolmentLookup::Kind::Found;
    lookup.entry = std::move(entry).value();
    lookup.entry->user = user;
    return lookup;
}

Result<> checkPhoneProgram(const std::string& program, uid_t owner) {
    const auto opened = openProgram(program, owner);
    if (!opened)
        return opened.problem();
    return succeeded();
}

std::unique_ptr<EnrolmentSource> enrolmentSourceFor(const Config& config) {
    if (!config.phoneCommand.empty())
        return std::make_unique<PhoneCommand>(config.phoneCommand, config.channel);
    return std::make_unique<UsersFile>(config.usersFile, config.channel);
}

}  // namespace verif8
