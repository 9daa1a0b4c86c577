// Channel names in our files, on the wire and on screen.
#include "verif8/Channel.hpp"

#include <array>

namespace verif8 {

namespace {
struct ChannelNames {
    Channel channel;
    std::string_view name;
    std::string_view wire;
    std::string_view display;
};

constexpr std::array<ChannelNames, 4> kChannels{{
    {Channel::Sms, "sms", "sms", "SMS"},
    {Channel::Voice, "voice", "call", "voice call"},
    {Channel::Whatsapp, "whatsapp", "whatsapp", "WhatsApp"},
    {Channel::Viber, "viber", "viber", "Viber"},
}};

const ChannelNames& namesOf(Channel channel) {
    for (const auto& names : kChannels) {
        if (names.channel == channel)
            return names;
    }
    return kChannels[0];
}
}  // namespace

std::string_view channelName(Channel channel) {
    return namesOf(channel).name;
}
std::string_view channelWireName(Channel channel) {
    return namesOf(channel).wire;
}
std::string_view channelDisplayName(Channel channel) {
    return namesOf(channel).display;
}

std::optional<Channel> parseChannel(std::string_view name) {
    for (const auto& names : kChannels) {
        if (names.name == name)
            return names.channel;
    }
    return std::nullopt;
}

std::string channelList(const std::vector<Channel>& channels, std::string_view separator) {
    std::string names;
    for (Channel channel : channels)
        names.append(names.empty() ? "" : separator).append(channelName(channel));
    return names;
}

}  // namespace verif8
