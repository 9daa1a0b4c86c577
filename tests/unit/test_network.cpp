// Network: CIDR parsing and matching for trusted_networks (IPv4, IPv6, mapped, scoped, names).
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/Network.hpp"

using namespace verif8;

namespace {

using Texts = std::vector<std::string>;

void expectParses(const Texts& texts, bool accepted) {
    for (const auto& text : texts) {
        if (Network::parse(text).has_value() != accepted)
            fail_msg("'%s' %s", text.c_str(), accepted ? "refused" : "accepted");
    }
}

// A block, the addresses it contains and the ones it does not.
struct Block {
    const char* text;
    Texts inside, outside;
};

void expectBlocks(const std::vector<Block>& blocks) {
    for (const Block& block : blocks) {
        const auto network = Network::parse(block.text);
        if (!network)
            fail_msg("refused: '%s'", block.text);
        for (const auto& address : block.inside) {
            if (!network->contains(address))
                fail_msg("%s does not contain %s", block.text, address.c_str());
        }
        for (const auto& address : block.outside) {
            if (network->contains(address))
                fail_msg("%s contains %s", block.text, address.c_str());
        }
    }
}

}  // namespace

// ---- parse

// clang-format off
static void valid_blocks_and_addresses_parse_and_others_are_refused(void**) {
    expectParses({"192.0.2.0/24", "10.0.0.0/8", "0.0.0.0/0", "192.0.2.1/32", "172.16.0.0/12",
                  "198.51.100.7", "255.255.255.255/32", "2001:db8::/32", "::/0", "::1", "::1/128",
                  "fe80::/10", "2001:db8:0:0:0:0:0:1/127", "2001:DB8::/48"}, true);
    expectParses({// prefixes past the family size
                  "192.0.2.0/33", "192.0.2.0/64", "192.0.2.0/128", "2001:db8::/129", "::/200",
                  "192.0.2.0/999999999", "192.0.2.0/1000000000000",
                  // malformed prefixes
                  "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/+8", "192.0.2.0/ 24", "192.0.2.0/24 ",
                  "192.0.2.0/2 4", "192.0.2.0/24/8", "192.0.2.0//24", "192.0.2.0/0x18",
                  "192.0.2.0/a", "2001:db8::/", "2001:db8::/32/1", "192.0.2.0/255.255.255.0",
                  // garbage
                  "", "/", "/24", "garbage", "192.0.2", "192.0.2.0.1", "192.0.2.256", "192.0.2.-1",
                  "1.2.3.4.", " 192.0.2.0/24", "192.0.2.0 /24", "2001:db8:::1", "2001:db8::g",
                  "2001:db8::1::2", ":::", "[2001:db8::1]", "[2001:db8::]/32", "*", "192.0.2.*",
                  // host names
                  "localhost", "example.com", "example.com/24", "host.example.org", "ip6-localhost",
                  "localhost/32",
                  // scoped IPv6
                  "fe80::1%eth0", "fe80::%eth0/64", "fe80::1%1",
                  // embedded NUL
                  std::string("192.0.2.0\0/8", 12), std::string("192.0.2.0/24\0", 13),
                  std::string("10.0.0.1\0garbage", 16)}, false);
}

// ---- contains

