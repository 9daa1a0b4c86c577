// ConfigFile: loads the module's Config from its file and the module arguments of /etc/pam.d.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/ConfigParser.hpp"
#include "verif8/SafeFile.hpp"

namespace verif8 {

struct ConfigLoad {
    Config config;
    std::string path;  // the file that was read
    std::vector<ConfigProblem> problems;

    bool ok() const { return problems.empty(); }
};

// Two passes over the arguments, as pam-u2f does: `conf=` and `debug` first, then the file, then
// the remaining `key=value` arguments through the same setter as the file, so arguments override
// the file. Reads api_key_file too. `owner` is the uid every file must belong to (root for the
// module).
ConfigLoad loadConfig(const std::vector<std::string>& args, uid_t owner = kTrustedOwner);

// The module arguments read before the file, and without it when the caller is not root:
// `conf=`, `debug` and `nonroot=deny|ignore`. Problems go to `problems`.
void readEarlyArguments(const std::vector<std::string>& args, ConfigLoad& load);

}  // namespace verif8
