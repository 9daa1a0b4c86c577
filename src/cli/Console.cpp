// Console: terminal prompts without echo, and log lines on stderr.
#include "Console.hpp"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace verif8::cli {

namespace {
// Restores the terminal however the read ends.
class EchoOff {
public:
    EchoOff() {
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0) {
            termios quiet = saved_;
            quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
            active_ = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
        }
    }
    ~EchoOff() {
        if (active_) {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
            fputc('\n', stderr);
        }
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};
}  // namespace

std::optional<SecretString> ConsoleConversation::askSecret(const std::string& prompt) {
    // Echo goes off before the prompt shows, so that nothing typed at once is echoed.
    EchoOff echoOff;
    // The module's prompts hold a notice and a question on two lines.
    std::size_t start = 0;
    for (std::size_t end; (end = prompt.find('\n', start)) != std::string::npos; start = end + 1)
        fprintf(stderr, "%s\n", sanitize(prompt.substr(start, end - start)).c_str());
    fputs(sanitize(prompt.substr(start)).c_str(), stderr);
    fflush(stderr);
    // read(2) a byte at a time: no stdio buffer keeps a copy of the code.
    SecretString answer;
    for (;;) {
        char byte = 0;
        const ssize_t got = read(STDIN_FILENO, &byte, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return answer.empty() ? std::nullopt : std::optional<SecretString>(answer);
        if (byte == '\n')
            return answer;
        answer.append(std::string_view(&byte, 1));
        wipeMemory(&byte, 1);
        if (answer.size() > 4096)
            return answer;  // nobody types more; the flow will refuse it as a code
    }
}

void ConsoleConversation::error(const std::string& text) {
    fprintf(stderr, "%s\n", sanitize(text).c_str());
}

void ConsoleConversation::info(const std::string& text) {
    fprintf(stderr, "%s\n", sanitize(text).c_str());
}

void ConsoleLogger::log(LogLevel level, const std::string& line) {
    const char* names[] = {"error", "warning", "notice", "info", "debug"};
    fprintf(stderr, "log %s: %s\n", names[static_cast<int>(level)], sanitize(line).c_str());
}

}  // namespace verif8::cli
