// The built module exports the PAM entry points and nothing else, and loads with all its symbols
// resolved (it is linked with -z defs, so a missing library shows here, not in sshd).
#include <dlfcn.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "../unit/cmocka.hpp"

static std::string modulePath;
static bool runtimeLinkedIn = false;

// The lines a command prints about the module; it must succeed.
static std::vector<std::string> linesOf(const std::string& command) {
    FILE* pipe = popen((command + " '" + modulePath + "'").c_str(), "r");
    assert_non_null(pipe);
    std::vector<std::string> lines;
    char line[512];
    while (fgets(line, sizeof line, pipe) != nullptr)
        lines.emplace_back(line);
    assert_int_equal(pclose(pipe), 0);
    return lines;
}

static void* load() {
    void* module = dlopen(modulePath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (module == nullptr)
        fail_msg("dlopen: %s", dlerror());
    return module;
}

static void module_loads_with_every_symbol_resolved(void**) {
    void* module = load();
    assert_non_null(dlsym(module, "pam_sm_authenticate"));
    assert_non_null(dlsym(module, "pam_sm_setcred"));
    // The core library's functions stay private to the module.
    assert_null(dlsym(module, "_ZN6verif810pamCodeForENS_7OutcomeE"));
    dlclose(module);
}

static void only_pam_entry_points_are_exported(void**) {
    std::string exported;
    for (const auto& line : linesOf("nm -D --defined-only")) {
        char address[64], type[8], name[400];
        if (sscanf(line.c_str(), "%63s %7s %399s", address, type, name) == 3)
            exported += std::string(name) + " ";
    }
    if (exported != "pam_sm_authenticate pam_sm_setcred ")  // nm sorts by name
        fail_msg("exported: %s", exported.c_str());
}

// sshd is a C program: with the runtime linked in (meson option static_libstdcxx), loading the
// module must not bring libstdc++ or libgcc_s into it. The module always needs libpam and libc,
// and never libcurl (opened at the first request). It must load into any host: static TLS would
// make dlopen fail where the host has used up its static TLS space.
static void needed_libraries_and_no_static_tls(void**) {
    std::set<std::string> needed;
    for (const auto& text : linesOf("readelf -d")) {
        const auto start = text.find('['), end = text.find(']');
        if (text.find("(NEEDED)") != std::string::npos && start != std::string::npos && end > start)
            needed.insert(text.substr(start + 1, end - start - 1));
        if (text.find("STATIC_TLS") != std::string::npos)
            fail_msg("the module needs static TLS: %s", text.c_str());
    }
    assert_true(needed.count("libpam.so.0") == 1);
    assert_true(needed.count("libc.so.6") == 1);
    assert_true(needed.count("libcurl.so.4") == 0);
    for (const auto& name : needed) {
        if (runtimeLinkedIn && (name.find("libstdc++") != std::string::npos ||
                                name.find("libgcc_s") != std::string::npos))
            fail_msg("the module needs %s", name.c_str());
    }
    assert_int_equal(needed.count("libstdc++.so.6"), runtimeLinkedIn ? 0 : 1);
}

// Bytes in use on the heap: mallinfo2 from glibc 2.33, mallinfo (int fields, enough for a
// test's heap) before, as on Debian 11.
static std::size_t heapInUse() {
#if __GLIBC_PREREQ(2, 33)
    return mallinfo2().uordblks;
#else
    return static_cast<std::size_t>(static_cast<unsigned>(mallinfo().uordblks));
#endif
}

// Whether mallinfo2 sees this process's heap: sanitizer builds replace malloc, and it then
// counts nothing, so the leak check below cannot be made there.
static bool heapIsCounted() {
    const std::size_t empty = heapInUse();
    void* volatile probe = malloc(64 << 10);  // below the mmap threshold: from the heap
    const bool counted = heapInUse() >= empty + (64 << 10);
    free(probe);
    return counted;
}

// libpam loads the module at pam_start and unloads it at pam_end; a host that logs many users
// in from one process (a display manager, an application server) does that again and again.
// Whatever the module allocates when loaded, the C++ runtime's exception pool included, must go
// with it.
static void loading_and_unloading_leaks_nothing(void**) {
    dlclose(load());  // the first load sets up what stays for good (the loader's own tables)
    const std::size_t before = heapInUse();
    for (int i = 0; i < 200; ++i)
        dlclose(load());
    const std::size_t after = heapInUse();
    // A leaked exception pool alone would be some 14 MB over 200 loads.
    if (after > before + 512 * 1024)
        fail_msg("200 loads left %zu bytes allocated", after - before);
}

int main(int argc, char** argv) {
    if (argc != 3 || (std::string(argv[2]) != "static" && std::string(argv[2]) != "shared")) {
        fprintf(stderr, "usage: %s MODULE.so static|shared\n", argv[0]);
        return 2;
    }
    modulePath = argv[1];
    runtimeLinkedIn = std::string(argv[2]) == "static";
    std::vector<CMUnitTest> tests = {
        cmocka_unit_test(module_loads_with_every_symbol_resolved),
        cmocka_unit_test(only_pam_entry_points_are_exported),
        cmocka_unit_test(needed_libraries_and_no_static_tls),
    };
    // Left out, not skipped (CMocka's skip reads as a failure to Meson), where it cannot run.
    if (heapIsCounted())
        tests.push_back(cmocka_unit_test(loading_and_unloading_leaks_nothing));
    else
        fprintf(stderr, "exports: no leak check: mallinfo2 does not see the heap here\n");
    return _cmocka_run_group_tests("exports", tests.data(), tests.size(), nullptr, nullptr);
}
