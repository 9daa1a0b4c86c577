// TwoCopyFile: a text kept whole in two files written in turn; the newer whole copy is read.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/TwoCopyFile.hpp"

using namespace verif8;

namespace {

constexpr std::time_t kStale = 7260;

// The texts of these tests: "GENERATION:PAYLOAD." (empty: never written, generation 0). Without
// the final dot (padding aside) a text is torn.
std::optional<std::uint64_t> generationOf(const std::optional<std::string>& text) {
    if (!text)
        return std::nullopt;
    if (text->empty())
        return 0;
    const std::size_t colon = text->find(':');
    const std::size_t last = text->find_last_not_of('\n');
    if (colon == std::string::npos || colon == 0 || last == std::string::npos ||
        (*text)[last] != '.')
        return std::nullopt;
    return std::stoull(text->substr(0, colon));
}

struct Copies {
    test::TempDir dir;
    std::string a = dir.path() + "/copy.a";
    std::string b = dir.path() + "/copy.b";
};

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void writeFile(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// One change as a store makes it: open, read, pick the newest, write the next generation.
Result<> change(const Copies& copies, const std::string& payload, std::size_t maxBytes = 4096) {
    TwoCopyFile file(copies.a, copies.b, geteuid(), maxBytes, kStale);
    const Locking locking = file.open(1000);
    if (locking.verdict != LockVerdict::Locked)
        return *locking.problem;
    const auto first = generationOf(file.text(0));
    const auto second = generationOf(file.text(1));
    const auto newest = file.newest(first, second, time(nullptr));
    if (!newest)
        return newest.problem();
    const std::uint64_t generation = !newest.value() ? 0 : *newest.value() == 0 ? *first : *second;
    return file.writeOther(std::to_string(generation + 1) + ":" + payload + ".");
}

void age(const std::string& path, std::time_t seconds) {
    const std::time_t then = time(nullptr) - seconds;
    const struct timespec times[2] = {{then, 0}, {then, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

}  // namespace

static void changes_go_to_the_two_copies_in_turn_and_a_torn_write_to_neither(void**) {
    Copies copies;
    assert_true(change(copies, "one").ok());
    expect_str(readFile(copies.b), "1:one.");
    expect_str(readFile(copies.a), "");
    assert_true(change(copies, "two").ok());
    expect_str(readFile(copies.a), "2:two.");
    expect_str(readFile(copies.b), "1:one.");  // the older copy keeps the text before the change
    assert_true(change(copies, "3").ok());
    expect_str(readFile(copies.b), "3:3.");  // shorter than before: padded, then cut to length
    struct stat info {};
    assert_int_equal(stat(copies.a.c_str(), &info), 0);
    assert_int_equal(info.st_mode & 07777, 0600);
    // A write stopped part-way, as on a full disk, leaves the other copy whole.
    const pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        signal(SIGXFSZ, SIG_IGN);  // files may not grow past 200 bytes here
        const struct rlimit limit = {200, 200};
        setrlimit(RLIMIT_FSIZE, &limit);
        const auto written = change(copies, std::string(1000, 'x'));
        _exit(!written.ok() && written.problem().text == copies.a + ": cannot write: File too large"
                  ? 0
                  : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);          // the failed write was reported
    assert_int_equal(readFile(copies.a).size(), 200);  // torn
    assert_true(change(copies, "four").ok());          // built on the whole copy, over the torn one
    expect_str(readFile(copies.a), "4:four.");
}

static void the_newer_whole_copy_is_chosen(void**) {
    using Generation = std::optional<std::uint64_t>;
    const struct {
        Generation first, second;
        int newest;
    } cases[] = {
        {0, 0, 0},
        {0, 3, 1},  // a copy cut to nothing reads as never written
        {1, 2, 1},
        {2, 1, 0},
        {std::nullopt, 5, 1},
        {5, std::nullopt, 0},
        {4294967297ull, 4294967296ull, 0},
        {9999999999999999990ull, 9999999999999999991ull, 1},
    };
    Copies copies;
    TwoCopyFile file(copies.a, copies.b, geteuid(), 4096, kStale);
    for (const auto& c : cases) {
        const auto newest = file.newest(c.first, c.second, time(nullptr));
        assert_true(newest.ok() && newest.value().has_value());
        assert_int_equal(*newest.value(), c.newest);
    }
}

static void both_copies_torn_are_refused_until_both_are_stale(void**) {
    Copies copies;
    assert_true(change(copies, "one").ok());
    writeFile(copies.a, "7:torn");
    writeFile(copies.b, "torn too");
    const auto refused = change(copies, "two");
    assert_false(refused.ok());
    expect_contains(refused.problem().text, copies.a + " and " + copies.b + ": both damaged");
    expect_contains(refused.problem().text, "started afresh 2 hours after the last write");
    expect_str(readFile(copies.b), "torn too");  // nothing written over them
    // One copy last written longer ago than the texts matter is not enough...
    age(copies.a, 3 * 3600);
    assert_false(change(copies, "two").ok());
    // ...both are: started afresh, into the first copy.
    age(copies.b, 3 * 3600);
    assert_true(change(copies, "fresh").ok());
    expect_str(readFile(copies.a), "1:fresh.");
    expect_str(readFile(copies.b), "torn too");
}

static void a_text_past_the_cap_is_neither_written_nor_read(void**) {
    Copies copies;
    assert_true(change(copies, "small", 100).ok());
    const auto refused = change(copies, std::string(100, 'x'), 100);
    assert_false(refused.ok());
    expect_contains(refused.problem().text, copies.a + ": the table would grow past 100 bytes");
    expect_str(readFile(copies.a), "");
    // A copy longer than any text written (and its padding) is not read.
    writeFile(copies.a, "9:" + std::string(100 + 4096, 'x') + ".");
    TwoCopyFile file(copies.a, copies.b, geteuid(), 100, kStale);
    assert_true(file.open(1000).verdict == LockVerdict::Locked);
    assert_false(file.text(0).has_value());
    assert_true(file.text(1).has_value());
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changes_go_to_the_two_copies_in_turn_and_a_torn_write_to_neither),
        cmocka_unit_test(the_newer_whole_copy_is_chosen),
        cmocka_unit_test(both_copies_torn_are_refused_until_both_are_stale),
        cmocka_unit_test(a_text_past_the_cap_is_neither_written_nor_read),
    };
    return cmocka_run_group_tests_name("two_copy_file", tests, nullptr, nullptr);
}
