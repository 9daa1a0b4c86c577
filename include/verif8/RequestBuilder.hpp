// RequestBuilder: what goes into an initiate request, from the config, the enrolment and channel.
#pragma once

#include <string>

#include "verif8/Channel.hpp"
#include "verif8/Config.hpp"
#include "verif8/VerifyClient.hpp"

namespace verif8 {

// `resetSession`: a login that ended left a session on this number, and this login's first send
// takes it over with a new code, so that nothing sent for that login can pass this one.
// `rhost` (PAM_RHOST) goes as clientIp, for the API's per-IP limits and fraud reports, when
// send_client_ip is on and it is an IP literal; a host name never goes (it says nothing sure).
InitiateRequest buildInitiateRequest(const Config& config, const std::string& phone,
                                     Channel channel, bool resetSession, std::string_view rhost);

}  // namespace verif8
