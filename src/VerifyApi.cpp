// verify_api: the Verify API v2 answers, read; with VerifyRequest.cpp the only code that
// includes RapidJSON.
#include "verif8/VerifyApi.hpp"

#include <rapidjson/document.h>

#include <array>

#include "verif8/Logger.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8::verify_api {

namespace {
// Iterative parsing: a deeply nested hostile body must not exhaust the stack of the host process.
bool parseObject(std::string_view body, rapidjson::Document& document) {
    document.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    return !document.HasParseError() && document.IsObject();
}

// Reads an optional string member: absent is fine, present must be a string.
bool optionalString(const rapidjson::Value& object, const char* name,
                    std::optional<std::string>& out) {
    const auto member = object.FindMember(name);
    if (member == object.MemberEnd())
        return true;
    if (!member->value.IsString())
        return false;
    out = std::string(member->value.GetString(), member->value.GetStringLength());
    return true;
}

std::optional<SessionStatus> parseStatus(std::string_view text) {
    constexpr std::array<SessionStatus, 4> kAll{SessionStatus::Waiting, SessionStatus::Verified,
                                                SessionStatus::Failed, SessionStatus::Expired};
    for (SessionStatus status : kAll) {
        if (sessionStatusName(status) == text)
            return status;
    }
    return std::nullopt;
}

bool isPrintableId(std::string_view id) {
    if (id.empty() || id.size() > 128)
        return false;
    for (char c : id) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%')
            return false;
    }
    return true;
}

int digitsAt(std::string_view text, std::size_t pos, std::size_t count) {
    if (pos + count > text.size())
        return -1;
    return parseDecimal<int>(text.substr(pos, count), count).value_or(-1);
}

std::string describeError(long httpStatus, const std::optional<ApiError>& error) {
    std::string text = "HTTP " + std::to_string(httpStatus);
    if (!error)
        return text;
    if (error->code)
        text += " code " + std::to_string(*error->code);
    if (!error->message.empty())
        text += ": " + error->message;
    if (!error->errorId.empty())
        text += " (errorId " + error->errorId + ")";
    return text;
}

CallStatus classifyError(long httpStatus, const std::optional<ApiError>& error) {
    const long code = error && error->code ? *error->code : 0;
    if (httpStatus >= 500)
        return CallStatus::Unreachable;
    switch (httpStatus) {
        case 400:
            if (code == 1001)
                return CallStatus::CredentialsRejected;
            if (code == 1002)
                return CallStatus::InvalidDestination;
            return CallStatus::RequestRejected;
        case 401:
            return CallStatus::CredentialsRejected;
        case 403:
            return code == 1400 ? CallStatus::ResendTooSoon : CallStatus::RequestRejected;
        case 404:
            return CallStatus::SessionNotFound;
        case 426:
            return CallStatus::TlsTooOld;
        case 429:
            return CallStatus::RateLimited;
        default:
            break;
    }
    if (httpStatus >= 400)
        return CallStatus::RequestRejected;
    return CallStatus::BadResponse;
}
}  // namespace

std::optional<std::time_t> parseTimestamp(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
    if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
        (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':')
        return std::nullopt;
    struct tm fields {};
    const int year = digitsAt(text, 0, 4), month = digitsAt(text, 5, 2), day = digitsAt(text, 8, 2);
    const int hour = digitsAt(text, 11, 2), minute = digitsAt(text, 14, 2),
              second = digitsAt(text, 17, 2);
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
        minute < 0 || minute > 59 || second < 0 || second > 60)
        return std::nullopt;
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
            ++pos;
        if (pos == start)
            return std::nullopt;
    }
    long offset = 0;
    const std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
        const int zoneHours = digitsAt(zone, 1, 2), zoneMinutes = digitsAt(zone, 4, 2);
        if (zoneHours < 0 || zoneHours > 23 || zoneMinutes < 0 || zoneMinutes > 59)
            return std::nullopt;
        offset = (zoneHours * 3600L + zoneMinutes * 60L) * (zone[0] == '-' ? -1 : 1);
    } else {
        return std::nullopt;
    }
    fields.tm_year = year - 1900;
    fields.tm_mon = month - 1;
    fields.tm_mday = day;
    fields.tm_hour = hour;
    fields.tm_min = minute;
    fields.tm_sec = second;
    const std::time_t utc = timegm(&fields);
    // timegm rolls 31 February over into March; a date that moved was not a date.
    struct tm check {};
    if (gmtime_r(&utc, &check) == nullptr || check.tm_mday != day || check.tm_mon != month - 1)
        return std::nullopt;
    return utc - offset;
}

