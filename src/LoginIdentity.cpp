// LoginIdentity: which process and which login this is, told from /proc, and the boot's clock.
#include "verif8/LoginIdentity.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
// Reads a small file of /proc whole, without stdio or iostreams, which the worker child of a
// multi-threaded host must not use (Unstoppable.cpp). Not a state file: /proc is the kernel's,
// so neither owner nor mode is checked.
std::string readProcFile(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return "";
    std::string content;
    char buffer[1024];
    for (;;) {
        const ssize_t got = read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || content.size() > 16384)
            break;
        content.append(buffer, static_cast<std::size_t>(got));
    }
    close(fd);
    return content;
}

std::uint64_t startTimeOf(pid_t pid) {
    const std::string content = readProcFile("/proc/" + std::to_string(pid) + "/stat");
    // Field 2 (comm) may hold spaces and parentheses: count fields after its last ')'.
    const std::size_t close = content.rfind(')');
    if (close == std::string::npos)
        return 0;
    // Field 22 (starttime) is the 20th word after it.
    const auto words = split(std::string_view(content).substr(close + 1), " ", EmptyFields::Skip);
    return words.size() < 20 ? 0 : parseDecimal<std::uint64_t>(words[19], 20).value_or(0);
}

std::string executableOf(const std::string& pid) {
    char path[4096];
    const ssize_t length = readlink(("/proc/" + pid + "/exe").c_str(), path, sizeof path - 1);
    return length > 0 ? std::string(path, static_cast<std::size_t>(length)) : std::string();
}

std::string hexAddress(const void* address) {
    char text[17];
    snprintf(text, sizeof text, "%016" PRIx64,
             static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(address)));
    return text;
}
}  // namespace

std::int64_t bootClockMs() {
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

std::string bootId() {
    return std::string(trim(readProcFile("/proc/sys/kernel/random/boot_id")));
}

Holder currentHolder() {
    Holder holder;
    holder.started = startTimeOf(getpid());
    holder.pid = holder.started != 0 ? getpid() : 0;
    if (getrandom(&holder.nonce, sizeof holder.nonce, GRND_NONBLOCK) !=
        static_cast<ssize_t>(sizeof holder.nonce)) {
        // Without the random source (early boot), this run's address and time still differ
        // from any other run of this process.
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        holder.nonce = static_cast<std::uint64_t>(now.tv_nsec) ^
                       (static_cast<std::uint64_t>(now.tv_sec) << 30) ^
                       reinterpret_cast<std::uintptr_t>(&holder);
    }
    return holder;
}

bool holderAlive(const Holder& holder) {
    return holder.pid > 0 && startTimeOf(holder.pid) == holder.started;
}

std::string loginKey(const std::string& user, const std::string& service, const std::string& rhost,
                     const void* handle) {
    // sshd runs each keyboard-interactive round in a child forked from the process that holds
    // the PAM handle, the same program; login, su, sudo and pamtester run pam_authenticate in
    // the handle's own process, whose parent (a shell) outlives many logins. A daemon whose
    // workers run the same program as it does (sshd's password method in its monitor, vsftpd)
    // would give its workers one key: the handle's address tells them apart.
    const std::string self = executableOf("self");
    const pid_t parent = getppid();
    const bool forkedRound = !self.empty() && self == executableOf(std::to_string(parent));
    const pid_t owner = forkedRound ? parent : getpid();
    const std::uint64_t started = startTimeOf(owner);
    if (started == 0)
        return "";
    return user + '\n' + service + '\n' + rhost + '\n' + std::to_string(owner) + ':' +
           std::to_string(started) + ':' + hexAddress(handle);
}

std::string loginStamp(const std::string& key) {
    return stateFileName(key) + ":" + std::to_string(key.size());
}

}  // namespace verif8
