// FileSessionStore: pending sessions and claims in a root-only state directory; loginKey.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/SessionStore.hpp"

using namespace verif8;

namespace {

const std::string kKeyA = "alice\nsshd\n203.0.113.9\n4242:1000";
const std::string kKeyB = "alice\nsshd\n203.0.113.9\n4243:1001";
const std::string kHexId = "a44a91be5ea5ea118169020897df5459";

int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
    return remove(path);
}

void removeTree(const std::string& path) {
    nftw(path.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}

// A state directory (not yet created) inside a temp directory, removed with all it holds.
struct State {
    test::TempDir dir;
    std::string path = dir.path() + "/state";
    ~State() { removeTree(path); }
    std::string sessions() const { return path + "/sessions"; }
    std::string claims() const { return path + "/claims"; }
};

PendingSession sample() {
    PendingSession session;
    session.sessionId = kHexId;
    session.phone = "+6591234567";
    session.channel = Channel::Viber;
    session.sends = 2;
    session.lastSend = 1800000123;
    session.expiresAt = 1800000423;
    return session;
}

void expectSame(const std::optional<PendingSession>& loaded, const PendingSession& saved) {
    if (!loaded) {
        print_error("nothing loaded\n");
        fail();
    }
    expect_str(loaded->sessionId, saved.sessionId);
    expect_str(loaded->phone, saved.phone);
    assert_true(loaded->channel == saved.channel);
    assert_int_equal(loaded->sends, saved.sends);
    assert_int_equal(loaded->lastSend, saved.lastSend);
    assert_int_equal(loaded->expiresAt, saved.expiresAt);
}

std::vector<std::string> filesIn(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* handle = opendir(dir.c_str())) {
        while (const dirent* entry = readdir(handle)) {
            if (entry->d_name[0] != '.')
                names.push_back(dir + "/" + entry->d_name);
        }
        closedir(handle);
    }
    return names;
}

