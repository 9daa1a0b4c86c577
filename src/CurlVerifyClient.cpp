// CurlVerifyClient: HTTPS calls to the Verify API; the only code that includes curl.
#include "verif8/CurlVerifyClient.hpp"

#include "CurlLibrary.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <vector>

#include "verif8/CallerEnvironment.hpp"
#include "verif8/TextUtil.hpp"
#include "verif8/VerifyApi.hpp"

namespace verif8 {

namespace {
// The hashed CA directory of the build machine's distribution ("" where it has none, such as
// Fedora's bundle-only /etc/pki): meson option default_ca_path.
const std::string kDefaultCaPath = VERIF8_DEFAULT_CA_PATH;

struct CurlDeleter {
    void operator()(CURL* handle) const { curlApi().easyCleanup(handle); }
};

// Header lists hold the bearer token: wipe every entry before curl frees the list.
struct HeaderListDeleter {
    void operator()(curl_slist* list) const {
        for (curl_slist* item = list; item != nullptr; item = item->next)
            wipeMemory(item->data, strlen(item->data));
        curlApi().slistFreeAll(list);
    }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

bool appendHeader(HeaderList& list, const char* header) {
    curl_slist* grown = curlApi().slistAppend(list.get(), header);
    if (grown == nullptr)
        return false;
    list.release();
    list.reset(grown);
    return true;
}

struct Exchange {
    SecretString body;  // a validate answer is tied to a code: treat it as a secret too
    bool tooLarge = false;
    bool callbackFailed = false;  // a callback could not keep what it was given (no memory)
    bool requestStarted = false;  // a connection was ready and the request was about to go out
    std::optional<long> retryAfter;
};

// Options newer than the oldest supported libcurl, by number: their values are ABI and never
// change, and curl.h from 7.74 does not name them (nor does a newer one without deprecation
// warnings, for CURLOPT_PROTOCOLS). Each is set only when the loaded libcurl has it.
const auto kOptProtocolsStr = static_cast<CURLoption>(CURLOPTTYPE_STRINGPOINT + 318);  // 7.85
const auto kOptProtocols = static_cast<CURLoption>(CURLOPTTYPE_LONG + 181);  // before 7.85
const auto kOptPrereqFunction = static_cast<CURLoption>(CURLOPTTYPE_FUNCTIONPOINT + 312);  // 7.80
const auto kOptPrereqData = static_cast<CURLoption>(CURLOPTTYPE_CBPOINT + 313);            // 7.80
constexpr int kPrereqOk = 0;  // CURL_PREREQFUNC_OK

// Called once a connection (new or reused) is ready, TLS included, just before the request is
// sent on it: until then nothing can have reached the service.
int onRequestStart(void* user, char* /*ip*/, char* /*localIp*/, int /*port*/, int /*localPort*/) {
    static_cast<Exchange*>(user)->requestStarted = true;
    return kPrereqOk;
}

// libcurl calls these from C frames: an exception (bad_alloc) must never unwind through them.
// Returning less than was given makes curl stop the transfer with CURLE_WRITE_ERROR.
size_t onBody(char* data, size_t size, size_t count, void* user) noexcept {
    auto* exchange = static_cast<Exchange*>(user);
    const size_t length = size * count;
    if (exchange->body.size() + length > CurlVerifyClient::kMaxResponseSize) {
        exchange->tooLarge = true;
        return 0;
    }
    try {
        exchange->body.append(std::string_view(data, length));
    } catch (...) {
        exchange->callbackFailed = true;
        return 0;
    }
    return length;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) noexcept {
    auto* exchange = static_cast<Exchange*>(user);
    const std::string_view line(data, size * count);
    constexpr std::string_view kName = "retry-after:";
    try {
        if (line.size() > kName.size() &&
            strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
            // Only the delta-seconds form; an HTTP date is rare here and the back-off is capped.
            exchange->retryAfter = parseNumber(trim(line.substr(kName.size())));
        }
    } catch (...) {
        exchange->callbackFailed = true;
        return 0;
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
            // A handshake that failed (a server offering only old TLS versions, say): an attack
            // looks the same, so it fails closed and is never taken for "down".
            return CallStatus::TlsFailed;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            return CallStatus::RequestRejected;
        default:
            return CallStatus::BadResponse;
    }
}
// Without the request-start hook (libcurl < 7.80): whether a failed transfer certainly sent
// nothing. Only while the handle has never opened a connection before this transfer (a reused
// connection that died may have carried the request before curl retried on a new one; curl
// retries only on a reused one), and only if no TLS handshake completed (the request goes out
// after it) or the name did not resolve or the connect was refused. Anything else may have.
bool failedBeforeAnyRequest(CURLcode code, bool mayHaveReused, curl_off_t tlsDoneUs) {
    if (mayHaveReused)
        return false;
    return tlsDoneUs == 0 || code == CURLE_COULDNT_RESOLVE_HOST ||
           code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_CONNECT;
}

using Clock = std::chrono::steady_clock;

long millisecondsUntil(Clock::time_point deadline) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

// A transport failure this close to the deadline was the deadline's doing (curl ends a request
// whose limit was cut to the time left within a few milliseconds of it).
constexpr long kDeadlineSlackMs = 50;

// 500 is "internal error: retry within the budget" in the API's own table; 502-504 come from a
// gateway that did not hand the request on.
bool isRetriedServerError(long httpStatus) {
    return httpStatus == 500 || httpStatus == 502 || httpStatus == 503 || httpStatus == 504;
}

void pause(std::chrono::milliseconds length) {
    timespec wait{static_cast<time_t>(length.count() / 1000),
                  static_cast<long>(length.count() % 1000) * 1000000L};
    while (nanosleep(&wait, &wait) != 0 && errno == EINTR) {
    }
}
}  // namespace

struct CurlVerifyClient::Impl {
    const Config& config;
    std::vector<std::string> baseUrls;
    std::size_t preferred = 0;  // the base URL that answered last: the session lives there
    Clock::time_point deadline = Clock::time_point::max();
    std::unique_ptr<CURL, CurlDeleter> handle;
    char errorText[CURL_ERROR_SIZE] = {};
    int connectionsOpened = 0;  // transfers on this handle that opened a connection (reusable)

