// CurlTransfer: one HTTPS request on a kept curl handle, and whether it can have been sent.
// Part of the curl client: only it and CurlVerifyClient.cpp include this header.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>

#include "verif8/Config.hpp"
#include "verif8/Result.hpp"
#include "verif8/SecretString.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

struct TransferResult {
    CallResult call;
    // Certainly never reached the service (refused, not resolved, no TLS): another base URL
    // may be tried without risking a second send.
    bool nothingSent = false;
};

// Keeps one handle so that the requests of a login can share a connection.
class CurlTransfer {
public:
    explicit CurlTransfer(const Config& config);
    ~CurlTransfer();
    CurlTransfer(const CurlTransfer&) = delete;
    CurlTransfer& operator=(const CurlTransfer&) = delete;

    // GET when `postBody` is null, else POST of it; the request ends by `deadline` (the time
    // left is taken after libcurl is loaded and the handle set up, just before the request).
    TransferResult perform(const SecretString& url, const std::string* postBody,
                           std::chrono::steady_clock::time_point deadline);

    struct Exchange;

private:
    struct HandleDeleter {
        void operator()(CURL* handle) const;
    };

    Result<CURL*> ready();
    bool configure(const SecretString& url, const std::string* postBody, curl_slist* headers,
                   Exchange& exchange, std::chrono::steady_clock::time_point deadline);
    bool setTrust();
    TransferResult failed(CURLcode code, const Exchange& exchange, bool mayHaveReused);

    const Config& config_;
    std::unique_ptr<CURL, HandleDeleter> handle_;
    char errorText_[CURL_ERROR_SIZE] = {};
    int connectionsOpened_ = 0;  // transfers on this handle that opened a connection (reusable)
};

}  // namespace verif8
