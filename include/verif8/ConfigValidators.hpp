// ConfigValidators: what each kind of pam_verif8.conf value accepts, read into the value it means.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "verif8/Channel.hpp"
#include "verif8/Config.hpp"
#include "verif8/Network.hpp"
#include "verif8/Result.hpp"
#include "verif8/SecretString.hpp"

// Each validator reads one value as written after "key =" (or "key=" in the module arguments) and
// returns what it means, or a Problem that completes "KEY: ..." without the key. A Problem quotes
// the value only where it cannot hold a secret, and never with its control characters.
namespace verif8::validate {

// Numbers and their ranges.
Result<long> wholeNumber(std::string_view value, long min, long max);
Result<SendLimit> sendLimit(std::string_view value);  // COUNT/SECONDS

// Words from a fixed list.
Result<Region> region(std::string_view value);
Result<Channel> channel(std::string_view value);
Result<UnenrolledPolicy> unenrolledPolicy(std::string_view value);
Result<FailMode> failMode(std::string_view value);
Result<bool> yesNo(std::string_view value);
Result<std::string> languageTag(std::string_view value);  // one of the API's, case-sensitive

// Identifiers and text sent to the API.
Result<SecretString> apiKey(std::string_view value);
Result<std::string> subaccountId(std::string_view value);
Result<std::string> freeText(std::string_view value, std::size_t maxLength);
Result<std::string> messageTemplate(std::string_view value);  // free text holding {code}
Result<std::string> templateName(std::string_view value);     // free text without spaces
Result<std::string> smsSender(std::string_view value);
Result<std::string> callerId(std::string_view value);

// Files, programs, names and networks on this host.
Result<std::string> absolutePath(std::string_view value);
Result<std::vector<std::string>> command(std::string_view value);  // program, then arguments
Result<std::vector<std::string>> names(std::string_view value);    // users or groups
Result<std::vector<Network>> networks(std::string_view value);

// URLs (ConfigUrls.cpp).
Result<std::vector<std::string>> httpsUrls(std::string_view value);  // 1 to 4, no trailing '/'
Result<std::string> proxyUrl(std::string_view value);

}  // namespace verif8::validate
