// support.hpp: small helpers shared by the unit tests (string checks, table rows, temp files).
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "cmocka.hpp"

namespace test {

// Why a string check failed, or nothing when it held.
using Miss = std::optional<std::string>;

inline Miss differs(const std::string& actual, const std::string& expected) {
    if (actual == expected)
        return std::nullopt;
    return "expected \"" + expected + "\"\n     got \"" + actual + "\"";
}

// `failure` says how `text` relates to `part` when the check did not hold.
inline Miss holds(bool held, const std::string& text, const char* failure,
                  const std::string& part) {
    if (held)
        return std::nullopt;
    return "\"" + text + "\"\n  " + failure + " \"" + part + "\"";
}

}  // namespace test

// The macros keep the caller's file and line in the failure; each argument is read once.
#define verif8_expect_(miss)                     \
    do {                                         \
        if (const test::Miss miss_ = (miss)) {   \
            print_error("%s\n", miss_->c_str()); \
            fail();                              \
        }                                        \
    } while (0)

#define expect_str(actual, expected) \
    verif8_expect_(test::differs(std::string(actual), std::string(expected)))

#define verif8_contains_(haystack, needle, wanted)                                     \
    do {                                                                               \
        const std::string h_ = std::string(haystack), n_ = std::string(needle);        \
        verif8_expect_(test::holds((h_.find(n_) != std::string::npos) == (wanted), h_, \
                                   (wanted) ? "does not contain" : "contains", n_));   \
    } while (0)

#define expect_contains(haystack, needle) verif8_contains_(haystack, needle, true)
#define expect_not_contains(haystack, needle) verif8_contains_(haystack, needle, false)

#define expect_starts_with(text, prefix)                                                    \
    do {                                                                                    \
        const std::string t_ = std::string(text), p_ = std::string(prefix);                 \
        verif8_expect_(                                                                     \
            test::holds(t_.compare(0, p_.size(), p_) == 0, t_, "does not start with", p_)); \
    } while (0)

// A check inside a table loop: its failure names the row as well as the condition.
#define expect_row(condition, row)                                                               \
    do {                                                                                         \
        if (!(condition)) {                                                                      \
            print_error("row \"%s\": %s does not hold\n", std::string(row).c_str(), #condition); \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

namespace test {

inline bool hasControlBytes(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
}

// A file under tests/fixtures/, read whole.
inline std::string fixture(const std::string& name) {
    const std::string path = std::string(VERIF8_FIXTURES) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail_msg("cannot read fixture %s", path.c_str());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A private directory under /tmp, removed (with the files in it) when the test ends.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/verif8-unit-XXXXXX";
        if (mkdtemp(pattern) == nullptr)
            fail_msg("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        if (DIR* dir = opendir(path_.c_str())) {
            while (const dirent* entry = readdir(dir)) {
                const std::string full = path_ + "/" + entry->d_name;
                if (std::string_view(entry->d_name) != "." &&
                    std::string_view(entry->d_name) != ".." && unlink(full.c_str()) != 0)
                    rmdir(full.c_str());
            }
            closedir(dir);
        }
        rmdir(path_.c_str());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }

    // A new file (mkstemp) holding `text`, with exactly `mode`.
    std::string file(std::string_view text, mode_t mode = 0600) const {
        std::string name = path_ + "/file-XXXXXX";
        const int fd = mkstemp(name.data());
        if (fd < 0)
            fail_msg("mkstemp failed");
        const bool wrote = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        fchmod(fd, mode);
        close(fd);
        if (!wrote)
            fail_msg("write to %s failed", name.c_str());
        return name;
    }

private:
    std::string path_;
};

}  // namespace test
