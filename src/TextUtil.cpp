// TextUtil: small text helpers shared by the parsers.
#include "verif8/TextUtil.hpp"

#include "verif8/Logger.hpp"

namespace verif8 {

std::string_view trim(std::string_view text) {
    const char* blanks = " \t\r\n\v\f";
    const std::size_t first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos)
        return {};
    const std::size_t last = text.find_last_not_of(blanks);
    return text.substr(first, last - first + 1);
}

bool isAsciiDigit(char c) {
    return c >= '0' && c <= '9';
}

bool isAsciiAlnum(char c) {
    return isAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool hasControl(std::string_view text) {
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f)
            return true;
    }
    return false;
}

bool hasControlOrSpace(std::string_view text) {
    return hasControl(text) || text.find(' ') != std::string_view::npos;
}

std::optional<long> parseNumber(std::string_view text) {
    if (text.empty() || text.size() > 9)
        return std::nullopt;
    long value = 0;
    for (char c : text) {
        if (!isAsciiDigit(c))
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

void forEachLine(std::string_view text, const std::function<void(std::string_view)>& visit) {
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        visit(line);
        if (end == std::string_view::npos)
            break;
        text.remove_prefix(end + 1);
    }
}

std::string sanitizeForMessage(std::string_view text) {
    constexpr std::size_t kMax = 64;
    std::string clean = sanitize(text.substr(0, kMax));
    if (text.size() > kMax)
        clean += "...";
    return clean;
}

}  // namespace verif8
