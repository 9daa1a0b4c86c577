// verify_api: the initiate body, the paths, timestamps, and every documented (and hostile)
// response, read from tests/fixtures/verify/. Repeated cases are table rows named in failures.
#include <rapidjson/document.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"
#include "verif8/VerifyApi.hpp"

using namespace verif8;
using namespace verif8::verify_api;

namespace {

using Keys = std::set<std::string>;

rapidjson::Document parseJson(const std::string& body) {
    rapidjson::Document document;
    document.Parse(body.c_str(), body.size());
    if (document.HasParseError() || !document.IsObject()) {
        print_error("not a JSON object: %s\n", body.c_str());
        fail();
    }
    return document;
}

Keys keysOf(const rapidjson::Value& object) {
    Keys keys;
    for (auto member = object.MemberBegin(); member != object.MemberEnd(); ++member)
        keys.emplace(member->name.GetString(), member->name.GetStringLength());
    return keys;
}

// The body built from `request` must be the JSON object `expected`: the same members (in any
// order) with the same values, so every field and the absence of every other is checked. The
// comparison takes 8.0 for 8, so the two numbers are checked for integers as well.
void expectBody(const std::string& row, const InitiateRequest& request,
                const std::string& expected) {
    const std::string text = buildInitiateBody(request);
    const rapidjson::Document actual = parseJson(text), wanted = parseJson(expected);
    if (static_cast<const rapidjson::Value&>(actual) != wanted || !actual["codeLength"].IsInt() ||
        !actual["codeValidity"].IsInt()) {
        print_error("row \"%s\": body %s\n      expected %s\n", row.c_str(), text.c_str(),
                    expected.c_str());
        fail();
    }
}

// A string check inside a table loop: the failure names the row and shows both texts.
void expectRowText(const std::string& row, const std::string& actual, const std::string& expected) {
    if (const test::Miss miss = test::differs(actual, expected)) {
        print_error("row \"%s\": %s\n", row.c_str(), miss->c_str());
        fail();
    }
}

// The request fields verify-api.md documents, a channel object's as "sms.source".
bool documented(const std::string& field) {
    return std::string(
               " destination country channel codeLength codeValidity codeType brand template"
               " templateKey language resetSession resendingInterval callbackUrl clientIp sms"
               " sms.source sms.encoding call call.source call.speed call.repetition"
               " call.voiceProfile whatsapp whatsapp.templateName ")
               .find(" " + field + " ") != std::string::npos;
}
const Keys kChannelObjects{"sms", "call", "whatsapp"};

InitiateRequest minimalRequest(Channel channel = Channel::Sms) {
    InitiateRequest request;
    request.destination = "+6591234567";
    request.channel = channel;
    return request;
}

InitiateRequest fullRequest(Channel channel) {
    InitiateRequest request = minimalRequest(channel);
    request.codeLength = 8;
    request.codeValidity = 600;
    request.brand = "Acme";
    request.messageTemplate = "{brand}: your code is {code}";
    request.templateKey = "login-otp";
    request.language = "en-GB";
    request.smsSource = "AcmeSMS";
    request.callSource = "+6512345678";
    request.whatsappTemplate = "auth_code_v2";
    request.clientIp = "198.51.100.20";
    return request;
}

// The members of minimalRequest()'s body but the channel, which each row adds.
const std::string kMinimal = R"("destination":"+6591234567","codeLength":6,"codeValidity":300)";

std::string body(const std::string& name) {
    return test::fixture("verify/" + name);
}

void expectStatus(const CallResult& result, CallStatus status, const std::string& row = "") {
    if (result.status != status) {
        print_error("row \"%s\": status %s, expected %s (detail: %s)\n", row.c_str(),
                    std::string(callStatusName(result.status)).c_str(),
                    std::string(callStatusName(status)).c_str(), result.detail.c_str());
        fail();
    }
}

constexpr std::time_t kDocExpires = 1766037594;      // 2025-12-18T05:59:54Z
constexpr std::time_t kDocRetry = 1766037304;        // 2025-12-18T05:55:04Z
constexpr std::time_t kOpenApiExpires = 1766066700;  // 2025-12-18T14:05:00Z
constexpr std::time_t kOpenApiRetry = 1766066420;    // 2025-12-18T14:00:20Z
const char* const kDocId = "a44a91be5ea5ea118169020897df5459";

}  // namespace

