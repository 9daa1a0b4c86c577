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

// ---- helpers for the request body

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

void expectKeys(const rapidjson::Value& object, const Keys& expected, const std::string& row = "") {
    const auto actual = keysOf(object);
    if (actual != expected) {
        std::string text = "row \"" + row + "\": keys:";
        for (const auto& key : actual)
            text += " " + key;
        text += "\n  expected:";
        for (const auto& key : expected)
            text += " " + key;
        print_error("%s\n", text.c_str());
        fail();
    }
}

std::string stringMember(const rapidjson::Value& object, const char* name) {
    const auto member = object.FindMember(name);
    if (member == object.MemberEnd() || !member->value.IsString()) {
        print_error("no string member '%s'\n", name);
        fail();
    }
    return std::string(member->value.GetString(), member->value.GetStringLength());
}

int intMember(const rapidjson::Value& object, const char* name) {
    const auto member = object.FindMember(name);
    if (member == object.MemberEnd() || !member->value.IsInt()) {
        print_error("no integer member '%s'\n", name);
        fail();
    }
    return member->value.GetInt();
}

// A string check inside a table loop: the failure names the row and shows both texts.
void expectRowText(const std::string& row, const std::string& actual, const std::string& expected) {
    if (const test::Miss miss = test::differs(actual, expected)) {
        print_error("row \"%s\": %s\n", row.c_str(), miss->c_str());
        fail();
    }
}

Keys with(Keys keys, const Keys& more) {
    keys.insert(more.begin(), more.end());
    return keys;
}

// The request fields verify-api.md documents, top level and inside each channel object.
const Keys kDocumentedFields{
    "destination", "country",  "channel",     "codeLength", "codeValidity", "codeType",
    "brand",       "template", "templateKey", "language",   "resetSession", "resendingInterval",
    "callbackUrl", "clientIp", "sms",         "call",       "whatsapp"};
const std::vector<std::pair<const char*, Keys>> kDocumentedObjectFields{
    {"sms", {"source", "encoding"}},
    {"call", {"source", "speed", "repetition", "voiceProfile"}},
    {"whatsapp", {"templateName"}}};
const Keys kFourFields{"destination", "channel", "codeLength", "codeValidity"};

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
    return request;
}

// ---- helpers for responses

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

// An answer with HTTP 200 that is not a session: refused by both parseSession and the classifier.
void expectBadSession(const std::string& text, const std::string& row) {
    expect_row(!parseSession(text).has_value(), row);
    const CallResult result = interpretResponse(200, text, std::nullopt);
    expectStatus(result, CallStatus::BadResponse, row);
    expect_row(result.httpStatus == 200, row);
    expect_row(!result.session.has_value(), row);
    expect_row(result.detail.find("HTTP 200") != std::string::npos, row);
}

constexpr std::time_t kDocExpires = 1766037594;      // 2025-12-18T05:59:54Z
constexpr std::time_t kDocRetry = 1766037304;        // 2025-12-18T05:55:04Z
constexpr std::time_t kOpenApiExpires = 1766066700;  // 2025-12-18T14:05:00Z
constexpr std::time_t kOpenApiRetry = 1766066420;    // 2025-12-18T14:00:20Z
const char* const kDocId = "a44a91be5ea5ea118169020897df5459";

}  // namespace

// ---- buildInitiateBody

static void initiate_body_without_options_has_only_the_four_fields(void**) {
    const auto json = parseJson(buildInitiateBody(minimalRequest()));
    expectKeys(json, kFourFields);
    expect_str(stringMember(json, "destination"), "+6591234567");
    expect_str(stringMember(json, "channel"), "sms");
    assert_int_equal(intMember(json, "codeLength"), 6);
    assert_int_equal(intMember(json, "codeValidity"), 300);
}

static void initiate_body_carries_code_length_and_validity(void**) {
    InitiateRequest request = minimalRequest();
    request.destination = "+447700900123";
    request.codeLength = 10;
    request.codeValidity = 7200;
    const auto json = parseJson(buildInitiateBody(request));
    expect_str(stringMember(json, "destination"), "+447700900123");
    assert_int_equal(intMember(json, "codeLength"), 10);
    assert_int_equal(intMember(json, "codeValidity"), 7200);
}

