// CurlTransfer: one HTTPS request on a kept curl handle: its options, its callbacks, and what a
// failure says about whether the request went out.
#include "CurlTransfer.hpp"

#include <algorithm>
#include <cstring>

#include "CurlLibrary.hpp"
#include "verif8/CallerEnvironment.hpp"
#include "verif8/CurlVerifyClient.hpp"
#include "verif8/TextUtil.hpp"
#include "verif8/VerifyApi.hpp"

namespace verif8 {

struct CurlTransfer::Exchange {
    SecretString body;  // a validate answer is tied to a code: treat it as a secret too
    bool tooLarge = false;
    bool callbackFailed = false;  // a callback could not keep what it was given (no memory)
    bool requestStarted = false;  // a connection was ready and the request was about to go out
    std::optional<long> retryAfter;
};

namespace {
using Exchange = CurlTransfer::Exchange;

// The hashed CA directory of the build machine's distribution ("" where it has none, such as
// Fedora's bundle-only /etc/pki): meson option default_ca_path.
const std::string kDefaultCaPath = VERIF8_DEFAULT_CA_PATH;

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
            exchange->retryAfter = parseDecimal<long>(trim(line.substr(kName.size())), 9);
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
    return !mayHaveReused && (tlsDoneUs == 0 || code == CURLE_COULDNT_RESOLVE_HOST ||
                              code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_CONNECT);
}

TransferResult internalError(std::string problem) {
    return {CallResult{CallStatus::InternalError, 0, std::nullopt, std::nullopt, true,
                       std::move(problem)},
            false};
}
}  // namespace

void CurlTransfer::HandleDeleter::operator()(CURL* handle) const {
    curlApi().easyCleanup(handle);
}

CurlTransfer::CurlTransfer(const Config& config) : config_(config) {}
CurlTransfer::~CurlTransfer() = default;
// Loaded and created on the first request, so that logins that send nothing never load libcurl
// or set it up.
Result<CURL*> CurlTransfer::ready() {
    if (const auto loaded = CurlLibrary::load(); !loaded)
        return loaded.problem();
    if (!handle_)
        handle_.reset(curlApi().easyInit());
    if (!handle_)
        return Problem("curl_easy_init failed");
    return handle_.get();
}

bool CurlTransfer::configure(const SecretString& url, const std::string* postBody,
                             curl_slist* headers, Exchange& exchange,
                             std::chrono::steady_clock::time_point deadline) {
    CURL* h = handle_.get();
    curlApi().easyReset(h);
    errorText_[0] = '\0';
    bool ok = true;
    auto set = [&ok](CURLcode code) { ok = ok && code == CURLE_OK; };
    const CurlLibrary& api = curlApi();
    set(api.easySetopt(h, CURLOPT_URL, url.c_str()));
    if (api.features.protocolsStr)
        set(api.easySetopt(h, kOptProtocolsStr, "https"));
    else
        set(api.easySetopt(h, kOptProtocols, static_cast<long>(CURLPROTO_HTTPS)));
    set(api.easySetopt(h, CURLOPT_FOLLOWLOCATION, 0L));
    set(api.easySetopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
    // https_proxy from the config is the only proxy: an empty one disables the environment's
    // http(s)_proxy, ALL_PROXY and NO_PROXY (a proxy set for another program must not see the key).
    set(api.easySetopt(h, CURLOPT_PROXY, config_.httpsProxy.c_str()));
    set(api.easySetopt(h, CURLOPT_NOPROXY, ""));
    set(api.easySetopt(h, CURLOPT_NOSIGNAL, 1L));
    // The login's budget bounds every request; curl takes 0 as "no limit", so never pass 0.
    const auto timeLeft = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const long left = std::max(1L, static_cast<long>(timeLeft.count()));
    set(api.easySetopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                       std::min(config_.connectTimeout * 1000, left)));
    set(api.easySetopt(h, CURLOPT_TIMEOUT_MS, std::min(config_.requestTimeout * 1000, left)));
    set(api.easySetopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
    set(api.easySetopt(h, CURLOPT_USERAGENT, "pam_verif8/" VERIF8_VERSION));
    set(api.easySetopt(h, CURLOPT_HTTPHEADER, headers));
    set(api.easySetopt(h, CURLOPT_WRITEFUNCTION, onBody));
    set(api.easySetopt(h, CURLOPT_WRITEDATA, &exchange));
    set(api.easySetopt(h, CURLOPT_HEADERFUNCTION, onHeader));
    set(api.easySetopt(h, CURLOPT_HEADERDATA, &exchange));
    if (api.features.requestStartHook) {
        set(api.easySetopt(h, kOptPrereqFunction, onRequestStart));
        set(api.easySetopt(h, kOptPrereqData, &exchange));
    }
    set(api.easySetopt(h, CURLOPT_ERRORBUFFER, errorText_));
    if (postBody != nullptr) {
        set(api.easySetopt(h, CURLOPT_POST, 1L));
        set(api.easySetopt(h, CURLOPT_POSTFIELDS, postBody->c_str()));
        set(api.easySetopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(postBody->size())));
    } else {
        set(api.easySetopt(h, CURLOPT_HTTPGET, 1L));
    }
    return ok && setTrust();
}