std::optional<Session> parseSession(std::string_view body) {
    rapidjson::Document document;
    if (!parseObject(body, document))
        return std::nullopt;
    const auto id = document.FindMember("sessionId");
    const auto status = document.FindMember("status");
    if (id == document.MemberEnd() || !id->value.IsString() || status == document.MemberEnd() ||
        !status->value.IsString())
        return std::nullopt;
    Session session;
    session.id.assign(id->value.GetString(), id->value.GetStringLength());
    if (!isPrintableId(session.id))
        return std::nullopt;
    const auto parsedStatus =
        parseStatus(std::string_view(status->value.GetString(), status->value.GetStringLength()));
    if (!parsedStatus)
        return std::nullopt;
    session.status = *parsedStatus;

    const auto attempt = document.FindMember("attempt");
    if (attempt != document.MemberEnd()) {
        if (!attempt->value.IsInt() || attempt->value.GetInt() < 0)
            return std::nullopt;
        session.attempt = attempt->value.GetInt();
    }
    // destination and verifyUri are not used, but a body with them of another type is not one
    // the API sends.
    std::optional<std::string> destination, verifyUri, expiresAt, retryAfter;
    if (!optionalString(document, "destination", destination) ||
        !optionalString(document, "verifyUri", verifyUri) ||
        !optionalString(document, "expiresAt", expiresAt) ||
        !optionalString(document, "retryAfter", retryAfter))
        return std::nullopt;
    // Timestamps come in several forms; one we cannot read is dropped, not fatal: the login
    // never depends on them.
    if (expiresAt)
        session.expiresAt = parseTimestamp(*expiresAt);
    if (retryAfter)
        session.retryAfter = parseTimestamp(*retryAfter);
    return session;
}

std::optional<ApiError> parseError(std::string_view body) {
    rapidjson::Document document;
    if (!parseObject(body, document))
        return std::nullopt;
    ApiError error;
    bool any = false;
    const auto code = document.FindMember("code");
    if (code != document.MemberEnd() && code->value.IsInt64()) {
        error.code = static_cast<long>(code->value.GetInt64());
        any = true;
    }
    std::optional<std::string> message, errorId;
    optionalString(document, "message", message);
    optionalString(document, "errorId", errorId);
    if (message) {
        error.message = sanitize(message->substr(0, 200));
        any = true;
    }
    if (errorId) {
        error.errorId = sanitize(errorId->substr(0, 64));
        any = true;
    }
    if (!any)
        return std::nullopt;
    return error;
}

CallResult interpretResponse(long httpStatus, std::string_view body,
                             std::optional<long> retryAfterSeconds) {
    CallResult result;
    result.httpStatus = httpStatus;
    result.retryAfterSeconds = retryAfterSeconds;
    if (httpStatus == 200) {
        result.session = parseSession(body);
        result.status = result.session ? CallStatus::Ok : CallStatus::BadResponse;
        result.detail = result.session ? "HTTP 200" : "HTTP 200 without a well-formed session";
        return result;
    }
    if (httpStatus >= 300 && httpStatus < 400) {
        result.status = CallStatus::BadResponse;
        result.detail = "HTTP " + std::to_string(httpStatus) + ": redirects are not followed";
        return result;
    }
    if (httpStatus < 400) {
        result.status = CallStatus::BadResponse;
        result.detail = "unexpected HTTP " + std::to_string(httpStatus);
        return result;
    }
    const std::optional<ApiError> error = parseError(body);
    result.status = classifyError(httpStatus, error);
    result.detail = describeError(httpStatus, error);
    return result;
}

}  // namespace verif8::verify_api