// Each channel: its wire name, its template field, and its own channel object (if any).
static void initiate_body_for_each_channel(void**) {
    struct Row {
        Channel channel;
        const char* wire;
        Keys extraKeys;
        const char* object;  // nullptr: no channel object
        const char* member;
        const char* value;
    };
    const std::vector<Row> rows{
        {Channel::Sms, "sms", {"template", "sms"}, "sms", "source", "AcmeSMS"},
        {Channel::Voice, "call", {"template", "call"}, "call", "source", "+6512345678"},
        {Channel::Whatsapp, "whatsapp", {"whatsapp"}, "whatsapp", "templateName", "auth_code_v2"},
        {Channel::Viber, "viber", {}, nullptr, nullptr, nullptr}};
    for (const auto& row : rows) {
        expectRowText(
            row.wire,
            stringMember(parseJson(buildInitiateBody(minimalRequest(row.channel))), "channel"),
            row.wire);
        const auto json = parseJson(buildInitiateBody(fullRequest(row.channel)));
        expectKeys(json,
                   with(kFourFields, with({"brand", "templateKey", "language"}, row.extraKeys)),
                   row.wire);
        expectRowText(row.wire, stringMember(json, "channel"), row.wire);
        expect_row(intMember(json, "codeLength") == 8, row.wire);
        expect_row(intMember(json, "codeValidity") == 600, row.wire);
        expectRowText(row.wire, stringMember(json, "brand"), "Acme");
        expectRowText(row.wire, stringMember(json, "templateKey"), "login-otp");
        expectRowText(row.wire, stringMember(json, "language"), "en-GB");
        if (row.extraKeys.count("template"))
            expectRowText(row.wire, stringMember(json, "template"), "{brand}: your code is {code}");
        if (row.object == nullptr)
            continue;
        expectKeys(json[row.object], {row.member}, row.wire);
        expectRowText(row.wire, stringMember(json[row.object], row.member), row.value);
    }
}

static void initiate_body_sends_each_optional_only_when_set(void**) {
    const std::vector<std::tuple<const char*, std::function<void(InitiateRequest&)>, Keys>> rows{
        {"brand", [](InitiateRequest& r) { r.brand = "Acme"; }, {"brand"}},
        {"language", [](InitiateRequest& r) { r.language = "fr-FR"; }, {"language"}},
        {"call source and whatsapp template on sms",
         [](InitiateRequest& r) {
             r.callSource = "+6512345678";
             r.whatsappTemplate = "auth";
         },
         {}},
        {"sms source beside call source and whatsapp template",
         [](InitiateRequest& r) {
             r.callSource = "+6512345678";
             r.whatsappTemplate = "auth";
             r.smsSource = "Acme";
         },
         {"sms"}}};
    for (const auto& [row, set, extraKeys] : rows) {
        InitiateRequest request = minimalRequest();
        set(request);
        expectKeys(parseJson(buildInitiateBody(request)), with(kFourFields, extraKeys), row);
    }
}

static void initiate_body_fields_are_all_documented(void**) {
    for (Channel channel : {Channel::Sms, Channel::Voice, Channel::Whatsapp, Channel::Viber}) {
        const std::string text = buildInitiateBody(fullRequest(channel));
        const std::string row(channelName(channel));
        for (const char* wrong : {"\"expiry\"", "\"text\"", "\"voice\"", "\"maxAttempts\""})
            expect_row(text.find(wrong) == std::string::npos, row + " " + wrong);
        const auto json = parseJson(text);
        for (const auto& key : keysOf(json))
            expect_row(kDocumentedFields.count(key) == 1, row + " " + key);
        for (const auto& [object, documented] : kDocumentedObjectFields) {
            if (!json.HasMember(object))
                continue;
            expect_row(json[object].IsObject(), row + " " + object);
            for (const auto& key : keysOf(json[object]))
                expect_row(documented.count(key) == 1, row + " " + object + "." + key);
        }
    }
}

