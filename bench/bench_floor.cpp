// bench_floor: the floor a login cannot go below: the same two HTTPS requests (initiate, then
// validate with the delivered code) with bare libcurl, the module's TLS settings, one process.
//   usage: bench_floor BASE_URL SUBACCOUNT API_KEY PHONE OUTBOX (--ca-file FILE | --ca-path DIR)
#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace {
size_t collect(char* data, size_t size, size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

std::string codeFor(const std::string& outbox, std::streamoff start, const std::string& phone) {
    const std::string destination = "\"destination\": \"" + phone + "\"";
    for (int round = 0; round < 2000; ++round) {
        std::ifstream in(outbox);
        in.seekg(start);
        std::string line, code;
        while (std::getline(in, line)) {
            const std::size_t at = line.find("\"code\": \"");
            if (line.find(destination) != std::string::npos && at != std::string::npos)
                code = line.substr(at + 9, line.find('"', at + 9) - at - 9);
        }
        if (!code.empty())
            return code;
        usleep(1000);
    }
    return "";
}

std::string sessionIdOf(const std::string& body) {
    const std::size_t at = body.find("\"sessionId\": \"");
    if (at == std::string::npos)
        return "";
    return body.substr(at + 14, body.find('"', at + 14) - at - 14);
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s BASE SUB KEY PHONE OUTBOX --ca-file FILE|--ca-path DIR\n",
                argv[0]);
        return 2;
    }
    const std::string base = argv[1], sub = argv[2], key = argv[3], phone = argv[4];
    const bool caFile = strcmp(argv[6], "--ca-file") == 0;
    std::streamoff start = 0;
    {
        std::ifstream in(argv[5], std::ios::ate);
        start = in ? static_cast<std::streamoff>(in.tellg()) : 0;
    }
    CURL* h = curl_easy_init();
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Authorization: Bearer " + key).c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    std::string body;
    auto common = [&](const std::string& url) {
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_CAINFO, caFile ? argv[7] : nullptr);
        curl_easy_setopt(h, CURLOPT_CAPATH, caFile ? nullptr : argv[7]);
    };
    const std::string sessions = base + "/api/v2/subaccounts/" + sub + "/sessions";
    const std::string request = "{\"destination\":\"" + phone +
                                "\",\"channel\":\"sms\",\"codeLength\":6,\"codeValidity\":300}";
    common(sessions);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.c_str());
    if (curl_easy_perform(h) != CURLE_OK)
        return 3;
    const std::string id = sessionIdOf(body);
    body.clear();
    common(sessions + "/" + id + "?code=" + codeFor(argv[5], start, phone));
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    const CURLcode code = curl_easy_perform(h);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    const bool verified = code == CURLE_OK && body.find("\"VERIFIED\"") != std::string::npos;
    return verified ? 0 : 1;
}
