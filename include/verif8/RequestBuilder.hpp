// RequestBuilder: what goes into an initiate request, from the config, the enrolment and channel.
#pragma once

#include <string>

#include "verif8/Channel.hpp"
#include "verif8/Config.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

// `resetSession`: a login that ended left a session on this number, and this login's first send
// takes it over with a new code, so that nothing sent for that login can pass this one.
InitiateRequest buildInitiateRequest(const Config& config, const std::string& phone,
                                     Channel channel, bool resetSession);

}  // namespace verif8
