// PamWorld: files, sandbox and log plumbing for the PAM-layer tests.
#include "PamWorld.hpp"

extern "C" {
#include <libpamtest.h>
}
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pamtest {

namespace {
std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream stream(text);
    std::string line;
    while (std::getline(stream, line)) {
        if (!line.empty())
            out.push_back(line);
    }
    return out;
}

void writeFile(const std::string& path, const std::string& text, unsigned mode) {
    unlink(path.c_str());
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    chmod(path.c_str(), mode);
}

std::string stringMember(const rapidjson::Value& object, const char* name) {
    const auto member = object.FindMember(name);
    if (member == object.MemberEnd() || !member->value.IsString())
        return "";
    return member->value.GetString();
}

bool boolMember(const rapidjson::Value& object, const char* name) {
    const auto member = object.FindMember(name);
    return member != object.MemberEnd() && member->value.IsBool() && member->value.GetBool();
}

std::string wrongCodeFor(const std::string& code) {
    std::string wrong = code.empty() ? "000000" : code;
    wrong[0] = wrong[0] == '1' ? '2' : '1';
    return wrong;
}

int conversation(int count, const pam_message** messages, pam_response** replies, void* data) {
    auto* script = static_cast<Script*>(data);
    auto* out =
        static_cast<pam_response*>(calloc(static_cast<size_t>(count), sizeof(pam_response)));
    if (out == nullptr)
        return PAM_BUF_ERR;
    for (int i = 0; i < count; ++i) {
        const pam_message* message = messages[i];
        if (message->msg_style == PAM_ERROR_MSG || message->msg_style == PAM_TEXT_INFO) {
            script->errors.emplace_back(message->msg);
            continue;
        }
        script->prompts.emplace_back(message->msg);
        if (script->next >= script->answers.size()) {
            free(out);
            return PAM_CONV_ERR;  // the module asked more often than the script expected
        }
        const std::string answer = script->answers[script->next++];
        if (answer == "{null}")
            continue;
        std::string text = answer;
        if (answer == "{expire}") {
            sandboxControl("expire");
            text = lastDeliveredCode();
        } else if (answer == "{code}") {
            text = lastDeliveredCode();
        } else if (answer == "{wrong}") {
            text = wrongCodeFor(lastDeliveredCode());
        }
        out[i].resp = strdup(text.c_str());
    }
    *replies = out;
    return PAM_SUCCESS;
}
}  // namespace

std::string env(const char* name) {
    const char* value = getenv(name);
    if (value == nullptr)
        throw std::runtime_error(std::string("the runner did not set ") + name);
    return value;
}

std::string writeConfig(const std::string& name, const std::string& extra,
                        const std::vector<std::string>& drop, unsigned mode) {
    const std::vector<std::pair<std::string, std::string>> defaults{
        {"api_key", env("VERIF8_API_KEY")},
        {"subaccount_id", env("VERIF8_SUBACCOUNT")},
        {"api_url", env("VERIF8_SANDBOX_URL")},
        {"ca_file", env("VERIF8_SANDBOX_CA")},
        {"users_file", env("VERIF8_USERS_FILE")},
        // Never the machine's /var/lib: each service keeps its pending sessions apart.
        {"state_dir", env("VERIF8_TEST_DIR") + "/state-" + name},
        // libpam's failure delay would only slow the suite; one test checks it on its own.
        {"fail_delay", "0"},
    };
    std::string text = "# written by test_pam_login\n";
    for (const auto& [key, value] : defaults) {
        bool dropped = false;
        for (const auto& d : drop)
            dropped = dropped || d == key;
        if (!dropped)
            text += key + " = " + value + "\n";
    }
    text += extra;
    const std::string path = env("VERIF8_TEST_DIR") + "/" + name + ".conf";
    writeFile(path, text, mode);
    return path;
}

void writeService(const std::string& name, const std::string& args, const std::string& after) {
    writeFile(env("PAM_WRAPPER_SERVICE_DIR") + "/" + name,
              "auth required " + env("VERIF8_MODULE") + " " + args + "\n" + after, 0644);
}

