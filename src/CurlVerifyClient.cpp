// CurlVerifyClient: HTTPS calls to the Verify API; the only code that includes curl.
#include "verif8/CurlVerifyClient.hpp"

#include <curl/curl.h>

#include <cstring>

#include "verif8/TextUtil.hpp"
#include "verif8/VerifyApi.hpp"

namespace verif8 {

namespace {
struct CurlDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};

// Header lists hold the bearer token: wipe every entry before curl frees the list.
struct HeaderListDeleter {
    void operator()(curl_slist* list) const {
        for (curl_slist* item = list; item != nullptr; item = item->next)
            wipeMemory(item->data, strlen(item->data));
        curl_slist_free_all(list);
    }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

bool appendHeader(HeaderList& list, const char* header) {
    curl_slist* grown = curl_slist_append(list.get(), header);
    if (grown == nullptr)
        return false;
    list.release();
    list.reset(grown);
    return true;
}

struct Exchange {
    SecretString body;  // a validate answer is tied to a code: treat it as a secret too
    bool tooLarge = false;
    std::optional<long> retryAfter;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
    auto* exchange = static_cast<Exchange*>(user);
    const size_t length = size * count;
    if (exchange->body.size() + length > CurlVerifyClient::kMaxResponseSize) {
        exchange->tooLarge = true;
        return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    exchange->body.append(std::string_view(data, length));
    return length;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
    auto* exchange = static_cast<Exchange*>(user);
    const std::string_view line(data, size * count);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
        // Only the delta-seconds form; an HTTP date is rare here and the back-off is capped.
        exchange->retryAfter = parseNumber(trim(line.substr(kName.size())));
    }
    return size * count;
}

CallStatus classifyTransportError(CURLcode code) {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
            return CallStatus::Unreachable;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CERTPROBLEM:
            return CallStatus::CertificateInvalid;
        case CURLE_SSL_CONNECT_ERROR:
            // Also what a server speaking only old TLS versions gets: fail closed, never "down".
            return CallStatus::CertificateInvalid;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            return CallStatus::RequestRejected;
        default:
            return CallStatus::BadResponse;
    }
}
}  // namespace

struct CurlVerifyClient::Impl {
    const Config& config;
    std::unique_ptr<CURL, CurlDeleter> handle;
    char errorText[CURL_ERROR_SIZE] = {};

    explicit Impl(const Config& c) : config(c) {}

    CallResult perform(const SecretString& url, const std::string* postBody);
    bool configure(const SecretString& url, const std::string* postBody, curl_slist* headers,
                   Exchange& exchange);
};

bool CurlVerifyClient::Impl::configure(const SecretString& url, const std::string* postBody,
                                       curl_slist* headers, Exchange& exchange) {
    CURL* h = handle.get();
    curl_easy_reset(h);
    errorText[0] = '\0';
    bool ok = true;
    auto set = [&ok](CURLcode code) { ok = ok && code == CURLE_OK; };
    set(curl_easy_setopt(h, CURLOPT_URL, url.c_str()));
    set(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https"));
    set(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L));
    set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L));
    set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L));
    set(curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
    // An empty proxy disables the environment's http(s)_proxy and ALL_PROXY: a proxy set for an
    // unrelated program must not see the API key.
    set(curl_easy_setopt(h, CURLOPT_PROXY, ""));
    set(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, config.connectTimeout));
    set(curl_easy_setopt(h, CURLOPT_TIMEOUT, config.requestTimeout));
    set(curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
    set(curl_easy_setopt(h, CURLOPT_USERAGENT, "pam_verif8/" VERIF8_VERSION));
    set(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers));
    set(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onBody));
    set(curl_easy_setopt(h, CURLOPT_WRITEDATA, &exchange));
    set(curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader));
    set(curl_easy_setopt(h, CURLOPT_HEADERDATA, &exchange));
    set(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errorText));
    if (!config.caFile.empty()) {
        set(curl_easy_setopt(h, CURLOPT_CAINFO, config.caFile.c_str()));
        set(curl_easy_setopt(h, CURLOPT_CAPATH, nullptr));
    }
    if (postBody != nullptr) {
        set(curl_easy_setopt(h, CURLOPT_POST, 1L));
        set(curl_easy_setopt(h, CURLOPT_POSTFIELDS, postBody->c_str()));
        set(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(postBody->size())));
    } else {
        set(curl_easy_setopt(h, CURLOPT_HTTPGET, 1L));
    }
    return ok;
}

CallResult CurlVerifyClient::Impl::perform(const SecretString& url, const std::string* postBody) {
    CallResult result;
    // Created on the first call, so that logins that send nothing never set curl up.
    if (!handle)
        handle.reset(curl_easy_init());
    if (!handle) {
        result.status = CallStatus::InternalError;
        result.detail = "curl_easy_init failed";
        return result;
    }
    HeaderList headers;
    SecretString authorization("Authorization: Bearer ");
    authorization.append(config.apiKey.view());
    const bool headersOk =
        appendHeader(headers, authorization.c_str()) &&
        appendHeader(headers, "Accept: application/json") &&
        (postBody == nullptr || appendHeader(headers, "Content-Type: application/json")) &&
        appendHeader(headers, "Expect:");
    Exchange exchange;
    if (!headersOk || !configure(url, postBody, headers.get(), exchange)) {
        result.status = CallStatus::InternalError;
        result.detail = "could not set up the HTTPS request";
        return result;
    }
    const CURLcode code = curl_easy_perform(handle.get());
    // The request is done: nothing below may leave the key or code reachable through curl.
    curl_easy_setopt(handle.get(), CURLOPT_HTTPHEADER, nullptr);
    if (exchange.tooLarge) {
        result.status = CallStatus::BadResponse;
        result.detail = "response larger than " + std::to_string(kMaxResponseSize) + " bytes";
        return result;
    }
    if (code != CURLE_OK) {
        result.status = classifyTransportError(code);
        result.detail = std::string(curl_easy_strerror(code));
        if (errorText[0] != '\0')
            result.detail += ": " + sanitizeForMessage(errorText);
        return result;
    }
    long httpStatus = 0;
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &httpStatus);
    return verify_api::interpretResponse(httpStatus, exchange.body.view(), exchange.retryAfter);
}

CurlVerifyClient::CurlVerifyClient(const Config& config) : impl_(std::make_unique<Impl>(config)) {}

CurlVerifyClient::~CurlVerifyClient() = default;

CallResult CurlVerifyClient::initiate(const InitiateRequest& request) {
    const SecretString url(config().baseUrl() + verify_api::sessionsPath(config().subaccountId));
    const std::string body = verify_api::buildInitiateBody(request);
    return impl_->perform(url, &body);
}

CallResult CurlVerifyClient::validate(const std::string& sessionId, const SecretString& code) {
    // The URL carries the code, so it is built and kept in wiped storage only.
    SecretString url(config().baseUrl() +
                     verify_api::sessionPath(config().subaccountId, sessionId));
    url.append("?code=");
    verify_api::appendPercentEncoded(code.view(), url);
    return impl_->perform(url, nullptr);
}

const Config& CurlVerifyClient::config() const {
    return impl_->config;
}

}  // namespace verif8
