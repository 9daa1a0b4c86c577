// Setup: loading the configuration the way the module does, for every verif8ctl command.
#pragma once

#include "Commands.hpp"
#include "verif8/ConfigFile.hpp"
#include "verif8/Logger.hpp"
#include "verif8/Result.hpp"

namespace verif8::cli {

// The module arguments --conf and --debug stand for (conf=PATH, debug).
std::vector<std::string> moduleArguments(const Options& options);

// Loads the config named by --conf (or the default) with the module's own loader and prints
// every problem with file and line: the load when the module would accept it, else a Problem
// that counts them.
Result<ConfigLoad> loadForCommand(const Options& options);

}  // namespace verif8::cli
