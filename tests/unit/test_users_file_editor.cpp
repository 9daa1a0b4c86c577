// UsersFileEditor: one user's lines changed, every other byte, the owner and the mode kept, and
// no line lost to concurrent editors.
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/UsersFileEditor.hpp"

using namespace verif8;

// The editor fsyncs its temp file just before it puts it in place. This executable's own fsync
// (it wins over libc's for the library linked into it) runs `atNextFsync` there once: "someone
// else" changing the users file between the editor's read and its rename.
static std::function<void()> atNextFsync;
extern "C" int fsync(int fd) {
    if (atNextFsync) {
        const std::function<void()> act = std::move(atNextFsync);
        atNextFsync = nullptr;
        act();
    }
    return static_cast<int>(syscall(SYS_fsync, fd));
}

namespace {

const std::string kFile =
    "# /etc/security/pam_verif8.users\n"
    "#alice +6500000000 sms\n"
    "\n"
    "  alice\t+6591234567   sms,voice   \n"
    "bob +6598765432 voice\r\n"
    "alicex +6511111111\n"
    "   # indented comment with trailing blanks   \n"
    "carol +6522222222";

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

struct Row {
    const char* why;
    std::string text;
    const char* user;
    std::optional<std::string> line;
    std::string expected;  // "" with found -1: a problem is expected
    int found;
};

void changes_keep_every_other_byte(void** /*state*/) {
    const std::string newAlice = "alice +6599999999 voice";
    const Row rows[] = {
        {"replaced in place, comments and blanks kept", kFile, "alice", newAlice,
         "# /etc/security/pam_verif8.users\n#alice +6500000000 sms\n\n" + newAlice +
             "\nbob +6598765432 voice\r\nalicex +6511111111\n"
             "   # indented comment with trailing blanks   \ncarol +6522222222",
         1},
        {"a CRLF line keeps its ending", kFile, "bob", std::string("bob +6533333333"),
         "# /etc/security/pam_verif8.users\n#alice +6500000000 sms\n\n"
         "  alice\t+6591234567   sms,voice   \nbob +6533333333\r\nalicex +6511111111\n"
         "   # indented comment with trailing blanks   \ncarol +6522222222",
         1},
        {"the last line without a newline gets one", kFile, "carol", std::string("carol +6544"),
         kFile.substr(0, kFile.size() - std::string("carol +6522222222").size()) + "carol +6544\n",
         1},
        {"appended after a last line without a newline", kFile, "dave",
         std::string("dave +6555555555 viber"), kFile + "\ndave +6555555555 viber\n", 0},
        {"appended to an empty file", "", "dave", std::string("dave +6555555555"),
         "dave +6555555555\n", 0},
        {"appended to a file that ends in a newline", "a +6511111111\n", "dave",
         std::string("dave +6555555555"), "a +6511111111\ndave +6555555555\n", 0},
        {"removed, the others kept", kFile, "alice", std::nullopt,
         "# /etc/security/pam_verif8.users\n#alice +6500000000 sms\n\n"
         "bob +6598765432 voice\r\nalicex +6511111111\n"
         "   # indented comment with trailing blanks   \ncarol +6522222222",
         1},
        {"the last line removed", kFile, "carol", std::nullopt,
         kFile.substr(0, kFile.size() - std::string("carol +6522222222").size()), 1},
        {"every line of a user listed twice goes; the first is replaced",
         "x +6511111111\nalice +6500000000\ny +6522222222\nalice bad\n", "alice",
         std::string("alice +6533333333"), "x +6511111111\nalice +6533333333\ny +6522222222\n", 2},
        {"removing every line of a user listed twice",
         "alice +6500000000\ny +6522222222\nalice bad\n", "alice", std::nullopt, "y +6522222222\n",
         2},
        {"removing a user who has no line (a commented one does not count)", kFile, "dave",
         std::nullopt, "", -1},
        {"a prefix of another user is not that user", "alicex +6511111111\n", "alice", std::nullopt,
         "", -1},
        {"no user name", kFile, "", std::string("x"), "", -1},
    };
    for (const Row& row : rows) {
        const auto change = changeUserLines(row.text, row.user, row.line);
        if (row.found < 0) {
            expect_row(!change.ok(), row.why);
            continue;
        }
        expect_row(change.ok(), row.why);
        if (!change)
            continue;
        if (change.value().text != row.expected)
            print_error("row \"%s\":\n", row.why);
        expect_str(change.value().text, row.expected);
        expect_row(change.value().found == row.found, row.why);
    }
}

struct Setup {
    test::TempDir dir;
    std::string path = dir.path() + "/pam_verif8.users";
    UsersFileTarget target{path, dir.path() + "/users.lock", geteuid(), 30000};

