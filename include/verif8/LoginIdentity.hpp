// LoginIdentity: which process and which login this is, told from /proc, and the boot's clock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace verif8 {

// Milliseconds on CLOCK_BOOTTIME: one clock for every process of this boot, never moved by
// changes to the wall clock, and counting suspended time (codes expire while a laptop sleeps).
std::int64_t bootClockMs();

// This boot's id (/proc/sys/kernel/random/boot_id), so that a table from another boot (whose
// times mean nothing now) is not read. Empty when it cannot be read.
std::string bootId();

// The process of a login, as a claim records it. A claim whose process has ended (pid gone, or
// reused: another start time) binds nobody; the nonce tells two runs of the module in one
// process apart.
struct Holder {
    pid_t pid = 0;
    std::uint64_t started = 0;  // start time, clock ticks after boot (/proc/PID/stat field 22)
    std::uint64_t nonce = 0;    // drawn for each run of the module
};
// This process with a fresh nonce; pid 0 when its start time cannot be read (no /proc).
Holder currentHolder();
// Whether the holder's process still runs: the same pid with the same start time.
bool holderAlive(const Holder& holder);

// What identifies "this login" across runs of the stack: the user, service and remote host, the
// process that owns the PAM handle (the parent of sshd's per-round child, else this process)
// with its start time, and the handle's address. Empty when it cannot be told.
std::string loginKey(const std::string& user, const std::string& service, const std::string& rhost,
                     const void* handle);
// What the table records of a login key (it holds newlines): its hash and length.
std::string loginStamp(const std::string& key);

}  // namespace verif8
