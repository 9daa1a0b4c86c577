// Program: runs another system program (sshd -T, pam-auth-update) and keeps what it printed.
#pragma once

#include <string>
#include <vector>

namespace verif8::cli {

struct ProgramRun {
    bool started = false;  // false: it could not be run at all (see output)
    int status = -1;       // its exit status; -1 when it did not exit normally
    std::string output;    // stdout and stderr together, at most 1 MiB
};

// Runs argv[0] (an absolute path) with argv, stdin from /dev/null and a fixed minimal
// environment: the administrator's environment is not the program's business.
ProgramRun runProgram(const std::vector<std::string>& argv);

}  // namespace verif8::cli