    explicit Setup(std::optional<std::string> text, mode_t mode = 0644) {
        if (!text)
            return;
        std::ofstream(path, std::ios::binary) << *text;
        chmod(path.c_str(), mode);
    }
    // Nothing but the users file and the lock: no temp file left behind.
    void expectNoLeftovers() const {
        const std::string both =
            "ls -A " + dir.path() + " | grep -vx -e pam_verif8.users " + "-e users.lock >/dev/null";
        assert_int_not_equal(system(both.c_str()), 0);
    }
};

void an_edit_keeps_mode_owner_and_other_lines(void** /*state*/) {
    Setup setup(kFile, 0640);
    // As root, a group of its own: the edit must keep it.
    const gid_t group = geteuid() == 0 ? 4321 : getegid();
    assert_int_equal(chown(setup.path.c_str(), geteuid(), group), 0);
    struct stat before {};
    assert_int_equal(stat(setup.path.c_str(), &before), 0);
    const auto edit = editUsersFile(setup.target, "bob", std::string("bob +6533333333 sms"));
    assert_true(edit.ok());
    assert_int_equal(edit.value().found, 1);
    assert_false(edit.value().created);
    expect_str(readFile(setup.path), changeUserLines(kFile, "bob",
                                                     std::string("bob +6533333333 "
                                                                 "sms"))
                                         .value()
                                         .text);
    struct stat after {};
    assert_int_equal(stat(setup.path.c_str(), &after), 0);
    assert_int_equal(after.st_mode & 07777, 0640);
    assert_int_equal(after.st_uid, before.st_uid);
    assert_int_equal(after.st_gid, group);
    assert_int_not_equal(after.st_ino, before.st_ino);  // replaced whole, by a rename
    setup.expectNoLeftovers();

    assert_true(editUsersFile(setup.target, "bob", std::nullopt).ok());
    expect_not_contains(readFile(setup.path), "bob");
    expect_contains(readFile(setup.path), "# indented comment with trailing blanks   \n");
    assert_int_equal(stat(setup.path.c_str(), &after), 0);
    assert_int_equal(after.st_mode & 07777, 0640);
}

void a_missing_file_is_created_private_but_not_for_a_removal(void** /*state*/) {
    Setup setup(std::nullopt);
    assert_false(editUsersFile(setup.target, "alice", std::nullopt).ok());
    assert_int_not_equal(access(setup.path.c_str(), F_OK), 0);
    const auto edit = editUsersFile(setup.target, "alice", std::string("alice +6591234567"));
    assert_true(edit.ok());
    assert_true(edit.value().created);
    expect_str(readFile(setup.path), "alice +6591234567\n");
    struct stat info {};
    assert_int_equal(stat(setup.path.c_str(), &info), 0);
    assert_int_equal(info.st_mode & 07777, 0600);
    setup.expectNoLeftovers();
}

void a_file_the_module_refuses_is_not_edited(void** /*state*/) {
    const struct {
        const char* why;
        mode_t mode;
        bool link;
        const char* problem;
    } rows[] = {{"writable by others", 0666, false, "has mode 0666"},
                {"writable by the group", 0664, false, "has mode 0664"},
                {"a symbolic link", 0644, true, "symbolic link"}};
    for (const auto& row : rows) {
        Setup setup(kFile, row.mode);
        std::string target = setup.path;
        if (row.link) {
            target = setup.dir.path() + "/link.users";
            assert_int_equal(symlink(setup.path.c_str(), target.c_str()), 0);
        }
        UsersFileTarget linked = setup.target;
        linked.path = target;
        const auto edit = editUsersFile(linked, "alice", std::string("alice +6500000000"));
        expect_row(!edit.ok(), row.why);
        if (!edit.ok())
            expect_contains(edit.problem().text, row.problem);
        expect_str(readFile(setup.path), kFile);
        struct stat info {};
        assert_int_equal(lstat(target.c_str(), &info), 0);
        expect_row(S_ISLNK(info.st_mode) == row.link, row.why);
    }
}

void removing_a_user_without_a_line_changes_nothing(void** /*state*/) {
    Setup setup(kFile);
    struct stat before {};
    assert_int_equal(stat(setup.path.c_str(), &before), 0);
    const auto edit = editUsersFile(setup.target, "dave", std::nullopt);
    assert_false(edit.ok());
    expect_contains(edit.problem().text, "'dave' has no line");
    struct stat after {};
    assert_int_equal(stat(setup.path.c_str(), &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    expect_str(readFile(setup.path), kFile);
    setup.expectNoLeftovers();
}

// Another writer that does not take the lock (an admin's editor saving, a config tool) changes
// the file between the read and the rename: the edit is refused and that writer's text stays.
void a_file_changed_meanwhile_is_left_to_its_new_writer(void** /*state*/) {
    const struct {
        const char* why;
        bool existed;
        bool replace;  // the other writer's new file is renamed in; otherwise it is removed
    } rows[] = {{"an editor saved a new file over it", true, true},
                {"it was removed", true, false},
                {"one appeared where there was none", false, true}};
    for (const auto& row : rows) {
        Setup setup(row.existed ? std::optional<std::string>(kFile) : std::nullopt);
        bool reached = false;
        atNextFsync = [&] {
            reached = true;
            const std::string other = setup.dir.path() + "/editor.tmp";
            std::ofstream(other, std::ios::binary) << "alice +6511111111\n";
            if (row.replace)
                assert_int_equal(rename(other.c_str(), setup.path.c_str()), 0);
            else
                assert_int_equal(unlink(setup.path.c_str()) | unlink(other.c_str()), 0);
        };
        const auto edit = editUsersFile(setup.target, "bob", std::string("bob +6533333333"));
        atNextFsync = nullptr;
        expect_row(reached, row.why);
        expect_row(!edit.ok(), row.why);
        if (!edit.ok())
            expect_contains(edit.problem().text,
                            "changed by someone else while being edited; nothing written");
        if (row.replace)
            expect_str(readFile(setup.path), "alice +6511111111\n");
        else
            expect_row(access(setup.path.c_str(), F_OK) != 0, row.why);
        setup.expectNoLeftovers();
    }
}

// Temp files of edits killed before their rename are removed by the next edit, under the lock;
// a file that only looks alike (an editor's swap file) is not.
void an_edit_removes_what_killed_edits_left(void** /*state*/) {
    Setup setup(kFile);
    const std::string dir = setup.dir.path() + "/";
    for (const char* name : {".pam_verif8.users.verif8ctl-4242-0",
                             ".pam_verif8.users.verif8ctl-7-3", ".pam_verif8.users.swp"})
        std::ofstream(dir + name) << "stale\n";
    const auto edit = editUsersFile(setup.target, "bob", std::string("bob +6533333333"));
    assert_true(edit.ok());
    assert_int_equal(edit.value().leftoversRemoved, 2);
    assert_int_equal(access((dir + ".pam_verif8.users.swp").c_str(), F_OK), 0);
    assert_int_equal(unlink((dir + ".pam_verif8.users.swp").c_str()), 0);
    setup.expectNoLeftovers();
    const auto again = editUsersFile(setup.target, "bob", std::nullopt);
    assert_true(again.ok());
    assert_int_equal(again.value().leftoversRemoved, 0);
}

// Eight processes each add their own user at once, several times: every line survives.
void concurrent_editors_lose_no_line(void** /*state*/) {
    Setup setup(kFile);
    constexpr int kWriters = 8;
    constexpr int kRounds = 5;
    std::vector<pid_t> children;
    for (int writer = 0; writer < kWriters; ++writer) {
        const pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            bool ok = true;
            for (int round = 0; round < kRounds; ++round) {
                const std::string user =
                    "user" + std::to_string(writer) + "r" + std::to_string(round);
                ok = ok && editUsersFile(setup.target, user,
                                         user + " +65900000" + std::to_string(writer) + "0")
                               .ok();
            }
            _exit(ok ? 0 : 1);
        }
        children.push_back(child);
    }
    for (const pid_t child : children) {
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    const std::string text = readFile(setup.path);
    assert_true(text.compare(0, kFile.size(), kFile) == 0);
    for (int writer = 0; writer < kWriters; ++writer)
        for (int round = 0; round < kRounds; ++round)
            expect_contains(text, "\nuser" + std::to_string(writer) + "r" + std::to_string(round) +
                                      " +65900000");
    assert_int_equal(std::count(text.begin(), text.end(), '\n'),
                     std::count(kFile.begin(), kFile.end(), '\n') + 1 + kWriters * kRounds);
    setup.expectNoLeftovers();
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changes_keep_every_other_byte),
        cmocka_unit_test(an_edit_keeps_mode_owner_and_other_lines),
        cmocka_unit_test(a_missing_file_is_created_private_but_not_for_a_removal),
        cmocka_unit_test(a_file_the_module_refuses_is_not_edited),
        cmocka_unit_test(removing_a_user_without_a_line_changes_nothing),
        cmocka_unit_test(concurrent_editors_lose_no_line),
        cmocka_unit_test(a_file_changed_meanwhile_is_left_to_its_new_writer),
        cmocka_unit_test(an_edit_removes_what_killed_edits_left),
    };
    return cmocka_run_group_tests_name("users_file_editor", tests, nullptr, nullptr);
}
