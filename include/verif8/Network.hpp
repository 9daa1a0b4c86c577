// Network: an IPv4 or IPv6 CIDR block, for trusted_networks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace verif8 {

class Network {
public:
    // "192.0.2.0/24", "2001:db8::/32", or a single address (a /32 or /128).
    static std::optional<Network> parse(std::string_view text);

    // Whether `address` is an IP literal inside the block. A host name never is: names can be
    // made to resolve anywhere, so they are not evidence of where a login comes from.
    bool contains(std::string_view address) const;

    // An IP literal in the form inet_ntop writes it (an IPv4 client seen through an IPv6 socket
    // as plain IPv4), or nothing for anything else: a host name, a zone (fe80::1%eth0), a block.
    static std::optional<std::string> canonicalAddress(std::string_view text);

private:
    bool v6_ = false;
    std::array<std::uint8_t, 16> bytes_{};
    int prefix_ = 0;
};

}  // namespace verif8
