// SafeFile: the rules every trusted file is opened under, as one table of paths and rule sets; the
// descriptor owner; reading with a cap; state files and directories created private.
#include "verif8/SafeFile.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "support.hpp"

using namespace verif8;

namespace {

constexpr uid_t kOtherUid = 4242;  // given away with chown: the suite runs as root
constexpr std::size_t kCap = 64 * 1024;

enum class Shape {
    Regular,        // a file of `size` bytes with `mode`
    OtherOwner,     // the same, then given to kOtherUid
    Symlink,        // a link to a good private file
    Dangling,       // a link to nothing (next to it: "nowhere", which must stay absent)
    Directory,      // a directory with `mode`
    OtherOwnerDir,  // the same, then given to kOtherUid
    DirSymlink,     // a link to a good directory
    Fifo,           // no writer: opening it must not hang
    Missing,        // nothing there
    MissingParent,  // not even the directory it would be in
};

// The rule sets the module uses (callers fill in the details the same way).
const uid_t kMe = geteuid();
const FileRules kPrivate{FileKind::Regular, kMe, Access::OwnerOnly, kCap};       // config, API key
const FileRules kReadable{FileKind::Regular, kMe, Access::OthersMayRead, kCap};  // users, ca_file
const FileRules kProgram{FileKind::Regular, kMe, Access::OthersMayRead, std::nullopt, true};
const FileRules kDirectory{FileKind::Directory, kMe, Access::OthersMayRead, kCap};  // ca_path
const FileRules kStateFile{FileKind::Regular, kMe, Access::OwnerOnly, std::nullopt, false, true};
const FileRules kStateDir{FileKind::Directory, kMe, Access::OthersMayRead, kCap, false, true};

struct Row {
    std::string name;
    Shape shape;
    mode_t mode;
    FileRules rules;
    std::string expected;  // "": accepted; else a fragment of the problem after "PATH: "
    std::size_t size = 10;
};

std::vector<Row> rows() {
    const std::string mine = std::to_string(geteuid());
    const std::string owner = "must be owned by uid " + mine + " (is owned by uid 4242)";
    const std::string notWritable = "; it must be not writable by group or others";
    return {
        {"a private file", Shape::Regular, 0600, kPrivate, ""},
        {"a read-only private file", Shape::Regular, 0400, kPrivate, ""},
        {"group-readable, private rules", Shape::Regular, 0640, kPrivate,
         "has mode 0640; it must be 0600 (no access for group or others)"},
        {"world-readable, private rules", Shape::Regular, 0604, kPrivate,
         "has mode 0604; it must be 0600 (no access for group or others)"},
        {"world-readable, readable rules", Shape::Regular, 0644, kReadable, ""},
        {"group-writable", Shape::Regular, 0664, kReadable, "has mode 0664" + notWritable},
        {"world-writable", Shape::Regular, 0646, kReadable, "has mode 0646" + notWritable},
        {"a symlink to a good file", Shape::Symlink, 0600, kPrivate,
         "is a symbolic link; refusing it"},
        {"a dangling symlink", Shape::Dangling, 0, kReadable, "is a symbolic link"},
        {"a directory for a file", Shape::Directory, 0700, kPrivate, "is not a regular file"},
        {"a fifo", Shape::Fifo, 0600, kPrivate, "is not a regular file"},
        {"another owner", Shape::OtherOwner, 0600, kPrivate, owner},
        {"exactly the size limit", Shape::Regular, 0600, kPrivate, "", kCap},
        {"too large", Shape::Regular, 0600, kPrivate, "is larger than 65536 bytes", kCap + 1},
        {"missing", Shape::Missing, 0, kPrivate, "cannot open: No such file or directory"},
        {"a program", Shape::Regular, 0755, kProgram, ""},
        {"a large program", Shape::Regular, 0700, kProgram, "", kCap + 1},
        {"a program not executable", Shape::Regular, 0644, kProgram, "is not executable"},
        {"a program writable by others", Shape::Regular, 0757, kProgram,
         "has mode 0757" + notWritable},
        {"a directory", Shape::Directory, 0755, kDirectory, ""},
        {"a group-writable directory", Shape::Directory, 0775, kDirectory,
         "has mode 0775" + notWritable},
        {"a file for a directory", Shape::Regular, 0644, kDirectory, "is not a directory"},
        {"a symlink to a directory", Shape::DirSymlink, 0755, kDirectory, "is not a directory"},
        {"a directory of another owner", Shape::OtherOwnerDir, 0755, kDirectory, owner},
        {"a missing directory", Shape::Missing, 0, kDirectory, "cannot open"},
        {"a state file, created", Shape::Missing, 0, kStateFile, ""},
        {"a state file of any size", Shape::Regular, 0600, kStateFile, "", kCap + 1},
        {"a state file readable by others", Shape::Regular, 0640, kStateFile,
         "not a private regular file: has mode 0640; it must be 0600"},
        {"a state file of another owner", Shape::OtherOwner, 0600, kStateFile,
         "not a private regular file: " + owner},
        {"a directory for a state file", Shape::Directory, 0700, kStateFile,
         "cannot open: Is a directory"},  // opened for writing
        {"a fifo for a state file", Shape::Fifo, 0600, kStateFile,
         "not a private regular file: is not a regular file"},
        {"a dangling symlink for a state file", Shape::Dangling, 0, kStateFile,
         "is a symbolic link"},
        {"a state directory, created", Shape::Missing, 0, kStateDir, ""},
        {"a state directory without its parent", Shape::MissingParent, 0, kStateDir,
         "cannot create: No such file or directory"},
        {"a group-writable state directory", Shape::Directory, 0770, kStateDir,
         "has mode 0770" + notWritable},
        {"a state directory of another owner", Shape::OtherOwnerDir, 0700, kStateDir, owner},
        {"a symlink for a state directory", Shape::DirSymlink, 0700, kStateDir,
         "is not a directory"},
        {"a file for a state directory", Shape::Regular, 0600, kStateDir, "is not a directory"},
    };
}

void writeBytes(const std::string& path, std::size_t size, mode_t mode) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    const std::string text(size, 'x');
    assert_int_equal(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

// Puts the row's shape at a path in `dir`, and returns that path.
std::string make(const Row& row, const test::TempDir& dir) {
    const std::string path = dir.path() + "/it";
    const std::string target = dir.path() + "/target";
    switch (row.shape) {
        case Shape::Regular:
        case Shape::OtherOwner:
            writeBytes(path, row.size, row.mode);
            if (row.shape == Shape::OtherOwner)
                assert_int_equal(chown(path.c_str(), kOtherUid, static_cast<gid_t>(-1)), 0);
            break;
        case Shape::Symlink:
            writeBytes(target, row.size, row.mode);
            assert_int_equal(symlink(target.c_str(), path.c_str()), 0);
            break;
        case Shape::Dangling:
            assert_int_equal(symlink((dir.path() + "/nowhere").c_str(), path.c_str()), 0);
            break;
        case Shape::Directory:
        case Shape::OtherOwnerDir:
            assert_int_equal(mkdir(path.c_str(), 0700), 0);
            assert_int_equal(chmod(path.c_str(), row.mode), 0);
            if (row.shape == Shape::OtherOwnerDir)
                assert_int_equal(chown(path.c_str(), kOtherUid, static_cast<gid_t>(-1)), 0);
            break;
        case Shape::DirSymlink:
            assert_int_equal(mkdir(target.c_str(), row.mode), 0);
            assert_int_equal(symlink(target.c_str(), path.c_str()), 0);
            break;
        case Shape::Fifo:
            assert_int_equal(mkfifo(path.c_str(), row.mode), 0);
            break;
        case Shape::Missing:
            break;
        case Shape::MissingParent:
            return dir.path() + "/absent/it";
    }
    return path;
}

// What lstat says of a path, to show that a refused one was left as it was.
std::string describe(const std::string& path) {
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0)
        return "absent";
    return std::to_string(info.st_ino) + " " + std::to_string(info.st_mode) + " " +
           std::to_string(info.st_uid) + " " + std::to_string(info.st_size);
}

void failRow(const Row& row, const std::string& what) {
    fail_msg("row '%s': %s", row.name.c_str(), what.c_str());
}

void checkRow(const Row& row) {
    test::TempDir dir;
    const std::string path = make(row, dir);
    const std::string before = describe(path);
    const auto opened = openChecked(path, row.rules);
    // check-config's checkTrustedPath applies the same rules, with the same words.
    if (!row.rules.createPrivate) {
        const auto checked = checkTrustedPath(path, row.rules);
        if (checked.ok() != opened.ok() ||
            (!opened && checked.problem().text != opened.problem().text))
            failRow(row, "checkTrustedPath differs");
    }
    if (row.expected.empty()) {
        if (!opened)
            failRow(row, "refused: " + opened.problem().text);
        if (fcntl(opened.value().get(), F_GETFD) != FD_CLOEXEC)
            failRow(row, "the descriptor is not close-on-exec");
        return;
    }
    if (opened)
        failRow(row, "accepted; expected \"" + row.expected + "\"");
    const std::string& problem = opened.problem().text;
    if (problem.rfind(path + ": ", 0) != 0 || problem.find(row.expected) == std::string::npos)
        failRow(row,
                "\"" + problem + "\" is not \"" + path + ": ...\" with \"" + row.expected + "\"");
    if (describe(path) != before)
        failRow(row, "the refused path was changed");
    if (describe(dir.path() + "/nowhere") != "absent")
        failRow(row, "created through a link");
}

bool isOpen(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}

}  // namespace

