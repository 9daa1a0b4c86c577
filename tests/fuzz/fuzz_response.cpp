// libFuzzer target: the Verify API's answers. The input's first line is "STATUS [RETRY_AFTER]"
// (decimal), the rest the body; interpretResponse, parseSession, parseError and parseTimestamp
// all read it. Only a 200 with a well-formed session is Ok, and what reaches logs and prompts
// carries no control characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "verif8/TextUtil.hpp"
#include "verif8/VerifyApi.hpp"

namespace {
void check(bool condition) {
    if (!condition)
        std::abort();
}

// Up to 9 decimal digits from the front of `text`; nullopt if there are none.
std::optional<long> number(std::string_view& text) {
    long value = 0;
    std::size_t digits = 0;
    while (digits < text.size() && digits < 9 && text[digits] >= '0' && text[digits] <= '9')
        value = value * 10 + (text[digits++] - '0');
    text.remove_prefix(digits);
    if (digits == 0)
        return std::nullopt;
    return value;
}

void checkSession(const verif8::Session& session) {
    check(!session.id.empty() && session.id.size() <= 128 && !verif8::hasControl(session.id));
    check(session.attempt >= 0);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    std::string_view header = input.substr(0, newline);
    const std::string_view body =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    const long status = number(header).value_or(200);
    std::optional<long> retryAfter;
    if (!header.empty() && header.front() == ' ') {
        header.remove_prefix(1);
        retryAfter = number(header);
    }

    const verif8::CallResult result =
        verif8::verify_api::interpretResponse(status, body, retryAfter);
    check(result.httpStatus == status && result.retryAfterSeconds == retryAfter);
    check((result.status == verif8::CallStatus::Ok) == (status == 200 && result.session));
    check(!verif8::callStatusName(result.status).empty());
    check(!result.detail.empty());
    if (result.session)
        checkSession(*result.session);
    check(!verif8::hasControl(result.detail));  // it is logged

    if (const auto session = verif8::verify_api::parseSession(body))
        checkSession(*session);
    if (const auto error = verif8::verify_api::parseError(body))
        check(!verif8::hasControl(error->message) && !verif8::hasControl(error->errorId));
    (void)verif8::verify_api::parseTimestamp(body);
    (void)verif8::verify_api::parseTimestamp(input);
    return 0;
}
