// Making values safe for log lines and prompts.
#include "verif8/Logger.hpp"

namespace verif8 {

std::string sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(byte < 0x20 || byte == 0x7f ? '?' : c);
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
