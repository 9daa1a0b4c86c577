// FileSessionStore: pending sessions and claims in one root-only file in the state directory;
// loginKey.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/SessionStore.hpp"
#include "verif8/StateDir.hpp"

using namespace verif8;

namespace {

const std::string kKeyA = "alice\nsshd\n203.0.113.9\n4242:1000";
const std::string kKeyB = "alice\nsshd\n203.0.113.9\n4243:1001";
const std::string kHexId = "a44a91be5ea5ea118169020897df5459";
const std::string kOtherId = "b55b02cf6fb6fb229270131908e06560";

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
    std::string copyA() const { return path + "/pending.a"; }
    std::string copyB() const { return path + "/pending.b"; }
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
                names.push_back(entry->d_name);
        }
        closedir(handle);
    }
    return names;
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

// The file's lines before its "end" line, as the store wrote them.
std::string bodyOf(const std::string& text) {
    const std::size_t end = text.rfind("\nend ");
    if (end == std::string::npos) {
        print_error("no end line in:\n%s", text.c_str());
        fail();
    }
    return text.substr(0, end + 1);
}

// A body with the end line the store writes: its FNV-1a hash, as stateFileName gives it.
std::string signed_(const std::string& body) {
    return body + "end " + stateFileName(body) + "\n";
}

// Changes a copy's body and signs it again, as the store would have written it.
void edit(const std::string& path, const std::function<std::string(std::string)>& change) {
    overwrite(path, signed_(change(bodyOf(readFile(path)))));
}

unsigned long long generationOf(const std::string& text) {
    const std::string magic = "verif8-pending 1 ";
    if (text.rfind(magic, 0) != 0)
        return 0;
    return std::stoull(text.substr(magic.size(), text.find('\n') - magic.size()));
}

// The copy the store wrote last (both must be whole).
std::string newest(const State& state) {
    return generationOf(readFile(state.copyA())) > generationOf(readFile(state.copyB()))
               ? state.copyA()
               : state.copyB();
}

std::string older(const State& state) {
    return newest(state) == state.copyA() ? state.copyB() : state.copyA();
}

