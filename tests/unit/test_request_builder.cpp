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
        buildInitiateRequest(config, "+6591234567", Channel::Voice, true);
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
        buildInitiateRequest(Config{}, "+6591234567", Channel::Sms, false);
    assert_int_equal(plain.codeLength, 6);
    assert_int_equal(plain.codeValidity, 300);
    assert_true(plain.resendingInterval == 30);  // always sent
    assert_false(plain.resetSession);
    assert_false(plain.brand || plain.messageTemplate || plain.templateKey || plain.language ||
                 plain.smsSource || plain.callSource || plain.whatsappTemplate);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_request_carries_the_configured_settings_and_nothing_unset),
    };
    return cmocka_run_group_tests_name("request_builder", tests, nullptr, nullptr);
}
