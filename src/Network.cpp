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
    // A NUL would end the C string early: "192.0.2.1\0junk" is not an address.
    if (text.empty() || text.size() > 45 || text.find('\0') != std::string_view::npos)
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
    // A block written in the mapped form (::ffff:192.0.2.0/120) is an IPv4 block whose prefix
    // counts from bit 96; shorter, it would reach past the mapped addresses.
    const bool mapped = !address->v6 && text.substr(0, slash).find(':') != std::string_view::npos;
    const int maxPrefix = network.v6_ || mapped ? 128 : 32;
    network.prefix_ = network.v6_ ? 128 : 32;
    if (slash != std::string_view::npos) {
        const auto prefix = parseDecimal<long>(text.substr(slash + 1), 9);
        if (!prefix || *prefix > maxPrefix || (mapped && *prefix < 96))
            return std::nullopt;
        network.prefix_ = static_cast<int>(*prefix) - (mapped ? 96 : 0);
    }
    return network;
}

std::optional<std::string> Network::canonicalAddress(std::string_view text) {
    const auto address = parseAddress(text);
    if (!address)
        return std::nullopt;
    char written[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(address->v6 ? AF_INET6 : AF_INET, address->bytes.data(), written,
                  sizeof written) == nullptr)
        return std::nullopt;
    return std::string(written);
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