void age(const std::string& path, std::time_t seconds) {
    const std::time_t then = time(nullptr) - seconds;
    const struct timespec times[2] = {{then, 0}, {then, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

std::size_t linesStartingWith(const std::string& text, const std::string& prefix) {
    std::size_t count = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        count += line.rfind(prefix, 0) == 0 ? 1 : 0;
    return count;
}

// Replaces every whole field equal to `from` on lines starting with `kind`.
std::string replaceField(std::string body, const std::string& kind, std::size_t index,
                         const std::string& to) {
    std::istringstream lines(body);
    std::string out;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(kind + " ", 0) == 0) {
            std::vector<std::string> fields;
            std::istringstream words(line);
            for (std::string word; std::getline(words, word, ' ');)
                fields.push_back(word);
            assert_true(index < fields.size());
            fields[index] = to;
            line.clear();
            for (std::size_t i = 0; i < fields.size(); ++i)
                line += (i ? " " : "") + fields[i];
        }
        out += line + "\n";
    }
    return out;
}

mode_t modeOf(const std::string& path) {
    struct stat info {};
    assert_int_equal(lstat(path.c_str(), &info), 0);
    return info.st_mode & 07777;
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
    next.sessionId = kOtherId;
    next.channel = Channel::Voice;
    next.sends = 3;
    store.save(kKeyA, next);
    expectSame(store.load(kKeyA), next);
    assert_int_equal(linesStartingWith(readFile(newest(state)), "session "), 1);
}

static void changes_go_to_the_two_copies_in_turn(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    const std::string first = newest(state);
    assert_int_equal(generationOf(readFile(first)), 1);
    assert_true(store.claim(kHexId, kKeyA));
    assert_true(newest(state) != first);
    assert_int_equal(generationOf(readFile(newest(state))), 2);
    // The older copy still holds the table before the claim.
    assert_int_equal(linesStartingWith(readFile(first), "claim "), 0);
    assert_int_equal(linesStartingWith(readFile(newest(state)), "claim "), 1);
}

static void the_store_is_two_private_files(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_true(store.claim(kHexId, kKeyA));
    store.save(kKeyB, sample());
    auto files = filesIn(state.path);
    std::sort(files.begin(), files.end());
    assert_int_equal(files.size(), 2);
    expect_str(files[0], "pending.a");
    expect_str(files[1], "pending.b");
    for (const std::string& copy : {state.copyA(), state.copyB()}) {
        assert_int_equal(modeOf(copy), 0600);
        // The key holds the user and host; the copies name neither.
        const std::string text = readFile(copy);
        expect_not_contains(text, "alice");
        expect_not_contains(text, "203.0.113.9");
        expect_starts_with(text, "verif8-pending 1 ");
    }
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
    assert_int_equal(readFile(state.copyA()).size() + readFile(state.copyB()).size(), 0);
    assert_false(store.claim(kHexId, ""));
}

static void a_session_id_that_would_break_the_file_is_not_kept(void**) {
    for (const std::string& id : {std::string("a b"), std::string("a\nsession x"),
                                  std::string("\x01"), std::string(), std::string(300, 'a')}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        PendingSession session = sample();
        session.sessionId = id;
        store.save(kKeyA, session);
        expect_contains(store.problem(), "not kept");
        assert_false(store.load(kKeyA).has_value());
        store.save(kKeyB, sample());  // the table is still whole
        expectSame(store.load(kKeyB), sample());
    }
}

static void forget_removes_the_session(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    store.forget(kKeyA);
    assert_false(store.load(kKeyA).has_value());
    assert_int_equal(linesStartingWith(readFile(newest(state)), "session "), 0);
    store.forget(kKeyA);  // forgetting twice is harmless
    store.forget(kKeyB);
}

static void two_keys_are_independent(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    PendingSession a = sample();
    PendingSession b = sample();
    b.sessionId = kOtherId;
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

// Fields of a "session" line: 1 key stamp, 2 id, 3 number, 4 channel, 5 sends, 6 last send,
// 7 expiry, 8 when written. After one save the other copy holds the empty table: a copy the
// store does not take as whole leaves that.
static void a_session_line_with_a_bad_field_is_not_read(void**) {
    const std::vector<std::pair<std::size_t, std::string>> edits{
        {1, "0000000000000000:1"},  // another key's stamp (whole, but not ours)
        {4, "pigeon"},
        {5, "two"},
        {5, "-2"},
        {6, "18000x0123"},
        {7, ""},
        {7, "99999999999999"},
        {8, "yesterday"},
    };
    for (const auto& item : edits) {
        const std::size_t index = item.first;
        const std::string to = item.second;
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        edit(newest(state),
             [&](std::string body) { return replaceField(body, "session", index, to); });
        if (store.load(kKeyA)) {
            print_error("loaded with field %zu = '%s':\n%s", index, to.c_str(),
                        readFile(newest(state)).c_str());
            fail();
        }
    }
}

static void a_line_with_a_missing_or_extra_field_is_not_read(void**) {
    for (const std::string& suffix : {std::string(" 7"), std::string()}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        edit(newest(state), [&](std::string body) {
            const std::size_t line = body.find("session ");
            const std::size_t end = body.find('\n', line);
            if (suffix.empty())
                body.erase(body.rfind(' ', end), end - body.rfind(' ', end));  // drop the last
            else
                body.insert(end, suffix);
            return body;
        });
        assert_false(store.load(kKeyA).has_value());
    }
}

static void a_copy_that_is_not_whole_is_not_read(void**) {
    const std::vector<std::function<std::string(const std::string&)>> spoil{
        [](const std::string&) { return std::string("garbage\n"); },
        [](const std::string&) { return std::string("\x01\x02\x03", 3); },
        [](const std::string&) { return std::string(5000, 'x'); },
        // cut anywhere before the end of its end line
        [](const std::string& text) { return text.substr(0, text.size() - 1); },
        [](const std::string& text) { return text.substr(0, text.size() / 2); },
        [](const std::string& text) { return text.substr(0, text.rfind("end ")); },
        // a line changed but not signed again
        [](const std::string& text) {
            std::string changed = text;
            changed[changed.find("+659") + 4] = '8';
            return changed;
        },
        // anything but empty lines after the end line
        [](const std::string& text) { return text + "session x\n"; },
        [](const std::string& text) { return signed_(bodyOf(text) + "claim x\n"); },
        [](const std::string& text) { return signed_(bodyOf(text) + "unknown line\n"); },
        [](const std::string& text) {
            return signed_("verif8-pending 2 1" + bodyOf(text).substr(18));
        },
        [](const std::string& text) {
            return signed_("verif8-pending 1 x" + bodyOf(text).substr(18));
        },
    };
    for (std::size_t i = 0; i < spoil.size(); ++i) {
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        overwrite(newest(state), spoil[i](readFile(newest(state))));
        if (store.load(kKeyA)) {
            print_error("spoiled copy %zu read:\n%s", i, readFile(state.copyB()).c_str());
            fail();
        }
    }
}

static void a_write_cut_short_leaves_the_table_as_it_was(void**) {
    // The next change goes to the older copy; cut short, it leaves that copy torn.
    for (const auto& cut : std::vector<std::function<std::string(const std::string&)>>{
             [](const std::string& text) { return text.substr(0, text.size() / 2); },
             [](const std::string& text) { return text + "session torn"; },
             [](const std::string&) { return std::string(); }}) {
        State state;
        FileSessionStore store(state.path, geteuid());
        store.save(kKeyA, sample());
        assert_true(store.claim(kHexId, kKeyA));
        overwrite(older(state), cut(readFile(older(state))));
        assert_true(store.usable());
        expectSame(store.load(kKeyA), sample());
        assert_false(store.claim(kHexId, kKeyB));  // still A's
        assert_true(store.claim(kHexId, kKeyA));
        // The next change overwrites the torn copy.
        store.save(kKeyB, sample());
        expectSame(store.load(kKeyA), sample());
        expectSame(store.load(kKeyB), sample());
        assert_false(store.claim(kHexId, kKeyB));
    }
}

static void a_write_stopped_by_a_full_disk_leaves_the_table_as_it_was(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_true(store.claim(kHexId, kKeyA));
    const std::string target = older(state);  // where the next change goes
    const std::string before = readFile(target);
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        // Files may not grow past 150 bytes here: the next table is longer, so its write fails
        // part-way, as on a full disk.
        signal(SIGXFSZ, SIG_IGN);
        const struct rlimit limit = {150, 150};
        setrlimit(RLIMIT_FSIZE, &limit);
        FileSessionStore writer(state.path, geteuid());
        writer.save(kKeyB, sample());
        const bool reported = writer.problem().find("cannot write") != std::string::npos;
        _exit(reported ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);  // the failed write was reported
    assert_true(readFile(target) != before);   // torn
    expectSame(store.load(kKeyA), sample());
    assert_false(store.load(kKeyB).has_value());
    assert_false(store.claim(kHexId, kKeyB));
}

static void a_write_cut_before_its_truncation_still_loads(void**) {
    // A shorter table is padded with empty lines to the old length before the file is cut:
    // killed in between, the copy is the new table and some padding.
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    overwrite(newest(state), readFile(newest(state)) + std::string(300, '\n'));
    expectSame(store.load(kKeyA), sample());
    for (int i = 0; i < 3; ++i)
        store.save(kKeyB, sample());  // both copies rewritten: the padding is gone
    for (const std::string& copy : {state.copyA(), state.copyB()})
        assert_true(readFile(copy).find("\n\n") == std::string::npos);
}

static void both_copies_damaged_refuse_everything_until_they_are_old(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_true(store.claim(kHexId, kKeyA));
    overwrite(state.copyA(), "verif8-pending 1 7\ntorn");
    overwrite(state.copyB(), "torn too");
    assert_false(store.usable());
    expect_contains(store.problem(), "both damaged");
    expect_contains(store.problem(), state.copyA());
    assert_false(store.load(kKeyA).has_value());
    assert_false(store.claim(kHexId, kKeyB));
    assert_false(store.claim(kOtherId, kKeyB));
    store.save(kKeyB, sample());
    assert_false(store.load(kKeyB).has_value());
    expect_str(readFile(state.copyB()), "torn too");  // nothing written over them
    // One copy last written longer ago than any code lives is not enough...
    age(state.copyA(), 3 * 3600);
    assert_false(store.usable());
    // ...both are: whatever they held binds nobody any more.
    age(state.copyB(), 3 * 3600);
    assert_true(store.usable());
    assert_true(store.claim(kHexId, kKeyB));
    assert_true(store.usable());
}

static void a_table_past_its_size_limit_is_not_written(void**) {
    State state;
    FileSessionStore store(state.path, geteuid(), 700);
    const auto id = [](int n) { return kHexId + std::to_string(n); };
    int kept = 0;
    std::string problem;
    for (; kept < 40; ++kept) {
        if (!store.claim(id(kept), kKeyA))
            break;
    }
    problem = store.problem();
    assert_true(kept >= 3 && kept < 40);
    expect_contains(problem, "would grow past 700 bytes");
    // What was kept stays, and nothing more is added while the table is full.
    for (int i = 0; i < kept; ++i)
        assert_false(store.claim(id(i), kKeyB));
    assert_false(store.claim(id(kept), kKeyB));
    store.save(kKeyB, sample());
    assert_false(store.load(kKeyB).has_value());
    for (const std::string& copy : {state.copyA(), state.copyB()})
        assert_true(readFile(copy).size() <= 700);
    // Room made by a login that ends lets the next in.
    store.release(id(0), kKeyA);
    assert_true(store.claim(id(kept), kKeyB));
}

static void stale_entries_are_dropped(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_true(store.claim(kHexId, kKeyA));
    const std::string old = std::to_string(time(nullptr) - 3 * 3600);
    edit(newest(state), [&](std::string body) {
        return replaceField(replaceField(body, "session", 8, old), "claim", 3, old);
    });
    assert_false(store.load(kKeyA).has_value());  // too old to resume
    assert_true(store.claim(kHexId, kKeyB));      // too old to bind anyone
    const std::string text = readFile(newest(state));
    assert_int_equal(linesStartingWith(text, "session "), 0);
    assert_int_equal(linesStartingWith(text, "claim "), 1);
}

static void entries_from_a_clock_far_ahead_are_dropped_too(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_true(store.claim(kHexId, kKeyA));
    const std::string ahead = std::to_string(time(nullptr) + 3 * 3600);
    edit(newest(state), [&](std::string body) { return replaceField(body, "claim", 3, ahead); });
    assert_true(store.claim(kHexId, kKeyB));
}

// Logins run in processes of their own: every change holds the first copy's lock.
// Runs `login(i)` in `count` processes at once (as logins are) and returns their exit codes.
static std::vector<int> inProcesses(int count, const std::function<int(int)>& login) {
    std::vector<pid_t> children;
    for (int i = 0; i < count; ++i) {
        const pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0)
            _exit(login(i));
        children.push_back(child);
    }
    std::vector<int> codes;
    for (pid_t child : children) {
        int status = 0;
        waitpid(child, &status, 0);
        assert_true(WIFEXITED(status));
        codes.push_back(WEXITSTATUS(status));
    }
    return codes;
}

static void concurrent_claims_of_one_session_have_one_winner(void**) {
    for (int round = 0; round < 5; ++round) {
        State state;
        FileSessionStore setup(state.path, geteuid());
        assert_true(setup.usable());
        const auto codes = inProcesses(12, [&](int i) {
            FileSessionStore store(state.path, geteuid());
            return store.claim(kHexId, kKeyA + std::to_string(i)) ? 0 : 1;
        });
        assert_int_equal(std::count(codes.begin(), codes.end(), 0), 1);
        assert_int_equal(linesStartingWith(readFile(newest(state)), "claim "), 1);
    }
}

static void concurrent_saves_all_stay(void**) {
    State state;
    FileSessionStore setup(state.path, geteuid());
    assert_true(setup.usable());
    constexpr int kLogins = 20;
    inProcesses(kLogins, [&](int i) {
        FileSessionStore store(state.path, geteuid());
        PendingSession session = sample();
        session.sends = i;
        store.save(kKeyA + std::to_string(i), session);
        return 0;
    });
    for (int i = 0; i < kLogins; ++i) {
        const auto loaded = setup.load(kKeyA + std::to_string(i));
        assert_true(loaded.has_value());
        assert_int_equal(loaded->sends, i);
    }
}

static void a_copy_readable_by_others_makes_the_store_unusable(void**) {
    for (const bool first : {true, false}) {
        for (mode_t mode : {0644, 0640, 0604, 0660, 0606}) {
            State state;
            FileSessionStore store(state.path, geteuid());
            store.save(kKeyA, sample());
            assert_true(store.claim(kHexId, kKeyA));
            const std::string copy = first ? state.copyA() : state.copyB();
            assert_int_equal(chmod(copy.c_str(), mode), 0);
            assert_false(store.usable());
            expect_contains(store.problem(), copy);
            expect_contains(store.problem(), "not a private regular file");
            assert_false(store.load(kKeyA).has_value());
            // Not trusted as A's any more, and not free for B either.
            assert_false(store.claim(kHexId, kKeyA));
            assert_false(store.claim(kHexId, kKeyB));
        }
    }
}

static void a_copy_owned_by_another_uid_makes_the_store_unusable(void**) {
    if (geteuid() != 0)
        skip();  // only root can give a file away
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    assert_int_equal(chown(state.copyB().c_str(), 4242, static_cast<gid_t>(-1)), 0);
    assert_false(store.usable());
    assert_false(store.load(kKeyA).has_value());
    assert_false(store.claim(kHexId, kKeyB));
}

static void a_symlinked_copy_is_unusable_and_its_target_untouched(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    store.save(kKeyA, sample());
    const std::string elsewhere = state.dir.path() + "/planted";
    const std::string copy = newest(state);
    assert_int_equal(rename(copy.c_str(), elsewhere.c_str()), 0);
    assert_int_equal(symlink(elsewhere.c_str(), copy.c_str()), 0);
    const std::string before = readFile(elsewhere);
    assert_false(store.usable());
    assert_false(store.load(kKeyA).has_value());
    store.save(kKeyB, sample());
    store.forget(kKeyA);
    assert_false(store.claim(kHexId, kKeyB));
    expect_str(readFile(elsewhere), before);
}

// A lock held far longer than any login holds one: a stopped process. Logins wait a bounded
// time, then claim nothing.
static void a_lock_held_too_long_makes_the_store_unusable(void**) {
    State state;
    FileSessionStore store(state.path, geteuid(), FileSessionStore::kDefaultMaxBytes, 200);
    assert_true(store.claim(kHexId, kKeyA));
    const int holder = open(state.copyA().c_str(), O_RDWR);
    assert_true(holder >= 0);
    assert_int_equal(flock(holder, LOCK_EX), 0);
    assert_false(store.usable());
    expect_contains(store.problem(), state.copyA());
    expect_contains(store.problem(), "locked by another process");
    assert_false(store.claim(kOtherId, kKeyB));
    assert_false(store.load(kKeyA).has_value());
    close(holder);  // released: the next login goes on
    assert_true(store.usable());
    assert_false(store.claim(kHexId, kKeyB));  // the claim from before holds
    assert_true(store.claim(kOtherId, kKeyB));
}

static void a_directory_in_place_of_a_copy_is_unusable(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_true(store.usable());
    assert_int_equal(unlink(state.copyB().c_str()), 0);
    assert_int_equal(mkdir(state.copyB().c_str(), 0700), 0);
    assert_false(store.usable());
    assert_false(store.claim(kHexId, kKeyA));
    rmdir(state.copyB().c_str());
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
    struct stat info {};
    assert_int_equal(lstat(state.path.c_str(), &info), 0);
    assert_true(S_ISDIR(info.st_mode));
    assert_int_equal(info.st_mode & 07777, 0700);
    assert_int_equal(info.st_uid, geteuid());
    assert_int_equal(modeOf(state.copyA()), 0600);
    assert_int_equal(modeOf(state.copyB()), 0600);
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
        assert_int_equal(filesIn(state.path).size(), 0);
    }
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
    assert_true(store.claim(kHexId, kKeyA));
    assert_true(store.claim(kOtherId, kKeyB));
    assert_false(store.claim(kOtherId, kKeyA));
    store.release(kHexId, kKeyA);
    assert_false(store.claim(kOtherId, kKeyA));
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
}

