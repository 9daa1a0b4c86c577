// test: one real login's code step for USER, with each API call's timing and answer printed.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "Commands.hpp"
#include "Console.hpp"
#include "Setup.hpp"
#include "verif8/CodeStep.hpp"
#include "verif8/LoginUser.hpp"
#include "verif8/Policy.hpp"

namespace verif8::cli {

namespace {
// Passes calls on to the real client and prints what each took and what came back.
class ReportingClient : public VerifyClient {
public:
    explicit ReportingClient(VerifyClient& inner) : inner_(inner) {}

    void setDeadline(std::chrono::steady_clock::time_point deadline) override {
        inner_.setDeadline(deadline);
    }
    CallResult initiate(const InitiateRequest& request) override {
        return report("send (" + std::string(channelName(request.channel)) + ")",
                      [&] { return inner_.initiate(request); });
    }
    CallResult validate(const std::string& sessionId, const SecretString& code) override {
        return report("check", [&] { return inner_.validate(sessionId, code); });
    }
    CallResult status(const std::string& sessionId) override {
        return report("status", [&] { return inner_.status(sessionId); });
    }

private:
    template <typename Call>
    CallResult report(const std::string& what, Call call) {
        const auto start = std::chrono::steady_clock::now();
        CallResult result = call();
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        std::string answer = std::string(callStatusName(result.status)) + ", " + result.detail;
        if (result.session)
            answer += ", session " + result.session->id.substr(0, 8) + " " +
                      std::string(sessionStatusName(result.session->status)) + ", attempt " +
                      std::to_string(result.session->attempt);
        fprintf(stderr, "%s: %s (%lld ms)\n", what.c_str(), sanitize(answer).c_str(),
                static_cast<long long>(ms));
        return result;
    }

    VerifyClient& inner_;
};
}  // namespace

int testSend(const Options& options) {
    Result<ConfigLoad> load = loadForCommand(options);
    if (!load)
        return kExitFailed;
    const Config& config = load.value().config;
    LoginContext login;
    login.service = "verif8ctl";
    resolveLoginUser(config, options.user, login);
    // A login of its own: never resumes a session a real login is waiting on.
    login.key = "verif8ctl:" + std::to_string(getpid()) + ":" + std::to_string(time(nullptr));

    ConsoleConversation conversation;
    ConsoleLogger logger(options.debug);
    const Outcome outcome =
        runCodeStep(config, login, conversation, logger,
                    [](VerifyClient& real) { return std::make_unique<ReportingClient>(real); });
    printf("result: %s (a login would get PAM code %d)\n",
           std::string(outcomeName(outcome)).c_str(), pamCodeFor(outcome));
    return outcome == Outcome::Verified ? kExitOk : kExitFailed;
}

}  // namespace verif8::cli
