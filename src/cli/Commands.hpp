// Commands: verif8ctl's subcommands, each returning the process exit status.
#pragma once

#include <string>

namespace verif8::cli {

struct Options {
    std::string conf;        // config file; empty: the module's default
    std::string user;        // for lookup, test, enrol and unenrol
    std::string phone;       // enrol: the number, in international form
    std::string channels;    // enrol: "sms,voice"; empty: the config's channel
    std::string rhost;       // for lookup: the remote address to judge trusted_networks by
    std::string service;     // doctor, enable: the PAM service to check for ("sshd")
    std::string sshdConfig;  // doctor, enable: sshd's config file (sshd -f); empty: its default
    bool noTest = false;     // enable: without a test code
    bool all = false;        // grace clear: every account
    bool noVerify = false;   // enrol: write the line without sending a code
    bool debug = false;
};

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

int checkConfig(const Options& options);
int lookup(const Options& options);
int testSend(const Options& options);
int doctor(const Options& options);
int enable(const Options& options);
int disable(const Options& options);
int graceList(const Options& options);
int graceClear(const Options& options);
int enrol(const Options& options);
int unenrol(const Options& options);

}  // namespace verif8::cli