static void every_row_of_the_rules_table(void**) {
    // A fifo that hung the open would stop the test here; SIGALRM's default action ends it.
    signal(SIGALRM, SIG_DFL);
    alarm(20);
    for (const Row& row : rows()) {
        const bool givenAway = row.shape == Shape::OtherOwner || row.shape == Shape::OtherOwnerDir;
        if (givenAway && geteuid() != 0)
            continue;  // only root can give a file away; the suite runs as root
        checkRow(row);
    }
    alarm(0);
}

static void created_state_files_are_private_whatever_the_umask_and_group(void**) {
    test::TempDir dir;
    const mode_t mask = umask(0);
    const gid_t group = getegid();
    if (geteuid() == 0)
        assert_int_equal(setegid(kOtherUid), 0);  // su: the caller's group
    const auto file = openChecked(dir.path() + "/file", kStateFile);
    const auto directory = openChecked(dir.path() + "/dir", kStateDir);
    if (geteuid() == 0)
        assert_int_equal(setegid(group), 0);
    umask(mask);
    assert_true(file.ok());
    assert_true(directory.ok());
    for (const auto& [path, mode] : {std::pair<std::string, mode_t>{dir.path() + "/file", 0600},
                                     {dir.path() + "/dir", 0700}}) {
        struct stat info {};
        assert_int_equal(lstat(path.c_str(), &info), 0);
        assert_int_equal(info.st_mode & 07777, mode);
        assert_int_equal(info.st_uid, geteuid());
        if (geteuid() == 0)
            assert_int_equal(info.st_gid, 0);
    }
    // A state file is opened for writing; one that is there already keeps what it holds.
    assert_int_equal(write(file.value().get(), "kept", 4), 4);
    const auto again = openChecked(dir.path() + "/file", kStateFile);
    assert_true(again.ok());
    const auto text = readCapped(again.value(), kCap);
    assert_true(text.ok());
    expect_str(text.value().view(), "kept");
}

