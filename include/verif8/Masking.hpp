// Masking: phone numbers as shown at the prompt and in logs, never in full.
#pragma once

#include <string>
#include <string_view>

namespace verif8 {

// "+6591234567" -> "••••••4567": enough for the user to recognise their phone.
std::string maskPhoneForPrompt(std::string_view phone);
// "+6591234567" -> "+65******67": enough for an administrator to tell numbers apart.
std::string maskPhoneForLog(std::string_view phone);

}  // namespace verif8
