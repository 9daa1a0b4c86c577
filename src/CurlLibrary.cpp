// CurlLibrary: dlopen of libcurl.so.4 and its entry points, once per process.
#include "CurlLibrary.hpp"

#include <dlfcn.h>

#include <mutex>

namespace verif8 {

namespace {
CurlLibrary library{};
std::string loadError;
std::once_flag loaded;

std::string versionText(unsigned number) {
    return std::to_string(number >> 16) + "." + std::to_string((number >> 8) & 0xff) + "." +
           std::to_string(number & 0xff);
}

template <typename Function>
bool bind(void* handle, const char* name, Function& target) {
    target = reinterpret_cast<Function>(dlsym(handle, name));
    if (target == nullptr)
        loadError = std::string("libcurl.so.4 has no ") + name;
    return target != nullptr;
}

void open() {
    // RTLD_NODELETE: OpenSSL registers exit handlers; its code must outlive any dlclose.
    // RTLD_LAZY: binding all of libcurl's and OpenSSL's symbols up front costs more CPU than a
    // login uses of them, and is more than a program linked with libcurl pays (the floor in
    // BENCHMARKS.md). Our own entry points are still checked here, with dlsym.
    void* handle = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == nullptr) {
        const char* why = dlerror();
        loadError = std::string("cannot load libcurl.so.4: ") + (why != nullptr ? why : "?");
        return;
    }
    const bool complete = bind(handle, "curl_easy_init", library.easyInit) &&
                          bind(handle, "curl_easy_cleanup", library.easyCleanup) &&
                          bind(handle, "curl_easy_reset", library.easyReset) &&
                          bind(handle, "curl_easy_setopt", library.easySetopt) &&
                          bind(handle, "curl_easy_perform", library.easyPerform) &&
                          bind(handle, "curl_easy_getinfo", library.easyGetinfo) &&
                          bind(handle, "curl_easy_strerror", library.easyStrerror) &&
                          bind(handle, "curl_slist_append", library.slistAppend) &&
                          bind(handle, "curl_slist_free_all", library.slistFreeAll);
    curl_version_info_data* (*versionInfo)(CURLversion) = nullptr;
    if (!complete || !bind(handle, "curl_version_info", versionInfo)) {
        library = CurlLibrary{};
        return;
    }
    // The version of the library loaded, not of the headers built against: a package may run
    // with an older or newer libcurl than the one it was built on.
    const curl_version_info_data* info = versionInfo(CURLVERSION_NOW);
    const unsigned number = info != nullptr ? info->version_num : 0;
    const auto features = curlFeaturesOf(number);
    if (!features) {
        loadError = "libcurl.so.4 is version " + versionText(number) +
                    ", older than the oldest pam_verif8 supports (" + versionText(kOldestLibcurl) +
                    ")";
        library = CurlLibrary{};
        return;
    }
    library.features = *features;
    library.version = versionText(number);
}
}  // namespace

std::optional<CurlFeatures> curlFeaturesOf(unsigned versionNum) {
    if (versionNum < kOldestLibcurl)
        return std::nullopt;
    CurlFeatures features;
    features.protocolsStr = versionNum >= 0x075500;
    features.requestStartHook = versionNum >= 0x075000;
    return features;
}

Result<const CurlLibrary*> CurlLibrary::load() {
    std::call_once(loaded, open);
    if (library.easyInit == nullptr)
        return Problem(loadError);
    return &library;
}

const CurlLibrary& curlApi() {
    return library;
}

}  // namespace verif8
