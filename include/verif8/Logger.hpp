// Logger: where the module's log lines go (pam_syslog in the module), and how values are made safe.
#pragma once

#include <string>
#include <string_view>

namespace verif8 {

enum class LogLevel { Error, Warning, Notice, Info, Debug };

class Logger {
public:
    virtual ~Logger() = default;
    virtual void log(LogLevel level, const std::string& line) = 0;
    virtual bool debugEnabled() const = 0;

    void debug(const std::string& line) {
        if (debugEnabled())
            log(LogLevel::Debug, line);
    }
};

// Replaces control characters (and DEL) with '?', so that a user name, host or API message can
// neither forge log lines nor drive a terminal.
std::string sanitize(std::string_view text);

// key=value for log lines; the value sanitized and quoted when it holds a space, quote or '='.
std::string logField(std::string_view key, std::string_view value);

}  // namespace verif8
