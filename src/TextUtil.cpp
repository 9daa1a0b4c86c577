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

std::vector<std::string_view> split(std::string_view text, std::string_view separators,
                                    EmptyFields empties) {
    std::vector<std::string_view> pieces;
    for (;;) {
        const std::size_t end = text.find_first_of(separators);
        const std::string_view piece = text.substr(0, end);
        if (empties == EmptyFields::Keep || !piece.empty())
            pieces.push_back(piece);
        if (end == std::string_view::npos)
            return pieces;
        text.remove_prefix(end + 1);
    }
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

std::size_t decodeUtf8(std::string_view text, std::size_t pos, char32_t& cp) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
    const unsigned char lead = byte(0);
    std::size_t length = 0;
    char32_t minimum = 0;
    if (lead < 0x80) {
        cp = lead;
        return 1;
    } else if ((lead & 0xe0) == 0xc0) {
        length = 2, cp = lead & 0x1f, minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
        length = 3, cp = lead & 0x0f, minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
        length = 4, cp = lead & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (pos + length > text.size())
        return 0;
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(i) & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (byte(i) & 0x3f);
    }
    if (cp < minimum || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return length;
}

bool isValidUtf8(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        char32_t cp = 0;
        const std::size_t length = decodeUtf8(text, pos, cp);
        if (length == 0)
            return false;
        pos += length;
    }
    return true;
}

std::string sanitizeForMessage(std::string_view text) {
    constexpr std::size_t kMax = 64;
    std::string clean = sanitize(text.substr(0, kMax));
    if (text.size() > kMax)
        clean += "...";
    return clean;
}

}  // namespace verif8
