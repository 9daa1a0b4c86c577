// CurlLibrary: which libcurl versions the module accepts, and which of the newer options it
// uses with each (the fallbacks keep every guarantee; tests/roots runs them on Debian 11).
#include <string>

#include "../../src/CurlLibrary.hpp"
#include "support.hpp"

using namespace verif8;

// Refused before 7.74; CURLOPT_PREREQFUNCTION from 7.80; CURLOPT_PROTOCOLS_STR from 7.85.
static void each_libcurl_version_gets_the_options_it_has(void**) {
    struct Row {
        const char* version;
        unsigned number;
        bool accepted, requestStartHook, protocolsStr;
    };
    const Row rows[] = {
        {"none at all", 0, false, false, false},
        {"7.58.0 (Ubuntu 18.04)", 0x073a00, false, false, false},
        {"7.73.0", 0x074900, false, false, false},
        {"7.74.0", 0x074a00, true, false, false},
        {"7.76.1", 0x074c01, true, false, false},
        {"7.79.1", 0x074f01, true, false, false},
        {"7.80.0", 0x075000, true, true, false},
        {"7.81.0", 0x075100, true, true, false},
        {"7.84.0", 0x075400, true, true, false},
        {"7.85.0", 0x075500, true, true, true},
        {"7.88.0", 0x075800, true, true, true},
        {"8.14.1", 0x080e01, true, true, true},
    };
    for (const Row& row : rows) {
        const auto features = curlFeaturesOf(row.number);
        expect_row(features.has_value() == row.accepted, row.version);
        if (features) {
            expect_row(features->requestStartHook == row.requestStartHook, row.version);
            expect_row(features->protocolsStr == row.protocolsStr, row.version);
        }
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
        cmocka_unit_test(each_libcurl_version_gets_the_options_it_has),
        cmocka_unit_test(the_installed_libcurl_loads_with_its_own_features),
    };
    return cmocka_run_group_tests_name("curl_library", tests, nullptr, nullptr);
}
