// ConfigParser: the line format of pam_verif8.conf around the key table (ConfigKeys).
#include "verif8/ConfigParser.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "verif8/ConfigKeys.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {

using SeenKeys = std::map<std::string, int, std::less<>>;  // key -> the line it was first on

// A word from the file is quoted in a problem only when it has the shape of a key: `verif8ctl
// --conf` may be pointed at a file that is no config at all (a private key, a shadow file), and
// its refusal must not print that file's content.
std::string describeKey(std::string_view key) {
    const bool keyLike =
        !key.empty() && key.size() <= 32 && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        });
    return keyLike ? "'" + std::string(key) + "'"
                   : "(not shown: keys are lowercase letters, digits and _)";
}

// One line: a blank, a comment or "key = value".
Result<> applyLine(ConfigParser& parser, std::string_view raw, int number, SeenKeys& seen) {
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#')
        return succeeded();
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos)
        return Problem("expected 'key = value'");
    const std::string_view key = trim(line.substr(0, equals));
    if (key.empty())
        return Problem("missing key before '='");
    const auto previous = seen.find(key);
    if (previous != seen.end())
        return Problem("duplicate key " + describeKey(key) + " (first on line " +
                       std::to_string(previous->second) + ")");
    seen.emplace(std::string(key), number);
    return parser.set(key, trim(line.substr(equals + 1)));
}

}  // namespace

std::string ConfigProblem::describe() const {
    if (line > 0)
        return source + ":" + std::to_string(line) + ": " + text;
    return source + ": " + text;
}

Result<> ConfigParser::set(std::string_view name, std::string_view value) {
    const ConfigKey* key = findConfigKey(name);
    if (key == nullptr)
        return Problem("unknown key " + describeKey(name));
    Result<> applied = key->set(config_, value);
    if (!applied)
        return Problem(std::string(name) + ": " + applied.problem().text);
    return applied;
}

std::vector<ConfigProblem> ConfigParser::parseText(std::string_view text,
                                                   const std::string& source) {
    if (text.size() > kMaxConfigSize)
        return {{source, 0, "larger than " + std::to_string(kMaxConfigSize) + " bytes"}};
    if (text.find('\0') != std::string_view::npos)
        return {{source, 0, "contains a NUL byte: not a text file"}};
    std::vector<ConfigProblem> problems;
    SeenKeys seen;
    int number = 0;
    forEachLine(text, [&](std::string_view line) {
        ++number;
        Result<> applied = applyLine(*this, line, number, seen);
        if (!applied)
            problems.push_back({source, number, applied.problem().text});
    });
    return problems;
}

std::vector<ConfigProblem> ConfigParser::checkComplete(const std::string& source) const {
    std::vector<ConfigProblem> problems;
    if (config_.apiKey.empty() && config_.apiKeyFile.empty())
        problems.push_back({source, 0, "api_key or api_key_file is required"});
    if (!config_.caFile.empty() && !config_.caPath.empty())
        problems.push_back({source, 0, "ca_file and ca_path are both set: keep one"});
    if (!config_.apiKey.empty() && !config_.apiKeyFile.empty())
        problems.push_back({source, 0, "api_key and api_key_file are both set: keep one"});
    if (config_.subaccountId.empty())
        problems.push_back({source, 0, "subaccount_id is required"});
    return problems;
}

const std::vector<std::string>& ConfigParser::knownKeys() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> all;
        for (const auto& key : configKeys())
            all.emplace_back(key.name);
        return all;
    }();
    return names;
}

}  // namespace verif8
