// TextUtil: small text helpers shared by the parsers.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace verif8 {

std::string_view trim(std::string_view text);
bool isAsciiDigit(char c);
bool isAsciiAlnum(char c);
bool hasControl(std::string_view text);
bool hasControlOrSpace(std::string_view text);
// The whole number `text` spells in ASCII decimal digits (no sign, spaces or separators), of 1
// to `maxDigits` digits and within Int; nullopt otherwise. Each field states its own width: a
// width sized for config values once truncated the session table's 64-bit generation counter,
// which reads with <std::uint64_t>(text, 20), the full range.
template <typename Int>
std::optional<Int> parseDecimal(std::string_view text, std::size_t maxDigits) {
    static_assert(std::is_integral_v<Int>, "parseDecimal reads whole numbers");
    if (text.empty() || text.size() > maxDigits)
        return std::nullopt;
    Int value = 0;
    for (char c : text) {
        if (!isAsciiDigit(c))
            return std::nullopt;
        const auto digit = static_cast<Int>(c - '0');
        if (value > (std::numeric_limits<Int>::max() - digit) / 10)
            return std::nullopt;  // past Int's range
        value = static_cast<Int>(value * 10 + digit);
    }
    return value;
}

// How split() reads two separators in a row, or one at either end.
enum class EmptyFields {
    Keep,  // fields of a record: "a,,b" is three fields, "" one
    Skip,  // words: runs of separators count as one, and separators at the ends as none
};
inline constexpr std::string_view kBlanks = " \t";

// The pieces of `text` between any of the characters in `separators`.
std::vector<std::string_view> split(std::string_view text, std::string_view separators,
                                    EmptyFields empties);
// Calls `visit` with each line, without its "\n" or "\r\n" ending.
void forEachLine(std::string_view text, const std::function<void(std::string_view)>& visit);
// Decodes the UTF-8 sequence at text[pos] into `cp`; returns its length, or 0 when the bytes there
// are not well-formed UTF-8 (overlong forms, surrogates and values past U+10FFFF included).
std::size_t decodeUtf8(std::string_view text, std::size_t pos, char32_t& cp);
bool isValidUtf8(std::string_view text);
// Text from a file, fit to quote in a message: control characters replaced, at most 64 bytes.
std::string sanitizeForMessage(std::string_view text);

}  // namespace verif8
