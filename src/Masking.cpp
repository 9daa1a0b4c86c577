// Masking of phone numbers for prompts and logs.
#include "verif8/Masking.hpp"

namespace verif8 {

namespace {
std::string digitsOf(std::string_view phone) {
    std::string digits;
    for (char c : phone) {
        if (c >= '0' && c <= '9')
            digits.push_back(c);
    }
    return digits;
}
}  // namespace

std::string maskPhoneForPrompt(std::string_view phone) {
    const std::string digits = digitsOf(phone);
    std::string masked;
    for (int i = 0; i < 6; ++i)
        masked += "\u2022";
    masked += digits.size() > 4 ? digits.substr(digits.size() - 4) : std::string("");
    return masked;
}

std::string maskPhoneForLog(std::string_view phone) {
    const std::string digits = digitsOf(phone);
    if (digits.size() < 6)
        return "+" + std::string(digits.size(), '*');
    return "+" + digits.substr(0, 2) + std::string(digits.size() - 4, '*') +
           digits.substr(digits.size() - 2);
}

}  // namespace verif8