static void a_claim_older_than_any_code_binds_nobody(void**) {
    State state;
    FileSessionStore store(state.path, geteuid());
    assert_true(store.claim(kHexId, kKeyA));
    const auto since = [&](std::time_t age) {
        const std::string when = std::to_string(time(nullptr) - age);
        edit(newest(state), [&](std::string body) { return replaceField(body, "claim", 3, when); });
    };
    since(7200);  // as old as the longest code: still held
    assert_false(store.claim(kHexId, kKeyB));
    since(3 * 3600);
    assert_true(store.claim(kHexId, kKeyB));
    assert_false(store.claim(kHexId, kKeyA));
}

static void a_claim_is_renewed_while_its_login_goes_on(void**) {
    // A later round of the same login, or a resend on the same session, renews the claim: the
    // code it guards may live code_validity from the last send, not from the first.
    State state;
    FileSessionStore store(state.path, geteuid());
    PendingSession session = sample();
    for (const bool bySave : {false, true}) {
        assert_true(store.claim(kHexId, kKeyA));
        const std::string old = std::to_string(time(nullptr) - 7000);
        edit(newest(state), [&](std::string body) { return replaceField(body, "claim", 3, old); });
        const std::time_t before = time(nullptr);
        if (bySave)
            store.save(kKeyA, session);
        else
            assert_true(store.claim(kHexId, kKeyA));
        std::istringstream lines(readFile(newest(state)));
        std::string line;
        while (std::getline(lines, line) && line.rfind("claim ", 0) != 0) {
        }
        assert_true(std::stoll(line.substr(line.rfind(' ') + 1)) >= before);
        assert_false(store.claim(kHexId, kKeyB));
        store.release(kHexId, kKeyA);
    }
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
        cmocka_unit_test(changes_go_to_the_two_copies_in_turn),
        cmocka_unit_test(the_store_is_two_private_files),
        cmocka_unit_test(an_unknown_key_loads_nothing),
        cmocka_unit_test(an_empty_key_keeps_nothing),
        cmocka_unit_test(a_session_id_that_would_break_the_file_is_not_kept),
        cmocka_unit_test(forget_removes_the_session),
        cmocka_unit_test(two_keys_are_independent),
        cmocka_unit_test(a_session_line_with_a_bad_field_is_not_read),
        cmocka_unit_test(a_line_with_a_missing_or_extra_field_is_not_read),
        cmocka_unit_test(a_copy_that_is_not_whole_is_not_read),
        cmocka_unit_test(a_write_cut_short_leaves_the_table_as_it_was),
        cmocka_unit_test(a_write_stopped_by_a_full_disk_leaves_the_table_as_it_was),
        cmocka_unit_test(a_write_cut_before_its_truncation_still_loads),
        cmocka_unit_test(both_copies_damaged_refuse_everything_until_they_are_old),
        cmocka_unit_test(a_table_past_its_size_limit_is_not_written),
        cmocka_unit_test(stale_entries_are_dropped),
        cmocka_unit_test(entries_from_a_clock_far_ahead_are_dropped_too),
        cmocka_unit_test(concurrent_claims_of_one_session_have_one_winner),
        cmocka_unit_test(concurrent_saves_all_stay),
        cmocka_unit_test(a_copy_readable_by_others_makes_the_store_unusable),
        cmocka_unit_test(a_copy_owned_by_another_uid_makes_the_store_unusable),
        cmocka_unit_test(a_symlinked_copy_is_unusable_and_its_target_untouched),
        cmocka_unit_test(a_lock_held_too_long_makes_the_store_unusable),
        cmocka_unit_test(a_directory_in_place_of_a_copy_is_unusable),
        cmocka_unit_test(a_missing_state_dir_is_created_private),
        cmocka_unit_test(save_creates_the_state_dir_too),
        cmocka_unit_test(a_state_dir_that_cannot_be_created_is_unusable),
        cmocka_unit_test(a_group_or_world_writable_state_dir_is_unusable),
        cmocka_unit_test(a_symlinked_state_dir_is_unusable),
        cmocka_unit_test(a_state_dir_of_another_owner_is_unusable),
        cmocka_unit_test(a_file_in_place_of_the_state_dir_is_unusable),
        cmocka_unit_test(a_claim_binds_the_session_to_one_key),
        cmocka_unit_test(claims_on_different_sessions_are_independent),
        cmocka_unit_test(a_claim_survives_the_store_object),
        cmocka_unit_test(a_claim_older_than_any_code_binds_nobody),
        cmocka_unit_test(a_claim_is_renewed_while_its_login_goes_on),
        cmocka_unit_test(the_login_key_names_user_service_host_and_process),
        cmocka_unit_test(forked_rounds_share_the_key_of_their_parent),
        cmocka_unit_test(the_login_key_changes_with_each_part),
        cmocka_unit_test(the_login_key_tells_parts_apart),
    };
    return cmocka_run_group_tests_name("session_store", tests, nullptr, nullptr);
}
