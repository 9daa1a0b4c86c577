// Channel: how a code reaches the user, with its names in our files and on the wire.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace verif8 {

enum class Channel { Sms, Voice, Whatsapp, Viber };

// The name used in pam_verif8.conf, the users file and at the prompt ("voice").
std::string_view channelName(Channel channel);
// The value of the API's "channel" field ("call" for voice).
std::string_view channelWireName(Channel channel);
// The words shown to the person logging in ("voice call").
std::string_view channelDisplayName(Channel channel);
std::optional<Channel> parseChannel(std::string_view name);
// The channels' names joined: "sms,voice" as the users file writes them, "sms, voice" to show.
std::string channelList(const std::vector<Channel>& channels, std::string_view separator);

}  // namespace verif8