// Each channel: its wire name, whether it takes a template, and its own channel object (if any);
// every member of the full body, and of its channel object, is one verify-api.md documents.
static void initiate_body_for_each_channel(void**) {
    const std::string full =
        R"("destination":"+6591234567","codeLength":8,"codeValidity":600,"brand":"Acme",)"
        R"("templateKey":"login-otp","language":"en-GB","clientIp":"198.51.100.20",)";
    const std::string withTemplate = R"("template":"{brand}: your code is {code}",)";
    const std::vector<std::tuple<Channel, const char*, std::string>> rows{
        {Channel::Sms, "sms", withTemplate + R"("sms":{"source":"AcmeSMS"})"},
        {Channel::Voice, "call", withTemplate + R"("call":{"source":"+6512345678"})"},
        {Channel::Whatsapp, "whatsapp", R"("whatsapp":{"templateName":"auth_code_v2"})"},
        {Channel::Viber, "viber", ""}};
    for (const auto& [channel, wire, members] : rows) {
        const std::string wireMember = R"("channel":")" + std::string(wire) + "\"";
        expectBody(wire, minimalRequest(channel), "{" + kMinimal + "," + wireMember + "}");
        expectBody(wire, fullRequest(channel),
                   "{" + full + wireMember + (members.empty() ? "" : ",") + members + "}");
        const auto json = parseJson(buildInitiateBody(fullRequest(channel)));
        for (const auto& key : keysOf(json)) {
            expect_row(documented(key), wire + (" " + key));
            if (kChannelObjects.count(key) == 0)
                continue;
            expect_row(json[key.c_str()].IsObject(), wire + (" " + key));
            for (const auto& inner : keysOf(json[key.c_str()]))
                expect_row(documented(key + "." + inner), key + "." + inner);
        }
    }
}

// One change at a time from the defaults: the body holds the four fields and what was set, and
// no more (a call source or WhatsApp template is not for an SMS request).
static void initiate_body_sends_each_optional_only_when_set(void**) {
    using R = InitiateRequest&;
    const std::string sms = "{" + kMinimal + R"(,"channel":"sms")";
    // clang-format off
    const auto notForSms = [](R r) { r.callSource = "+6512345678"; r.whatsappTemplate = "auth"; };
    const std::vector<std::tuple<const char*, std::function<void(R)>, std::string>> rows{
        {"defaults", [](R) {}, sms + "}"},
        {"10 digits for 7200 s",
         [](R r) { r.destination = "+447700900123"; r.codeLength = 10; r.codeValidity = 7200; },
         R"({"destination":"+447700900123","channel":"sms","codeLength":10,"codeValidity":7200})"},
        {"brand", [](R r) { r.brand = "Acme"; }, sms + R"(,"brand":"Acme"})"},
        {"language", [](R r) { r.language = "fr-FR"; }, sms + R"(,"language":"fr-FR"})"},
        {"call source and whatsapp template", notForSms, sms + "}"},
        {"sms source beside them", [&](R r) { notForSms(r); r.smsSource = "Acme"; },
         sms + R"(,"sms":{"source":"Acme"}})"},
        {"client address", [](R r) { r.clientIp = "2001:db8::1"; },
         sms + R"(,"clientIp":"2001:db8::1"})"},
        {"a channel injected in the destination",
         [](R r) { r.destination = "+65\",\"channel\":\"call"; },
         R"({"destination":"+65\",\"channel\":\"call","channel":"sms","codeLength":6,)"
         R"("codeValidity":300})"}};
    // clang-format on
    for (const auto& [row, change, expected] : rows) {
        InitiateRequest request = minimalRequest();
        change(request);
        expectBody(row, request, expected);
    }
}

static void initiate_body_escapes_quotes_backslashes_control_bytes_and_unicode(void**) {
    InitiateRequest request = fullRequest(Channel::Sms);
    request.brand = "Ac\"me\\Co";
    request.messageTemplate =
        "C\xc3\xb3"
        "digo {code} \xe2\x9c\x93 \"q\" \\ {brand}\n\x01";
    request.smsSource = "Say \"hi\"";
    const std::string text = buildInitiateBody(request);
    expect_contains(text, "Ac\\\"me\\\\Co");
    assert_false(test::hasControlBytes(text));
    expectBody("escapes", request,
               R"({"destination":"+6591234567","channel":"sms","codeLength":8,"codeValidity":600,)"
               R"("brand":"Ac\"me\\Co","template":"C\u00f3digo {code} \u2713 \"q\" \\ {brand}\n)"
               R"(\u0001","templateKey":"login-otp","language":"en-GB",)"
               R"("sms":{"source":"Say \"hi\""},"clientIp":"198.51.100.20"})");
}

