// RootChild: what a child forked by the module sheds of its caller before it does root's work.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>

namespace verif8 {

// Moves `fd` above the standard three (close-on-exec), so that a host running with 0, 1 or 2
// closed cannot have it overwritten by a child's redirections. Returns the new descriptor.
int moveHigh(int fd);

// The host may ignore SIGCHLD (then waitpid cannot report the exit status); restores the
// default for the life of the object, as pam_unix does for its helper.
class DefaultSigchld {
public:
    DefaultSigchld();
    ~DefaultSigchld();
    DefaultSigchld(const DefaultSigchld&) = delete;
    DefaultSigchld& operator=(const DefaultSigchld&) = delete;

private:
    struct sigaction saved_ {};
};

// In a forked child: all uids and gids 0, no supplementary groups, verified. Under su the real
// uid is the caller's, so until then the caller may signal the child and programs drop to it.
bool becomeRoot();

// In a forked child: leaves what the caller of su chose: directory (/), umask (077), limits
// (fixed ones, core dumps off), nice value (best effort), ignored and blocked signals, and the
// controlling terminal (a session of its own).
bool leaveCallersState();

// Waits until `child` has ended or `deadline` has passed. On return the child is a zombie (not
// yet reaped, so its process group id cannot be reused) or still running.
bool waitForExit(pid_t child, std::chrono::steady_clock::time_point deadline);

}  // namespace verif8
