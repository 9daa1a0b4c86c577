// verify_api: the initiate body, the paths, timestamps, and every documented (and hostile)
// response, read from tests/fixtures/verify/.
#include <rapidjson/document.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "support.hpp"
#include "verif8/VerifyApi.hpp"

using namespace verif8;
using namespace verif8::verify_api;

namespace {

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

std::set<std::string> keysOf(const rapidjson::Value& object) {
    std::set<std::string> keys;
    for (auto member = object.MemberBegin(); member != object.MemberEnd(); ++member)
        keys.emplace(member->name.GetString(), member->name.GetStringLength());
    return keys;
}

std::string joinKeys(const std::set<std::string>& keys) {
    std::string text;
    for (const auto& key : keys)
        text += key + " ";
    return text;
}

void expectKeys(const rapidjson::Value& object, const std::set<std::string>& expected) {
    const auto actual = keysOf(object);
    if (actual != expected) {
        print_error("keys: %s\nexpected: %s\n", joinKeys(actual).c_str(),
                    joinKeys(expected).c_str());
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

// The request fields verify-api.md documents, top level and inside each channel object.
const std::set<std::string> kDocumentedFields{
    "destination", "country",  "channel",     "codeLength", "codeValidity", "codeType",
    "brand",       "template", "templateKey", "language",   "resetSession", "resendingInterval",
    "callbackUrl", "clientIp", "sms",         "call",       "whatsapp"};
const std::set<std::string> kDocumentedSmsFields{"source", "encoding"};
const std::set<std::string> kDocumentedCallFields{"source", "speed", "repetition", "voiceProfile"};
const std::set<std::string> kDocumentedWhatsappFields{"templateName"};

InitiateRequest fullRequest(Channel channel) {
    InitiateRequest request;
    request.destination = "+6591234567";
    request.channel = channel;
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

struct ExpectedError {
    const char* fixture;
    long http;
    CallStatus status;
    long code;
    const char* message;
    const char* errorId;
};

void expectStatus(const CallResult& result, CallStatus status) {
    if (result.status != status) {
        print_error("status %s, expected %s (detail: %s)\n",
                    std::string(callStatusName(result.status)).c_str(),
                    std::string(callStatusName(status)).c_str(), result.detail.c_str());
        fail();
    }
}

void expectBadSession(const std::string& text) {
    assert_false(parseSession(text).has_value());
    const CallResult result = interpretResponse(200, text, std::nullopt);
    expectStatus(result, CallStatus::BadResponse);
    assert_int_equal(result.httpStatus, 200);
    assert_false(result.session.has_value());
    expect_contains(result.detail, "HTTP 200");
}

constexpr std::time_t kDocExpires = 1766037594;      // 2025-12-18T05:59:54Z
constexpr std::time_t kDocRetry = 1766037304;        // 2025-12-18T05:55:04Z
constexpr std::time_t kOpenApiExpires = 1766066700;  // 2025-12-18T14:05:00Z
constexpr std::time_t kOpenApiRetry = 1766066420;    // 2025-12-18T14:00:20Z

}  // namespace

// ---- buildInitiateBody

static void initiate_body_without_options_has_only_the_four_fields(void**) {
    InitiateRequest request;
    request.destination = "+6591234567";
    const auto json = parseJson(buildInitiateBody(request));
    expectKeys(json, {"destination", "channel", "codeLength", "codeValidity"});
    expect_str(stringMember(json, "destination"), "+6591234567");
    expect_str(stringMember(json, "channel"), "sms");
    assert_int_equal(intMember(json, "codeLength"), 6);
    assert_int_equal(intMember(json, "codeValidity"), 300);
}

static void initiate_body_uses_the_wire_channel_names(void**) {
    const std::vector<std::pair<Channel, const char*>> names{{Channel::Sms, "sms"},
                                                             {Channel::Voice, "call"},
                                                             {Channel::Whatsapp, "whatsapp"},
                                                             {Channel::Viber, "viber"}};
    for (const auto& name : names) {
        InitiateRequest request;
        request.destination = "+6591234567";
        request.channel = name.first;
        expect_str(stringMember(parseJson(buildInitiateBody(request)), "channel"), name.second);
    }
}

static void initiate_body_carries_code_length_and_validity(void**) {
    InitiateRequest request;
    request.destination = "+447700900123";
    request.codeLength = 10;
    request.codeValidity = 7200;
    const auto json = parseJson(buildInitiateBody(request));
    expect_str(stringMember(json, "destination"), "+447700900123");
    assert_int_equal(intMember(json, "codeLength"), 10);
    assert_int_equal(intMember(json, "codeValidity"), 7200);
}

static void initiate_body_for_sms_has_template_and_sms_source(void**) {
    const auto json = parseJson(buildInitiateBody(fullRequest(Channel::Sms)));
    expectKeys(json, {"destination", "channel", "codeLength", "codeValidity", "brand", "template",
                      "templateKey", "language", "sms"});
    expect_str(stringMember(json, "channel"), "sms");
    assert_int_equal(intMember(json, "codeLength"), 8);
    assert_int_equal(intMember(json, "codeValidity"), 600);
    expect_str(stringMember(json, "brand"), "Acme");
    expect_str(stringMember(json, "template"), "{brand}: your code is {code}");
    expect_str(stringMember(json, "templateKey"), "login-otp");
    expect_str(stringMember(json, "language"), "en-GB");
    expectKeys(json["sms"], {"source"});
    expect_str(stringMember(json["sms"], "source"), "AcmeSMS");
}

static void initiate_body_for_voice_has_template_and_call_source(void**) {
    const auto json = parseJson(buildInitiateBody(fullRequest(Channel::Voice)));
    expectKeys(json, {"destination", "channel", "codeLength", "codeValidity", "brand", "template",
                      "templateKey", "language", "call"});
    expect_str(stringMember(json, "channel"), "call");
    expect_str(stringMember(json, "template"), "{brand}: your code is {code}");
    expectKeys(json["call"], {"source"});
    expect_str(stringMember(json["call"], "source"), "+6512345678");
}

static void initiate_body_for_whatsapp_has_template_name_and_no_template(void**) {
    const auto json = parseJson(buildInitiateBody(fullRequest(Channel::Whatsapp)));
    expectKeys(json, {"destination", "channel", "codeLength", "codeValidity", "brand",
                      "templateKey", "language", "whatsapp"});
    expect_str(stringMember(json, "channel"), "whatsapp");
    expectKeys(json["whatsapp"], {"templateName"});
    expect_str(stringMember(json["whatsapp"], "templateName"), "auth_code_v2");
}

static void initiate_body_for_viber_has_no_template_or_channel_object(void**) {
    const auto json = parseJson(buildInitiateBody(fullRequest(Channel::Viber)));
    expectKeys(json, {"destination", "channel", "codeLength", "codeValidity", "brand",
                      "templateKey", "language"});
    expect_str(stringMember(json, "channel"), "viber");
}

static void initiate_body_sends_each_optional_only_when_set(void**) {
    InitiateRequest request;
    request.destination = "+6591234567";
    request.brand = "Acme";
    expectKeys(parseJson(buildInitiateBody(request)),
               {"destination", "channel", "codeLength", "codeValidity", "brand"});
    request.brand.reset();
    request.language = "fr-FR";
    expectKeys(parseJson(buildInitiateBody(request)),
               {"destination", "channel", "codeLength", "codeValidity", "language"});
    request.language.reset();
    request.callSource = "+6512345678";  // not for an sms request
    request.whatsappTemplate = "auth";   // not for an sms request
    expectKeys(parseJson(buildInitiateBody(request)),
               {"destination", "channel", "codeLength", "codeValidity"});
    request.smsSource = "Acme";
    expectKeys(parseJson(buildInitiateBody(request)),
               {"destination", "channel", "codeLength", "codeValidity", "sms"});
}

static void initiate_body_fields_are_all_documented(void**) {
    for (Channel channel : {Channel::Sms, Channel::Voice, Channel::Whatsapp, Channel::Viber}) {
        const auto json = parseJson(buildInitiateBody(fullRequest(channel)));
        for (const auto& key : keysOf(json)) {
            if (kDocumentedFields.count(key) == 0) {
                print_error("undocumented field '%s'\n", key.c_str());
                fail();
            }
        }
        const std::vector<std::pair<const char*, const std::set<std::string>*>> objects{
            {"sms", &kDocumentedSmsFields},
            {"call", &kDocumentedCallFields},
            {"whatsapp", &kDocumentedWhatsappFields}};
        for (const auto& object : objects) {
            if (!json.HasMember(object.first))
                continue;
            assert_true(json[object.first].IsObject());
            for (const auto& key : keysOf(json[object.first]))
                assert_int_equal(object.second->count(key), 1);
        }
    }
}

static void initiate_body_never_uses_names_that_do_not_exist(void**) {
    for (Channel channel : {Channel::Sms, Channel::Voice, Channel::Whatsapp, Channel::Viber}) {
        const std::string text = buildInitiateBody(fullRequest(channel));
        for (const char* wrong : {"\"expiry\"", "\"text\"", "\"voice\"", "\"maxAttempts\""})
            expect_not_contains(text, wrong);
    }
}

static void initiate_body_escapes_quotes_backslashes_and_unicode(void**) {
    InitiateRequest request = fullRequest(Channel::Sms);
    request.brand = "Ac\"me\\Co";
    request.messageTemplate =
        "C\xc3\xb3"
        "digo {code} \xe2\x9c\x93 \"q\" \\ {brand}\n\x01";
    request.smsSource = "Say \"hi\"";
    const std::string text = buildInitiateBody(request);
    expect_contains(text, "Ac\\\"me\\\\Co");
    assert_false(test::hasControlBytes(text));
    const auto json = parseJson(text);
    expect_str(stringMember(json, "brand"), "Ac\"me\\Co");
    expect_str(stringMember(json, "template"),
               "C\xc3\xb3"
               "digo {code} \xe2\x9c\x93 \"q\" \\ {brand}\n\x01");
    expect_str(stringMember(json["sms"], "source"), "Say \"hi\"");
}

static void initiate_body_escapes_the_destination(void**) {
    InitiateRequest request;
    request.destination = "+65\",\"channel\":\"call";
    const auto json = parseJson(buildInitiateBody(request));
    expect_str(stringMember(json, "destination"), "+65\",\"channel\":\"call");
    expect_str(stringMember(json, "channel"), "sms");
}

// ---- paths and percent-encoding

static void sessions_path_percent_encodes_the_subaccount(void**) {
    expect_str(sessionsPath("demo-account_1.2"), "/api/v2/subaccounts/demo-account_1.2/sessions");
    expect_str(sessionsPath("acme&co"), "/api/v2/subaccounts/acme%26co/sessions");
}

static void session_path_keeps_a_dashed_uuid(void**) {
    expect_str(sessionPath("acme&co", "18b526ad-d063-48c0-bb93-4e71f042f047"),
               "/api/v2/subaccounts/acme%26co/sessions/18b526ad-d063-48c0-bb93-4e71f042f047");
    expect_str(sessionPath("demo", "a44a91be5ea5ea118169020897df5459"),
               "/api/v2/subaccounts/demo/sessions/a44a91be5ea5ea118169020897df5459");
}

static void session_path_encodes_what_could_leave_the_segment(void**) {
    expect_str(sessionPath("demo", "../x?code=1#y"),
               "/api/v2/subaccounts/demo/sessions/..%2Fx%3Fcode%3D1%23y");
}

static void percent_encode_keeps_only_unreserved_characters(void**) {
    expect_str(percentEncode("AZaz09-._~"), "AZaz09-._~");
    expect_str(percentEncode(" /?#&=+%"), "%20%2F%3F%23%26%3D%2B%25");
    expect_str(percentEncode("\xc3\xa9"), "%C3%A9");
    expect_str(percentEncode(std::string("a\0b", 3)), "a%00b");
    expect_str(percentEncode("\x7f\xff"), "%7F%FF");
    expect_str(percentEncode(""), "");
}

static void append_percent_encoded_appends_to_a_secret(void**) {
    SecretString out("/sessions/abc?code=");
    appendPercentEncoded("12 3&4", out);
    expect_str(out.view(), "/sessions/abc?code=12%203%264");
}

// ---- parseTimestamp

static void timestamp_with_two_fraction_digits_and_z(void**) {
    assert_true(parseTimestamp("2025-12-18T05:59:54.09Z") == kDocExpires);
}

static void timestamp_with_seven_fraction_digits_and_utc_offset(void**) {
    assert_true(parseTimestamp("2025-12-18T14:05:00.1254323+00:00") == kOpenApiExpires);
}

static void timestamp_with_other_offsets(void**) {
    assert_true(parseTimestamp("2025-12-18T14:05:00+05:30") == std::time_t{1766046900});
    assert_true(parseTimestamp("2025-12-18T14:05:00.5-03:00") == std::time_t{1766077500});
}

static void timestamp_without_fraction(void**) {
    assert_true(parseTimestamp("2025-12-18T05:59:54Z") == kDocExpires);
    assert_true(parseTimestamp("2024-02-29T23:59:59Z") == std::time_t{1709251199});
    assert_true(parseTimestamp("1970-01-01T00:00:00Z") == std::time_t{0});
}

static void timestamps_that_are_not_rfc_3339_are_refused(void**) {
    for (const char* bad :
         {"", "garbage", "2025-12-18", "2025-13-18T05:59:54Z", "2025-00-18T05:59:54Z",
          "2025-12-00T05:59:54Z", "2025-12-32T05:59:54Z", "2025-12-18T24:00:00Z",
          "2025-12-18T05:60:00Z", "2025-12-18T05:59:54", "2025-12-18T05:59:54.09",
          "2025-12-18T05:59:54.Z", "2025-12-18T05:59:54+0530", "2025-12-18T05:59:54+05:60",
          "2025-12-18T05:59:54Zjunk", "2025/12/18T05:59:54Z", "2025-12-18X05:59:54Z",
          "20a5-12-18T05:59:54Z", "1766037594"}) {
        if (parseTimestamp(bad)) {
            print_error("accepted '%s'\n", bad);
            fail();
        }
    }
}

// ---- parseSession and interpretResponse: success bodies

static void the_documented_initiate_answer_is_a_waiting_session(void**) {
    const CallResult result = interpretResponse(200, body("initiate-200-documented.json"), {});
    expectStatus(result, CallStatus::Ok);
    assert_int_equal(result.httpStatus, 200);
    assert_true(result.session.has_value());
    const Session& session = *result.session;
    expect_str(session.id, "a44a91be5ea5ea118169020897df5459");
    assert_true(session.status == SessionStatus::Waiting);
    assert_int_equal(session.attempt, 0);
    assert_true(session.expiresAt == kDocExpires);
    assert_true(session.retryAfter == kDocRetry);
    expect_contains(result.detail, "HTTP 200");
}

static void the_openapi_example_with_dashed_id_is_a_waiting_session(void**) {
    const CallResult result = interpretResponse(200, body("initiate-200-openapi.json"), {});
    expectStatus(result, CallStatus::Ok);
    const Session& session = result.session.value();
    expect_str(session.id, "18b526ad-d063-48c0-bb93-4e71f042f047");
    assert_true(session.status == SessionStatus::Waiting);
    assert_true(session.expiresAt == kOpenApiExpires);
    assert_true(session.retryAfter == kOpenApiRetry);
}

static void validate_answers_carry_each_status(void**) {
    const std::vector<std::tuple<const char*, SessionStatus, int>> cases{
        {"validate-200-waiting.json", SessionStatus::Waiting, 1},
        {"validate-200-verified.json", SessionStatus::Verified, 1},
        {"validate-200-failed.json", SessionStatus::Failed, 5},
        {"validate-200-expired.json", SessionStatus::Expired, 2}};
    for (const auto& [file, status, attempt] : cases) {
        const CallResult result = interpretResponse(200, body(file), std::nullopt);
        expectStatus(result, CallStatus::Ok);
        const Session& session = result.session.value();
        expect_str(session.id, "a44a91be5ea5ea118169020897df5459");
        assert_true(session.status == status);
        assert_int_equal(session.attempt, attempt);
        assert_true(session.expiresAt == kDocExpires);
    }
}

static void a_session_needs_only_id_and_status(void**) {
    const auto session = parseSession("{\"sessionId\":\"abc\",\"status\":\"VERIFIED\"}");
    assert_true(session.has_value());
    expect_str(session->id, "abc");
    assert_true(session->status == SessionStatus::Verified);
    assert_int_equal(session->attempt, 0);
    assert_false(session->expiresAt || session->retryAfter);
}

static void an_unreadable_timestamp_is_dropped_not_fatal(void**) {
    const auto session = parseSession(
        "{\"sessionId\":\"abc\",\"status\":\"WAITING\","
        "\"expiresAt\":\"tomorrow\",\"retryAfter\":\"\"}");
    assert_true(session.has_value());
    assert_false(session->expiresAt.has_value());
    assert_false(session->retryAfter.has_value());
}

static void unknown_fields_in_a_session_are_ignored(void**) {
    const auto session = parseSession(
        "{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"sma\":{\"verificationUrl\":\"x\"},"
        "\"future\":[1,2,3]}");
    assert_true(session.has_value());
}

// ---- error envelopes

static void every_documented_error_is_classified(void**) {
    const std::vector<ExpectedError> cases{
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
    };
    for (const auto& expected : cases) {
        const CallResult result = interpretResponse(expected.http, body(expected.fixture), {});
        expectStatus(result, expected.status);
        assert_int_equal(result.httpStatus, expected.http);
        assert_false(result.session.has_value());
        const std::optional<ApiError> error = parseError(body(expected.fixture));
        assert_true(error.has_value());
        assert_true(error->code == expected.code);
        expect_str(error->message, expected.message);
        expect_str(error->errorId, expected.errorId);
        expect_contains(result.detail, "HTTP " + std::to_string(expected.http));
        expect_contains(result.detail, "code " + std::to_string(expected.code));
        expect_contains(result.detail, expected.errorId);
    }
}

static void rate_limiting_keeps_the_retry_after(void**) {
    const CallResult result = interpretResponse(429, body("error-429.json"), 30L);
    expectStatus(result, CallStatus::RateLimited);
    assert_true(result.retryAfterSeconds == 30L);
    const CallResult bare = interpretResponse(429, "", std::nullopt);
    expectStatus(bare, CallStatus::RateLimited);
    assert_false(bare.retryAfterSeconds.has_value());
    expect_str(bare.detail, "HTTP 429");  // no envelope: nothing after the status
}

static void gateway_errors_with_html_bodies_are_unreachable(void**) {
    for (const auto& [http, file] : std::vector<std::pair<long, const char*>>{
             {502, "error-502.html"}, {503, "error-503.html"}, {504, "error-502.html"}}) {
        const CallResult result = interpretResponse(http, body(file), std::nullopt);
        expectStatus(result, CallStatus::Unreachable);
        assert_int_equal(result.httpStatus, http);
        assert_false(parseError(body(file)).has_value());
        expect_str(result.detail, "HTTP " + std::to_string(http));
    }
}

static void a_404_without_a_body_is_session_not_found(void**) {
    expectStatus(interpretResponse(404, "", std::nullopt), CallStatus::SessionNotFound);
}

static void other_client_errors_are_request_rejected(void**) {
    expectStatus(interpretResponse(403, "{\"code\":1300,\"message\":\"Forbidden\"}", {}),
                 CallStatus::RequestRejected);
    expectStatus(interpretResponse(400, "", {}), CallStatus::RequestRejected);
    expectStatus(interpretResponse(409, "", {}), CallStatus::RequestRejected);
    expectStatus(interpretResponse(418, "", {}), CallStatus::RequestRejected);
}

static void an_error_code_of_the_wrong_type_is_ignored(void**) {
    const std::string text =
        "{\"code\":\"1002\",\"message\":\"Invalid MSISDN\",\"errorId\":\"e-1\"}";
    const CallResult result = interpretResponse(400, text, {});
    expectStatus(result, CallStatus::RequestRejected);
    const std::optional<ApiError> error = parseError(text);
    assert_true(error.has_value());
    assert_false(error->code.has_value());
    expect_str(error->errorId, "e-1");
}

static void control_characters_in_an_error_message_are_sanitized(void**) {
    const CallResult result = interpretResponse(400, body("error-control-characters.json"), {});
    expectStatus(result, CallStatus::InvalidDestination);
    const ApiError error = parseError(body("error-control-characters.json")).value();
    expect_str(error.message, "bad?[2J?number??injected: yes");
    assert_false(test::hasControlBytes(result.detail));
    expect_contains(result.detail, "e1e2e3e4-0000-4000-8000-00000000c0de");
}

static void long_error_texts_are_cut(void**) {
    const std::string text = "{\"code\":1000,\"message\":\"" + std::string(5000, 'm') +
                             "\",\"errorId\":\"" + std::string(500, 'i') + "\"}";
    const ApiError error = parseError(text).value();
    assert_int_equal(error.message.size(), 200);
    assert_int_equal(error.errorId.size(), 64);
}

static void an_error_body_that_is_not_an_envelope_is_classified_by_status(void**) {
    const CallResult result = interpretResponse(400, body("error-not-envelope.json"), {});
    expectStatus(result, CallStatus::RequestRejected);
    expect_str(result.detail, "HTTP 400");
    assert_false(parseError(body("error-not-envelope.json")).has_value());
    expectStatus(interpretResponse(401, "[1,2]", {}), CallStatus::CredentialsRejected);
    expectStatus(interpretResponse(500, "{\"code\":", {}), CallStatus::Unreachable);
}

// ---- other statuses

static void redirects_are_bad_responses(void**) {
    for (long http : {300L, 301L, 302L, 303L, 307L, 308L}) {
        const CallResult result = interpretResponse(http, body("initiate-200-documented.json"), {});
        expectStatus(result, CallStatus::BadResponse);
        assert_int_equal(result.httpStatus, http);
        assert_false(result.session.has_value());
        expect_contains(result.detail, "HTTP " + std::to_string(http));
    }
}

static void other_success_codes_are_bad_responses(void**) {
    for (long http : {0L, 100L, 201L, 202L, 204L, 299L}) {
        const CallResult result = interpretResponse(http, body("initiate-200-documented.json"), {});
        expectStatus(result, CallStatus::BadResponse);
        assert_false(result.session.has_value());
    }
}

static void an_error_envelope_with_200_is_a_bad_response(void**) {
    expectBadSession(body("error-400-1001.json"));
}

// ---- hostile bodies

static void malformed_and_truncated_json_are_bad_responses(void**) {
    expectBadSession(body("hostile-malformed.json"));
    expectBadSession(body("hostile-truncated.json"));
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\"} trailing");
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\",}");
}

static void an_empty_body_is_a_bad_response(void**) {
    expectBadSession(body("hostile-empty.json"));
    expectBadSession("");
    expectBadSession("   ");
    expectBadSession("null");
}

static void a_json_array_is_a_bad_response(void**) {
    expectBadSession(body("hostile-array.json"));
    expectBadSession("\"a44a91be5ea5ea118169020897df5459\"");
}

static void wrong_types_are_bad_responses(void**) {
    expectBadSession(body("hostile-session-id-number.json"));
    expectBadSession(body("hostile-status-number.json"));
    expectBadSession(body("hostile-attempt-string.json"));
    expectBadSession(body("hostile-attempt-negative.json"));
    expectBadSession(body("hostile-expires-at-number.json"));
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"attempt\":1.5}");
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"attempt\":1e20}");
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"destination\":6591234567}");
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"verifyUri\":null}");
    expectBadSession("{\"sessionId\":null,\"status\":\"VERIFIED\"}");
}