static void paths_and_percent_encoding_keep_only_unreserved_characters(void**) {
    const std::vector<std::pair<std::string, const char*>> rows{
        {sessionsPath("demo-account_1.2"), "/api/v2/subaccounts/demo-account_1.2/sessions"},
        {sessionsPath("acme&co"), "/api/v2/subaccounts/acme%26co/sessions"},
        {sessionPath("acme&co", "18b526ad-d063-48c0-bb93-4e71f042f047"),
         "/api/v2/subaccounts/acme%26co/sessions/18b526ad-d063-48c0-bb93-4e71f042f047"},
        {sessionPath("demo", kDocId),
         "/api/v2/subaccounts/demo/sessions/a44a91be5ea5ea118169020897df5459"},
        {sessionPath("demo", "../x?code=1#y"),
         "/api/v2/subaccounts/demo/sessions/..%2Fx%3Fcode%3D1%23y"},
        {percentEncode("AZaz09-._~"), "AZaz09-._~"},
        {percentEncode(" /?#&=+%"), "%20%2F%3F%23%26%3D%2B%25"},
        {percentEncode("\xc3\xa9"), "%C3%A9"},
        {percentEncode(std::string("a\0b", 3)), "a%00b"},
        {percentEncode("\x7f\xff"), "%7F%FF"},
        {percentEncode(""), ""}};
    for (const auto& [actual, expected] : rows)
        expectRowText(expected, actual, expected);
    SecretString out("/sessions/abc?code=");  // appended to a secret, as the code is
    appendPercentEncoded("12 3&4", out);
    expect_str(out.view(), "/sessions/abc?code=12%203%264");
}

// Well-formed RFC 3339 times of real dates are read; everything else is refused.
static void timestamps_in_rfc_3339_are_read_and_others_refused(void**) {
    const std::vector<std::pair<const char*, std::time_t>> rows{
        {"2025-12-18T05:59:54.09Z", kDocExpires},  // two fraction digits and Z
        {"2025-12-18T14:05:00.1254323+00:00", kOpenApiExpires},
        {"2025-12-18T14:05:00+05:30", 1766046900},
        {"2025-12-18T14:05:00.5-03:00", 1766077500},
        {"2025-12-18T05:59:54Z", kDocExpires},
        {"2024-02-29T23:59:59Z", 1709251199},
        {"2024-02-29T00:00:00Z", 1709164800},  // a leap day
        {"1970-01-01T00:00:00Z", 0}};
    for (const auto& [text, expected] : rows)
        expect_row(parseTimestamp(text) == expected, text);
    const std::vector<const char*> bad{
        "", "garbage", "2025-12-18", "2025-13-18T05:59:54Z", "2025-00-18T05:59:54Z",
        "2025-12-00T05:59:54Z", "2025-12-32T05:59:54Z", "2025-12-18T24:00:00Z",
        "2025-12-18T05:60:00Z", "2025-12-18T05:59:54", "2025-12-18T05:59:54.09",
        "2025-12-18T05:59:54.Z", "2025-12-18T05:59:54+0530", "2025-12-18T05:59:54+05:60",
        "2025-12-18T05:59:54Zjunk", "2025/12/18T05:59:54Z", "2025-12-18X05:59:54Z",
        "20a5-12-18T05:59:54Z", "1766037594",
        // well-formed, but no such day
        "2025-02-31T00:00:00Z", "2025-04-31T00:00:00Z", "2025-02-29T00:00:00Z"};
    for (const char* text : bad)
        expect_row(!parseTimestamp(text).has_value(), text);
}

