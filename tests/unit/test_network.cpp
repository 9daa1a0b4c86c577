// Network: CIDR parsing and matching for trusted_networks (IPv4, IPv6, mapped, scoped, names).
#include <string>
#include <vector>

#include "support.hpp"
#include "verif8/Network.hpp"

using namespace verif8;

namespace {

Network parsed(std::string_view text) {
    const auto network = Network::parse(text);
    if (!network) {
        print_error("refused: '%s'\n", std::string(text).c_str());
        fail();
    }
    return *network;
}

void expectRefused(std::string_view text) {
    if (Network::parse(text)) {
        print_error("accepted: '%s'\n", std::string(text).c_str());
        fail();
    }
}

void expectIn(const Network& network, std::string_view block, std::string_view address) {
    if (!network.contains(address)) {
        print_error("%s does not contain %s\n", std::string(block).c_str(),
                    std::string(address).c_str());
        fail();
    }
}

void expectOut(const Network& network, std::string_view block, std::string_view address) {
    if (network.contains(address)) {
        print_error("%s contains %s\n", std::string(block).c_str(), std::string(address).c_str());
        fail();
    }
}

// The block parsed from `block` contains every address of `inside` and none of `outside`.
void expectBlock(std::string_view block, const std::vector<std::string>& inside,
                 const std::vector<std::string>& outside) {
    const Network network = parsed(block);
    for (const auto& address : inside)
        expectIn(network, block, address);
    for (const auto& address : outside)
        expectOut(network, block, address);
}

}  // namespace

// ---- parse

static void valid_ipv4_blocks_parse(void**) {
    for (const char* text : {"192.0.2.0/24", "10.0.0.0/8", "0.0.0.0/0", "192.0.2.1/32",
                             "172.16.0.0/12", "198.51.100.7", "255.255.255.255/32"})
        parsed(text);
}

static void valid_ipv6_blocks_parse(void**) {
    for (const char* text : {"2001:db8::/32", "::/0", "::1", "::1/128", "fe80::/10",
                             "2001:db8:0:0:0:0:0:1/127", "2001:DB8::/48"})
        parsed(text);
}

static void prefixes_past_the_family_size_are_refused(void**) {
    for (const char* text : {"192.0.2.0/33", "192.0.2.0/64", "192.0.2.0/128", "2001:db8::/129",
                             "::/200", "192.0.2.0/999999999", "192.0.2.0/1000000000000"})
        expectRefused(text);
}

static void malformed_prefixes_are_refused(void**) {
    for (const char* text :
         {"192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/+8", "192.0.2.0/ 24", "192.0.2.0/24 ",
          "192.0.2.0/2 4", "192.0.2.0/24/8", "192.0.2.0//24", "192.0.2.0/0x18", "192.0.2.0/a",
          "2001:db8::/", "2001:db8::/32/1", "192.0.2.0/255.255.255.0"})
        expectRefused(text);
}

static void garbage_is_refused(void**) {
    for (const char* text :
         {"", "/", "/24", "garbage", "192.0.2", "192.0.2.0.1", "192.0.2.256", "192.0.2.-1",
          "1.2.3.4.", " 192.0.2.0/24", "192.0.2.0 /24", "2001:db8:::1", "2001:db8::g",
          "2001:db8::1::2", ":::", "[2001:db8::1]", "[2001:db8::]/32", "*", "192.0.2.*"})
        expectRefused(text);
}

static void host_names_are_refused(void**) {
    for (const char* text : {"localhost", "example.com", "example.com/24", "host.example.org",
                             "ip6-localhost", "localhost/32"})
        expectRefused(text);
}

static void scoped_ipv6_blocks_are_refused(void**) {
    for (const char* text : {"fe80::1%eth0", "fe80::%eth0/64", "fe80::1%1"})
        expectRefused(text);
}

static void an_embedded_nul_is_refused(void**) {
    expectRefused(std::string("192.0.2.0\0/8", 12));
    expectRefused(std::string("192.0.2.0/24\0", 13));
    expectRefused(std::string("10.0.0.1\0garbage", 16));
}

// ---- contains: bare addresses and byte-aligned prefixes

static void a_bare_ipv4_address_is_a_slash_32(void**) {
    expectBlock("192.0.2.1", {"192.0.2.1", "::ffff:192.0.2.1"},
                {"192.0.2.0", "192.0.2.2", "192.0.3.1", "193.0.2.1"});
}

static void a_bare_ipv6_address_is_a_slash_128(void**) {
    expectBlock("2001:db8::1", {"2001:db8::1", "2001:0db8:0000::0001", "2001:DB8::1"},
                {"2001:db8::", "2001:db8::2", "2001:db8::1:1", "2001:db9::1"});
}

