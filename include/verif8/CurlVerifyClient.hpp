// CurlVerifyClient: the VerifyClient over libcurl, the only code that talks to the network.
#pragma once

#include <memory>
#include <string>

#include "verif8/Config.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

// Keeps one curl handle so that initiate and validate can share a connection. HTTPS only,
// certificates always verified, no redirects, no proxy from the environment (https_proxy only),
// bounded in time and in response size. The base URLs are tried in order while nothing has been
// sent; a 429 is retried after its Retry-After while the budget allows, and a server error
// (500, 502-504) once, each only when the wait fits the deadline.
class CurlVerifyClient : public VerifyClient {
public:
    explicit CurlVerifyClient(const Config& config);
    ~CurlVerifyClient() override;
    CurlVerifyClient(const CurlVerifyClient&) = delete;
    CurlVerifyClient& operator=(const CurlVerifyClient&) = delete;

    void setDeadline(std::chrono::steady_clock::time_point deadline) override;
    CallResult initiate(const InitiateRequest& request) override;
    CallResult validate(const std::string& sessionId, const SecretString& code) override;
    CallResult status(const std::string& sessionId) override;

    static constexpr std::size_t kMaxResponseSize = 64 * 1024;

private:
    const Config& config() const;

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace verif8