// Every documented answer, and the least a session needs: an id and a status (unreadable
// timestamps are dropped and unknown fields ignored, not refused).
static void sessions_are_read_field_by_field(void**) {
    const std::string longId(128, 'a');
    const auto W = SessionStatus::Waiting, V = SessionStatus::Verified;
    const auto F = SessionStatus::Failed, E = SessionStatus::Expired;
    const auto none = std::nullopt;
    const std::vector<std::tuple<std::string, std::string, Session>> rows{
        // clang-format off
        {"initiate-200-documented.json", "", {kDocId, W, 0, kDocExpires, kDocRetry}},
        {"initiate-200-openapi.json", "",
         {"18b526ad-d063-48c0-bb93-4e71f042f047", W, 0, kOpenApiExpires, kOpenApiRetry}},
        {"validate-200-waiting.json", "", {kDocId, W, 1, kDocExpires, kDocRetry}},
        {"validate-200-verified.json", "", {kDocId, V, 1, kDocExpires, kDocRetry}},
        {"validate-200-failed.json", "", {kDocId, F, 5, kDocExpires, kDocRetry}},
        {"validate-200-expired.json", "", {kDocId, E, 2, kDocExpires, kDocRetry}},
        {"id and status", R"({"sessionId":"abc","status":"VERIFIED"})",
         {"abc", V, 0, none, none}},
        {"unreadable timestamps",
         R"({"sessionId":"abc","status":"WAITING","expiresAt":"tomorrow","retryAfter":""})",
         {"abc", W, 0, none, none}},
        {"unknown fields",
         R"({"sessionId":"abc","status":"WAITING","sma":{"verificationUrl":"x"},"future":[1,2,3]})",
         {"abc", W, 0, none, none}},
        {"128-character id", R"({"sessionId":")" + longId + R"(","status":"WAITING"})",
         {longId, W, 0, none, none}}};
    // clang-format on
    const auto fields = [](const Session& s) {
        return std::tie(s.id, s.status, s.attempt, s.expiresAt, s.retryAfter);
    };
    for (const auto& [row, given, expected] : rows) {
        const std::string text = given.empty() ? body(row) : given;
        const std::optional<Session> parsed = parseSession(text);
        expect_row(parsed.has_value() && fields(*parsed) == fields(expected), row);
        const CallResult result = interpretResponse(200, text, std::nullopt);
        expectStatus(result, CallStatus::Ok, row);
        expect_row(result.httpStatus == 200, row);
        expect_row(result.detail.find("HTTP 200") != std::string::npos, row);
        expect_row(result.session.has_value() && fields(*result.session) == fields(expected), row);
    }
}

static void every_documented_error_is_classified(void**) {
    using S = CallStatus;
    // clang-format off
    const std::vector<std::tuple<const char*, long, S, long, const char*, const char*>> rows{
        {"error-400-1001.json", 400, S::CredentialsRejected, 1001,
         "Provided subAccountId doesn't belong to your account",
         "91b106f0-c0da-4aba-a43a-7af9c5893a80"},
        {"error-400-1002.json", 400, S::InvalidDestination, 1002,
         "Invalid MSISDN format (not E.164 international number)",
         "b4478860-b76c-e811-814e-022a35cc1c71"},
        {"error-400-1010.json", 400, S::RequestRejected, 1010,
         "Parameter codeValidity is out of range", "0b6d3f0e-8f3c-4c3e-9a51-2d1f7c7e1a10"},
        {"error-400-1000.json", 400, S::RequestRejected, 1000,
         "Invalid parameter: channel", "6f1c2a9e-4b7d-4e1a-8c3f-9d2e5b7a1000"},
        {"error-401-1200.json", 401, S::CredentialsRejected, 1200,
         "Request was not authenticated properly", "db9dced4-3534-4d86-9d18-6b448af0d621"},
        {"error-403-1400.json", 403, S::ResendTooSoon, 1400,
         "Resending interval violation", "3c0e8f4a-2d6b-4f1e-b7a9-5e8d1c2f1400"},
        {"error-404-1404.json", 404, S::SessionNotFound, 1404,
         "Session not found", "a1b2c3d4-e5f6-7890-1234-567890abcdef"},
        {"error-426-1014.json", 426, S::TlsTooOld, 1014,
         "TLS 1.3+ is required for Singapore-bound messages. Detected: TLSv1.2",
         "b4478860-b76c-e811-814e-022a35cc1c71"},
        {"error-429.json", 429, S::RateLimited, 429,
         "Too many requests", "7d2f9b1c-6a4e-4c8d-9f3b-2e1a5c7d0429"},
        {"error-500-2000.json", 500, S::Unreachable, 2000,
         "Internal server error", "db9dced4-3534-4d86-9d18-6b448af0d621"},
        // Control characters in the message become '?' before anyone logs it.
        {"error-control-characters.json", 400, S::InvalidDestination, 1002,
         "bad?[2J?number??injected: yes", "e1e2e3e4-0000-4000-8000-00000000c0de"},
    };
    // clang-format on
    for (const auto& [fixture, http, status, code, message, errorId] : rows) {
        const CallResult result = interpretResponse(http, body(fixture), {});
        expectStatus(result, status, fixture);
        expect_row(result.httpStatus == http && !result.session.has_value(), fixture);
        const std::optional<ApiError> error = parseError(body(fixture));
        expect_row(error.has_value() && error->code == code, fixture);
        expectRowText(fixture, error->message, message);
        expectRowText(fixture, error->errorId, errorId);
        for (const std::string& part :
             {"HTTP " + std::to_string(http), "code " + std::to_string(code), std::string(errorId)})
            expect_row(result.detail.find(part) != std::string::npos, fixture + (" " + part));
        expect_row(!test::hasControlBytes(result.detail), fixture);
    }
}

