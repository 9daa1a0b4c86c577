// ConfigParser: turns pam_verif8.conf text and module arguments into a Config, pure (no I/O).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/SecretString.hpp"

namespace verif8 {

// One problem, with where it was found: "FILE:LINE: message", "FILE: message" or
// "module arguments: message".
struct ConfigProblem {
    std::string source;
    int line = 0;  // 0 when the problem is not tied to a line
    std::string message;

    std::string describe() const;
};

inline constexpr std::size_t kMaxConfigSize = 64 * 1024;

// File lines and module arguments go through the same setter, so the two can never disagree on
// what a key means or accepts.
class ConfigParser {
public:
    explicit ConfigParser(Config& config) : config_(config) {}

    // Applies one key. Returns an empty string on success, else what is wrong with it.
    std::string set(std::string_view key, std::string_view value);

    // Parses the text of a config file; every problem is appended to `problems`.
    void parseText(std::string_view text, const std::string& source,
                   std::vector<ConfigProblem>& problems);

    // Checks what no single line can: required keys and keys that exclude each other.
    void checkComplete(const std::string& source, std::vector<ConfigProblem>& problems) const;

    static const std::vector<std::string>& knownKeys();

private:
    Config& config_;
};

}  // namespace verif8