static void blocks_have_exact_edges(void**) {
    expectBlocks({
        // A bare address is a /32 or a /128.
        {"192.0.2.1", {"192.0.2.1", "::ffff:192.0.2.1"},
         {"192.0.2.0", "192.0.2.2", "192.0.3.1", "193.0.2.1"}},
        {"2001:db8::1", {"2001:db8::1", "2001:0db8:0000::0001", "2001:DB8::1"},
         {"2001:db8::", "2001:db8::2", "2001:db8::1:1", "2001:db9::1"}},
        // /0 is its whole family; /32 and /128 one address.
        {"0.0.0.0/0", {"0.0.0.0", "192.0.2.1", "255.255.255.255", "::ffff:10.1.2.3"},
         {"::1", "2001:db8::1"}},
        {"::/0", {"::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
         {"192.0.2.1", "0.0.0.0"}},
        {"203.0.113.9/32", {"203.0.113.9"}, {"203.0.113.8", "203.0.113.10"}},
        {"2001:db8::9/128", {"2001:db8::9"}, {"2001:db8::8", "2001:db8::a"}},
        // Byte-aligned prefixes.
        {"192.0.2.0/24", {"192.0.2.0", "192.0.2.1", "192.0.2.255"},
         {"192.0.1.255", "192.0.3.0", "192.1.2.0", "10.0.0.1"}},
        {"10.0.0.0/8", {"10.0.0.0", "10.255.255.255", "10.1.2.3"}, {"9.255.255.255", "11.0.0.0"}},
        {"172.16.0.0/16", {"172.16.0.0", "172.16.255.255"}, {"172.15.255.255", "172.17.0.0"}},
        // Host bits in the block are ignored.
        {"192.0.2.77/24", {"192.0.2.0", "192.0.2.255"}, {"192.0.3.0", "192.0.1.255"}},
        {"2001:db8::1234/64", {"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"}, {"2001:db8:0:1::"}},
        // Prefixes that end inside a byte: 172.16.0.0/12 is 172.16.0.0 to 172.31.255.255.
        {"172.16.0.0/12", {"172.16.0.0", "172.20.1.1", "172.31.255.255"},
         {"172.15.255.255", "172.32.0.0", "172.48.0.1", "173.16.0.0", "44.16.0.0"}},
        {"192.0.2.64/26", {"192.0.2.64", "192.0.2.127"}, {"192.0.2.63", "192.0.2.128"}},
        {"192.0.2.6/31", {"192.0.2.6", "192.0.2.7"}, {"192.0.2.5", "192.0.2.8"}},
        {"128.0.0.0/1", {"128.0.0.0", "255.255.255.255"}, {"127.255.255.255", "0.0.0.0"}},
        {"0.0.0.0/1", {"0.0.0.0", "127.255.255.255"}, {"128.0.0.0"}},
        {"2001:db8::/127", {"2001:db8::", "2001:db8::1"},
         {"2001:db8::2", "2001:db8::3", "2001:db8::1:0", "2001:db9::"}},
        {"2001:db8::2/127", {"2001:db8::2", "2001:db8::3"}, {"2001:db8::1", "2001:db8::4"}},
        {"fe80::/10", {"fe80::1", "febf:ffff::1"}, {"fec0::1", "fe7f::1", "ff80::1"}},
        {"2001:db8::/33", {"2001:db8::1", "2001:db8:7fff::1"}, {"2001:db8:8000::1", "2001:db9::"}},
        {"2001:db8::/31", {"2001:db8::1", "2001:db9:ffff::1"}, {"2001:dba::1", "2001:db7::1"}},
        // An IPv4-mapped client matches its IPv4 block only.
        {"192.0.2.0/24",
         {"::ffff:192.0.2.1", "::FFFF:192.0.2.200", "::ffff:c000:0201", "0:0:0:0:0:ffff:192.0.2.1"},
         {"::ffff:192.0.3.1", "::192.0.2.1", "64:ff9b::192.0.2.1", "::fffe:192.0.2.1"}},
        {"172.16.0.0/12", {"::ffff:172.31.0.1"}, {"::ffff:172.32.0.1"}},
        // One family never matches the other's block.
        {"::/0", {}, {"192.0.2.1", "0.0.0.0", "127.0.0.1"}},
        {"::/96", {}, {"0.0.0.1", "192.0.2.1"}},
        {"2001:db8::/32", {}, {"32.1.13.184", "192.0.2.1"}},
        {"0.0.0.0/0", {}, {"::", "::1", "2001:db8::1", "::c000:201"}},
        {"192.0.2.0/24", {}, {"c000:0201::", "::c000:0201", "2001:db8::c000:201"}},
    });
}

// A block written in the mapped form is the IPv4 block it maps: its prefix counts from bit 96.
static void a_mapped_block_is_its_ipv4_block(void**) {
    expectBlocks({
        {"::ffff:192.0.2.0/120", {"192.0.2.0", "192.0.2.255", "::ffff:192.0.2.9"},
         {"192.0.3.0", "192.0.1.255", "::1"}},
        {"::ffff:0:0/96", {"0.0.0.0", "192.0.2.1", "255.255.255.255", "::ffff:10.0.0.1"},
         {"::1", "2001:db8::1"}},
        {"::ffff:172.16.0.0/108", {"172.16.0.0", "172.31.255.255"},
         {"172.32.0.0", "172.15.255.255"}},
        {"::ffff:192.0.2.1", {"192.0.2.1"}, {"192.0.2.2"}},
        {"::ffff:192.0.2.1/128", {"192.0.2.1"}, {"192.0.2.0"}},
    });
    // Shorter than /96 it would reach past the mapped range into other IPv6 addresses.
    expectParses({"::ffff:0:0/95", "::ffff:192.0.2.0/64", "::ffff:192.0.2.0/0",
                  "::ffff:192.0.2.0/129", "::ffff:192.0.2.0/24"}, false);
}

// Names, empty strings, near-addresses, NULs and scopes are never inside any block.
static void what_is_not_an_address_never_matches(void**) {
    const Texts names{"", " ", "localhost", "ip6-localhost", "example.com",
                      "192.0.2.1.example.com", "0", "0x0", "3221225985"};
    expectBlocks({
        {"0.0.0.0/0", {}, names}, {"::/0", {}, names}, {"127.0.0.0/8", {}, names},
        {"192.0.2.0/24", {}, names},
        {"0.0.0.0/0", {}, {"192.0.2.1 ", " 192.0.2.1", "192.0.2.1\n", "192.0.2", "192.0.2.1/32",
                           "192.0.2.1:22", "[::ffff:192.0.2.1]", "192.0.2.01"}},
        {"::/0", {}, {"[2001:db8::1]", "2001:db8::1/128", "[2001:db8::1]:22"}},
        {"192.0.2.0/24", {},
         {std::string("192.0.2.1\0", 10), std::string("192.0.2.1\0.example.com", 22)}},
        {"fe80::/10", {"fe80::1"}, {"fe80::1%eth0", "fe80::1%1", "fe80::1%"}},
        {"::/0", {}, {"fe80::1%eth0", "::1%lo"}},
    });
}
// clang-format on

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_blocks_and_addresses_parse_and_others_are_refused),
        cmocka_unit_test(blocks_have_exact_edges),
        cmocka_unit_test(a_mapped_block_is_its_ipv4_block),
        cmocka_unit_test(what_is_not_an_address_never_matches),
    };
    return cmocka_run_group_tests_name("network", tests, nullptr, nullptr);
}
