// CurlLibrary: libcurl's entry points, loaded when the first request is made.
#pragma once

#include <curl/curl.h>

#include <string>

namespace verif8 {

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

    // Loads libcurl.so.4 once per process; nullptr (and why, in `error`) when it cannot.
    static const CurlLibrary* load(std::string& error);
};

// The loaded library; only valid once load() has succeeded.
const CurlLibrary& curlApi();

}  // namespace verif8