static void initiate_body_escapes_quotes_backslashes_and_unicode(void**) {
    const std::string messageTemplate =
        "C\xc3\xb3"
        "digo {code} \xe2\x9c\x93 \"q\" \\ {brand}\n\x01";
    InitiateRequest request = fullRequest(Channel::Sms);
    request.brand = "Ac\"me\\Co";
    request.messageTemplate = messageTemplate;
    request.smsSource = "Say \"hi\"";
    const std::string text = buildInitiateBody(request);
    expect_contains(text, "Ac\\\"me\\\\Co");
    assert_false(test::hasControlBytes(text));
    const auto json = parseJson(text);
    expect_str(stringMember(json, "brand"), "Ac\"me\\Co");
    expect_str(stringMember(json, "template"), messageTemplate);
    expect_str(stringMember(json["sms"], "source"), "Say \"hi\"");
}

static void initiate_body_escapes_the_destination(void**) {
    InitiateRequest request = minimalRequest();
    request.destination = "+65\",\"channel\":\"call";
    const auto json = parseJson(buildInitiateBody(request));
    expect_str(stringMember(json, "destination"), "+65\",\"channel\":\"call");
    expect_str(stringMember(json, "channel"), "sms");
}

// ---- paths and percent-encoding

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
}

static void append_percent_encoded_appends_to_a_secret(void**) {
    SecretString out("/sessions/abc?code=");
    appendPercentEncoded("12 3&4", out);
    expect_str(out.view(), "/sessions/abc?code=12%203%264");
}

// ---- parseTimestamp

static void timestamps_in_rfc_3339_are_read(void**) {
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
}

static void timestamps_that_are_not_rfc_3339_or_not_real_dates_are_refused(void**) {
    for (const char* bad : {"",
                            "garbage",
                            "2025-12-18",
                            "2025-13-18T05:59:54Z",
                            "2025-00-18T05:59:54Z",
                            "2025-12-00T05:59:54Z",
                            "2025-12-32T05:59:54Z",
                            "2025-12-18T24:00:00Z",
                            "2025-12-18T05:60:00Z",
                            "2025-12-18T05:59:54",
                            "2025-12-18T05:59:54.09",
                            "2025-12-18T05:59:54.Z",
                            "2025-12-18T05:59:54+0530",
                            "2025-12-18T05:59:54+05:60",
                            "2025-12-18T05:59:54Zjunk",
                            "2025/12/18T05:59:54Z",
                            "2025-12-18X05:59:54Z",
                            "20a5-12-18T05:59:54Z",
                            "1766037594",
                            "2025-02-31T00:00:00Z",
                            "2025-04-31T00:00:00Z",
                            "2025-02-29T00:00:00Z"})
        expect_row(!parseTimestamp(bad).has_value(), bad);
}

// ---- parseSession and interpretResponse: success bodies

static void every_documented_session_answer_is_read(void**) {
    struct Row {
        const char* fixture;
        const char* id;
        SessionStatus status;
        int attempt;
        std::time_t expiresAt, retryAfter;
    };
    const std::vector<Row> rows{
        {"initiate-200-documented.json", kDocId, SessionStatus::Waiting, 0, kDocExpires, kDocRetry},
        {"initiate-200-openapi.json", "18b526ad-d063-48c0-bb93-4e71f042f047",
         SessionStatus::Waiting, 0, kOpenApiExpires, kOpenApiRetry},
        {"validate-200-waiting.json", kDocId, SessionStatus::Waiting, 1, kDocExpires, kDocRetry},
        {"validate-200-verified.json", kDocId, SessionStatus::Verified, 1, kDocExpires, kDocRetry},
        {"validate-200-failed.json", kDocId, SessionStatus::Failed, 5, kDocExpires, kDocRetry},
        {"validate-200-expired.json", kDocId, SessionStatus::Expired, 2, kDocExpires, kDocRetry}};
    for (const auto& row : rows) {
        const CallResult result = interpretResponse(200, body(row.fixture), std::nullopt);
        expectStatus(result, CallStatus::Ok, row.fixture);
        expect_row(result.httpStatus == 200, row.fixture);
        expect_row(result.detail.find("HTTP 200") != std::string::npos, row.fixture);
        expect_row(result.session.has_value(), row.fixture);
        const Session& session = *result.session;
        expectRowText(row.fixture, session.id, row.id);
        expect_row(session.status == row.status, row.fixture);
        expect_row(session.attempt == row.attempt, row.fixture);
        expect_row(session.expiresAt == row.expiresAt, row.fixture);
        expect_row(session.retryAfter == row.retryAfter, row.fixture);
    }
}

