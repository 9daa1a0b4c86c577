/* bench_floor: the floor a login cannot go below: the same three HTTPS requests (initiate, a
 * status read, then validate with the delivered code) with bare libcurl, the module's TLS
 * settings, one process.
 * A plain C program, as the smallest libcurl client would be.
 *   usage: bench_floor BASE_URL SUBACCOUNT API_KEY PHONE OUTBOX (--ca-file FILE | --ca-path DIR) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"

struct body {
    char data[16384];
    size_t length;
};

static size_t collect(char* data, size_t size, size_t count, void* user) {
    struct body* body = user;
    const size_t n = size * count;
    if (n > sizeof body->data - 1 - body->length)
        return 0; /* a reply this long is not the API's: fail the transfer */
    memcpy(body->data + body->length, data, n);
    body->length += n;
    body->data[body->length] = '\0';
    return n;
}

static void common(CURL* h, const char* url, struct curl_slist* headers, struct body* body,
                   int ca_file, const char* store) {
    body->length = 0;
    body->data[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS); /* before 7.85 */
#endif
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_file ? store : NULL);
    curl_easy_setopt(h, CURLOPT_CAPATH, ca_file ? NULL : store);
}

int main(int argc, char** argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s BASE SUB KEY PHONE OUTBOX --ca-file FILE|--ca-path DIR\n",
                argv[0]);
        return 2;
    }
    const char *base = argv[1], *sub = argv[2], *key = argv[3], *phone = argv[4];
    const int ca_file = strcmp(argv[6], "--ca-file") == 0;
    const long start = outbox_end(argv[5]);
    static struct body body;
    char url[1024], request[512], authorization[512], code[64];

    CURL* h = curl_easy_init();
    struct curl_slist* headers = NULL;
    snprintf(authorization, sizeof authorization, "Authorization: Bearer %s", key);
    headers = curl_slist_append(headers, authorization);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");

    snprintf(url, sizeof url, "%s/api/v2/subaccounts/%s/sessions", base, sub);
    snprintf(request, sizeof request,
             "{\"destination\":\"%s\",\"channel\":\"sms\",\"codeLength\":6,\"codeValidity\":300}",
             phone);
    common(h, url, headers, &body, ca_file, argv[7]);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request);
    if (curl_easy_perform(h) != CURLE_OK)
        return 3;
    const char* id = strstr(body.data, "\"sessionId\": \"");
    if (id == NULL)
        return 3;
    id += 14;
    const size_t id_length = strcspn(id, "\"");
    delivered_code(argv[5], start, phone, code, sizeof code);
    const size_t length = strlen(url);
    char session[128];
    snprintf(session, sizeof session, "%.*s", (int)id_length, id);  /* body is reused below */
    /* The module reads the session's status before it checks a code: so does the floor. */
    snprintf(url + length, sizeof url - length, "/%s", session);
    common(h, url, headers, &body, ca_file, argv[7]);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (curl_easy_perform(h) != CURLE_OK)
        return 3;
    snprintf(url + length, sizeof url - length, "/%s?code=%s", session, code);

    common(h, url, headers, &body, ca_file, argv[7]);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    const CURLcode result = curl_easy_perform(h);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    const int verified = result == CURLE_OK && strstr(body.data, "\"VERIFIED\"") != NULL;
    return verified ? 0 : 1;
}
