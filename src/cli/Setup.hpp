// Setup: loading the configuration the way the module does, for every verif8ctl command.
#pragma once

#include "Commands.hpp"
#include "verif8/ConfigFile.hpp"
#include "verif8/Logger.hpp"

namespace verif8::cli {

// Loads the config named by --conf (or the default) with the module's own loader. Prints every
// problem with file and line; returns whether the module would accept it.
bool loadForCommand(const Options& options, ConfigLoad& load);

}  // namespace verif8::cli
