// RequestBuilder: every configured setting goes into the initiate request, and nothing unset.
#include "support.hpp"
#include "verif8/RequestBuilder.hpp"

using namespace verif8;

static void the_request_carries_the_configured_settings_and_nothing_unset(void**) {
    Config config;
    config.codeLength = 8;
    config.codeValidity = 900;
    config.resendInterval = 45;
    config.brand = "Acme";
    config.messageTemplate = "{brand}: {code}";
    config.templateKey = "login-otp";
    config.language = "fr-FR";
    config.smsSender = "AcmeSMS";
    config.voiceCallerId = "+6512345678";
    config.whatsappTemplate = "auth_code_v2";
    const InitiateRequest request =
        buildInitiateRequest(config, "+6591234567", Channel::Voice, true, "");
    expect_str(request.destination, "+6591234567");
    assert_true(request.channel == Channel::Voice);
    assert_int_equal(request.codeLength, 8);
    assert_int_equal(request.codeValidity, 900);
    assert_true(request.resendingInterval == 45);
    assert_true(request.resetSession);
    expect_str(request.brand.value_or("?"), "Acme");
    expect_str(request.messageTemplate.value_or("?"), "{brand}: {code}");
    expect_str(request.templateKey.value_or("?"), "login-otp");
    expect_str(request.language.value_or("?"), "fr-FR");
    expect_str(request.smsSource.value_or("?"), "AcmeSMS");
    expect_str(request.callSource.value_or("?"), "+6512345678");
    expect_str(request.whatsappTemplate.value_or("?"), "auth_code_v2");
    // Nothing unset goes in.
    const InitiateRequest plain =
        buildInitiateRequest(Config{}, "+6591234567", Channel::Sms, false, "");
    assert_int_equal(plain.codeLength, 6);
    assert_int_equal(plain.codeValidity, 300);
    assert_true(plain.resendingInterval == 30);  // always sent
    assert_false(plain.resetSession);
    assert_false(plain.brand || plain.messageTemplate || plain.templateKey || plain.language ||
                 plain.smsSource || plain.callSource || plain.whatsappTemplate || plain.clientIp);
}

// PAM_RHOST goes as clientIp only as an IP literal (canonical form), only with send_client_ip on.
static void the_remote_address_goes_as_client_ip_when_it_is_an_ip_literal(void**) {
    struct Row {
        const char* rhost;
        bool send;
        const char* expected;  // nullptr: no clientIp
    };
    static const Row rows[] = {
        {"198.51.100.20", true, "198.51.100.20"},
        {"2001:db8::1", true, "2001:db8::1"},
        {"2001:DB8:0:0::0:1", true, "2001:db8::1"},
        {"::ffff:198.51.100.20", true, "198.51.100.20"},  // IPv4 through an IPv6 socket
        {"198.51.100.20", false, nullptr},
        {"", true, nullptr},                // a local login
        {"gw.example.org", true, nullptr},  // a host name says nothing sure
        {"198.51.100.20.example.org", true, nullptr},
        {"fe80::1%eth0", true, nullptr},  // a zone is not a literal the API takes
        {"198.51.100.0/24", true, nullptr},
        {"198.51.100.20 ", true, nullptr},
        {"0198.51.100.20", true, nullptr},
    };
    for (const Row& row : rows) {
        Config config;
        config.sendClientIp = row.send;
        const InitiateRequest request =
            buildInitiateRequest(config, "+6591234567", Channel::Sms, false, row.rhost);
        const std::string got = request.clientIp.value_or("(none)");
        const std::string expected = row.expected != nullptr ? row.expected : "(none)";
        if (got != expected)
            fail_msg("rhost \"%s\" (send %d): clientIp %s, expected %s", row.rhost, row.send,
                     got.c_str(), expected.c_str());
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_request_carries_the_configured_settings_and_nothing_unset),
        cmocka_unit_test(the_remote_address_goes_as_client_ip_when_it_is_an_ip_literal),
    };
    return cmocka_run_group_tests_name("request_builder", tests, nullptr, nullptr);
}
