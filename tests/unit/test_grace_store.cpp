// FileGraceStore and its table text: grace_period's record of verified codes in state_dir.
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/GraceStore.hpp"
#include "verif8/GraceTable.hpp"

using namespace verif8;

namespace {

const std::string kHost = "203.0.113.9";
constexpr int kWindow = 300;

int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
    return remove(path);
}

// A state directory (made by the store) in a temp directory, and a clock the test moves.
struct State {
    test::TempDir dir;
    std::string path = dir.path() + "/state";
    std::time_t now = 1'800'000'000;
    ~State() { nftw(path.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS); }

    FileGraceStore store() {
        return FileGraceStore(path, geteuid(), 300, [this] { return now; });
    }
    std::string fileOf(const std::string& user) const {
        return path + "/grace/" + stateFileName(user);
    }
    std::string read(const std::string& user) const {
        std::ifstream in(fileOf(user));
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
    void write(const std::string& user, const std::string& text) const {
        std::ofstream(fileOf(user), std::ios::trunc) << text;
    }
};

GraceKey key(const std::string& user, const std::string& service = "sshd",
             const std::string& rhost = kHost) {
    return GraceKey{user, service, rhost};
}

void expectGranted(FileGraceStore& store, const GraceKey& grace, bool granted,
                   const std::string& row, std::time_t age = 0) {
    const GraceCheck check = store.check(grace, kWindow);
    if (check.problem)
        fail_msg("%s: problem %s", row.c_str(), check.problem->text.c_str());
    if (check.granted != granted || (granted && check.age != age))
        fail_msg("%s: granted %d age %ld, expected %d age %ld", row.c_str(), check.granted,
                 static_cast<long>(check.age), granted, static_cast<long>(age));
}

void expectOk(const Result<>& result, const char* what) {
    if (!result)
        fail_msg("%s: %s", what, result.problem().text.c_str());
}
}  // namespace