// The Retry-After of a 429 is kept; a code of the wrong type is no code; long texts are cut;
// bodies that are not error envelopes have no ApiError.
static void error_envelopes_at_their_edges(void**) {
    const CallResult limited = interpretResponse(429, body("error-429.json"), 30L);
    expectStatus(limited, CallStatus::RateLimited);
    assert_true(limited.retryAfterSeconds == 30L);
    assert_false(interpretResponse(429, "", std::nullopt).retryAfterSeconds.has_value());
    const std::optional<ApiError> error =
        parseError("{\"code\":\"1002\",\"message\":\"Invalid MSISDN\",\"errorId\":\"e-1\"}");
    assert_true(error.has_value() && !error->code.has_value());
    expect_str(error->errorId, "e-1");
    const ApiError cut = parseError("{\"code\":1000,\"message\":\"" + std::string(5000, 'm') +
                                    "\",\"errorId\":\"" + std::string(500, 'i') + "\"}")
                             .value();
    assert_int_equal(cut.message.size(), 200);
    assert_int_equal(cut.errorId.size(), 64);
    for (const char* file : {"error-502.html", "error-503.html", "error-not-envelope.json"})
        expect_row(!parseError(body(file)).has_value(), file);
    expect_row(!parseError(std::string(100000, '[')).has_value(), "100000 x [");
}

// Statuses without a usable envelope are classified by the HTTP status alone.
static void every_other_answer_is_classified_by_its_status(void**) {
    const std::string html502 = body("error-502.html"),
                      session = body("initiate-200-documented.json");
    // The last member: the whole detail, or nullptr when it need only name the HTTP status.
    std::vector<std::tuple<long, std::string, CallStatus, const char*>> rows{
        {429, "", CallStatus::RateLimited, "HTTP 429"},  // no envelope: nothing after the status
        {502, html502, CallStatus::Unreachable, "HTTP 502"},
        {503, body("error-503.html"), CallStatus::Unreachable, "HTTP 503"},
        {504, html502, CallStatus::Unreachable, "HTTP 504"},
        {404, "", CallStatus::SessionNotFound, nullptr},
        {403, "{\"code\":1300,\"message\":\"Forbidden\"}", CallStatus::RequestRejected, nullptr},
        {400, "", CallStatus::RequestRejected, nullptr},
        {409, "", CallStatus::RequestRejected, nullptr},
        {418, "", CallStatus::RequestRejected, nullptr},
        {400, "{\"code\":\"1002\",\"message\":\"Invalid MSISDN\",\"errorId\":\"e-1\"}",
         CallStatus::RequestRejected, nullptr},  // a code of the wrong type is no code
        {400, body("error-not-envelope.json"), CallStatus::RequestRejected, "HTTP 400"},
        {401, "[1,2]", CallStatus::CredentialsRejected, nullptr},
        {500, "{\"code\":", CallStatus::Unreachable, nullptr},
        {400, std::string(100000, '['), CallStatus::RequestRejected, nullptr}};
    // Redirects and other non-200 successes: never followed, never read as a session.
    for (long http : {300L, 301L, 302L, 303L, 307L, 308L, 0L, 100L, 201L, 202L, 204L, 299L})
        rows.emplace_back(http, session, CallStatus::BadResponse, nullptr);
    for (const auto& [http, text, status, detail] : rows) {
        const std::string row = std::to_string(http) + " " + text.substr(0, 40);
        const CallResult result = interpretResponse(http, text, std::nullopt);
        expectStatus(result, status, row);
        expect_row(result.httpStatus == http && !result.session.has_value(), row);
        expect_row(result.detail.find("HTTP " + std::to_string(http)) != std::string::npos, row);
        if (detail != nullptr)
            expectRowText(row, result.detail, detail);
    }
}

