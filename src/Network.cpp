// Network: CIDR parsing and matching over inet_pton.
#include "verif8/Network.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
struct Address {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
};

std::optional<Address> parseAddress(std::string_view text) {
    if (text.empty() || text.size() > 45)
        return std::nullopt;
    const std::string copy(text);
    Address address;
    if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1)
        return address;
    if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) != 1)
        return std::nullopt;
    address.v6 = true;
    // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client.
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(address.bytes.data(), kMapped, sizeof kMapped) == 0) {
        std::memmove(address.bytes.data(), address.bytes.data() + 12, 4);
        std::memset(address.bytes.data() + 4, 0, 12);
        address.v6 = false;
    }
    return address;
}
}  // namespace

std::optional<Network> Network::parse(std::string_view text) {
    const std::size_t slash = text.find('/');
    const auto address = parseAddress(text.substr(0, slash));
    if (!address)
        return std::nullopt;
    Network network;
    network.v6_ = address->v6;
    network.bytes_ = address->bytes;
    const int maxPrefix = network.v6_ ? 128 : 32;
    network.prefix_ = maxPrefix;
    if (slash != std::string_view::npos) {
        const auto prefix = parseNumber(text.substr(slash + 1));
        if (!prefix || *prefix > maxPrefix)
            return std::nullopt;
        network.prefix_ = static_cast<int>(*prefix);
    }
    return network;
}

bool Network::contains(std::string_view text) const {
    const auto address = parseAddress(text);
    if (!address || address->v6 != v6_)
        return false;
    const int fullBytes = prefix_ / 8;
    if (std::memcmp(address->bytes.data(), bytes_.data(), static_cast<std::size_t>(fullBytes)) != 0)
        return false;
    const int restBits = prefix_ % 8;
    if (restBits == 0)
        return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - restBits));
    return (address->bytes[fullBytes] & mask) == (bytes_[fullBytes] & mask);
}

}  // namespace verif8
