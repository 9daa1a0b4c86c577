// Config: every setting of the module, with the defaults of design.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "verif8/Channel.hpp"
#include "verif8/Network.hpp"
#include "verif8/SecretString.hpp"

namespace verif8 {

enum class Region { Asia, Us, Europe, Indonesia };
enum class UnenrolledPolicy { Deny, Ignore };
// What "the service is unreachable" leads to: closed fails the login, open steps aside.
enum class FailMode { Closed, Open };
// What a caller without root's rights (a screen locker) gets: a refusal, or, for the caller's
// own account only, PAM_IGNORE. A module argument only: such a caller cannot read the file.
enum class NonRootMode { Deny, Ignore };

// At most `count` sends in any `seconds`-long window.
struct SendLimit {
    int count = 0;
    int seconds = 0;
};

inline constexpr const char* kDefaultConfigPath = "/etc/security/pam_verif8.conf";
inline constexpr const char* kDefaultUsersPath = "/etc/security/pam_verif8.users";
inline constexpr const char* kDefaultStateDir = "/var/lib/pam_verif8";

struct Config {
    SecretString apiKey;
    std::string apiKeyFile;
    std::string subaccountId;
    Region region = Region::Asia;
    std::vector<std::string> apiUrls;  // override region; tried in order; no trailing slash
    std::string caFile;                // a PEM bundle, read whole at each login
    std::string caPath;  // a hashed directory (c_rehash), looked up lazily: one file per CA used
    std::string httpsProxy;  // empty: no proxy, whatever the environment says
    long connectTimeout = 5;
    long requestTimeout = 10;
    int loginTimeout = 90;
    FailMode failMode = FailMode::Closed;
    int failDelayMs = 2000;
    Channel channel = Channel::Sms;
    int codeLength = 6;
    int codeValidity = 300;
    std::optional<std::string> brand;
    std::optional<std::string> messageTemplate;
    std::optional<std::string> templateKey;
    std::optional<std::string> language;
    std::optional<std::string> smsSender;
    std::optional<std::string> voiceCallerId;
    std::optional<std::string> whatsappTemplate;
    int maxAttempts = 3;
    int resendInterval = 30;
    UnenrolledPolicy unenrolled = UnenrolledPolicy::Deny;
    std::string usersFile = kDefaultUsersPath;
    std::vector<std::string> phoneCommand;  // program and arguments; "%u" stands for the user
    std::vector<std::string> exemptUsers;
    std::vector<std::string> exemptGroups;
    std::vector<std::string> onlyGroups;
    std::vector<Network> trustedNetworks;
    std::string stateDir = kDefaultStateDir;
    SendLimit userSendLimit{5, 900};
    SendLimit sourceSendLimit{20, 900};
    SendLimit phoneSendLimit{10, 3600};
    bool sendClientIp = true;
    int gracePeriod = 0;  // seconds; 0: every login is asked for a code
    bool debug = false;
    NonRootMode nonRoot = NonRootMode::Deny;

    // The base URLs requests go to, in order: api_url when set, else the region's host.
    std::vector<std::string> baseUrls() const;
};

std::string regionBaseUrl(Region region);

}  // namespace verif8