static void a_missing_session_id_or_status_is_a_bad_response(void**) {
    expectBadSession(body("hostile-missing-session-id.json"));
    expectBadSession(body("hostile-missing-status.json"));
}

static void an_unknown_status_is_a_bad_response(void**) {
    expectBadSession(body("hostile-unknown-status.json"));
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"verified\"}");
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"\"}");
}

static void a_session_id_that_could_leave_its_path_segment_is_a_bad_response(void**) {
    expectBadSession(body("hostile-session-id-slash.json"));
    expectBadSession(body("hostile-session-id-space.json"));
    expectBadSession("{\"sessionId\":\"\",\"status\":\"WAITING\"}");
    expectBadSession("{\"sessionId\":\"abc?code=1\",\"status\":\"WAITING\"}");
    expectBadSession("{\"sessionId\":\"abc#x\",\"status\":\"WAITING\"}");
    expectBadSession("{\"sessionId\":\"abc%2F\",\"status\":\"WAITING\"}");
    expectBadSession("{\"sessionId\":\"abc\\n\",\"status\":\"WAITING\"}");
    expectBadSession("{\"sessionId\":\"abc\\u0000def\",\"status\":\"WAITING\"}");
    expectBadSession("{\"sessionId\":\"caf\xc3\xa9\",\"status\":\"WAITING\"}");
    expectBadSession("{\"sessionId\":\"" + std::string(129, 'a') + "\",\"status\":\"WAITING\"}");
    assert_true(
        parseSession("{\"sessionId\":\"" + std::string(128, 'a') + "\",\"status\":\"WAITING\"}")
            .has_value());
}

