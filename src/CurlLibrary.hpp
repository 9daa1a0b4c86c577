// CurlLibrary: libcurl's entry points, loaded when the first request is made.
#pragma once

#include <curl/curl.h>

#include <optional>
#include <string>

#include "verif8/Result.hpp"

namespace verif8 {

// The oldest libcurl the module supports (Debian 11's): 0xXXYYZZ, as curl_version_info gives it.
constexpr unsigned kOldestLibcurl = 0x074a00;

// Options newer than the oldest supported libcurl, used only when the loaded one has them.
struct CurlFeatures {
    bool protocolsStr = false;      // CURLOPT_PROTOCOLS_STR, 7.85.0 (CURLOPT_PROTOCOLS before)
    bool requestStartHook = false;  // CURLOPT_PREREQFUNCTION, 7.80.0
};

// What libcurl `versionNum` offers; nullopt when it is older than kOldestLibcurl.
std::optional<CurlFeatures> curlFeaturesOf(unsigned versionNum);

// libcurl with OpenSSL and everything they pull in costs more to load than a login's own work
// does, and most paths that send nothing (exempt users, unenrolled users, config errors) would
// pay it for nothing. So the module is not linked with libcurl: the curl client opens it on its
// first request and keeps it for the life of the process (unloading OpenSSL is not safe).
struct CurlLibrary {
    CURL* (*easyInit)();
    void (*easyCleanup)(CURL*);
    void (*easyReset)(CURL*);
    CURLcode (*easySetopt)(CURL*, CURLoption, ...);
    CURLcode (*easyPerform)(CURL*);
    CURLcode (*easyGetinfo)(CURL*, CURLINFO, ...);
    const char* (*easyStrerror)(CURLcode);
    curl_slist* (*slistAppend)(curl_slist*, const char*);
    void (*slistFreeAll)(curl_slist*);
    CurlFeatures features;
    std::string version;  // "7.74.0"

    // Loads libcurl.so.4 once per process; a problem when it cannot or when it is older than
    // kOldestLibcurl.
    static Result<const CurlLibrary*> load();
};

// The loaded library; only valid once load() has succeeded.
const CurlLibrary& curlApi();

}  // namespace verif8
