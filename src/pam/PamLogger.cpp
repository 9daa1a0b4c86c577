// PamLogger: log lines through pam_syslog (facility authpriv); never openlog in the host process.
#include "PamLogger.hpp"

#include <security/pam_ext.h>
#include <syslog.h>

namespace verif8 {

int syslogPriority(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::Error:
            return LOG_ERR;
        case LogLevel::Warning:
            return LOG_WARNING;
        case LogLevel::Notice:
            return LOG_NOTICE;
        case LogLevel::Info:
            return LOG_INFO;
        case LogLevel::Debug:
            return LOG_DEBUG;
    }
    return LOG_ERR;  // not reached: -Wswitch names every level
}

void PamLogger::log(LogLevel level, const std::string& line) {
    pam_syslog(pamh_, syslogPriority(level), "%s", sanitize(line).c_str());
}

}  // namespace verif8
