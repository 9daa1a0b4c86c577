// bench_load: what merely loading a shared object costs a process (dlopen with every symbol
// bound, as libpam loads a module). With no argument it loads nothing: the baseline.
//   usage: bench_load [LIBRARY.so]
#include <dlfcn.h>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 2)
        return 0;
    void* handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    return 0;
}
