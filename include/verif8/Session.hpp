// Session: one Verify session as the API reports it.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace verif8 {

enum class SessionStatus { Waiting, Verified, Failed, Expired };

struct Session {
    std::string id;
    SessionStatus status = SessionStatus::Waiting;
    int attempt = 0;
    std::optional<std::time_t> expiresAt;
    std::optional<std::time_t> retryAfter;
};

// The API has been seen to give one session's id both as 32 hex digits and as a dashed UUID;
// two ids name the same session when they match without dashes, ignoring case.
bool sameSessionId(std::string_view a, std::string_view b);

std::string_view sessionStatusName(SessionStatus status);

}  // namespace verif8