// Only id and status are required; unreadable timestamps and unknown fields do not refuse it.
static void a_session_needs_only_id_and_status(void**) {
    const std::string longId(128, 'a');
    const std::vector<std::tuple<const char*, std::string, std::string, SessionStatus>> rows{
        {"id and status", "{\"sessionId\":\"abc\",\"status\":\"VERIFIED\"}", "abc",
         SessionStatus::Verified},
        {"unreadable timestamps",
         "{\"sessionId\":\"abc\",\"status\":\"WAITING\","
         "\"expiresAt\":\"tomorrow\",\"retryAfter\":\"\"}",
         "abc", SessionStatus::Waiting},
        {"unknown fields",
         "{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"sma\":{\"verificationUrl\":\"x\"},"
         "\"future\":[1,2,3]}",
         "abc", SessionStatus::Waiting},
        {"128-character id", "{\"sessionId\":\"" + longId + "\",\"status\":\"WAITING\"}", longId,
         SessionStatus::Waiting}};
    for (const auto& [row, text, id, status] : rows) {
        const auto session = parseSession(text);
        expect_row(session.has_value(), row);
        expectRowText(row, session->id, id);
        expect_row(session->status == status, row);
        expect_row(session->attempt == 0, row);
        expect_row(!session->expiresAt && !session->retryAfter, row);
    }
}

// ---- error envelopes

static void every_documented_error_is_classified(void**) {
    struct Row {
        const char* fixture;
        long http;
        CallStatus status;
        long code;
        const char* message;
        const char* errorId;
    };
    const std::vector<Row> rows{
        {"error-400-1001.json", 400, CallStatus::CredentialsRejected, 1001,
         "Provided subAccountId doesn't belong to your account",
         "91b106f0-c0da-4aba-a43a-7af9c5893a80"},
        {"error-400-1002.json", 400, CallStatus::InvalidDestination, 1002,
         "Invalid MSISDN format (not E.164 international number)",
         "b4478860-b76c-e811-814e-022a35cc1c71"},
        {"error-400-1010.json", 400, CallStatus::RequestRejected, 1010,
         "Parameter codeValidity is out of range", "0b6d3f0e-8f3c-4c3e-9a51-2d1f7c7e1a10"},
        {"error-400-1000.json", 400, CallStatus::RequestRejected, 1000,
         "Invalid parameter: channel", "6f1c2a9e-4b7d-4e1a-8c3f-9d2e5b7a1000"},
        {"error-401-1200.json", 401, CallStatus::CredentialsRejected, 1200,
         "Request was not authenticated properly", "db9dced4-3534-4d86-9d18-6b448af0d621"},
        {"error-403-1400.json", 403, CallStatus::ResendTooSoon, 1400,
         "Resending interval violation", "3c0e8f4a-2d6b-4f1e-b7a9-5e8d1c2f1400"},
        {"error-404-1404.json", 404, CallStatus::SessionNotFound, 1404, "Session not found",
         "a1b2c3d4-e5f6-7890-1234-567890abcdef"},
        {"error-426-1014.json", 426, CallStatus::TlsTooOld, 1014,
         "TLS 1.3+ is required for Singapore-bound messages. Detected: TLSv1.2",
         "b4478860-b76c-e811-814e-022a35cc1c71"},
        {"error-429.json", 429, CallStatus::RateLimited, 429, "Too many requests",
         "7d2f9b1c-6a4e-4c8d-9f3b-2e1a5c7d0429"},
        {"error-500-2000.json", 500, CallStatus::Unreachable, 2000, "Internal server error",
         "db9dced4-3534-4d86-9d18-6b448af0d621"},
        // Control characters in the message become '?' before anyone logs it.
        {"error-control-characters.json", 400, CallStatus::InvalidDestination, 1002,
         "bad?[2J?number??injected: yes", "e1e2e3e4-0000-4000-8000-00000000c0de"},
    };
    for (const auto& row : rows) {
        const CallResult result = interpretResponse(row.http, body(row.fixture), {});
        expectStatus(result, row.status, row.fixture);
        expect_row(result.httpStatus == row.http, row.fixture);
        expect_row(!result.session.has_value(), row.fixture);
        const std::optional<ApiError> error = parseError(body(row.fixture));
        expect_row(error.has_value(), row.fixture);
        expect_row(error->code == row.code, row.fixture);
        expectRowText(row.fixture, error->message, row.message);
        expectRowText(row.fixture, error->errorId, row.errorId);
        for (const std::string& part :
             {"HTTP " + std::to_string(row.http), "code " + std::to_string(row.code),
              std::string(row.errorId)})
            expect_row(result.detail.find(part) != std::string::npos, row.fixture + (" " + part));
        expect_row(!test::hasControlBytes(result.detail), row.fixture);
    }
}

