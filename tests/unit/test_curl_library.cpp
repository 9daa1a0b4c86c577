// CurlLibrary: which libcurl versions the module accepts, and which of the newer options it
// uses with each (the fallbacks keep every guarantee; tests/roots runs them on Debian 11).
#include <string>

#include "../../src/CurlLibrary.hpp"
#include "support.hpp"

using namespace verif8;

static void libcurl_older_than_7_74_is_refused(void**) {
    assert_false(curlFeaturesOf(0x074900).has_value());  // 7.73.0
    assert_false(curlFeaturesOf(0x073a00).has_value());  // 7.58.0 (Ubuntu 18.04)
    assert_false(curlFeaturesOf(0).has_value());         // no version at all
}

static void libcurl_7_74_to_7_79_has_neither_newer_option(void**) {
    for (const unsigned version : {0x074a00u, 0x074c01u, 0x074f01u}) {  // 7.74.0, 7.76.1, 7.79.1
        const auto features = curlFeaturesOf(version);
        assert_true(features.has_value());
        assert_false(features->requestStartHook);
        assert_false(features->protocolsStr);
    }
}

static void libcurl_7_80_to_7_84_has_the_request_start_hook_only(void**) {
    for (const unsigned version : {0x075000u, 0x075100u, 0x075400u}) {  // 7.80.0, 7.81.0, 7.84.0
        const auto features = curlFeaturesOf(version);
        assert_true(features.has_value());
        assert_true(features->requestStartHook);
        assert_false(features->protocolsStr);
    }
}

static void libcurl_7_85_and_later_has_both(void**) {
    for (const unsigned version : {0x075500u, 0x075800u, 0x080e01u}) {  // 7.85.0, 7.88.0, 8.14.1
        const auto features = curlFeaturesOf(version);
        assert_true(features.has_value());
        assert_true(features->requestStartHook);
        assert_true(features->protocolsStr);
    }
}

// The machine's own libcurl: loaded, its version read at run time, its options chosen by it.
// (Debian locks libcurl4 to the -dev package's version, so the headers tell what was loaded.)
static void the_installed_libcurl_loads_with_its_own_features(void**) {
    const auto loaded = CurlLibrary::load();
    if (!loaded)
        fail_msg("libcurl did not load: %s", loaded.problem().text.c_str());
    const CurlLibrary* library = loaded.value();
    expect_str(library->version, LIBCURL_VERSION);
    const auto expected = curlFeaturesOf(LIBCURL_VERSION_NUM);
    assert_true(expected.has_value());
    assert_int_equal(library->features.requestStartHook, expected->requestStartHook);
    assert_int_equal(library->features.protocolsStr, expected->protocolsStr);
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libcurl_older_than_7_74_is_refused),
        cmocka_unit_test(libcurl_7_74_to_7_79_has_neither_newer_option),
        cmocka_unit_test(libcurl_7_80_to_7_84_has_the_request_start_hook_only),
        cmocka_unit_test(libcurl_7_85_and_later_has_both),
        cmocka_unit_test(the_installed_libcurl_loads_with_its_own_features),
    };
    return cmocka_run_group_tests_name("curl_library", tests, nullptr, nullptr);
}
