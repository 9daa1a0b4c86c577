// ConfigKeys: the table of pam_verif8.conf's keys: each key's name, its setter and its flags.
#pragma once

#include <string_view>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/Result.hpp"

namespace verif8 {

// What a key's value is, beyond its syntax. Files in /etc/pam.d are world-readable, and problems
// reach the logs and the terminal: a secret belongs in neither.
enum KeyFlag : unsigned {
    Plain = 0,
    // The value is a secret: its field is a SecretString (wiped), and its validator never quotes
    // it in a problem (test_config_parser checks every Secret key).
    Secret = 1u << 0,
    // Not accepted as a module argument.
    FileOnly = 1u << 1,
    // The value may carry user:password@, a secret: such a value is never quoted and is not
    // accepted as a module argument.
    PasswordInside = 1u << 2,
};

struct ConfigKey {
    const char* name;
    // Applies a value to the config, or leaves the config as it was and says what is wrong.
    Result<> (*set)(Config& config, std::string_view value);
    unsigned flags = Plain;

    bool has(KeyFlag flag) const { return (flags & flag) != 0; }
};

// Every key of the file.
const std::vector<ConfigKey>& configKeys();

// The key of that name (case-sensitive), or nullptr.
const ConfigKey* findConfigKey(std::string_view name);

}  // namespace verif8
