// SshdCheck: whether sshd, as configured, can ask for a code through PAM, and cannot skip it.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace verif8::cli {

struct SshdFinding {
    bool blocking = false;  // enabling now would lock users out or let PAM be skipped
    std::string text;
};

// sshd's effective settings as `sshd -T` prints them (lower-case keys): parsed from its output.
std::map<std::string, std::string> parseSshdSettings(const std::string& output);

// What an administrator must know before the module joins the sshd stack.
std::vector<SshdFinding> judgeSshd(const std::map<std::string, std::string>& settings);

// Runs `sshd -T` (with -f CONFIG when given); empty map and `error` when it cannot.
std::map<std::string, std::string> readSshdSettings(const std::string& sshd,
                                                    const std::string& config, std::string& error);

// The sshd_config lines for the two set-ups that work with the module.
extern const char* const kSshdSetups;

}  // namespace verif8::cli
