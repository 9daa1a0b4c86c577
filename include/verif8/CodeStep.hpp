// CodeStep: the one place a login's parts are put together, for the module and verif8ctl test.
#pragma once

#include <functional>
#include <memory>

#include "verif8/Authenticator.hpp"
#include "verif8/Config.hpp"
#include "verif8/Conversation.hpp"
#include "verif8/Logger.hpp"
#include "verif8/Outcome.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

// Lets a caller put its own client in front of the real one (verif8ctl test times each call).
using ClientWrapper = std::function<std::unique_ptr<VerifyClient>(VerifyClient& real)>;

// Runs the code step of `login` with the real parts: the API over libcurl, the session table
// and the send counters in state_dir, and the enrolment source the config names. The module and
// `verif8ctl test` both run logins here, so a test run meets what a login meets. `enrolments`,
// when given, stands in for the config's source (verif8ctl enrol checks a number not yet there).
Outcome runCodeStep(const Config& config, const LoginContext& login, Conversation& conversation,
                    Logger& logger, const ClientWrapper& wrap = nullptr,
                    EnrolmentSource* enrolments = nullptr);

}  // namespace verif8
