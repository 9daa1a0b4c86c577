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

inline constexpr const char* kDefaultConfigPath = "/etc/security/pam_verif8.conf";
inline constexpr const char* kDefaultUsersPath = "/etc/security/pam_verif8.users";
inline constexpr const char* kDefaultStateDir = "/var/lib/pam_verif8";

struct Config {
    SecretString apiKey;
    std::string apiKeyFile;
    std::string subaccountId;
    Region region = Region::Asia;
    std::string apiUrl;  // overrides region; no trailing slash
    std::string caFile;
    long connectTimeout = 5;
    long requestTimeout = 10;
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
    bool debug = false;

    // The base URL requests go to: api_url when set, else the region's host.
    std::string baseUrl() const;
};

std::string regionBaseUrl(Region region);

}  // namespace verif8
