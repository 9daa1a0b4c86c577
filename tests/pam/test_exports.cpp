// The built module exports the PAM entry points and nothing else, and loads with all its symbols
// resolved (it is linked with -z defs, so a missing library shows here, not in sshd).
#include <dlfcn.h>

#include <cstdio>
#include <set>
#include <string>

#include "../unit/cmocka.hpp"

static std::string modulePath;

static void module_loads_with_every_symbol_resolved(void**) {
    void* module = dlopen(modulePath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (module == nullptr)
        fail_msg("dlopen: %s", dlerror());
    assert_non_null(dlsym(module, "pam_sm_authenticate"));
    assert_non_null(dlsym(module, "pam_sm_setcred"));
    // The core library's functions stay private to the module.
    assert_null(dlsym(module, "_ZN6verif810pamCodeForENS_7OutcomeE"));
    dlclose(module);
}

static void only_pam_entry_points_are_exported(void**) {
    const std::string command = "nm -D --defined-only '" + modulePath + "'";
    FILE* pipe = popen(command.c_str(), "r");
    assert_non_null(pipe);
    std::set<std::string> exported;
    char line[512];
    while (fgets(line, sizeof line, pipe) != nullptr) {
        char address[64], type[8], name[400];
        if (sscanf(line, "%63s %7s %399s", address, type, name) == 3)
            exported.insert(name);
    }
    assert_int_equal(pclose(pipe), 0);
    const std::set<std::string> expected{"pam_sm_authenticate", "pam_sm_setcred"};
    if (exported != expected) {
        std::string names;
        for (const auto& name : exported)
            names += name + " ";
        fail_msg("exported: %s", names.c_str());
    }
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE.so\n", argv[0]);
        return 2;
    }
    modulePath = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(module_loads_with_every_symbol_resolved),
        cmocka_unit_test(only_pam_entry_points_are_exported),
    };
    return cmocka_run_group_tests_name("exports", tests, nullptr, nullptr);
}