    explicit Impl(const Config& c) : config(c), baseUrls(c.baseUrls()) {}

    CallResult call(const std::string& path, const SecretString* query,
                    const std::string* postBody);
    CallResult callOnce(const std::string& path, const SecretString* query,
                        const std::string* postBody);
    CallResult perform(const SecretString& url, const std::string* postBody, bool& nothingSent);
    bool configure(const SecretString& url, const std::string* postBody, curl_slist* headers,
                   Exchange& exchange);
};

bool CurlVerifyClient::Impl::configure(const SecretString& url, const std::string* postBody,
                                       curl_slist* headers, Exchange& exchange) {
    CURL* h = handle.get();
    curlApi().easyReset(h);
    errorText[0] = '\0';
    bool ok = true;
    auto set = [&ok](CURLcode code) { ok = ok && code == CURLE_OK; };
    set(curlApi().easySetopt(h, CURLOPT_URL, url.c_str()));
    if (curlApi().features.protocolsStr)
        set(curlApi().easySetopt(h, kOptProtocolsStr, "https"));
    else
        set(curlApi().easySetopt(h, kOptProtocols, static_cast<long>(CURLPROTO_HTTPS)));
    set(curlApi().easySetopt(h, CURLOPT_FOLLOWLOCATION, 0L));
    set(curlApi().easySetopt(h, CURLOPT_SSL_VERIFYPEER, 1L));
    set(curlApi().easySetopt(h, CURLOPT_SSL_VERIFYHOST, 2L));
    set(curlApi().easySetopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
    // An empty proxy disables the environment's http(s)_proxy and ALL_PROXY: a proxy set for an
    // unrelated program must not see the API key.
    // https_proxy from the config is the only proxy; NO_PROXY from the environment neither.
    set(curlApi().easySetopt(h, CURLOPT_PROXY, config.httpsProxy.c_str()));
    set(curlApi().easySetopt(h, CURLOPT_NOPROXY, ""));
    set(curlApi().easySetopt(h, CURLOPT_NOSIGNAL, 1L));
    // The login's budget bounds every request; curl takes 0 as "no limit", so never pass 0.
    const long left = std::max(1L, millisecondsUntil(deadline));
    set(curlApi().easySetopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                             std::min(config.connectTimeout * 1000, left)));
    set(curlApi().easySetopt(h, CURLOPT_TIMEOUT_MS, std::min(config.requestTimeout * 1000, left)));
    set(curlApi().easySetopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
    set(curlApi().easySetopt(h, CURLOPT_USERAGENT, "pam_verif8/" VERIF8_VERSION));
    set(curlApi().easySetopt(h, CURLOPT_HTTPHEADER, headers));
    set(curlApi().easySetopt(h, CURLOPT_WRITEFUNCTION, onBody));
    set(curlApi().easySetopt(h, CURLOPT_WRITEDATA, &exchange));
    set(curlApi().easySetopt(h, CURLOPT_HEADERFUNCTION, onHeader));
    set(curlApi().easySetopt(h, CURLOPT_HEADERDATA, &exchange));
    if (curlApi().features.requestStartHook) {
        set(curlApi().easySetopt(h, kOptPrereqFunction, onRequestStart));
        set(curlApi().easySetopt(h, kOptPrereqData, &exchange));
    }
    set(curlApi().easySetopt(h, CURLOPT_ERRORBUFFER, errorText));
    // Trust: ca_file (a bundle), or a hashed directory, where OpenSSL reads only the CAs a
    // chain needs instead of parsing a whole bundle at every login (the larger part of a login's
    // CPU). Without either, the directory chosen at build time, else libcurl's own default.
    const std::string& caPath = config.caPath.empty() ? kDefaultCaPath : config.caPath;
    if (!config.caFile.empty()) {
        set(curlApi().easySetopt(h, CURLOPT_CAINFO, config.caFile.c_str()));
        set(curlApi().easySetopt(h, CURLOPT_CAPATH, nullptr));
    } else if (!caPath.empty()) {
        set(curlApi().easySetopt(h, CURLOPT_CAINFO, nullptr));
        set(curlApi().easySetopt(h, CURLOPT_CAPATH, caPath.c_str()));
    }
    if (postBody != nullptr) {
        set(curlApi().easySetopt(h, CURLOPT_POST, 1L));
        set(curlApi().easySetopt(h, CURLOPT_POSTFIELDS, postBody->c_str()));
        set(curlApi().easySetopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(postBody->size())));
    } else {
        set(curlApi().easySetopt(h, CURLOPT_HTTPGET, 1L));
    }
    return ok;
}

CallResult CurlVerifyClient::Impl::perform(const SecretString& url, const std::string* postBody,
                                           bool& nothingSent) {
    CallResult result;
    nothingSent = false;
    // The caller's environment (su's caller chose it) never reaches libcurl or OpenSSL: not at
    // load (OpenSSL's constructors), not at libcurl's global init (SSLKEYLOGFILE), not while a
    // request is made (proxies, SSL_CERT_FILE, OPENSSL_CONF).
    const IsolatedEnvironment isolated;
    // Loaded and created on the first call, so that logins that send nothing never load
    // libcurl or set it up.
    std::string loadError;
    if (CurlLibrary::load(loadError) == nullptr) {
        result.status = CallStatus::InternalError;
        result.detail = loadError;
        return result;
    }
    if (!handle)
        handle.reset(curlApi().easyInit());
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
    const bool mayHaveReused = connectionsOpened > 0;
    const CURLcode code = curlApi().easyPerform(handle.get());
    long opened = 0;
    if (curlApi().easyGetinfo(handle.get(), CURLINFO_NUM_CONNECTS, &opened) != CURLE_OK ||
        opened != 0)
        ++connectionsOpened;  // unknown counts as opened: the strict answer below
    // The request is done: nothing below may leave the key or code reachable through curl.
    curlApi().easySetopt(handle.get(), CURLOPT_HTTPHEADER, nullptr);
    if (exchange.callbackFailed) {
        result.status = CallStatus::InternalError;
        result.detail = "out of memory while reading the response";
        return result;
    }
    if (exchange.tooLarge) {
        result.status = CallStatus::BadResponse;
        result.detail = "response larger than " + std::to_string(kMaxResponseSize) + " bytes";
        return result;
    }
    if (code != CURLE_OK) {
        // Whether the request can have reached the service: not if no connection (new or
        // reused) got as far as sending it: refused, not resolved, a connect or TLS handshake
        // that timed out. Only then may another URL be tried without risking a second send.
        // (curl's timing and connection counters cannot tell a connect that timed out from a
        // reused connection whose answer timed out: both show no new connection and no times.)
        curl_off_t tlsDoneUs = -1;  // unknown: as if a handshake had completed
        if (curlApi().easyGetinfo(handle.get(), CURLINFO_APPCONNECT_TIME_T, &tlsDoneUs) != CURLE_OK)
            tlsDoneUs = -1;
        const bool maybeSent = curlApi().features.requestStartHook
                                   ? exchange.requestStarted
                                   : !failedBeforeAnyRequest(code, mayHaveReused, tlsDoneUs);
        nothingSent = !maybeSent;
        result.requestSent = maybeSent;
        result.status = classifyTransportError(code);
        result.detail = std::string(curlApi().easyStrerror(code));
        if (errorText[0] != '\0')
            result.detail += ": " + sanitizeForMessage(errorText);
        return result;
    }
    long httpStatus = 0;
    curlApi().easyGetinfo(handle.get(), CURLINFO_RESPONSE_CODE, &httpStatus);
    return verify_api::interpretResponse(httpStatus, exchange.body.view(), exchange.retryAfter);
}

CallResult CurlVerifyClient::Impl::callOnce(const std::string& path, const SecretString* query,
                                            const std::string* postBody) {
    CallResult result;
    for (std::size_t tried = 0; tried < baseUrls.size(); ++tried) {
        const std::size_t index = (preferred + tried) % baseUrls.size();
        if (millisecondsUntil(deadline) <= 0) {
            result = CallResult{};
            result.status = CallStatus::DeadlinePassed;
            result.requestSent = false;
            result.detail = "login_timeout reached before the request";
            return result;
        }
        SecretString url(baseUrls[index] + path);
        if (query != nullptr)
            url.append(query->view());
        bool nothingSent = false;
        result = perform(url, postBody, nothingSent);
        // A request whose time was cut to what was left of the login's budget and ran out
        // says nothing about the service: the login's own deadline ended it (threat-model
        // rule 7: never an outage that fail_mode = open would relax).
        if (result.status == CallStatus::Unreachable && result.httpStatus == 0 &&
            millisecondsUntil(deadline) <= kDeadlineSlackMs) {
            result.status = CallStatus::DeadlinePassed;
            result.detail = "login_timeout reached during the request: " + result.detail;
            return result;
        }
        if (!(nothingSent && result.status == CallStatus::Unreachable)) {
            preferred = index;
            return result;
        }
        if (baseUrls.size() > 1)
            result.detail = baseUrls[index] + ": " + result.detail;
    }
    return result;
}

CallResult CurlVerifyClient::Impl::call(const std::string& path, const SecretString* query,
                                        const std::string* postBody) {
    // A 429 is waited out as long as the login's budget allows (each wait capped, so that one
    // Retry-After cannot eat the budget in one go); a server error gets one more try.
    constexpr int kMaxRateLimitedRetries = 10;
    constexpr long kMaxRetryAfterSeconds = 5;
    constexpr auto kServerErrorPause = std::chrono::milliseconds(500);
    int rateLimitedRetries = 0;
    bool serverErrorRetried = false;
    for (;;) {
        CallResult result = callOnce(path, query, postBody);
        std::chrono::milliseconds wait{0};
        if (result.status == CallStatus::RateLimited &&
            rateLimitedRetries < kMaxRateLimitedRetries) {
            wait = std::chrono::seconds(
                std::clamp(result.retryAfterSeconds.value_or(1L), 1L, kMaxRetryAfterSeconds));
            ++rateLimitedRetries;
        } else if (isRetriedServerError(result.httpStatus) && !serverErrorRetried) {
            wait = kServerErrorPause;
            serverErrorRetried = true;
        } else {
            return result;
        }
        // Only if the wait and a request after it still fit the budget.
        if (millisecondsUntil(deadline) < wait.count() + 1000)
            return result;
        pause(wait);
    }
}

CurlVerifyClient::CurlVerifyClient(const Config& config) : impl_(std::make_unique<Impl>(config)) {}

void CurlVerifyClient::setDeadline(std::chrono::steady_clock::time_point deadline) {
    impl_->deadline = deadline;
}

CurlVerifyClient::~CurlVerifyClient() = default;

CallResult CurlVerifyClient::initiate(const InitiateRequest& request) {
    const std::string body = verify_api::buildInitiateBody(request);
    return impl_->call(verify_api::sessionsPath(config().subaccountId), nullptr, &body);
}

CallResult CurlVerifyClient::validate(const std::string& sessionId, const SecretString& code) {
    // The query carries the code, so it is built and kept in wiped storage only.
    SecretString query("?code=");
    verify_api::appendPercentEncoded(code.view(), query);
    return impl_->call(verify_api::sessionPath(config().subaccountId, sessionId), &query, nullptr);
}

CallResult CurlVerifyClient::status(const std::string& sessionId) {
    return impl_->call(verify_api::sessionPath(config().subaccountId, sessionId), nullptr, nullptr);
}

const Config& CurlVerifyClient::config() const {
    return impl_->config;
}

}  // namespace verif8
