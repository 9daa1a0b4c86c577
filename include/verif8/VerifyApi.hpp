// verify_api: pure request builders and response parsers for the Verify API v2 (RapidJSON).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "verif8/VerifyClient.hpp"

namespace verif8::verify_api {

// The JSON body of POST .../sessions, with only documented fields.
std::string buildInitiateBody(const InitiateRequest& request);

// Path of the sessions collection and of one session, the sub-account percent-encoded.
std::string sessionsPath(std::string_view subaccountId);
std::string sessionPath(std::string_view subaccountId, std::string_view sessionId);

// Classifies an HTTP answer: status code, body and Retry-After header (if any).
CallResult interpretResponse(long httpStatus, std::string_view body,
                             std::optional<long> retryAfterSeconds);

// Parses a session object; nullopt if it is not one (missing id or status, wrong types).
std::optional<Session> parseSession(std::string_view body);
std::optional<ApiError> parseError(std::string_view body);

// RFC 3339 timestamps as the API writes them ("2025-12-18T05:59:54.09Z",
// "2025-12-18T14:05:00.1254323+00:00"); fractions are dropped.
std::optional<std::time_t> parseTimestamp(std::string_view text);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string percentEncode(std::string_view text);
// The same, appended to wiped storage, for codes.
void appendPercentEncoded(std::string_view text, SecretString& out);

}  // namespace verif8::verify_api