// libpamtest 1.1.4 added a last argument (a PAM handle); Debian 11's
// 1.1.3 has six. Which one is called is decided by the declaration in the installed header.
template <typename Run>
pamtest_err runConversation(Run run, const char* service, const char* user, Script& script,
                            pam_testcase* cases, size_t count) {
    if constexpr (std::is_invocable_v<Run, const char*, const char*, pam_conv_fn, void*,
                                      pam_testcase*, size_t, std::nullptr_t>)
        return run(service, user, conversation, &script, cases, count, nullptr);
    else
        return run(service, user, conversation, &script, cases, count);
}

int authenticate(const std::string& service, const std::string& user, Script& script, int flags) {
    pam_testcase cases[] = {pam_test_flags(PAMTEST_AUTHENTICATE, PAM_SUCCESS, flags)};
    const pamtest_err err =
        runConversation(_pamtest_conv, service.c_str(), user.c_str(), script, cases, 1);
    if (err != PAMTEST_ERR_OK && err != PAMTEST_ERR_CASE)
        throw std::runtime_error("libpamtest could not run the case: error " + std::to_string(err));
    return cases[0].op_rv;
}

void sandboxControl(const std::string& action) {
    const std::string url = env("VERIF8_SANDBOX_URL") + "/_sandbox/" + action;
    const std::string ca = env("VERIF8_SANDBOX_CA");
    // curl only talks to the sandbox: no LD_PRELOAD for it. A preloaded libasan (scripts/test's
    // sanitized stage) deadlocks curl: p11-kit calls newlocale() before ASan is initialised.
    std::vector<char*> curlEnv;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        if (std::strncmp(*entry, "LD_PRELOAD=", 11) != 0)
            curlEnv.push_back(*entry);
    }
    curlEnv.push_back(nullptr);
    const pid_t child = fork();
    if (child == 0) {
        execle("/usr/bin/curl", "curl", "-sS", "-o", "/dev/null", "--fail", "--noproxy", "*",
               "--cacert", ca.c_str(), "-X", "POST", url.c_str(), static_cast<char*>(nullptr),
               curlEnv.data());
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("sandbox control " + action + " failed");
}

std::size_t requestMark() {
    return lines(readFile(env("VERIF8_REQUESTS"))).size();
}

std::vector<Request> requestsSince(std::size_t mark) {
    std::vector<Request> out;
    const auto all = lines(readFile(env("VERIF8_REQUESTS")));
    for (std::size_t i = mark; i < all.size(); ++i) {
        rapidjson::Document document;
        document.Parse(all[i].c_str());
        if (!document.IsObject())
            continue;
        Request request;
        request.method = stringMember(document, "method");
        request.path = stringMember(document, "path");
        request.codePresent = boolMember(document, "codePresent");
        request.codeMatched = boolMember(document, "codeMatched");
        const auto status = document.FindMember("status");
        if (status != document.MemberEnd() && status->value.IsInt())
            request.status = status->value.GetInt();
        const auto body = document.FindMember("body");
        if (body != document.MemberEnd() && body->value.IsObject()) {
            rapidjson::StringBuffer buffer;
            rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
            body->value.Accept(writer);
            request.bodyJson = buffer.GetString();
        }
        out.push_back(request);
    }
    return out;
}

std::string lastDeliveredCode() {
    const auto all = lines(readFile(env("VERIF8_OUTBOX")));
    if (all.empty())
        return "";
    rapidjson::Document document;
    document.Parse(all.back().c_str());
    return document.IsObject() ? stringMember(document, "code") : "";
}

std::size_t deliveryCount() {
    return lines(readFile(env("VERIF8_OUTBOX"))).size();
}

std::size_t logMark() {
    return readFile(env("VERIF8_PAM_LOG")).size();
}

std::string logSince(std::size_t mark) {
    const std::string all = readFile(env("VERIF8_PAM_LOG"));
    return mark < all.size() ? all.substr(mark) : "";
}

}  // namespace pamtest
