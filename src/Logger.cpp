// Making values safe for log lines and prompts.
#include "verif8/Logger.hpp"

#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
// Code points that can steer a terminal or reorder what a reader sees: C0 and C1 controls, DEL,
// and the Unicode bidirectional formatting characters.
bool isUnsafeCodePoint(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}
}  // namespace

std::string sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        char32_t cp = 0;
        const std::size_t length = decodeUtf8(text, pos, cp);
        if (length == 0 || isUnsafeCodePoint(cp)) {
            out.push_back('?');
            pos += length == 0 ? 1 : length;
            continue;
        }
        out.append(text.substr(pos, length));
        pos += length;
    }
    return out;
}

std::string logField(std::string_view key, std::string_view value) {
    std::string clean = sanitize(value);
    const bool needsQuotes = clean.empty() || clean.find_first_of(" \"=") != std::string::npos;
    if (!needsQuotes)
        return std::string(key) + "=" + clean;
    std::string quoted = "\"";
    for (char c : clean) {
        if (c == '"' || c == '\\')
            quoted.push_back('\\');
        quoted.push_back(c);
    }
    quoted.push_back('"');
    return std::string(key) + "=" + quoted;
}

}  // namespace verif8
