// Commands: verif8ctl's subcommands, each returning the process exit status.
#pragma once

#include <string>

namespace verif8::cli {

struct Options {
    std::string conf;   // config file; empty: the module's default
    std::string user;   // for lookup and test
    std::string rhost;  // for lookup: the remote address to judge trusted_networks by
    bool debug = false;
};

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

int checkConfig(const Options& options);
int lookup(const Options& options);
int testSend(const Options& options);

}  // namespace verif8::cli
