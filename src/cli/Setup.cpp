// Setup: the module's config loader, with its problems printed for a person.
#include "Setup.hpp"

#include <unistd.h>

#include <cstdio>

namespace verif8::cli {

std::vector<std::string> moduleArguments(const Options& options) {
    std::vector<std::string> args;
    if (!options.conf.empty())
        args.push_back("conf=" + options.conf);
    if (options.debug)
        args.emplace_back("debug");
    return args;
}

Result<ConfigLoad> loadForCommand(const Options& options) {
    ConfigLoad load = loadConfig(moduleArguments(options));
    for (const auto& problem : load.problems)
        fprintf(stderr, "%s\n", sanitize(problem.describe()).c_str());
    if (!load.ok() && geteuid() != 0)
        fprintf(stderr, "(verif8ctl runs as uid %u; the files are root's: run it as root)\n",
                static_cast<unsigned>(geteuid()));
    if (!load.ok())
        return Problem(std::to_string(load.problems.size()) + " problem(s) in the configuration");
    return load;
}

}  // namespace verif8::cli
