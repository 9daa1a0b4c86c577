// Unstoppable: short changes to shared state that the caller of su cannot stop halfway.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "verif8/Result.hpp"

namespace verif8 {

// Whether an unprivileged user may signal this process: its real or saved uid is not 0 (su,
// sudo or pkexec started by that user). The kernel lets a user stop or kill any process whose
// real or saved uid is theirs, at any instant: inside a lock too.
bool callerCanSignal();

enum class ShieldMode {
    Auto,    // a child when callerCanSignal(), else in this process
    Child,   // always in a child (tests)
    Inline,  // always in this process (tests)
};

// Runs `work`, a short read-modify-write of a state file under its lock, so that no caller can
// hold that lock by stopping the process that holds it (which would hold up every login on the
// host that needs the same file). When the caller may signal this process, `work` runs in a
// forked child that is root in every id, in a session of its own, with fixed limits and default
// signals: the caller can neither signal it nor stop it from the terminal, and it ends its work
// even if the caller stops or kills this process meanwhile. Otherwise (sshd, login: real uid 0)
// it runs here with the terminal's stop signals held back.
enum class WorkVerdict {
    Done,      // `reply` is what `work` returned
    TimedOut,  // not done within the time: the child was stopped (`problem` says so)
    Failed,    // it could not run, or failed (`problem` says why)
};

struct WorkResult {
    WorkVerdict verdict = WorkVerdict::Failed;
    std::string reply;
    std::optional<Problem> problem;  // TimedOut, Failed
};

WorkResult runUnstoppable(const std::function<std::string()>& work, int timeoutMs,
                          ShieldMode mode = ShieldMode::Auto);

}  // namespace verif8
