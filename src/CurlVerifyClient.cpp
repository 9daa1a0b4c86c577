// CurlVerifyClient: the Verify API's calls over CurlTransfer: which base URL, how long, and
// when a call is tried again.
#include "verif8/CurlVerifyClient.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <vector>

#include "CurlTransfer.hpp"
#include "verif8/VerifyApi.hpp"

namespace verif8 {

namespace {
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
    CurlTransfer transfer;

    explicit Impl(const Config& c) : config(c), baseUrls(c.baseUrls()), transfer(c) {}

    CallResult call(const std::string& path, const SecretString* query,
                    const std::string* postBody);
    CallResult callOnce(const std::string& path, const SecretString* query,
                        const std::string* postBody);
};

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
        const TransferResult transferred = transfer.perform(url, postBody, deadline);
        result = transferred.call;
        const bool nothingSent = transferred.nothingSent;
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
