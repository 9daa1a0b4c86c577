// support.hpp: small helpers shared by the unit tests (string checks, temp files, fixtures).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "cmocka.hpp"

// Compares std::string-like values and prints both sides on failure.
#define expect_str(actual, expected)                                                               \
    do {                                                                                           \
        const std::string actual_ = std::string(actual);                                           \
        const std::string expected_ = std::string(expected);                                       \
        if (actual_ != expected_) {                                                                \
            print_error("expected \"%s\"\n     got \"%s\"\n", expected_.c_str(), actual_.c_str()); \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define expect_contains(haystack, needle)                                         \
    do {                                                                          \
        const std::string haystack_ = std::string(haystack);                      \
        const std::string needle_ = std::string(needle);                          \
        if (haystack_.find(needle_) == std::string::npos) {                       \
            print_error("\"%s\"\n  does not contain \"%s\"\n", haystack_.c_str(), \
                        needle_.c_str());                                         \
            fail();                                                               \
        }                                                                         \
    } while (0)

#define expect_not_contains(haystack, needle)                                               \
    do {                                                                                    \
        const std::string haystack_ = std::string(haystack);                                \
        const std::string needle_ = std::string(needle);                                    \
        if (haystack_.find(needle_) != std::string::npos) {                                 \
            print_error("\"%s\"\n  contains \"%s\"\n", haystack_.c_str(), needle_.c_str()); \
            fail();                                                                         \
        }                                                                                   \
    } while (0)

#define expect_starts_with(text, prefix)                                                           \
    do {                                                                                           \
        const std::string text_ = std::string(text);                                               \
        const std::string prefix_ = std::string(prefix);                                           \
        if (text_.compare(0, prefix_.size(), prefix_) != 0) {                                      \
            print_error("\"%s\"\n  does not start with \"%s\"\n", text_.c_str(), prefix_.c_str()); \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

namespace test {

inline bool hasControlBytes(std::string_view text) {
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f)
            return true;
    }
    return false;
}

// A file under tests/fixtures/, read whole.
inline std::string fixture(const std::string& name) {
    const std::string path = std::string(VERIF8_FIXTURES) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        print_error("cannot read fixture %s\n", path.c_str());
        fail();
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A private directory under /tmp, removed (with the files in it) when the test ends.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/verif8-unit-XXXXXX";
        if (mkdtemp(pattern) == nullptr) {
            print_error("mkdtemp failed\n");
            fail();
        }
        path_ = pattern;
    }
    ~TempDir() {
        if (DIR* dir = opendir(path_.c_str())) {
            while (const dirent* entry = readdir(dir)) {
                const std::string name = entry->d_name;
                if (name == "." || name == "..")
                    continue;
                const std::string full = path_ + "/" + name;
                if (unlink(full.c_str()) != 0)
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
        if (fd < 0) {
            print_error("mkstemp failed\n");
            fail();
        }
        std::size_t done = 0;
        while (done < text.size()) {
            const ssize_t wrote = write(fd, text.data() + done, text.size() - done);
            if (wrote <= 0) {
                close(fd);
                print_error("write failed\n");
                fail();
            }
            done += static_cast<std::size_t>(wrote);
        }
        fchmod(fd, mode);
        close(fd);
        return name;
    }

private:
    std::string path_;
};

}  // namespace test
