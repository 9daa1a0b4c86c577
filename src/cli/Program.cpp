// Program: fork, exec and read, for the few system programs verif8ctl drives.
#include "Program.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace verif8::cli {

namespace {
constexpr std::size_t kMaxOutput = 1 << 20;
}

ProgramRun runProgram(const std::vector<std::string>& argv) {
    ProgramRun run;
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    char path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char lang[] = "LC_ALL=C";
    char frontend[] = "DEBIAN_FRONTEND=noninteractive";  // pam-auth-update must never ask
    char* environment[] = {path, lang, frontend, nullptr};

    int pipeFds[2];
    if (pipe2(pipeFds, O_CLOEXEC) != 0) {
        run.output = std::string("pipe: ") + strerror(errno);
        return run;
    }
    const pid_t child = fork();
    if (child < 0) {
        run.output = std::string("fork: ") + strerror(errno);
        close(pipeFds[0]);
        close(pipeFds[1]);
        return run;
    }
    if (child == 0) {
        const int devNull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devNull < 0 || dup2(devNull, 0) < 0 || dup2(pipeFds[1], 1) < 0 ||
            dup2(pipeFds[1], 2) < 0)
            _exit(126);
        execve(args[0], args.data(), environment);
        const std::string why = std::string("cannot run ") + args[0] + ": " + strerror(errno);
        (void)!write(2, why.data(), why.size());
        _exit(127);
    }
    close(pipeFds[1]);
    char buffer[4096];
    for (;;) {
        const ssize_t got = read(pipeFds[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (run.output.size() < kMaxOutput)
            run.output.append(buffer, static_cast<std::size_t>(got));
    }
    close(pipeFds[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.started = run.status != 127;
    return run;
}

}  // namespace verif8::cli
