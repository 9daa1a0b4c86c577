// CodeStep: the one place a login's parts are put together, for the module and verif8ctl test.
#include "verif8/CodeStep.hpp"

#include "verif8/CurlVerifyClient.hpp"
#include "verif8/GraceStore.hpp"
#include "verif8/PhoneCommand.hpp"
#include "verif8/SendLimiter.hpp"
#include "verif8/SessionStore.hpp"

namespace verif8 {

Outcome runCodeStep(const Config& config, const LoginContext& login, Conversation& conversation,
                    Logger& logger, const ClientWrapper& wrap, EnrolmentSource* enrolments) {
    CurlVerifyClient curl(config);
    const std::unique_ptr<VerifyClient> wrapped = wrap ? wrap(curl) : nullptr;
    VerifyClient& client = wrapped ? *wrapped : curl;
    FileSessionStore sessions(config.stateDir);
    FileSendLimiter limiter(config.stateDir, config.userSendLimit, config.sourceSendLimit,
                            config.phoneSendLimit);
    FileGraceStore grace(config.stateDir);
    const std::unique_ptr<EnrolmentSource> configured =
        enrolments ? nullptr : enrolmentSourceFor(config);
    Authenticator authenticator(config, client, conversation,
                                enrolments ? *enrolments : *configured, sessions, limiter, grace,
                                logger);
    return authenticator.authenticate(login);
}

}  // namespace verif8