static void hostile_bodies_are_bad_responses(void**) {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const char* file :
         {"hostile-malformed.json", "hostile-truncated.json", "hostile-empty.json",
          "hostile-array.json", "hostile-session-id-number.json", "hostile-status-number.json",
          "hostile-attempt-string.json", "hostile-attempt-negative.json",
          "hostile-expires-at-number.json", "hostile-missing-session-id.json",
          "hostile-missing-status.json", "hostile-unknown-status.json",
          "hostile-session-id-slash.json", "hostile-session-id-space.json",
          "error-400-1001.json"})  // an error envelope with 200
        rows.emplace_back(file, body(file));
    const std::vector<std::string> texts{
        // malformed, empty or not an object
        R"({"sessionId":"abc","status":"WAITING"} trailing)",
        R"({"sessionId":"abc","status":"WAITING",})", "", "   ", "null",
        R"("a44a91be5ea5ea118169020897df5459")",
        // wrong types
        R"({"sessionId":"abc","status":"WAITING","attempt":1.5})",
        R"({"sessionId":"abc","status":"WAITING","attempt":1e20})",
        R"({"sessionId":"abc","status":"WAITING","destination":6591234567})",
        R"({"sessionId":"abc","status":"WAITING","verifyUri":null})",
        R"({"sessionId":null,"status":"VERIFIED"})",
        // unknown statuses
        R"({"sessionId":"abc","status":"verified"})", R"({"sessionId":"abc","status":""})",
        // session ids that could leave their path segment
        R"({"sessionId":"","status":"WAITING"})",
        R"({"sessionId":"abc?code=1","status":"WAITING"})",
        R"({"sessionId":"abc#x","status":"WAITING"})",
        R"({"sessionId":"abc%2F","status":"WAITING"})",
        R"({"sessionId":"abc\n","status":"WAITING"})",
        R"({"sessionId":"abc\u0000def","status":"WAITING"})",
        "{\"sessionId\":\"caf\xc3\xa9\",\"status\":\"WAITING\"}",
        "{\"sessionId\":\"" + std::string(129, 'a') + "\",\"status\":\"WAITING\"}"};
    for (const std::string& text : texts)
        rows.emplace_back(text, text);
    // Deep nesting must not exhaust the stack.
    const std::string open(100000, '['), session = R"({"sessionId":"abc","status":"WAITING","x":)";
    std::string objects;
    for (int i = 0; i < 100000; ++i)
        objects += "{\"a\":";
    rows.insert(rows.end(), {{"100000 x [", open},
                             {"100000 x [ then ]", open + std::string(100000, ']')},
                             {"100000 x {\"a\":", objects},
                             {"a session then 100000 x [", session + open}});
    for (const auto& [row, text] : rows) {  // refused by both parseSession and the classifier
        expect_row(!parseSession(text).has_value(), row);
        const CallResult result = interpretResponse(200, text, std::nullopt);
        expectStatus(result, CallStatus::BadResponse, row);
        expect_row(result.httpStatus == 200 && !result.session.has_value(), row);
        expect_row(result.detail.find("HTTP 200") != std::string::npos, row);
    }
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(initiate_body_for_each_channel),
        cmocka_unit_test(initiate_body_sends_each_optional_only_when_set),
        cmocka_unit_test(initiate_body_escapes_quotes_backslashes_control_bytes_and_unicode),
        cmocka_unit_test(paths_and_percent_encoding_keep_only_unreserved_characters),
        cmocka_unit_test(timestamps_in_rfc_3339_are_read_and_others_refused),
        cmocka_unit_test(sessions_are_read_field_by_field),
        cmocka_unit_test(every_documented_error_is_classified),
        cmocka_unit_test(error_envelopes_at_their_edges),
        cmocka_unit_test(every_other_answer_is_classified_by_its_status),
        cmocka_unit_test(hostile_bodies_are_bad_responses),
    };
    return cmocka_run_group_tests_name("verify_api", tests, nullptr, nullptr);
}
