// Built into pam_verif8.so only when libstdc++ is linked into it (meson option static_libstdcxx).
//
// libstdc++ allocates an emergency pool for exceptions (about 70 KiB) when it is initialised,
// which, linked in, is when the module is loaded. libpam unloads the module at pam_end, so a host
// that runs many logins in one process (a display manager, an application server) would lose
// one pool per login. libstdc++'s own hook for releasing the pool at exit (there for valgrind)
// gives it back when the module is unloaded; no exception can be in flight by then, as every
// entry point catches its own.

namespace __gnu_cxx {
void __freeres();  // libstdc++ (eh_alloc.cc): frees the emergency exception pool
}  // namespace __gnu_cxx

namespace {
__attribute__((destructor)) void releaseExceptionPool() {
    __gnu_cxx::__freeres();
}
}  // namespace