// The one session file in the store.
std::string onlySessionFile(const State& state) {
    const auto files = filesIn(state.sessions());
    if (files.size() != 1) {
        print_error("%zu session files\n", files.size());
        fail();
    }
    return files[0];
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Rewrites the file in place: same inode, owner and mode.
void overwrite(const std::string& path, const std::string& text) {
    const int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
}

mode_t modeOf(const std::string& path) {
    struct stat info {};
    assert_int_equal(lstat(path.c_str(), &info), 0);
    return info.st_mode & 07777;
}

void age(const std::string& path, std::time_t seconds) {
    const std::time_t then = time(nullptr) - seconds;
    const struct timespec times[2] = {{then, 0}, {then, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

}  // namespace

// ---- pending sessions

static void a_saved_session_loads_with_every_field(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const PendingSession saved = sample();
    store.save(kKeyA, saved);
    expectSame(store.load(kKeyA), saved);
    // A second store over the same directory (the next run of the stack) reads the same.
    FileSessionStore again(state.path, geteuid());
    expectSame(again.load(kKeyA), saved);
}

static void every_channel_and_large_times_round_trip(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    for (Channel channel : {Channel::Sms, Channel::Voice, Channel::Whatsapp, Channel::Viber}) {
        PendingSession session = sample();
        session.channel = channel;
        session.sends = 3;
        session.lastSend = 4102444800;  // 2100-01-01
        session.expiresAt = 4102452000;
        store.save(kKeyA, session);
        expectSame(store.load(kKeyA), session);
    }
}

static void a_later_save_replaces_the_earlier(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    PendingSession next = sample();
    next.sessionId = "b55b02cf6fb6fb229270131908e06560";
    next.channel = Channel::Voice;
    next.sends = 3;
    store.save(kKeyA, next);
    expectSame(store.load(kKeyA), next);
    onlySessionFile(state);  // no temporary file left behind
}

static void the_session_file_is_private(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    const std::string file = onlySessionFile(state);
    assert_int_equal(modeOf(file), 0600);
    // The key holds the user and host; the file names neither.
    expect_not_contains(file, "alice");
    expect_not_contains(readFile(file), "alice");
}

static void an_unknown_key_loads_nothing(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_false(store.load(kKeyA).has_value());
    store.save(kKeyA, sample());
    assert_false(store.load(kKeyB).has_value());
    assert_false(store.load("").has_value());
}

static void an_empty_key_keeps_nothing(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save("", sample());
    assert_false(store.load("").has_value());
    assert_int_equal(filesIn(state.sessions()).size(), 0);
    assert_false(store.claim(kHexId, ""));
}

static void forget_removes_the_session(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    store.forget(kKeyA);
    assert_false(store.load(kKeyA).has_value());
    assert_int_equal(filesIn(state.sessions()).size(), 0);
    store.forget(kKeyA);  // forgetting twice is harmless
    store.forget(kKeyB);
}

static void two_keys_are_independent(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    PendingSession a = sample();
    PendingSession b = sample();
    b.sessionId = "b55b02cf6fb6fb229270131908e06560";
    b.phone = "+6598765432";
    b.channel = Channel::Sms;
    b.sends = 1;
    store.save(kKeyA, a);
    store.save(kKeyB, b);
    expectSame(store.load(kKeyA), a);
    expectSame(store.load(kKeyB), b);
    store.forget(kKeyA);
    assert_false(store.load(kKeyA).has_value());
    expectSame(store.load(kKeyB), b);
}

static void a_corrupt_file_loads_nothing(void**) {
    const std::vector<std::pair<std::string, std::string>> edits{
        {"key=", "key=0000000000000000:1\n"},  // another key's stamp
        {"channel=viber", "channel=pigeon"},
        {"sends=2", "sends=two"},
        {"sends=2", "sends=-2"},
        {"last_send=1800000123", "last_send=18000x0123"},
        {"expires=1800000423", "expires="},
        {"expires=1800000423", "expires=99999999999999"},
        {"session=" + kHexId, "session="},
        {"phone=+6591234567", "phone="},
    };
    for (const auto& [from, to] : edits) {
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        const std::string file = onlySessionFile(state);
        std::string text = readFile(file);
        const std::size_t at = text.find(from);
        assert_true(at != std::string::npos);
        // For "key=", the whole line goes.
        const std::size_t end = from == "key=" ? text.find('\n', at) + 1 : at + from.size();
        text.replace(at, end - at, to);
        overwrite(file, text);
        if (store.load(kKeyA)) {
            print_error("loaded after '%s' -> '%s':\n%s", from.c_str(), to.c_str(), text.c_str());
            fail();
        }
    }
}

static void garbage_and_empty_files_load_nothing(void**) {
    for (const std::string& text : {std::string(), std::string("garbage\n"),
                                    std::string("\x01\x02\x03", 3), std::string(5000, 'x')}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        overwrite(onlySessionFile(state), text);
        assert_false(store.load(kKeyA).has_value());
    }
}

static void a_truncated_file_loads_nothing(void**) {
    // Every field is written; a file without one of them is not one we wrote.
    for (const char* field :
         {"key=", "session=", "phone=", "channel=", "sends=", "last_send=", "expires="}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        const std::string file = onlySessionFile(state);
        std::string text = readFile(file);
        const std::size_t at = text.find(std::string("\n") + field);
        const std::size_t start = at == std::string::npos ? 0 : at + 1;
        assert_int_equal(text.compare(start, std::strlen(field), field), 0);
        text.erase(start, text.find('\n', start) + 1 - start);
        overwrite(file, text);
        if (store.load(kKeyA)) {
            print_error("loaded without %s:\n%s", field, text.c_str());
            fail();
        }
    }
}

static void a_file_readable_by_others_loads_nothing(void**) {
    for (mode_t mode : {0644, 0640, 0604, 0660, 0606}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        const std::string file = onlySessionFile(state);
        assert_int_equal(chmod(file.c_str(), mode), 0);
        assert_false(store.load(kKeyA).has_value());
    }
}

static void a_file_owned_by_another_uid_loads_nothing(void**) {
    if (geteuid() != 0)
        skip();  // only root can give a file away
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_int_equal(chown(onlySessionFile(state).c_str(), 4242, static_cast<gid_t>(-1)), 0);
    assert_false(store.load(kKeyA).has_value());
}

static void a_symlinked_session_file_loads_nothing(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    const std::string file = onlySessionFile(state);
    const std::string elsewhere = state.dir.path() + "/planted";
    assert_int_equal(rename(file.c_str(), elsewhere.c_str()), 0);
    assert_int_equal(symlink(elsewhere.c_str(), file.c_str()), 0);
    assert_false(store.load(kKeyA).has_value());
}

static void stale_files_are_swept_on_save(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_true(store.claim(kHexId, kKeyA));
    const std::string session = onlySessionFile(state);
    const std::string claim = filesIn(state.claims()).at(0);
    age(session, 3 * 3600);
    age(claim, 3 * 3600);
    store.save(kKeyB, sample());
    assert_int_not_equal(access(session.c_str(), F_OK), 0);
    assert_int_not_equal(access(claim.c_str(), F_OK), 0);
    assert_false(store.load(kKeyA).has_value());
    assert_true(store.load(kKeyB).has_value());
}

// ---- the state directory

static void a_missing_state_dir_is_created_private(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const mode_t mask = umask(0);  // even with a permissive umask
    const bool usable = store.usable();
    umask(mask);
    assert_true(usable);
    expect_str(store.problem(), "");
    for (const std::string& dir : {state.path, state.sessions(), state.claims()}) {
        struct stat info {};
        assert_int_equal(lstat(dir.c_str(), &info), 0);
        assert_true(S_ISDIR(info.st_mode));
        assert_int_equal(info.st_mode & 07777, 0700);
        assert_int_equal(info.st_uid, geteuid());
    }
}

static void save_creates_the_state_dir_too(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_int_equal(modeOf(state.path), 0700);
    expectSame(store.load(kKeyA), sample());
}

static void a_state_dir_that_cannot_be_created_is_unusable(void**) {
    test::TempDir dir;
    FileSessionStore store(dir.path() + "/missing/parent/state", geteuid());
    assert_false(store.usable());
    expect_contains(store.problem(), "cannot create");
    expect_contains(store.problem(), dir.path() + "/missing/parent/state");
}

static void a_group_or_world_writable_state_dir_is_unusable(void**) {
    for (mode_t mode : {0770, 0702, 0777, 0730}) {
        State state;
        assert_int_equal(mkdir(state.path.c_str(), 0700), 0);
        assert_int_equal(chmod(state.path.c_str(), mode), 0);
        FileSessionStore store(state.path, geteuid());
        assert_false(store.usable());
        expect_contains(store.problem(), state.path);
        expect_contains(store.problem(), "writable by group or others");
        // Nothing is kept or claimed there.
        store.save(kKeyA, sample());
        assert_false(store.load(kKeyA).has_value());
        assert_false(store.claim(kHexId, kKeyA));
    }
}

static void a_writable_subdirectory_is_unusable(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_true(store.usable());
    assert_int_equal(chmod(state.claims().c_str(), 0777), 0);
    assert_false(store.usable());
    expect_contains(store.problem(), state.claims());
    assert_false(store.claim(kHexId, kKeyA));
}

static void a_symlinked_state_dir_is_unusable(void**) {
    State state;
    const std::string real = state.dir.path() + "/real";
    assert_int_equal(mkdir(real.c_str(), 0700), 0);
    assert_int_equal(symlink(real.c_str(), state.path.c_str()), 0);
    FileSessionStore store(state.path, geteuid());
    assert_false(store.usable());
    expect_contains(store.problem(), "not a directory");
    store.save(kKeyA, sample());
    assert_int_equal(filesIn(real).size(), 0);  // nothing written through the link
    rmdir(real.c_str());
}

static void a_state_dir_of_another_owner_is_unusable(void**) {
    State state;
    FileSessionStore mine(state.path, geteuid());
    assert_true(mine.usable());
    FileSessionStore store(state.path, geteuid() + 1);
    assert_false(store.usable());
    expect_contains(store.problem(), "must be owned by uid " + std::to_string(geteuid() + 1));
}

static void a_file_in_place_of_the_state_dir_is_unusable(void**) {
    test::TempDir dir;
    const std::string file = dir.file("not a directory\n");
    FileSessionStore store(file, geteuid());
    assert_false(store.usable());
    expect_contains(store.problem(), "not a directory");
}

// ---- claims

static void a_claim_binds_the_session_to_one_key(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_true(store.claim(kHexId, kKeyA));
    assert_true(store.claim(kHexId, kKeyA));   // the same login, a later round
    assert_false(store.claim(kHexId, kKeyB));  // another login
    store.release(kHexId, kKeyB);              // not B's to release
    assert_false(store.claim(kHexId, kKeyB));
    store.release(kHexId, kKeyA);
    assert_true(store.claim(kHexId, kKeyB));
    assert_false(store.claim(kHexId, kKeyA));
}

static void claims_on_different_sessions_are_independent(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    const std::string other = "b55b02cf6fb6fb229270131908e06560";
    assert_true(store.claim(kHexId, kKeyA));
    assert_true(store.claim(other, kKeyB));
    assert_false(store.claim(other, kKeyA));
    store.release(kHexId, kKeyA);
    assert_false(store.claim(other, kKeyA));
}

static void a_claim_survives_the_store_object(void**) {
    State state;
    {
        FileSessionStore first(state.path, geteuid());
        assert_true(first.claim(kHexId, kKeyA));
    }
    FileSessionStore second(state.path, geteuid());
    assert_false(second.claim(kHexId, kKeyB));
    assert_true(second.claim(kHexId, kKeyA));
    assert_int_equal(modeOf(filesIn(state.claims()).at(0)), 0600);
}

static void a_claim_older_than_any_code_binds_nobody(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_true(store.claim(kHexId, kKeyA));
    const std::string claim = filesIn(state.claims()).at(0);
    age(claim, 7200);  // as old as the longest code: still held
    assert_false(store.claim(kHexId, kKeyB));
    age(claim, 3 * 3600);
    assert_true(store.claim(kHexId, kKeyB));
    assert_false(store.claim(kHexId, kKeyA));
}

static void a_tampered_claim_is_not_taken_for_ours(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_true(store.claim(kHexId, kKeyA));
    const std::string claim = filesIn(state.claims()).at(0);
    assert_int_equal(chmod(claim.c_str(), 0644), 0);
    // Not trusted as A's any more, and still not free for B.
    assert_false(store.claim(kHexId, kKeyA));
    assert_false(store.claim(kHexId, kKeyB));
}

// ---- loginKey

static void the_login_key_names_user_service_host_and_process(void**) {
    // Run directly (not forked from a process of the same program), the handle is our own.
    const std::string key = loginKey("alice", "sshd", "203.0.113.9");
    assert_false(key.empty());
    expect_starts_with(key, "alice\nsshd\n203.0.113.9\n" + std::to_string(getpid()) + ":");
    expect_str(loginKey("alice", "sshd", "203.0.113.9"), key);  // stable
}

// loginKey in a forked child of this process, as sshd runs each round.
std::string keyInForkedRound() {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        const std::string key = loginKey("alice", "sshd", "203.0.113.9");
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

static void forked_rounds_share_the_key_of_their_parent(void**) {
    const std::string mine = loginKey("alice", "sshd", "203.0.113.9");
    const std::string first = keyInForkedRound();
    const std::string second = keyInForkedRound();
    assert_false(first.empty());
    expect_str(first, mine);
    expect_str(second, mine);
}

static void the_login_key_changes_with_each_part(void**) {
    const std::string key = loginKey("alice", "sshd", "203.0.113.9");
    for (const std::string& other :
         {loginKey("bob", "sshd", "203.0.113.9"), loginKey("alice", "login", "203.0.113.9"),
          loginKey("alice", "sshd", "203.0.113.10"), loginKey("alice", "sshd", "")}) {
        assert_false(other.empty());
        if (other == key) {
            print_error("same key for another login: %s\n", key.c_str());
            fail();
        }
    }
}

static void the_login_key_tells_parts_apart(void**) {
    // The separator keeps "ab"+"c" and "a"+"bc" apart.
    assert_true(loginKey("ab", "c", "h") != loginKey("a", "bc", "h"));
    assert_true(loginKey("a", "b", "") != loginKey("a", "", "b"));
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_saved_session_loads_with_every_field),
        cmocka_unit_test(every_channel_and_large_times_round_trip),
        cmocka_unit_test(a_later_save_replaces_the_earlier),
        cmocka_unit_test(the_session_file_is_private),
        cmocka_unit_test(an_unknown_key_loads_nothing),
        cmocka_unit_test(an_empty_key_keeps_nothing),
        cmocka_unit_test(forget_removes_the_session),
        cmocka_unit_test(two_keys_are_independent),
        cmocka_unit_test(a_corrupt_file_loads_nothing),
        cmocka_unit_test(garbage_and_empty_files_load_nothing),
        cmocka_unit_test(a_truncated_file_loads_nothing),
        cmocka_unit_test(a_file_readable_by_others_loads_nothing),
        cmocka_unit_test(a_file_owned_by_another_uid_loads_nothing),
        cmocka_unit_test(a_symlinked_session_file_loads_nothing),
        cmocka_unit_test(stale_files_are_swept_on_save),
        cmocka_unit_test(a_missing_state_dir_is_created_private),
        cmocka_unit_test(save_creates_the_state_dir_too),
        cmocka_unit_test(a_state_dir_that_cannot_be_created_is_unusable),
        cmocka_unit_test(a_group_or_world_writable_state_dir_is_unusable),
        cmocka_unit_test(a_writable_subdirectory_is_unusable),
        cmocka_unit_test(a_symlinked_state_dir_is_unusable),
        cmocka_unit_test(a_state_dir_of_another_owner_is_unusable),
        cmocka_unit_test(a_file_in_place_of_the_state_dir_is_unusable),
        cmocka_unit_test(a_claim_binds_the_session_to_one_key),
        cmocka_unit_test(claims_on_different_sessions_are_independent),
        cmocka_unit_test(a_claim_survives_the_store_object),
        cmocka_unit_test(a_claim_older_than_any_code_binds_nobody),
        cmocka_unit_test(a_tampered_claim_is_not_taken_for_ours),
        cmocka_unit_test(the_login_key_names_user_service_host_and_process),
        cmocka_unit_test(forked_rounds_share_the_key_of_their_parent),
        cmocka_unit_test(the_login_key_changes_with_each_part),
        cmocka_unit_test(the_login_key_tells_parts_apart),
    };
    return cmocka_run_group_tests_name("session_store", tests, nullptr, nullptr);
}
