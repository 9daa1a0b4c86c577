// verify_api: the Verify API v2 requests, written; with VerifyApi.cpp the only code that includes
// RapidJSON.
#include "verif8/VerifyApi.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace verif8::verify_api {

namespace {
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(Writer& writer, const char* key, std::string_view value) {
    writer.Key(key);
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void writeOptional(Writer& writer, const char* key, const std::optional<std::string>& value) {
    if (value)
        writeString(writer, key, *value);
}

// A channel sub-object ("sms": {"source": ...}) carrying one string field.
void writeChannelObject(Writer& writer, const char* object, const char* key,
                        const std::optional<std::string>& value) {
    if (!value)
        return;
    writer.Key(object);
    writer.StartObject();
    writeString(writer, key, *value);
    writer.EndObject();
}

}  // namespace

std::string buildInitiateBody(const InitiateRequest& request) {
    rapidjson::StringBuffer buffer;
    Writer writer(buffer);
    writer.StartObject();
    writeString(writer, "destination", request.destination);
    writeString(writer, "channel", channelWireName(request.channel));
    writer.Key("codeLength");
    writer.Int(request.codeLength);
    writer.Key("codeValidity");
    writer.Int(request.codeValidity);
    if (request.resetSession) {
        writer.Key("resetSession");
        writer.Bool(true);
    }
    if (request.resendingInterval) {
        writer.Key("resendingInterval");
        writer.Int(*request.resendingInterval);
    }
    writeOptional(writer, "brand", request.brand);
    // The API uses a template only for sms and call; elsewhere it would be ignored at best.
    if (request.channel == Channel::Sms || request.channel == Channel::Voice)
        writeOptional(writer, "template", request.messageTemplate);
    writeOptional(writer, "templateKey", request.templateKey);
    writeOptional(writer, "language", request.language);
    if (request.channel == Channel::Sms)
        writeChannelObject(writer, "sms", "source", request.smsSource);
    if (request.channel == Channel::Voice)
        writeChannelObject(writer, "call", "source", request.callSource);
    if (request.channel == Channel::Whatsapp)
        writeChannelObject(writer, "whatsapp", "templateName", request.whatsappTemplate);
    writeOptional(writer, "clientIp", request.clientIp);
    writer.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {
template <typename Append>
void percentEncodeWith(std::string_view text, Append append) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            append(std::string_view(&c, 1));
        } else {
            const char escaped[3] = {'%', kHex[byte >> 4], kHex[byte & 0x0f]};
            append(std::string_view(escaped, 3));
        }
    }
}
}  // namespace

std::string percentEncode(std::string_view text) {
    std::string out;
    percentEncodeWith(text, [&out](std::string_view piece) { out.append(piece); });
    return out;
}

void appendPercentEncoded(std::string_view text, SecretString& out) {
    percentEncodeWith(text, [&out](std::string_view piece) { out.append(piece); });
}

std::string sessionsPath(std::string_view subaccountId) {
    return "/api/v2/subaccounts/" + percentEncode(subaccountId) + "/sessions";
}

std::string sessionPath(std::string_view subaccountId, std::string_view sessionId) {
    return sessionsPath(subaccountId) + "/" + percentEncode(sessionId);
}

}  // namespace verif8::verify_api
