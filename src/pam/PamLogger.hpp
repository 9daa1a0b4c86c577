// PamLogger: the Logger over pam_syslog, the only way the module logs.
#pragma once

#include <security/pam_modules.h>

#include "verif8/Logger.hpp"

namespace verif8 {

// The syslog priority of a log level.
int syslogPriority(LogLevel level) noexcept;

class PamLogger : public Logger {
public:
    PamLogger(pam_handle_t* pamh, bool debug) : pamh_(pamh), debug_(debug) {}
    void log(LogLevel level, const std::string& line) override;
    bool debugEnabled() const override { return debug_; }

private:
    pam_handle_t* pamh_;
    const bool debug_;
};

}  // namespace verif8
