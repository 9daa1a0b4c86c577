// ConfigKeys: the key table of pam_verif8.conf: which keys exist, what each sets, what each is.
#include "verif8/ConfigKeys.hpp"

#include <utility>

#include "verif8/ConfigValidators.hpp"

namespace verif8 {

namespace {

// The setters: each reads its value with a validator and stores what it means in one field, or
// leaves the field as it was.

template <typename Field, typename Value>
Result<> store(Field& field, Result<Value> value) {
    if (!value)
        return value.problem();
    field = std::move(value).value();
    return succeeded();
}

template <auto Field, auto Validate>
Result<> parsed(Config& config, std::string_view value) {
    return store(config.*Field, Validate(value));
}

template <auto Field, long Min, long Max>
Result<> number(Config& config, std::string_view value) {
    return store(config.*Field, validate::wholeNumber(value, Min, Max));
}

template <auto Field, std::size_t MaxLength>
Result<> text(Config& config, std::string_view value) {
    return store(config.*Field, validate::freeText(value, MaxLength));
}

template <auto Field>
Result<> path(Config& config, std::string_view value) {
    return store(config.*Field, validate::absolutePath(value));
}

}  // namespace

const std::vector<ConfigKey>& configKeys() {
    using C = Config;
    namespace v = validate;
    static const std::vector<ConfigKey> keys{
        {"api_key", parsed<&C::apiKey, v::apiKey>, Secret | FileOnly},
        {"api_key_file", path<&C::apiKeyFile>},
        {"subaccount_id", parsed<&C::subaccountId, v::subaccountId>},
        {"region", parsed<&C::region, v::region>},
        {"api_url", parsed<&C::apiUrls, v::httpsUrls>},
        {"https_proxy", parsed<&C::httpsProxy, v::proxyUrl>, PasswordInside},
        {"ca_file", path<&C::caFile>},
        {"ca_path", path<&C::caPath>},
        {"connect_timeout", number<&C::connectTimeout, 1, 60>},
        {"request_timeout", number<&C::requestTimeout, 1, 300>},
        {"channel", parsed<&C::channel, v::channel>},
        {"code_length", number<&C::codeLength, 4, 10>},
        {"code_validity", number<&C::codeValidity, 30, 7200>},
        {"brand", text<&C::brand, 30>},
        {"template", parsed<&C::messageTemplate, v::messageTemplate>},
        {"template_key", text<&C::templateKey, 200>},
        {"language", parsed<&C::language, v::languageTag>},
        {"sms_sender", parsed<&C::smsSender, v::smsSender>},
        {"voice_caller_id", parsed<&C::voiceCallerId, v::callerId>},
        {"whatsapp_template", parsed<&C::whatsappTemplate, v::templateName>},
        {"max_attempts", number<&C::maxAttempts, 1, 5>},
        {"unenrolled", parsed<&C::unenrolled, v::unenrolledPolicy>},
        {"users_file", path<&C::usersFile>},
        {"resend_interval", number<&C::resendInterval, 10, 7200>},
        {"phone_command", parsed<&C::phoneCommand, v::command>},
        {"exempt_users", parsed<&C::exemptUsers, v::names>},
        {"exempt_groups", parsed<&C::exemptGroups, v::names>},
        {"only_groups", parsed<&C::onlyGroups, v::names>},
        {"trusted_networks", parsed<&C::trustedNetworks, v::networks>},
        {"state_dir", path<&C::stateDir>},
        {"login_timeout", number<&C::loginTimeout, 10, 3600>},
        {"fail_mode", parsed<&C::failMode, v::failMode>},
        {"fail_delay", number<&C::failDelayMs, 0, 10000>},
        {"user_send_limit", parsed<&C::userSendLimit, v::sendLimit>},
        {"source_send_limit", parsed<&C::sourceSendLimit, v::sendLimit>},
        {"phone_send_limit", parsed<&C::phoneSendLimit, v::sendLimit>},
        {"send_client_ip", parsed<&C::sendClientIp, v::yesNo>},
        {"grace_period", number<&C::gracePeriod, 0, 86400>},
    };
    return keys;
}

const ConfigKey* findConfigKey(std::string_view name) {
    for (const auto& key : configKeys()) {
        if (name == key.name)
            return &key;
    }
    return nullptr;
}

}  // namespace verif8