static void rate_limiting_keeps_the_retry_after(void**) {
    const CallResult result = interpretResponse(429, body("error-429.json"), 30L);
    expectStatus(result, CallStatus::RateLimited);
    assert_true(result.retryAfterSeconds == 30L);
    assert_false(interpretResponse(429, "", std::nullopt).retryAfterSeconds.has_value());
}

static void an_error_code_of_the_wrong_type_is_ignored(void**) {
    const std::optional<ApiError> error =
        parseError("{\"code\":\"1002\",\"message\":\"Invalid MSISDN\",\"errorId\":\"e-1\"}");
    assert_true(error.has_value());
    assert_false(error->code.has_value());
    expect_str(error->errorId, "e-1");
}

static void long_error_texts_are_cut(void**) {
    const std::string text = "{\"code\":1000,\"message\":\"" + std::string(5000, 'm') +
                             "\",\"errorId\":\"" + std::string(500, 'i') + "\"}";
    const ApiError error = parseError(text).value();
    assert_int_equal(error.message.size(), 200);
    assert_int_equal(error.errorId.size(), 64);
}

static void bodies_that_are_not_error_envelopes_have_no_api_error(void**) {
    for (const char* file : {"error-502.html", "error-503.html", "error-not-envelope.json"})
        expect_row(!parseError(body(file)).has_value(), file);
    expect_row(!parseError(std::string(100000, '[')).has_value(), "100000 x [");
}

// ---- statuses without a usable envelope: classified by the HTTP status alone

