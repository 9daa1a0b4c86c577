/* bench_load: what merely loading a shared object costs a process (dlopen with every symbol
 * bound, as libpam loads a module). With no argument it loads nothing: the baseline. In C, so
 * that the baseline holds no libstdc++.
 *   usage: bench_load [LIBRARY.so] */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
    if (argc < 2)
        return 0;
    void* handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    return 0;
}
