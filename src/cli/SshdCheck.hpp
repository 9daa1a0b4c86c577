// SshdCheck: whether sshd, as configured, can ask for a code through PAM, and cannot skip it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "verif8/Config.hpp"
#include "verif8/Result.hpp"

namespace verif8::cli {

// sshd's effective settings, by lower-case key.
using SshdSettings = std::map<std::string, std::string>;

struct SshdFinding {
    bool blocking = false;  // enabling now would lock users out or let PAM be skipped
    std::string text;
};

// sshd's effective settings as `sshd -T` prints them (lower-case keys): parsed from its output.
SshdSettings parseSshdSettings(const std::string& output);

// What an administrator must know before the module joins the sshd stack.
std::vector<SshdFinding> judgeSshd(const SshdSettings& settings);

// A note when logins the module lets through without a code (grace_period, an exemption) meet
// the key-then-code set-up: the module answers them PAM_IGNORE, so such a stack needs a line
// that says yes after it.
std::vector<SshdFinding> judgeIgnoredLogins(const SshdSettings& settings, const Config& config);

// Runs `sshd -T` (with -f CONFIG when given); a problem when it cannot.
Result<SshdSettings> readSshdSettings(const std::string& sshd, const std::string& config);

// The sshd_config lines for the two set-ups that work with the module.
extern const char* const kSshdSetups;

}  // namespace verif8::cli