// Certificates always verified. Trust: ca_file (a bundle), or a hashed directory, where OpenSSL
// reads only the CAs a chain needs instead of parsing a whole bundle at every login (the larger
// part of a login's CPU). Without either, the directory chosen at build time, else libcurl's own
// default.
bool CurlTransfer::setTrust() {
    CURL* h = handle_.get();
    const CurlLibrary& api = curlApi();
    bool ok = api.easySetopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
              api.easySetopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    const std::string& caPath = config_.caPath.empty() ? kDefaultCaPath : config_.caPath;
    if (!config_.caFile.empty()) {
        ok = ok && api.easySetopt(h, CURLOPT_CAINFO, config_.caFile.c_str()) == CURLE_OK &&
             api.easySetopt(h, CURLOPT_CAPATH, nullptr) == CURLE_OK;
    } else if (!caPath.empty()) {
        ok = ok && api.easySetopt(h, CURLOPT_CAINFO, nullptr) == CURLE_OK &&
             api.easySetopt(h, CURLOPT_CAPATH, caPath.c_str()) == CURLE_OK;
    }
    return ok;
}

TransferResult CurlTransfer::perform(const SecretString& url, const std::string* postBody,
                                     std::chrono::steady_clock::time_point deadline) {
    // The caller's environment (su's caller chose it) never reaches libcurl or OpenSSL: not at
    // load (OpenSSL's constructors), not at libcurl's global init (SSLKEYLOGFILE), not while a
    // request is made (proxies, SSL_CERT_FILE, OPENSSL_CONF).
    const IsolatedEnvironment isolated;
    const auto handle = ready();
    if (!handle)
        return internalError(handle.problem().text);
    HeaderList headers;
    SecretString authorization("Authorization: Bearer ");
    authorization.append(config_.apiKey.view());
    const bool headersOk =
        appendHeader(headers, authorization.c_str()) &&
        appendHeader(headers, "Accept: application/json") &&
        (postBody == nullptr || appendHeader(headers, "Content-Type: application/json")) &&
        appendHeader(headers, "Expect:");
    Exchange exchange;
    if (!headersOk || !configure(url, postBody, headers.get(), exchange, deadline))
        return internalError("could not set up the HTTPS request");
    const bool mayHaveReused = connectionsOpened_ > 0;
    const CURLcode code = curlApi().easyPerform(handle.value());
    long opened = 0;
    if (curlApi().easyGetinfo(handle.value(), CURLINFO_NUM_CONNECTS, &opened) != CURLE_OK ||
        opened != 0)
        ++connectionsOpened_;  // unknown counts as opened: the strict answer in failed()
    // The request is done: nothing below may leave the key or code reachable through curl.
    curlApi().easySetopt(handle.value(), CURLOPT_HTTPHEADER, nullptr);
    if (exchange.callbackFailed)
        return internalError("out of memory while reading the response");
    TransferResult result;
    if (exchange.tooLarge) {
        result.call.status = CallStatus::BadResponse;
        result.call.detail =
            "response larger than " + std::to_string(CurlVerifyClient::kMaxResponseSize) + " bytes";
        return result;
    }
    if (code != CURLE_OK)
        return failed(code, exchange, mayHaveReused);
    long httpStatus = 0;
    curlApi().easyGetinfo(handle.value(), CURLINFO_RESPONSE_CODE, &httpStatus);
    result.call =
        verify_api::interpretResponse(httpStatus, exchange.body.view(), exchange.retryAfter);
    return result;
}

// Whether the request can have reached the service: not if no connection (new or reused) got as
// far as sending it (refused, not resolved, a connect or TLS handshake that timed out); only then
// may another URL be tried without risking a second send.
TransferResult CurlTransfer::failed(CURLcode code, const Exchange& exchange, bool mayHaveReused) {
    curl_off_t tlsDoneUs = -1;  // unknown: as if a handshake had completed
    if (curlApi().easyGetinfo(handle_.get(), CURLINFO_APPCONNECT_TIME_T, &tlsDoneUs) != CURLE_OK)
        tlsDoneUs = -1;
    const bool maybeSent = curlApi().features.requestStartHook
                               ? exchange.requestStarted
                               : !failedBeforeAnyRequest(code, mayHaveReused, tlsDoneUs);
    TransferResult result;
    result.nothingSent = !maybeSent;
    result.call.requestSent = maybeSent;
    result.call.status = classifyTransportError(code);
    result.call.detail = std::string(curlApi().easyStrerror(code));
    if (errorText_[0] != '\0')
        result.call.detail += ": " + sanitizeForMessage(errorText_);
    return result;
}

}  // namespace verif8
