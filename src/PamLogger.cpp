// PamLogger: log lines through pam_syslog (facility authpriv); never openlog in the host process.
#include "PamLogger.hpp"

#include <security/pam_ext.h>
#include <syslog.h>

namespace verif8 {

void PamLogger::log(LogLevel level, const std::string& line) {
    int priority = LOG_INFO;
    switch (level) {
        case LogLevel::Error:
            priority = LOG_ERR;
            break;
        case LogLevel::Warning:
            priority = LOG_WARNING;
            break;
        case LogLevel::Notice:
            priority = LOG_NOTICE;
            break;
        case LogLevel::Info:
            priority = LOG_INFO;
            break;
        case LogLevel::Debug:
            priority = LOG_DEBUG;
            break;
    }
    pam_syslog(pamh_, priority, "%s", sanitize(line).c_str());
}

}  // namespace verif8