static void every_other_answer_is_classified_by_its_status(void**) {
    struct Row {
        long http;
        std::string text;
        CallStatus status;
        const char* detail;  // nullptr: the detail need only name the HTTP status
    };
    const std::string html502 = body("error-502.html"),
                      session = body("initiate-200-documented.json");
    std::vector<Row> rows{
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
        rows.push_back({http, session, CallStatus::BadResponse, nullptr});
    for (const auto& row : rows) {
        const std::string name = std::to_string(row.http) + " " + row.text.substr(0, 40);
        const CallResult result = interpretResponse(row.http, row.text, std::nullopt);
        expectStatus(result, row.status, name);
        expect_row(result.httpStatus == row.http, name);
        expect_row(!result.session.has_value(), name);
        expect_row(result.detail.find("HTTP " + std::to_string(row.http)) != std::string::npos,
                   name);
        if (row.detail != nullptr)
            expectRowText(name, result.detail, row.detail);
    }
}

// ---- hostile bodies

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
    const std::string waiting = "\"status\":\"WAITING\"";
    for (const std::string& text :
         {// malformed, empty or not an object
          "{\"sessionId\":\"abc\"," + waiting + "} trailing",
          "{\"sessionId\":\"abc\"," + waiting + ",}", std::string(""), std::string("   "),
          std::string("null"), std::string("\"a44a91be5ea5ea118169020897df5459\""),
          // wrong types
          "{\"sessionId\":\"abc\"," + waiting + ",\"attempt\":1.5}",
          "{\"sessionId\":\"abc\"," + waiting + ",\"attempt\":1e20}",
          "{\"sessionId\":\"abc\"," + waiting + ",\"destination\":6591234567}",
          "{\"sessionId\":\"abc\"," + waiting + ",\"verifyUri\":null}",
          std::string("{\"sessionId\":null,\"status\":\"VERIFIED\"}"),
          // unknown statuses
          std::string("{\"sessionId\":\"abc\",\"status\":\"verified\"}"),
          std::string("{\"sessionId\":\"abc\",\"status\":\"\"}"),
          // session ids that could leave their path segment
          "{\"sessionId\":\"\"," + waiting + "}", "{\"sessionId\":\"abc?code=1\"," + waiting + "}",
          "{\"sessionId\":\"abc#x\"," + waiting + "}", "{\"sessionId\":\"abc%2F\"," + waiting + "}",
          "{\"sessionId\":\"abc\\n\"," + waiting + "}",
          "{\"sessionId\":\"abc\\u0000def\"," + waiting + "}",
          "{\"sessionId\":\"caf\xc3\xa9\"," + waiting + "}",
          "{\"sessionId\":\"" + std::string(129, 'a') + "\"," + waiting + "}"})
        rows.emplace_back(text, text);
    for (const auto& [row, text] : rows)
        expectBadSession(text, row);
}

static void deep_nesting_does_not_crash(void**) {
    const std::string open(100000, '[');
    std::string objects;
    for (int i = 0; i < 100000; ++i)
        objects += "{\"a\":";
    expectBadSession(open, "100000 x [");
    expectBadSession(open + std::string(100000, ']'), "100000 x [ then ]");
    expectBadSession(objects, "100000 x {\"a\":");
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"x\":" + open,
                     "a session then 100000 x [");
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(initiate_body_without_options_has_only_the_four_fields),
        cmocka_unit_test(initiate_body_carries_code_length_and_validity),
        cmocka_unit_test(initiate_body_for_each_channel),
        cmocka_unit_test(initiate_body_sends_each_optional_only_when_set),
        cmocka_unit_test(initiate_body_fields_are_all_documented),
        cmocka_unit_test(initiate_body_escapes_quotes_backslashes_and_unicode),
        cmocka_unit_test(initiate_body_escapes_the_destination),
        cmocka_unit_test(paths_and_percent_encoding_keep_only_unreserved_characters),
        cmocka_unit_test(append_percent_encoded_appends_to_a_secret),
        cmocka_unit_test(timestamps_in_rfc_3339_are_read),
        cmocka_unit_test(timestamps_that_are_not_rfc_3339_or_not_real_dates_are_refused),
        cmocka_unit_test(every_documented_session_answer_is_read),
        cmocka_unit_test(a_session_needs_only_id_and_status),
        cmocka_unit_test(every_documented_error_is_classified),
        cmocka_unit_test(rate_limiting_keeps_the_retry_after),
        cmocka_unit_test(an_error_code_of_the_wrong_type_is_ignored),
        cmocka_unit_test(long_error_texts_are_cut),
        cmocka_unit_test(bodies_that_are_not_error_envelopes_have_no_api_error),
        cmocka_unit_test(every_other_answer_is_classified_by_its_status),
        cmocka_unit_test(hostile_bodies_are_bad_responses),
        cmocka_unit_test(deep_nesting_does_not_crash),
    };
    return cmocka_run_group_tests_name("verify_api", tests, nullptr, nullptr);
}
