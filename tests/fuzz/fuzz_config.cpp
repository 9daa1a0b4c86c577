// libFuzzer target: ConfigParser::parseText over arbitrary pam_verif8.conf text. Besides not
// crashing (ASan, UBSan), a text it accepts must leave every setting within its documented range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "verif8/ConfigParser.hpp"

namespace {
void check(bool condition) {
    if (!condition)
        std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    verif8::Config config;
    verif8::ConfigParser parser(config);
    std::vector<verif8::ConfigProblem> problems = parser.parseText(text, "fuzz.conf");
    const bool accepted = problems.empty();
    for (auto& problem : parser.checkComplete("fuzz.conf"))
        problems.push_back(std::move(problem));
    for (const auto& problem : problems)
        check(!problem.describe().empty());
    const auto urls = config.baseUrls();
    check(!urls.empty());
    for (const auto& url : urls)
        check(url.rfind("https://", 0) == 0);

    if (accepted) {
        check(config.codeLength >= 4 && config.codeLength <= 10);
        check(config.codeValidity >= 30 && config.codeValidity <= 7200);
        check(config.maxAttempts >= 1 && config.maxAttempts <= 5);
        check(config.resendInterval >= 10 && config.resendInterval <= 7200);
        check(config.connectTimeout >= 1 && config.connectTimeout <= 60);
        check(config.requestTimeout >= 1 && config.requestTimeout <= 300);
        check(config.phoneCommand.empty() || config.phoneCommand.front().front() == '/');
        check(config.usersFile.front() == '/' && config.stateDir.front() == '/');
    }
    return 0;
}