// Any byte of a user or service name stays one field; a text that is not whole is refused.
static void the_table_text_round_trips_and_refuses_damage(void**) {
    const GraceTable table{"o'brien x%\n\xff",
                           {{"sshd", "2001:db8::1", 1'800'000'000}, {"su l", "192.0.2.1", 7}}};
    const std::string text = renderGraceTable(table);
    expect_not_contains(text.substr(0, text.size() - 1), "\n\xff");
    const auto back = parseGraceTable(text);
    assert_true(back.has_value());
    expect_str(back->user, table.user);
    assert_int_equal(back->records.size(), 2);
    expect_str(back->records[1].service, "su l");
    expect_str(back->records[0].rhost, "2001:db8::1");
    assert_int_equal(back->records[0].verifiedAt, 1'800'000'000);
    const std::string head = "verif8-grace 1\nuser alice\n";
    const struct {
        const char* name;
        std::string text;
    } damaged[] = {
        {"empty", ""},
        {"cut before end", head + "100 sshd 192.0.2.1\n"},
        {"cut inside a line", head + "100 sshd 192.0.2.1\nen"},
        {"no final newline", head + "end"},
        {"an older text's tail after end", head + "end\n100 sshd 192.0.2.1\nend\n"},
        {"another format", "verif8-grace 2\nuser alice\nend\n"},
        {"no user line", "verif8-grace 1\nend\n"},
        {"empty user", "verif8-grace 1\nuser \nend\n"},
        {"a byte that should be escaped", head + "100 ssh\x01 192.0.2.1\nend\n"},
        {"a short escape", head + "100 sshd%4 192.0.2.1\nend\n"},
        {"a bad escape", head + "100 sshd%zz 192.0.2.1\nend\n"},
        {"four fields", head + "100 sshd 192.0.2.1 x\nend\n"},
        {"two fields", head + "100 sshd\nend\n"},
        {"a time that is not a number", head + "-100 sshd 192.0.2.1\nend\n"},
    };
    for (const auto& row : damaged)
        expect_row(!parseGraceTable(row.text), row.name);
    expect_row(parseGraceTable(head + "end\n").has_value(), "no records is whole");
}

// Grace holds for the same user, service and address, for less than the window from the
// verification; a check never extends it; a time ahead of the clock gives none.
static void grace_holds_only_for_its_key_inside_the_window(void**) {
    State state;
    FileGraceStore store = state.store();
    expectGranted(store, key("alice"), false, "before any grant (no file made)");
    struct stat st {};
    assert_int_equal(lstat((state.path + "/grace").c_str(), &st), -1);
    expectOk(store.grant(key("alice"), kWindow), "grant");
    expectGranted(store, key("alice"), true, "at once", 0);
    state.now += 100;
    expectGranted(store, key("alice"), true, "100 s on", 100);
    expectGranted(store, key("alice", "su"), false, "another service");
    expectGranted(store, key("alice", "sshd", "203.0.113.10"), false, "another address");
    expectGranted(store, key("bob"), false, "another user");
    state.now += kWindow - 101;
    expectGranted(store, key("alice"), true, "the last second", kWindow - 1);
    state.now += 1;
    expectGranted(store, key("alice"), false, "the window's end (checks did not extend it)");
    expectOk(store.grant(key("alice"), kWindow), "grant again");
    state.now -= 10;
    expectGranted(store, key("alice"), false, "a verification ahead of the clock");
}

// A wrong code ends the account's grace for every service and address, and no one else's.
static void end_ends_every_grace_of_the_account(void**) {
    State state;
    FileGraceStore store = state.store();
    expectOk(store.end("alice"), "end with nothing recorded");
    for (const GraceKey& grace : {key("alice"), key("alice", "su", "192.0.2.1"),
                                  key("alice", "login", "2001:db8::1"), key("bob")})
        expectOk(store.grant(grace, kWindow), "grant");
    expectOk(store.end("alice"), "end");
    expectGranted(store, key("alice"), false, "sshd after end");
    expectGranted(store, key("alice", "su", "192.0.2.1"), false, "su after end");
    expectGranted(store, key("alice", "login", "2001:db8::1"), false, "login after end");
    expectGranted(store, key("bob"), true, "bob's grace", 0);
}

// Files and directory private and root's (here: the test's uid); a file the module would not
// trust, or one that is not whole, gives no grace and says why; a grant rewrites a damaged one.
static void untrusted_or_damaged_files_give_no_grace(void**) {
    State state;
    FileGraceStore store = state.store();
    expectOk(store.grant(key("alice"), kWindow), "grant");
    struct stat st {};
    assert_int_equal(stat((state.path + "/grace").c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(stat(state.fileOf("alice").c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_uid, geteuid());
    expect_contains(state.read("alice"), "203.0.113.9");

    const std::string whole = state.read("alice");
    state.write("alice", whole + "12 sshd 203.0.113.9\nend\n");  // an older text's tail
    GraceCheck check = store.check(key("alice"), kWindow);
    assert_false(check.granted);
    assert_true(check.problem.has_value());
    expect_contains(check.problem->text, "not a whole grace file");
    expectOk(store.grant(key("alice"), kWindow), "grant over a damaged file");
    expectGranted(store, key("alice"), true, "after the rewrite", 0);

    assert_int_equal(chmod(state.fileOf("alice").c_str(), 0644), 0);
    check = store.check(key("alice"), kWindow);
    expect_row(!check.granted && check.problem, "a readable grace file");
    assert_int_equal(unlink(state.fileOf("alice").c_str()), 0);
    const std::string planted = state.dir.file(whole);
    assert_int_equal(symlink(planted.c_str(), state.fileOf("alice").c_str()), 0);
    check = store.check(key("alice"), kWindow);
    expect_row(!check.granted && check.problem, "a link to a grace text");
    expect_row(!store.grant(key("alice"), kWindow), "no grant through a link");
    expect_row(!store.end("alice"), "an end that cannot be made says so");
    assert_int_equal(unlink(state.fileOf("alice").c_str()), 0);

    expectOk(store.grant(key("alice"), kWindow), "grant");
    assert_int_equal(chmod((state.path + "/grace").c_str(), 0770), 0);
    check = store.check(key("alice"), kWindow);
    expect_row(!check.granted && check.problem, "a group-writable grace directory");
}

// Logins that verify at once each keep their record; the file keeps the newest 64 records.
static void concurrent_grants_keep_every_record_and_the_file_stays_bounded(void**) {
    State state;
    std::vector<pid_t> children;
    for (int i = 0; i < 8; ++i) {
        const pid_t child = fork();
        if (child == 0) {
            FileGraceStore store = state.store();
            _exit(store.grant(key("alice", "sshd", "192.0.2." + std::to_string(i)), kWindow) ? 0
                                                                                             : 1);
        }
        children.push_back(child);
    }
    for (const pid_t child : children) {
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    FileGraceStore store = state.store();
    FileGraceStore::Listing listing = store.list();
    assert_int_equal(listing.problems.size(), 0);
    assert_int_equal(listing.tables.size(), 1);
    assert_int_equal(listing.tables[0].records.size(), 8);

    for (int i = 0; i < 70; ++i) {
        ++state.now;
        expectOk(store.grant(key("bob", "sshd", "198.51.100." + std::to_string(i)), kWindow),
                 "grant");
    }
    expectGranted(store, key("bob", "sshd", "198.51.100.69"), true, "the newest", 0);
    expectGranted(store, key("bob", "sshd", "198.51.100.5"), false, "one of the 6 oldest");
    expectGranted(store, key("bob", "sshd", "198.51.100.6"), true, "the oldest kept", 63);
    listing = store.list();
    assert_int_equal(listing.tables.size(), 2);
    const auto cleared = store.endAll();
    assert_true(cleared.ok());
    assert_int_equal(cleared.value(), 8 + 64);
    assert_int_equal(store.list().tables.size(), 0);
    expectGranted(store, key("alice", "sshd", "192.0.2.3"), false, "after endAll");
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_table_text_round_trips_and_refuses_damage),
        cmocka_unit_test(grace_holds_only_for_its_key_inside_the_window),
        cmocka_unit_test(end_ends_every_grace_of_the_account),
        cmocka_unit_test(untrusted_or_damaged_files_give_no_grace),
        cmocka_unit_test(concurrent_grants_keep_every_record_and_the_file_stays_bounded),
    };
    return cmocka_run_group_tests_name("grace_store", tests, nullptr, nullptr);
}
