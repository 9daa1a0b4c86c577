// ConfigParser: turns pam_verif8.conf text and module arguments into a Config, pure (no I/O).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/Result.hpp"

namespace verif8 {

// A problem with where it was found, for the list a parse reports (a parse reports every bad
// line, not only the first): "FILE:LINE: text", "FILE: text" or "module arguments: text".
struct ConfigProblem {
    std::string source;
    int line = 0;  // 0 when the problem is not tied to a line
    std::string text;

    std::string describe() const;
};

inline constexpr std::size_t kMaxConfigSize = 64 * 1024;

// File lines and module arguments go through the same setter, so the two can never disagree on
// what a key means or accepts.
class ConfigParser {
public:
    explicit ConfigParser(Config& config) : config_(config) {}

    // Applies one key, or leaves the config as it was: the problem starts with the key's name.
    Result<> set(std::string_view key, std::string_view value);

    // Applies the text of a config file; returns its problems, every bad line's.
    std::vector<ConfigProblem> parseText(std::string_view text, const std::string& source);

    // Checks what no single line can: required keys and keys that exclude each other.
    std::vector<ConfigProblem> checkComplete(const std::string& source) const;

    static const std::vector<std::string>& knownKeys();

private:
    Config& config_;
};

}  // namespace verif8
