// slow_lock: preloaded into the attack tests. A process whose environment has
// VERIF8_SLOW_LOCK_MS holds each exclusive flock(2) it takes that many milliseconds before it
// goes on, so that a test can stop the process while it holds a lock: what a real attacker
// does by watching /proc/locks and trying again until the timing is right.
#include <dlfcn.h>
#include <sys/file.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

extern "C" int flock(int fd, int operation) {
    using Flock = int (*)(int, int);
    static const Flock real = reinterpret_cast<Flock>(dlsym(RTLD_NEXT, "flock"));
    const int result = real(fd, operation);
    const char* hold = getenv("VERIF8_SLOW_LOCK_MS");
    if (result == 0 && hold != nullptr && (operation & LOCK_EX) != 0) {
        const int saved = errno;
        const long ms = strtol(hold, nullptr, 10);
        timespec pause{ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
        }
        errno = saved;
    }
    return result;
}