static void slash_0_contains_its_whole_family(void**) {
    expectBlock("0.0.0.0/0", {"0.0.0.0", "192.0.2.1", "255.255.255.255", "::ffff:10.1.2.3"},
                {"::1", "2001:db8::1"});
    expectBlock("::/0", {"::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
                {"192.0.2.1", "0.0.0.0"});
}

static void slash_32_and_slash_128_contain_one_address(void**) {
    expectBlock("203.0.113.9/32", {"203.0.113.9"}, {"203.0.113.8", "203.0.113.10"});
    expectBlock("2001:db8::9/128", {"2001:db8::9"}, {"2001:db8::8", "2001:db8::a"});
}

static void byte_aligned_ipv4_blocks_have_exact_edges(void**) {
    expectBlock("192.0.2.0/24", {"192.0.2.0", "192.0.2.1", "192.0.2.255"},
                {"192.0.1.255", "192.0.3.0", "192.1.2.0", "10.0.0.1"});
    expectBlock("10.0.0.0/8", {"10.0.0.0", "10.255.255.255", "10.1.2.3"},
                {"9.255.255.255", "11.0.0.0"});
    expectBlock("172.16.0.0/16", {"172.16.0.0", "172.16.255.255"},
                {"172.15.255.255", "172.17.0.0"});
}

static void host_bits_in_the_block_are_ignored(void**) {
    expectBlock("192.0.2.77/24", {"192.0.2.0", "192.0.2.255"}, {"192.0.3.0", "192.0.1.255"});
    expectBlock("2001:db8::1234/64", {"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"},
                {"2001:db8:0:1::"});
}

// ---- contains: prefixes that end inside a byte

static void slash_12_ends_inside_the_second_byte(void**) {
    // 172.16.0.0/12 is 172.16.0.0 to 172.31.255.255.
    expectBlock("172.16.0.0/12", {"172.16.0.0", "172.20.1.1", "172.31.255.255"},
                {"172.15.255.255", "172.32.0.0", "172.48.0.1", "173.16.0.0", "44.16.0.0"});
}

static void odd_ipv4_prefixes_end_where_they_should(void**) {
    expectBlock("192.0.2.64/26", {"192.0.2.64", "192.0.2.127"}, {"192.0.2.63", "192.0.2.128"});
    expectBlock("192.0.2.6/31", {"192.0.2.6", "192.0.2.7"}, {"192.0.2.5", "192.0.2.8"});
    expectBlock("128.0.0.0/1", {"128.0.0.0", "255.255.255.255"}, {"127.255.255.255", "0.0.0.0"});
    expectBlock("0.0.0.0/1", {"0.0.0.0", "127.255.255.255"}, {"128.0.0.0"});
}

static void slash_127_is_a_pair_of_addresses(void**) {
    expectBlock("2001:db8::/127", {"2001:db8::", "2001:db8::1"},
                {"2001:db8::2", "2001:db8::3", "2001:db8::1:0", "2001:db9::"});
    expectBlock("2001:db8::2/127", {"2001:db8::2", "2001:db8::3"}, {"2001:db8::1", "2001:db8::4"});
}

static void odd_ipv6_prefixes_end_where_they_should(void**) {
    expectBlock("fe80::/10", {"fe80::1", "febf:ffff::1"}, {"fec0::1", "fe7f::1", "ff80::1"});
    expectBlock("2001:db8::/33", {"2001:db8::1", "2001:db8:7fff::1"},
                {"2001:db8:8000::1", "2001:db9::"});
    expectBlock("2001:db8::/31", {"2001:db8::1", "2001:db9:ffff::1"},
                {"2001:dba::1", "2001:db7::1"});
}

// ---- contains: families, mapped and scoped addresses, names

static void an_ipv4_mapped_client_matches_its_ipv4_block(void**) {
    expectBlock(
        "192.0.2.0/24",
        {"::ffff:192.0.2.1", "::FFFF:192.0.2.200", "::ffff:c000:0201", "0:0:0:0:0:ffff:192.0.2.1"},
        {"::ffff:192.0.3.1", "::192.0.2.1", "64:ff9b::192.0.2.1", "::fffe:192.0.2.1"});
    expectBlock("172.16.0.0/12", {"::ffff:172.31.0.1"}, {"::ffff:172.32.0.1"});
}

static void ipv4_never_matches_an_ipv6_block(void**) {
    expectBlock("::/0", {}, {"192.0.2.1", "0.0.0.0", "127.0.0.1"});
    expectBlock("::/96", {}, {"0.0.0.1", "192.0.2.1"});
    expectBlock("2001:db8::/32", {}, {"32.1.13.184", "192.0.2.1"});
}

// A block written in the mapped form is the IPv4 block it maps: its prefix counts from bit 96.
static void a_mapped_block_is_its_ipv4_block(void**) {
    expectBlock("::ffff:192.0.2.0/120", {"192.0.2.0", "192.0.2.255", "::ffff:192.0.2.9"},
                {"192.0.3.0", "192.0.1.255", "::1"});
    expectBlock("::ffff:0:0/96", {"0.0.0.0", "192.0.2.1", "255.255.255.255", "::ffff:10.0.0.1"},
                {"::1", "2001:db8::1"});
    expectBlock("::ffff:172.16.0.0/108", {"172.16.0.0", "172.31.255.255"},
                {"172.32.0.0", "172.15.255.255"});
    expectBlock("::ffff:192.0.2.1", {"192.0.2.1"}, {"192.0.2.2"});
    expectBlock("::ffff:192.0.2.1/128", {"192.0.2.1"}, {"192.0.2.0"});
    // Shorter than /96 it would reach past the mapped range into other IPv6 addresses.
    for (const char* text : {"::ffff:0:0/95", "::ffff:192.0.2.0/64", "::ffff:192.0.2.0/0",
                             "::ffff:192.0.2.0/129", "::ffff:192.0.2.0/24"})
        expectRefused(text);
}

static void ipv6_never_matches_an_ipv4_block(void**) {
    expectBlock("0.0.0.0/0", {}, {"::", "::1", "2001:db8::1", "::c000:201"});
    expectBlock("192.0.2.0/24", {}, {"c000:0201::", "::c000:0201", "2001:db8::c000:201"});
}

static void host_names_and_empty_strings_never_match(void**) {
    const std::vector<std::string> names{
        "",  " ",   "localhost", "ip6-localhost", "example.com", "192.0.2.1.example.com",
        "0", "0x0", "3221225985"};
    for (const char* block : {"0.0.0.0/0", "::/0", "127.0.0.0/8", "192.0.2.0/24"})
        expectBlock(block, {}, names);
}

static void almost_addresses_never_match(void**) {
    expectBlock("0.0.0.0/0", {},
                {"192.0.2.1 ", " 192.0.2.1", "192.0.2.1\n", "192.0.2", "192.0.2.1/32",
                 "192.0.2.1:22", "[::ffff:192.0.2.1]", "192.0.2.01"});
    expectBlock("::/0", {}, {"[2001:db8::1]", "2001:db8::1/128", "[2001:db8::1]:22"});
}

static void an_embedded_nul_never_matches(void**) {
    expectBlock("192.0.2.0/24", {},
                {std::string("192.0.2.1\0", 10), std::string("192.0.2.1\0.example.com", 22)});
}

static void scoped_addresses_never_match(void**) {
    expectBlock("fe80::/10", {"fe80::1"}, {"fe80::1%eth0", "fe80::1%1", "fe80::1%"});
    expectBlock("::/0", {}, {"fe80::1%eth0", "::1%lo"});
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_ipv4_blocks_parse),
        cmocka_unit_test(valid_ipv6_blocks_parse),
        cmocka_unit_test(prefixes_past_the_family_size_are_refused),
        cmocka_unit_test(malformed_prefixes_are_refused),
        cmocka_unit_test(garbage_is_refused),
        cmocka_unit_test(host_names_are_refused),
        cmocka_unit_test(scoped_ipv6_blocks_are_refused),
        cmocka_unit_test(an_embedded_nul_is_refused),
        cmocka_unit_test(a_bare_ipv4_address_is_a_slash_32),
        cmocka_unit_test(a_bare_ipv6_address_is_a_slash_128),
        cmocka_unit_test(slash_0_contains_its_whole_family),
        cmocka_unit_test(slash_32_and_slash_128_contain_one_address),
        cmocka_unit_test(byte_aligned_ipv4_blocks_have_exact_edges),
        cmocka_unit_test(host_bits_in_the_block_are_ignored),
        cmocka_unit_test(slash_12_ends_inside_the_second_byte),
        cmocka_unit_test(odd_ipv4_prefixes_end_where_they_should),
        cmocka_unit_test(slash_127_is_a_pair_of_addresses),
        cmocka_unit_test(odd_ipv6_prefixes_end_where_they_should),
        cmocka_unit_test(an_ipv4_mapped_client_matches_its_ipv4_block),
        cmocka_unit_test(ipv4_never_matches_an_ipv6_block),
        cmocka_unit_test(a_mapped_block_is_its_ipv4_block),
        cmocka_unit_test(ipv6_never_matches_an_ipv4_block),
        cmocka_unit_test(host_names_and_empty_strings_never_match),
        cmocka_unit_test(almost_addresses_never_match),
        cmocka_unit_test(an_embedded_nul_never_matches),
        cmocka_unit_test(scoped_addresses_never_match),
    };
    return cmocka_run_group_tests_name("network", tests, nullptr, nullptr);
}
