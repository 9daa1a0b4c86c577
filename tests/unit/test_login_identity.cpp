// LoginIdentity: holders (a process and a run of the module in it) and login keys, from /proc.
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "support.hpp"
#include "verif8/LoginIdentity.hpp"

using namespace verif8;

static void a_holder_is_this_process_while_it_runs_on_this_boot(void**) {
    const Holder a = currentHolder();
    const Holder b = currentHolder();
    assert_int_equal(a.pid, getpid());
    assert_true(a.started > 0);
    assert_int_equal(a.started, b.started);
    assert_true(a.nonce != b.nonce);  // two runs of the module in one process differ
    assert_true(holderAlive(a));
    Holder reused = a;  // the same pid, started at another time: another process
    reused.started += 1;
    assert_false(holderAlive(reused));
    assert_false(holderAlive(Holder{}));
    // (An ended process: test_session_store's the_claim_of_an_ended_or_late_login_binds_nobody.)
    // The boot has an id (a UUID) and a clock.
    const std::string id = bootId();
    assert_int_equal(id.size(), 36);
    expect_str(bootId(), id);
    const std::int64_t before = bootClockMs();
    usleep(20 * 1000);
    assert_true(bootClockMs() - before >= 20);
}

// loginKey in a forked child of this process, as sshd runs each round.
static std::string keyInForkedRound(const void* handle) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        const std::string key = loginKey("alice", "sshd", "203.0.113.9", handle);
        const ssize_t wrote = write(fds[1], key.data(), key.size());
        _exit(wrote == static_cast<ssize_t>(key.size()) ? 0 : 1);
    }
    close(fds[1]);
    std::string key;
    char buffer[256];
    for (ssize_t got; (got = read(fds[0], buffer, sizeof buffer)) > 0;)
        key.append(buffer, static_cast<std::size_t>(got));
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return key;
}

static void the_login_key_names_user_service_host_process_and_handle(void**) {
    // Run directly (not forked from a process of the same program), the handle is our own.
    int handle = 0;
    const std::string key = loginKey("alice", "sshd", "203.0.113.9", &handle);
    expect_starts_with(key, "alice\nsshd\n203.0.113.9\n" + std::to_string(getpid()) + ":");
    expect_str(loginKey("alice", "sshd", "203.0.113.9", &handle), key);  // stable
    expect_str(keyInForkedRound(&handle), key);  // sshd's rounds share their parent's key
    expect_str(keyInForkedRound(&handle), key);
    int otherHandle = 0;
    const std::string other = loginKey("alice", "sshd", "203.0.113.9", &otherHandle);
    assert_true(other != key);
    assert_true(loginStamp(key) != loginStamp(other));
    for (const std::string& another : {loginKey("bob", "sshd", "203.0.113.9", &handle),
                                       loginKey("alice", "login", "203.0.113.9", &handle),
                                       loginKey("alice", "sshd", "203.0.113.10", &handle),
                                       loginKey("alice", "sshd", "", &handle)}) {
        assert_false(another.empty());
        if (another == key)
            fail_msg("same key for another login: %s", key.c_str());
    }
    // The separator keeps "ab"+"c" and "a"+"bc" apart.
    assert_true(loginKey("ab", "c", "h", &handle) != loginKey("a", "bc", "h", &handle));
    assert_true(loginKey("a", "b", "", &handle) != loginKey("a", "", "b", &handle));
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_holder_is_this_process_while_it_runs_on_this_boot),
        cmocka_unit_test(the_login_key_names_user_service_host_process_and_handle),
    };
    return cmocka_run_group_tests_name("login_identity", tests, nullptr, nullptr);
}
