// Console: verif8ctl's Conversation and Logger, on the administrator's terminal.
#pragma once

#include <string>

#include "verif8/Conversation.hpp"
#include "verif8/Logger.hpp"

namespace verif8::cli {

// Prompts on stderr and reads the answer from stdin, without echo when stdin is a terminal.
class ConsoleConversation : public Conversation {
public:
    std::optional<SecretString> askSecret(const std::string& prompt) override;
    void error(const std::string& text) override;
    void info(const std::string& text) override;
};

// Log lines on stderr, as the module would send them to syslog.
class ConsoleLogger : public Logger {
public:
    explicit ConsoleLogger(bool debug) : debug_(debug) {}
    void log(LogLevel level, const std::string& line) override;
    bool debugEnabled() const override { return debug_; }

private:
    bool debug_;
};

}  // namespace verif8::cli
