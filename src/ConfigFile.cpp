// ConfigFile: the module's config from its file, its arguments and the API key file.
#include "verif8/ConfigFile.hpp"

#include "verif8/ConfigKeys.hpp"
#include "verif8/SafeFile.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
constexpr const char* kArgumentsSource = "module arguments";

void readApiKeyFile(ConfigLoad& load, uid_t owner) {
    FileRules rules;
    rules.owner = owner;
    rules.maxSize = 4096;
    const auto file = readChecked(load.config.apiKeyFile, rules);
    if (!file) {
        load.problems.push_back({"api_key_file", 0, file.problem().text});
        return;
    }
    const std::string_view key = trim(file.value().view());
    if (key.empty() || hasControlOrSpace(key)) {
        load.problems.push_back(
            {load.config.apiKeyFile, 0, "must hold the API key alone, on one line"});
        return;
    }
    load.config.apiKey.assign(key);
}

// OpenSSL reads these as root at every login: whoever can write them chooses whom the module
// trusts with the API key and the codes. Readable by all is fine; writable by others is not.
void checkTrustStore(ConfigLoad& load, uid_t owner) {
    FileRules rules;
    rules.owner = owner;
    rules.access = Access::OthersMayRead;
    rules.maxSize = 16 * 1024 * 1024;
    if (!load.config.caFile.empty()) {
        const auto checked = checkTrustedPath(load.config.caFile, rules);
        if (!checked)
            load.problems.push_back({"ca_file", 0, checked.problem().text});
    }
    if (!load.config.caPath.empty()) {
        rules.kind = FileKind::Directory;
        const auto checked = checkTrustedPath(load.config.caPath, rules);
        if (!checked)
            load.problems.push_back({"ca_path", 0, checked.problem().text});
    }
}

bool isEarlyArgument(const std::string& arg) {
    return arg.rfind("conf=", 0) == 0 || arg == "debug" || arg.rfind("nonroot=", 0) == 0;
}

void append(std::vector<ConfigProblem>& problems, std::vector<ConfigProblem> more) {
    problems.insert(problems.end(), more.begin(), more.end());
}

// Files in /etc/pam.d are world-readable: a secret there is a secret disclosed, so the key table
// says which keys, or which values, only the file may hold.
Result<> refuseSecretArgument(const ConfigKey& key, std::string_view value) {
    const std::string name = key.name;
    const std::string why =
        " is not accepted as a module argument (files in /etc/pam.d are world-readable)";
    if (key.has(FileOnly))
        return Problem(name + why +
                       (findConfigKey(name + "_file") ? "; use " + name + "_file" : ""));
    if (key.has(PasswordInside) && value.find('@') != std::string_view::npos)
        return Problem("an " + name + " with a password" + why);
    return succeeded();
}

// One `key=value` module argument, through the same setter as the file's lines.
Result<> applyArgument(ConfigParser& parser, Config& config, const std::string& arg) {
    const std::size_t equals = arg.find('=');
    if (equals == std::string::npos)
        return Problem("unknown argument '" + sanitizeForMessage(arg) + "'");
    const std::string key = arg.substr(0, equals);
    const std::string_view value = std::string_view(arg).substr(equals + 1);
    if (const ConfigKey* known = findConfigKey(key)) {
        Result<> allowed = refuseSecretArgument(*known, value);
        if (!allowed)
            return allowed;
    }
    if (key == "api_key_file")
        config.apiKey.clear();  // the argument replaces the file's key, whichever form
    return parser.set(key, value);
}
}  // namespace

void readEarlyArguments(const std::vector<std::string>& args, ConfigLoad& load) {
    load.path = kDefaultConfigPath;
    for (const auto& arg : args) {
        if (arg.rfind("conf=", 0) == 0) {
            load.path = arg.substr(5);
        } else if (arg == "debug") {
            load.config.debug = true;
        } else if (arg.rfind("nonroot=", 0) == 0) {
            const std::string value = arg.substr(8);
            if (value == "deny")
                load.config.nonRoot = NonRootMode::Deny;
            else if (value == "ignore")
                load.config.nonRoot = NonRootMode::Ignore;
            else
                load.problems.push_back(
                    {kArgumentsSource, 0,
                     "nonroot must be deny or ignore, not '" + sanitizeForMessage(value) + "'"});
        }
    }
}

ConfigLoad loadConfig(const std::vector<std::string>& args, uid_t owner) {
    ConfigLoad load;
    readEarlyArguments(args, load);
    if (!load.problems.empty())
        return load;
    if (load.path.empty() || load.path.front() != '/') {
        load.problems.push_back({kArgumentsSource, 0, "conf= must name an absolute path"});
        return load;
    }

    FileRules rules;
    rules.owner = owner;
    rules.maxSize = kMaxConfigSize;
    const auto file = readChecked(load.path, rules);
    if (!file) {
        load.problems.push_back({load.path, 0, file.problem().text.substr(load.path.size() + 2)});
        return load;
    }
    ConfigParser parser(load.config);
    append(load.problems, parser.parseText(file.value().view(), load.path));
    for (const auto& arg : args) {
        if (isEarlyArgument(arg))
            continue;
        Result<> applied = applyArgument(parser, load.config, arg);
        if (!applied)
            load.problems.push_back({kArgumentsSource, 0, applied.problem().text});
    }
    append(load.problems, parser.checkComplete(load.path));
    if (load.problems.empty())
        checkTrustStore(load, owner);
    if (load.problems.empty() && !load.config.apiKeyFile.empty())
        readApiKeyFile(load, owner);
    if (!load.problems.empty())
        load.config.apiKey.clear();
    return load;
}

}  // namespace verif8