static void deep_nesting_does_not_crash(void**) {
    const std::string open(100000, '[');
    expectBadSession(open);
    expectBadSession(open + std::string(100000, ']'));
    std::string objects;
    for (int i = 0; i < 100000; ++i)
        objects += "{\"a\":";
    expectBadSession(objects);
    expectBadSession("{\"sessionId\":\"abc\",\"status\":\"WAITING\",\"x\":" + open);
    const CallResult error = interpretResponse(400, open, std::nullopt);
    expectStatus(error, CallStatus::RequestRejected);
    assert_false(parseError(open).has_value());
}

static void timestamps_with_impossible_dates_are_refused(void**) {
    assert_false(parseTimestamp("2025-02-31T00:00:00Z").has_value());
    assert_false(parseTimestamp("2025-04-31T00:00:00Z").has_value());
    assert_true(parseTimestamp("2024-02-29T00:00:00Z").has_value());
    assert_false(parseTimestamp("2025-02-29T00:00:00Z").has_value());
}

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timestamps_with_impossible_dates_are_refused),
        cmocka_unit_test(initiate_body_without_options_has_only_the_four_fields),
        cmocka_unit_test(initiate_body_uses_the_wire_channel_names),
        cmocka_unit_test(initiate_body_carries_code_length_and_validity),
        cmocka_unit_test(initiate_body_for_sms_has_template_and_sms_source),
        cmocka_unit_test(initiate_body_for_voice_has_template_and_call_source),
        cmocka_unit_test(initiate_body_for_whatsapp_has_template_name_and_no_template),
        cmocka_unit_test(initiate_body_for_viber_has_no_template_or_channel_object),
        cmocka_unit_test(initiate_body_sends_each_optional_only_when_set),
        cmocka_unit_test(initiate_body_fields_are_all_documented),
        cmocka_unit_test(initiate_body_never_uses_names_that_do_not_exist),
        cmocka_unit_test(initiate_body_escapes_quotes_backslashes_and_unicode),
        cmocka_unit_test(initiate_body_escapes_the_destination),
        cmocka_unit_test(sessions_path_percent_encodes_the_subaccount),
        cmocka_unit_test(session_path_keeps_a_dashed_uuid),
        cmocka_unit_test(session_path_encodes_what_could_leave_the_segment),
        cmocka_unit_test(percent_encode_keeps_only_unreserved_characters),
        cmocka_unit_test(append_percent_encoded_appends_to_a_secret),
        cmocka_unit_test(timestamp_with_two_fraction_digits_and_z),
        cmocka_unit_test(timestamp_with_seven_fraction_digits_and_utc_offset),
        cmocka_unit_test(timestamp_with_other_offsets),
        cmocka_unit_test(timestamp_without_fraction),
        cmocka_unit_test(timestamps_that_are_not_rfc_3339_are_refused),
        cmocka_unit_test(the_documented_initiate_answer_is_a_waiting_session),
        cmocka_unit_test(the_openapi_example_with_dashed_id_is_a_waiting_session),
        cmocka_unit_test(validate_answers_carry_each_status),
        cmocka_unit_test(a_session_needs_only_id_and_status),
        cmocka_unit_test(an_unreadable_timestamp_is_dropped_not_fatal),
        cmocka_unit_test(unknown_fields_in_a_session_are_ignored),
        cmocka_unit_test(every_documented_error_is_classified),
        cmocka_unit_test(rate_limiting_keeps_the_retry_after),
        cmocka_unit_test(gateway_errors_with_html_bodies_are_unreachable),
        cmocka_unit_test(a_404_without_a_body_is_session_not_found),
        cmocka_unit_test(other_client_errors_are_request_rejected),
        cmocka_unit_test(an_error_code_of_the_wrong_type_is_ignored),
        cmocka_unit_test(control_characters_in_an_error_message_are_sanitized),
        cmocka_unit_test(long_error_texts_are_cut),
        cmocka_unit_test(an_error_body_that_is_not_an_envelope_is_classified_by_status),
        cmocka_unit_test(redirects_are_bad_responses),
        cmocka_unit_test(other_success_codes_are_bad_responses),
        cmocka_unit_test(an_error_envelope_with_200_is_a_bad_response),
        cmocka_unit_test(malformed_and_truncated_json_are_bad_responses),
        cmocka_unit_test(an_empty_body_is_a_bad_response),
        cmocka_unit_test(a_json_array_is_a_bad_response),
        cmocka_unit_test(wrong_types_are_bad_responses),
        cmocka_unit_test(a_missing_session_id_or_status_is_a_bad_response),
        cmocka_unit_test(an_unknown_status_is_a_bad_response),
        cmocka_unit_test(a_session_id_that_could_leave_its_path_segment_is_a_bad_response),
        cmocka_unit_test(deep_nesting_does_not_crash),
    };
    return cmocka_run_group_tests_name("verify_api", tests, nullptr, nullptr);
}