// readCapped reads from the start whatever the offset, up to the cap; a file checked small, then
// grown, is capped all the same, and the path named.
static void reads_start_at_the_start_and_stop_at_the_cap(void**) {
    test::TempDir dir;
    const std::string path = dir.file("0123456789");
    const auto text = readChecked(path, kPrivate);
    assert_true(text.ok());
    expect_str(text.value().view(), "0123456789");
    const auto file = openChecked(path, kPrivate);
    assert_true(file.ok());
    char skipped[4];
    assert_int_equal(read(file.value().get(), skipped, sizeof skipped), 4);  // offset moved
    const auto whole = readCapped(file.value(), 10);
    assert_true(whole.ok());
    expect_str(whole.value().view(), "0123456789");
    const auto over = readCapped(file.value(), 9);
    assert_false(over.ok());
    expect_str(over.problem().text, "is larger than 9 bytes");
    const int writer = open(path.c_str(), O_WRONLY | O_APPEND);
    assert_true(writer >= 0);
    const std::string more(kCap, 'x');
    assert_int_equal(write(writer, more.data(), more.size()), static_cast<ssize_t>(more.size()));
    close(writer);
    const auto grown = readCapped(file.value(), kCap);
    assert_false(grown.ok());
    expect_str(grown.problem().text, "is larger than 65536 bytes");
    const auto byPath = readChecked(path, kPrivate);
    assert_false(byPath.ok());
    expect_str(byPath.problem().text, path + ": is larger than 65536 bytes");
}

static void a_descriptor_is_closed_once_by_its_last_owner(void**) {
    test::TempDir dir;
    const std::string path = dir.file("x");
    int fd = -1;
    {
        auto opened = openChecked(path, kPrivate);
        assert_true(opened.ok());
        FileDescriptor first = std::move(opened).value();
        fd = first.get();
        FileDescriptor second(std::move(first));
        assert_int_equal(first.get(), -1);
        assert_int_equal(second.get(), fd);
        FileDescriptor third;
        third = std::move(second);
        assert_true(isOpen(fd));
    }
    assert_false(isOpen(fd));  // closed when the last owner went
    FileDescriptor kept(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    const int released = kept.release();
    assert_int_equal(kept.get(), -1);
    { FileDescriptor gone(std::move(kept)); }
    assert_true(isOpen(released));  // released: the caller's to close
    close(released);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_row_of_the_rules_table),
        cmocka_unit_test(created_state_files_are_private_whatever_the_umask_and_group),
        cmocka_unit_test(reads_start_at_the_start_and_stop_at_the_cap),
        cmocka_unit_test(a_descriptor_is_closed_once_by_its_last_owner),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
