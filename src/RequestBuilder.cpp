// The initiate request: every setting the config gives, for the enrolled phone and a channel.
#include "verif8/RequestBuilder.hpp"

#include "verif8/Network.hpp"

namespace verif8 {

InitiateRequest buildInitiateRequest(const Config& config, const std::string& phone,
                                     Channel channel, bool resetSession, std::string_view rhost) {
    InitiateRequest request;
    request.destination = phone;
    request.channel = channel;
    request.codeLength = config.codeLength;
    request.codeValidity = config.codeValidity;
    request.resendingInterval = config.resendInterval;
    request.resetSession = resetSession;
    request.brand = config.brand;
    request.messageTemplate = config.messageTemplate;
    request.templateKey = config.templateKey;
    request.language = config.language;
    request.smsSource = config.smsSender;
    request.callSource = config.voiceCallerId;
    request.whatsappTemplate = config.whatsappTemplate;
    if (config.sendClientIp)
        request.clientIp = Network::canonicalAddress(rhost);
    return request;
}

}  // namespace verif8
