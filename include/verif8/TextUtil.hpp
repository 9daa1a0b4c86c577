// TextUtil: small text helpers shared by the parsers.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace verif8 {

std::string_view trim(std::string_view text);
bool isAsciiDigit(char c);
bool isAsciiAlnum(char c);
bool hasControl(std::string_view text);
bool hasControlOrSpace(std::string_view text);
// A non-negative decimal number without sign or spaces, at most 9 digits.
std::optional<long> parseNumber(std::string_view text);
// A Unix time as the state files write it: 1 to 12 decimal digits.
std::optional<std::time_t> parseUnixTime(std::string_view text);
// A counter or clock reading as the state files write it: 1 to 19 decimal digits (any value
// below 10^19 fits in 64 bits).
std::optional<std::uint64_t> parseCounter(std::string_view text);
// Calls `visit` with each line, without its "\n" or "\r\n" ending.
void forEachLine(std::string_view text, const std::function<void(std::string_view)>& visit);
// Decodes the UTF-8 sequence at text[pos] into `cp`; returns its length, or 0 when the bytes there
// are not well-formed UTF-8 (overlong forms, surrogates and values past U+10FFFF included).
std::size_t decodeUtf8(std::string_view text, std::size_t pos, char32_t& cp);
bool isValidUtf8(std::string_view text);
// Text from a file, fit to quote in a message: control characters replaced, at most 64 bytes.
std::string sanitizeForMessage(std::string_view text);

}  // namespace verif8
